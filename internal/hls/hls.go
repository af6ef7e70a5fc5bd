// Package hls carries a session token through HLS playlists (RFC 8216 and
// its low-latency additions): every URI in a playlist that is relative, or
// on one of the session's hosts, gets the session parameter, so that a
// player keeping no cookies plays the whole stream after one redemption.
//
// It rewrites URI lines (media segments, variant playlists) and the URI
// attribute of the tags in uriTags. Everything else, unknown tags and
// comments included, passes byte for byte, as do line endings. A line with
// a control byte inside, or longer than MaxLine, passes unchanged: what a
// player reads as a URI there is not certain.
//
// Variables (EXT-X-DEFINE, RFC 8216bis) can move a URI to another host once
// a player substitutes them, so a URI holding "{$" is never given the
// session. A playlist that makes a player copy values into its URIs from
// elsewhere (EXT-X-DEFINE with QUERYPARAM, which copies the playlist URL's
// query, session included, or IMPORT, which brings a parent's), or lets a
// steering server clone its URIs onto other hosts (EXT-X-CONTENT-STEERING),
// fails with ErrUnsupported: no rewrite of it can keep the session on our
// hosts.
package hls

import (
	"bytes"
	"errors"

	"github.com/privatevideo/privatevideo/internal/manifest"
)

// MaxLine is the longest line rewritten; a longer one passes as it is (no
// URI is that long).
const MaxLine = 64 << 10

// Rewriter rewrites one playlist. It is a manifest.Rewriter: Write and
// Close stream it, Rewrite does a whole one. The zero value of its state is
// ready; set the fields before the first call.
type Rewriter struct {
	Param string // the session parameter, "avh"
	Value string // the session token: base64url, needs no escaping
	Hosts manifest.Hosts

	line []byte // an incomplete line
	long bool   // inside a line longer than MaxLine, passing as it is
	err  error  // ErrUnsupported, once seen
}

// ErrUnsupported is a playlist whose tags would carry the session wherever
// they say: EXT-X-DEFINE with QUERYPARAM or IMPORT, EXT-X-CONTENT-STEERING.
var ErrUnsupported = errors.New("hls: the playlist copies values into its URIs (EXT-X-DEFINE QUERYPARAM or IMPORT) or steers them to other hosts (EXT-X-CONTENT-STEERING)")

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

// sniffLen is how much of a body tells whether it is a playlist.
const sniffLen = len("\xef\xbb\xbf#EXTM3U")

// IsPlaylist reports whether b starts like an HLS playlist.
func IsPlaylist(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a BOM, which the RFC forbids but some tools write
	return bytes.HasPrefix(b, []byte("#EXTM3U"))
}

// SniffLen is part of manifest.Rewriter.
func (p *Rewriter) SniffLen() int { return sniffLen }

// Sniff is part of manifest.Rewriter: IsPlaylist.
func (p *Rewriter) Sniff(head []byte) bool { return IsPlaylist(head) }

// Rewrite returns src with the session token on every URI. src must be a
// playlist (IsPlaylist); the output is one.
func (p *Rewriter) Rewrite(src []byte) []byte {
	// At most one URI per line grows, by the parameter: one allocation.
	grow := (bytes.Count(src, []byte{'\n'}) + 1) * (len(p.Param) + len(p.Value) + 2)
	out := make([]byte, 0, len(src)+grow)
	for len(src) > 0 {
		line := src
		end := bytes.IndexByte(src, '\n')
		if end >= 0 {
			line, src = src[:end+1], src[end+1:]
		} else {
			src = nil
		}
		out = p.Line(out, line)
	}
	return out
}

// Write is part of manifest.Rewriter: it rewrites the lines in completes,
// and holds the start of the last one until its end comes.
func (p *Rewriter) Write(out, in []byte) ([]byte, error) {
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			out = p.partial(out, in)
			break
		}
		chunk := in[:i+1]
		in = in[i+1:]
		switch {
		case p.long:
			out = append(out, chunk...) // the end of an over-long line
			p.long = false
		case len(p.line) > 0:
			p.line = append(p.line, chunk...)
			out = p.Line(out, p.line)
			p.line = p.line[:0]
		default:
			out = p.Line(out, chunk)
		}
	}
	return out, p.err
}

// Close is part of manifest.Rewriter: the last line, without an end.
func (p *Rewriter) Close(out []byte) ([]byte, error) {
	if !p.long && len(p.line) > 0 {
		out = p.Line(out, p.line)
		p.line = p.line[:0]
	}
	return out, p.err
}

// Err reports ErrUnsupported once a line that Rewrite or Line took holds a
// tag that makes the playlist unsafe to carry the session through.
func (p *Rewriter) Err() error { return p.err }

// partial keeps the start of a line whose end has not come yet.
func (p *Rewriter) partial(out, b []byte) []byte {
	if p.long {
		return append(out, b...)
	}
	if len(p.line)+len(b) > MaxLine {
		// Too long for a URI: send it on as it is.
		out = append(append(out, p.line...), b...)
		p.line, p.long = p.line[:0], true
		return out
	}
	p.line = append(p.line, b...)
	return out
}

// Line appends one line (with its own line ending, if any) to out.
func (p *Rewriter) Line(out, line []byte) []byte {
	end := len(line)
	for end > 0 && (line[end-1] == '\n' || line[end-1] == '\r') {
		end--
	}
	body, eol := line[:end], line[end:]
	if unsafeTag(body) {
		p.err = ErrUnsupported
		return append(out, line...)
	}
	if HasLineBreak(body) {
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

// unsafeTag reports whether a line holds a tag that makes a player copy
// values into URIs (EXT-X-DEFINE with QUERYPARAM or IMPORT) or move them
// to other hosts (EXT-X-CONTENT-STEERING). The tag is looked for anywhere
// in the line, behind blanks, a URI or a control byte, since players do not
// all read tags only at the start of a line: a false alarm costs a 502, a
// miss the session.
func unsafeTag(body []byte) bool {
	if bytes.Contains(body, []byte("EXT-X-CONTENT-STEERING")) {
		return true
	}
	return bytes.Contains(body, []byte("EXT-X-DEFINE")) &&
		(bytes.Contains(body, []byte("QUERYPARAM")) || bytes.Contains(body, []byte("IMPORT")))
}

// HasLineBreak reports whether b holds what some reader may take for the
// end of a line: a control byte other than tab (CR, NUL, VT, FF, the file
// separators, DEL...), or a NEL, LS or PS (U+0085, U+2028, U+2029) in UTF-8.
func HasLineBreak(b []byte) bool {
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
func (p *Rewriter) tag(out, body []byte, from int) []byte {
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
// session (Hosts.Classify: relative, or on one of its hosts). Other URIs
// (skd://, data:, other hosts) are appended unchanged. An existing session
// parameter is replaced, so rewriting is idempotent.
func (p *Rewriter) uri(out []byte, u []byte) []byte {
	if len(u) == 0 || bytes.Contains(u, []byte("{$")) || p.Hosts.Classify(u) == manifest.Foreign {
		// A variable may name another host once substituted.
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
		if key, _, _ := bytes.Cut(pair, []byte{'='}); len(pair) == 0 || string(key) == p.Param {
			continue
		}
		out = append(append(out, sep), pair...)
		sep = '&'
	}
	out = append(append(out, sep), p.Param...)
	out = append(append(out, '='), p.Value...)
	return append(out, frag...)
}
