package privatevideo

import (
	"strings"
	"unicode/utf8"
)

// How other servers read a path: the loose readings behind readsAsPrefix
// (layout.go). A path outside the prefix is refused when any of them would
// read it as under it.

func pop(stack []string) []string {
	if len(stack) == 0 {
		return stack
	}
	return stack[: len(stack)-1 : len(stack)-1]
}

// dotsOrWild reports whether seg is made of dots and non-ASCII characters
// only, with at least one of the latter.
func dotsOrWild(seg string) bool {
	wild := false
	for _, r := range seg {
		switch {
		case r >= 0x80:
			wild = true
		case r != '.':
			return false
		}
	}
	return wild
}

// mayReadAs reports whether a server could read segment seg as want: equal
// ignoring case, an 8.3 short name of it, or equal once each non-ASCII
// character of seg stands for up to three characters.
func mayReadAs(seg, want string) bool {
	if stem, num, ok := strings.Cut(seg, "~"); ok && len(stem) > 0 && len(stem) <= 6 && num != "" && num[0] >= '0' && num[0] <= '9' {
		if hasPrefixFold(want, stem) {
			return true
		}
	}
	return wildMatch(seg, want)
}

func wildMatch(seg, want string) bool {
	// can[j]: the part of seg read so far may stand for want[:j].
	can := make([]bool, len(want)+1)
	can[0] = true
	for i := 0; i < len(seg); {
		r, n := utf8.DecodeRuneInString(seg[i:])
		next := make([]bool, len(want)+1)
		for j, ok := range can {
			if !ok {
				continue
			}
			if r < 0x80 {
				if j < len(want) && strings.EqualFold(seg[i:i+1], want[j:j+1]) {
					next[j+1] = true
				}
				continue
			}
			for k := 0; k <= 3 && j+k <= len(want); k++ {
				next[j+k] = true
			}
		}
		can = next
		i += n
	}
	return can[len(want)]
}

// windowsPath reads p, with slashes only, as Windows resolves a path: an
// NTFS stream name (":…") dropped and trailing dots and spaces trimmed from
// every segment.
func windowsPath(p string) string {
	if !strings.ContainsAny(p, ".: ") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ":")
		if t := strings.TrimRight(s, ". "); t != "" || s == "" {
			s = t
		} else {
			s = ".." // all dots: at most the parent
		}
		segs[i] = s
	}
	return strings.Join(segs, "/")
}

// foldToASCII maps what servers that normalize Unicode (NFKC, Windows'
// best-fit mappings, lenient UTF-8 decoders) read as ASCII to that ASCII:
// overlong UTF-8 encodings of ASCII, the fullwidth forms, and look-alikes of
// ".", "/" and "\\". Other bytes stay.
func foldToASCII(p string) string {
	if isASCII(p) {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		c := p[i]
		if c < 0x80 {
			b = append(b, c)
			i++
			continue
		}
		if a, n := overlongASCII(p[i:]); n > 0 {
			b = append(b, a)
			i += n
			continue
		}
		r, n := utf8.DecodeRuneInString(p[i:])
		switch {
		case r >= 0xff01 && r <= 0xff5e: // fullwidth ASCII
			b = append(b, byte(r-0xfee0))
		case r == 0x2024 || r == 0xfe52 || r == 0x3002 || r == 0xff61: // dots
			b = append(b, '.')
		case r == 0x2215 || r == 0x2044 || r == 0x29f8: // slashes
			b = append(b, '/')
		case r == 0xfe68 || r == 0x29f9: // backslashes
			b = append(b, '\\')
		default:
			b = append(b, p[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// overlongASCII decodes an overlong UTF-8 encoding of an ASCII byte at the
// start of s (as lenient decoders do), returning it and its length, or 0.
func overlongASCII(s string) (byte, int) {
	cont := func(i int) bool { return i < len(s) && s[i]&0xc0 == 0x80 }
	switch {
	case (s[0] == 0xc0 || s[0] == 0xc1) && cont(1):
		return (s[0]&0x1f)<<6 | s[1]&0x3f, 2
	case s[0] == 0xe0 && cont(1) && s[1] < 0x82 && cont(2):
		return (s[1]&0x3f)<<6 | s[2]&0x3f, 3
	case s[0] == 0xf0 && cont(1) && s[1] == 0x80 && cont(2) && s[2] < 0x82 && cont(3):
		return (s[2]&0x3f)<<6 | s[3]&0x3f, 4
	}
	return 0, 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// dropParams removes the ";params" of every segment of p, as Tomcat and
// Jetty do.
func dropParams(p string) string {
	if strings.IndexByte(p, ';') < 0 {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return strings.Join(segs, "/")
}

// lenientUnescape decodes the %XX escapes of s that are valid and keeps the
// rest, as many servers do.
func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
