package dash

import "bytes"

// IsManifest reports whether a body starting with prefix is an MPD: an
// optional UTF-8 byte order mark, then white space, the XML declaration,
// comments, processing instructions and a DOCTYPE in any order, then the root
// element MPD, with or without a namespace prefix. Give it the first
// kilobyte or so (the whole body when shorter): a prefix cut before the
// root element's name reports false.
func IsManifest(prefix []byte) bool {
	b := bytes.TrimPrefix(prefix, []byte("\xef\xbb\xbf"))
	for {
		for len(b) > 0 && isSpace(b[0]) {
			b = b[1:]
		}
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return false
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b[4:], []byte("-->"))
			if i < 0 {
				return false
			}
			b = b[4+i+3:]
		case bytes.HasPrefix(b, []byte("<!DOCTYPE")):
			i := bytes.IndexByte(b, '>')
			if i < 0 {
				return false
			}
			b = b[i+1:]
		case bytes.HasPrefix(b, []byte("<")):
			b = b[1:]
			i := 0
			for i < len(b) && isNameByte(b[i]) {
				i++
			}
			if i == len(b) {
				return false // the name may go on
			}
			_, local := splitName(b[:i])
			return string(local) == "MPD"
		default:
			return false
		}
	}
}
