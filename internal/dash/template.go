package dash

import (
	"bytes"

	"github.com/privatevideo/privatevideo/internal/manifest"
)

// templateOK reports whether a SegmentTemplate value (decoded) may take
// the parameter: it must be well-formed (every '$' opens a known
// identifier that closes, or is "$$"), and no identifier may stand where
// its substitution could change the URL's scheme or host. $Number$,
// $Time$, $Bandwidth$ and $SubNumber$ are digits. A $RepresentationID$ is
// any string (the MPD's Representation@id): where it stands before the
// host is settled, templateOK reports needID, and the template may take the
// parameter only if every Representation@id it will be used with passes
// idOK.
func templateOK(d []byte) (ok, needID bool) {
	var prefix [64]byte // the literal text before the identifier being checked
	p := prefix[:0]
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c != '$' {
			p = append(p, c)
			continue
		}
		j := bytes.IndexByte(d[i+1:], '$')
		if j < 0 {
			return false, false // an identifier that never closes
		}
		id := d[i+1 : i+1+j]
		i += j + 1
		if len(id) == 0 {
			p = append(p, '$')
			continue
		}
		digits, ok := identifier(id)
		if !ok {
			return false, false
		}
		if needID {
			continue // idOK checks the rest with the id in place
		}
		if !hostSettled(p, digits) {
			if digits {
				return false, false
			}
			needID = true
			continue
		}
		if !digits {
			// Settled for any string: nothing after it can move the host,
			// but the rest must still be well-formed.
			return wellFormed(d[i+1:]), false
		}
		p = append(p, '0')
	}
	return true, needID
}

// wellFormed reports whether every '$' in d opens a known identifier.
func wellFormed(d []byte) bool {
	for i := 0; i < len(d); i++ {
		if d[i] != '$' {
			continue
		}
		j := bytes.IndexByte(d[i+1:], '$')
		if j < 0 {
			return false
		}
		if id := d[i+1 : i+1+j]; len(id) > 0 {
			if _, ok := identifier(id); !ok {
				return false
			}
		}
		i += j + 1
	}
	return true
}

// idOK reports whether a template that needs its Representation's id
// (templateOK's needID) keeps its host with id in place: the result,
// whose numeric identifiers must then stand where digits cannot move the
// host, must not be foreign. An id holding a '$' or anything odd is not OK.
func (r *Rewriter) idOK(tpl, id []byte) bool {
	if bytes.IndexByte(id, '$') >= 0 {
		return false
	}
	var b []byte
	for i := 0; i < len(tpl); i++ {
		if tpl[i] != '$' {
			b = append(b, tpl[i])
			continue
		}
		j := bytes.IndexByte(tpl[i+1:], '$')
		if j < 0 {
			return false
		}
		if name := tpl[i+1 : i+1+j]; string(name) == "RepresentationID" {
			b = append(b, id...)
		} else {
			b = append(b, tpl[i:i+j+2]...)
		}
		i += j + 1
	}
	ok, needID := templateOK(b)
	return ok && !needID && r.classify(b) != Foreign
}

// identifier validates a template identifier (without its '$'s) and
// reports whether it stands for digits only.
func identifier(id []byte) (digits, ok bool) {
	name, format, hasFormat := bytes.Cut(id, []byte{'%'})
	switch string(name) {
	case "RepresentationID":
		return false, !hasFormat
	case "Number", "Time", "Bandwidth", "SubNumber":
	default:
		return false, false
	}
	if !hasFormat {
		return true, true
	}
	// %0[width]d
	if len(format) < 3 || format[0] != '0' || format[len(format)-1] != 'd' {
		return false, false
	}
	for _, c := range format[1 : len(format)-1] {
		if c < '0' || c > '9' {
			return false, false
		}
	}
	return true, true
}

// hostSettled reports whether, after the literal prefix p, no substitution
// (digits only when digits) can change where the URL leads: its scheme and
// authority, or the fact that it has none, are already fixed. It reads p
// as a WHATWG parser would, and assumes the worst where unsure.
func hostSettled(p []byte, digits bool) bool {
	for len(p) > 0 && p[0] <= ' ' {
		p = p[1:]
	}
	for _, c := range p {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	scheme := false
	if i := manifest.SchemeEnd(p); i > 0 {
		p, scheme = p[i+1:], true
	}
	slashes := 0
	for len(p) > 0 && (p[0] == '/' || p[0] == '\\') {
		p, slashes = p[1:], slashes+1
	}
	for j := 1; j < len(p); j++ {
		switch p[j] {
		case '/', '\\', '?', '#':
			return true // the authority, or the first path segment, is over
		}
	}
	if scheme {
		return false
	}
	switch {
	case len(p) == 0:
		return digits && slashes < 2 // "" or "/" then digits: a path
	case slashes == 1:
		return true // a path-absolute URL whose first segment has begun
	case slashes > 1:
		return false // inside an authority
	case p[0] == '?' || p[0] == '#' || !isLetter(p[0]) || digits:
		return true // no scheme can form
	}
	for _, c := range p {
		if !isLetter(c) && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return true // not a scheme's characters: none can form
		}
	}
	// A substitution could end a scheme that starts with p: refuse the
	// schemes players fetch from the network, or nest such a scheme in.
	for _, s := range networkSchemes {
		if hasPrefixFold([]byte(s), p) || hasPrefixFold(p, []byte(s)) {
			return false
		}
	}
	return true
}

var networkSchemes = [...]string{
	"http", "https", "ws", "wss", "ftp", "ftps", "sftp", "tftp", "ssh", "scp",
	"rtmp", "rtmps", "rtmpe", "rtmpt", "rtmpte", "rtmpts", "rtsp", "rtsps", "rtp",
	"srtp", "srt", "rist", "librist", "tcp", "udp", "tls", "dtls", "sctp", "unix",
	"smb", "nfs", "file", "dav", "davs", "webdav", "gopher", "gophers", "mms",
	"mmsh", "mmst", "icecast", "ipfs", "ipns", "zmq", "amqp", "cache", "async",
	"crypto", "hls", "concat", "concatf", "subfile", "httpproxy", "data", "blob",
	"content", "asset", "android.resource", "rawresource",
}

func hasPrefixFold(s, prefix []byte) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], prefix)
}

func isLetter(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }
