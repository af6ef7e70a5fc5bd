package privatevideo

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// playlistRewriter carries a session token through an HLS playlist (RFC 8216
// and its low-latency additions): every URI in it, relative or on an allowed
// host, gets the session parameter, so that a player keeping no cookies plays
// the whole stream after one redemption.
//
// It rewrites URI lines (media segments, variant playlists) and the URI
// attribute of the tags below. Everything else, unknown tags and comments
// included, passes byte for byte, as do line endings.
type playlistRewriter struct {
	param string // the session parameter, "avh"
	value string // the session token: base64url, needs no escaping
	// host is the request's Host; absolute URIs on it or on one of hosts
	// (WithPlaylistHosts) are this session's.
	host  string
	hosts []string
}

// sameHost reports whether an absolute URI's host (with port, as written)
// serves this session.
func (p *playlistRewriter) sameHost(h string) bool {
	if h == "" {
		return false
	}
	if strings.EqualFold(h, p.host) {
		return true
	}
	for _, allowed := range p.hosts {
		if strings.EqualFold(h, allowed) {
			return true
		}
	}
	return false
}

// uriTags are the tags whose URI attribute names a resource of the stream.
var uriTags = [][]byte{
	[]byte("#EXT-X-KEY:"),
	[]byte("#EXT-X-MAP:"),
	[]byte("#EXT-X-MEDIA:"),
	[]byte("#EXT-X-I-FRAME-STREAM-INF:"),
	[]byte("#EXT-X-SESSION-KEY:"),
	[]byte("#EXT-X-SESSION-DATA:"),
	[]byte("#EXT-X-PART:"),
	[]byte("#EXT-X-PRELOAD-HINT:"),
	[]byte("#EXT-X-RENDITION-REPORT:"),
}

// isPlaylistBody reports whether b starts like an HLS playlist.
func isPlaylistBody(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a BOM, which the RFC forbids but some tools write
	return bytes.HasPrefix(b, []byte("#EXTM3U"))
}

// rewrite returns src with the session token on every URI. src must be a
// playlist (isPlaylistBody); the output is one.
func (p *playlistRewriter) rewrite(src []byte) []byte {
	// At most one URI per line grows, by the parameter: one allocation.
	grow := (bytes.Count(src, []byte{'\n'}) + 1) * (len(p.param) + len(p.value) + 2)
	out := make([]byte, 0, len(src)+grow)
	for len(src) > 0 {
		line := src
		end := bytes.IndexByte(src, '\n')
		if end >= 0 {
			line, src = src[:end+1], src[end+1:]
		} else {
			src = nil
		}
		out = p.line(out, line)
	}
	return out
}

// line appends one line (with its own line ending, if any) to out.
func (p *playlistRewriter) line(out, line []byte) []byte {
	end := len(line)
	for end > 0 && (line[end-1] == '\n' || line[end-1] == '\r') {
		end--
	}
	body, eol := line[:end], line[end:]
	if hasLineBreak(body) {
		// A control byte inside a line: some players end lines at a lone
		// CR (Shaka, ExoPlayer, hls.js in tags), at a NUL (ffmpeg) or at
		// VT, FF and the file separators (Python's splitlines), others do
		// not, so what is a URI is not certain. The line passes unchanged,
		// without the session token.
		return append(out, line...)
	}
	// Surrounding blanks are not part of a URI; keep them as they are.
	start, stop := 0, len(body)
	for start < stop && isBlank(body[start]) {
		start++
	}
	for stop > start && isBlank(body[stop-1]) {
		stop--
	}
	switch {
	case start == stop || body[start] == '#' && start > 0:
		return append(out, line...) // blank, or a stray comment
	case body[0] == '#':
		for _, tag := range uriTags {
			if bytes.HasPrefix(body, tag) {
				out = p.tag(out, body, len(tag))
				return append(out, eol...)
			}
		}
		return append(out, line...)
	}
	out = append(out, body[:start]...)
	out = p.uri(out, body[start:stop])
	out = append(out, body[stop:]...)
	return append(out, eol...)
}

// hasLineBreak reports whether b holds what some reader may take for the
// end of a line: a control byte other than tab (CR, NUL, VT, FF, the file
// separators, DEL...), or a NEL, LS or PS (U+0085, U+2028, U+2029) in UTF-8.
func hasLineBreak(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029")) || bytes.Contains(b, []byte("\u0085"))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' }

// tag rewrites the URI="…" attribute of a tag whose attribute list starts at
// body[from:]. Attribute lists are comma-separated NAME=VALUE pairs where a
// quoted value may hold commas.
func (p *playlistRewriter) tag(out, body []byte, from int) []byte {
	i := from
	for i < len(body) {
		nameEnd := bytes.IndexByte(body[i:], '=')
		if nameEnd < 0 {
			break
		}
		name := body[i : i+nameEnd]
		v := i + nameEnd + 1 // first byte of the value
		var next int         // first byte after the value
		if v < len(body) && body[v] == '"' {
			q := bytes.IndexByte(body[v+1:], '"')
			if q < 0 {
				break // an unterminated string: leave the line alone
			}
			next = v + 1 + q + 1
			if string(bytes.TrimSpace(name)) == "URI" {
				out = append(out, body[:v+1]...)
				out = p.uri(out, body[v+1:next-1])
				return append(out, body[next-1:]...)
			}
		} else {
			c := bytes.IndexByte(body[v:], ',')
			if c < 0 {
				break
			}
			next = v + c
		}
		if next >= len(body) || body[next] != ',' {
			break
		}
		i = next + 1
	}
	return append(out, body...)
}

// uri appends u with the session parameter, when u names a resource of this
// session: a relative reference, or an absolute http(s) one on an allowed
// host. Other URIs (skd://, data:, other hosts) are appended unchanged. An
// existing session parameter is replaced, so rewriting is idempotent.
func (p *playlistRewriter) uri(out []byte, u []byte) []byte {
	if len(u) == 0 || !p.ours(u) {
		return append(out, u...)
	}
	ref, frag := u, []byte(nil)
	if i := bytes.IndexByte(u, '#'); i >= 0 {
		ref, frag = u[:i], u[i:]
	}
	base, query, hasQuery := bytes.Cut(ref, []byte{'?'})
	out = append(out, base...)
	sep := byte('?')
	for hasQuery {
		var pair []byte
		pair, query, hasQuery = bytes.Cut(query, []byte{'&'})
		if key, _, _ := bytes.Cut(pair, []byte{'='}); len(pair) == 0 || string(key) == p.param {
			continue
		}
		out = append(append(out, sep), pair...)
		sep = '&'
	}
	out = append(append(out, sep), p.param...)
	out = append(append(out, '='), p.value...)
	return append(out, frag...)
}

// ours reports whether u, a URI from a playlist, is served under this
// session. It is decided as the players that read the playlist decide it:
// by the WHATWG URL rules of browsers, hls.js and Shaka, resolving u against
// the playlist's http(s) URL. There a backslash is a slash, tabs and
// newlines inside the URI are dropped, "//host" and any run of slashes after
// a scheme name a host, and scheme and host ignore case.
//
// Relative references are ours. A reference that names a host is ours only
// when the host is the request's own or one of the allowed hosts, written
// plainly. Whatever a player might read differently from us (userinfo, a
// percent-escape or a non-ASCII byte in the host, "http:x" without
// slashes, whose meaning depends on the playlist's scheme) is not ours: the
// session token stays out of it.
func (p *playlistRewriter) ours(u []byte) bool {
	s := whatwgClean(u)
	if len(s) > 0 && s[0] == '#' {
		return false // a tag or a comment to a player that trims more than we do
	}
	if i := schemeEnd(s); i > 0 {
		scheme := string(s[:i])
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return false // skd://, data:, another scheme: not this session's
		}
		rest := s[i+1:]
		return twoSlashes(rest) && p.sameHost(authority(rest))
	}
	if twoSlashes(s) {
		return p.sameHost(authority(s))
	}
	return true
}

// whatwgClean returns u as a player reads it: without leading and trailing
// C0 controls and spaces (WHATWG URL) or Unicode white space and BOMs
// (JavaScript's trim, which players apply to lines first), and without
// ASCII tabs and newlines anywhere (WHATWG URL). It copies only when there
// is a tab or newline inside.
func whatwgClean(u []byte) []byte {
	for len(u) > 0 {
		if u[0] <= ' ' {
			u = u[1:]
			continue
		}
		r, n := utf8.DecodeRune(u)
		if !unicode.IsSpace(r) && r != '\ufeff' {
			break
		}
		u = u[n:]
	}
	for len(u) > 0 {
		if u[len(u)-1] <= ' ' {
			u = u[:len(u)-1]
			continue
		}
		r, n := utf8.DecodeLastRune(u)
		if !unicode.IsSpace(r) && r != '\ufeff' {
			break
		}
		u = u[:len(u)-n]
	}
	if bytes.ContainsAny(u, "\t\n\r") {
		u = bytes.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, u)
	}
	return u
}

// schemeEnd returns the index of the colon that ends s's scheme, or 0 when
// s has none: a scheme is an ASCII letter, then letters, digits, "+", "-"
// and ".".
func schemeEnd(s []byte) int {
	if len(s) == 0 || !isLetter(s[0]) {
		return 0
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i
		case isLetter(c) || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
		default:
			return 0
		}
	}
	return 0
}

func isLetter(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// twoSlashes reports whether s starts with two slashes, either way round:
// what names a host in an http(s) URL.
func twoSlashes(s []byte) bool { return len(s) >= 2 && isSlash(s[0]) && isSlash(s[1]) }

// authority returns the authority that s, starting with slashes, names: all
// leading slashes skipped (WHATWG ignores any number of them), then up to
// the next slash, "?" or "#". It returns "" for one that must not be
// trusted: userinfo, a percent-escape, a control, a space or a non-ASCII
// byte, which a parser may decode or map into another host.
func authority(s []byte) string {
	for len(s) > 0 && isSlash(s[0]) {
		s = s[1:]
	}
	end := len(s)
	for i, c := range s {
		if isSlash(c) || c == '?' || c == '#' {
			end = i
			break
		}
	}
	a := s[:end]
	for _, c := range a {
		if c == '@' || c == '%' || c <= ' ' || c >= 0x7f {
			return ""
		}
	}
	return string(a)
}
