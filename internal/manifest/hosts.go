package manifest

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a URL in a manifest points at, for the session.
type Kind uint8

const (
	// Relative is a reference without a scheme or a host: it resolves on
	// the manifest's own host.
	Relative Kind = iota + 1
	// Ours is an absolute (or scheme-relative) http(s) URL on one of
	// Hosts.
	Ours
	// Foreign is anything else: another host, another scheme (skd://,
	// data:), or a URL a player might read differently from us.
	Foreign
)

// Hosts are the hosts that serve a session: the request's own and those the
// application allows (WithPlaylistHosts), each with its port as written.
type Hosts struct {
	Host    string
	Allowed []string
}

// serves reports whether an absolute URL's host (with port, as written)
// serves this session.
func (h Hosts) serves(host string) bool {
	if host == "" {
		return false
	}
	if strings.EqualFold(host, h.Host) {
		return true
	}
	for _, allowed := range h.Allowed {
		if strings.EqualFold(host, allowed) {
			return true
		}
	}
	return false
}

// Classify decides what u, a URL from a manifest, points at, as the players
// that read the manifest decide it: by the WHATWG URL rules of browsers,
// hls.js, Shaka and dash.js, resolving u against the manifest's http(s)
// URL. There a backslash is a slash, tabs and newlines inside the URL are
// dropped, "//host" and any run of slashes after a scheme name a host, and
// scheme and host ignore case.
//
// A reference that names a host is Ours only when the host is one of h,
// written plainly. Whatever a player might read differently from us
// (userinfo, a percent-escape or a non-ASCII byte in the host, "http:x"
// without slashes, whose meaning depends on the manifest's scheme) is
// Foreign: the session token stays out of it.
func (h Hosts) Classify(u []byte) Kind {
	s := whatwgClean(u)
	if len(s) > 0 && s[0] == '#' {
		return Foreign // a tag or a comment to a player that trims more than we do
	}
	if i := SchemeEnd(s); i > 0 {
		scheme := string(s[:i])
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return Foreign // skd://, data:, another scheme: not this session's
		}
		rest := s[i+1:]
		if twoSlashes(rest) && h.serves(authority(rest)) {
			return Ours
		}
		return Foreign
	}
	if twoSlashes(s) {
		if h.serves(authority(s)) {
			return Ours
		}
		return Foreign
	}
	return Relative
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

// SchemeEnd returns the index of the colon that ends s's scheme, or 0 when
// s has none: a scheme is an ASCII letter, then letters, digits, "+", "-"
// and ".".
func SchemeEnd(s []byte) int {
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
