package privatevideo

import (
	"bytes"
	"strings"
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
// session: relative references are; absolute ones only on allowed hosts.
func (p *playlistRewriter) ours(u []byte) bool {
	if bytes.HasPrefix(u, []byte("//")) {
		return p.sameHost(hostOf(u[2:]))
	}
	colon := bytes.IndexByte(u, ':')
	if colon < 0 || bytes.ContainsAny(u[:colon], "/?#") {
		return true // no scheme: a relative reference
	}
	scheme := string(u[:colon])
	if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return false
	}
	rest, ok := bytes.CutPrefix(u[colon+1:], []byte("//"))
	return ok && p.sameHost(hostOf(rest))
}

// hostOf returns the authority at the start of s (after "//"), without any
// userinfo.
func hostOf(s []byte) string {
	if i := bytes.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := bytes.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return string(s)
}
