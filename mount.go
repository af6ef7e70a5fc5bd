package privatevideo

import (
	"net/http"
	"net/url"
	"strings"
)

// Mounting. An application may put the middleware under a path of its own,
// /media say, in two ways, and the middleware learns which from the request
// alone, with no option:
//
//   - a handler in front removed the mount from the path (http.StripPrefix,
//     and what gorilla's subrouters and many mounts amount to): the server's
//     RequestURI still holds it, and the path the middleware sees is its
//     tail. The difference is the stripped mount.
//   - a router routed on the mount and left it in the path (chi's Mount and
//     Route, a ServeMux pattern such as "/media/"): r.Pattern, with its path
//     values, says how much of the path the router matched, and the layout's
//     prefix starts at a segment boundary within it. That part is the routed
//     mount; it stays in the path the wrapped handler sees.
//
// Neither can be spoofed by the client: RequestURI is the path the client
// asked for, and what is missing from r.URL.Path was removed by the
// application's own handlers; a pattern is the application's route. A
// mount is built into every URL and cookie path the middleware emits
// (Layout.mounted), so that they stay under it.

// strippedMount returns the decoded path that handlers in front of the
// middleware removed from the start of the client's path, or "" when none
// was (or when the path was changed in some other way, which tells nothing).
func strippedMount(r *http.Request) string {
	p := requestPath(r.RequestURI)
	if p == "" {
		return ""
	}
	if strings.IndexByte(p, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(p); err != nil {
			return ""
		}
	}
	inner := r.URL.Path
	if len(p) <= len(inner) || !strings.HasSuffix(p, inner) {
		return ""
	}
	return p[:len(p)-len(inner)]
}

// requestPath returns the escaped path of a request target: origin form
// (/path?query) or absolute form (http://host/path?query). It returns ""
// for anything else ("*", or none, as on a client's request).
func requestPath(uri string) string {
	if uri == "" {
		return ""
	}
	if uri[0] != '/' {
		// The absolute form, read as the server read it ("http:/app/…"
		// too, which names no host).
		u, err := url.ParseRequestURI(uri)
		if err != nil || u.Opaque != "" {
			return ""
		}
		return u.EscapedPath()
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// routedPrefix returns the part of r.URL.Path that the router matched on its
// way to the middleware, from r.Pattern and its path values: "/media" for
// chi's Mount("/media", …) (pattern "/media/*") or a ServeMux pattern
// "/media/" or "/media/{rest...}". It stops at the first segment it cannot
// read exactly (a wildcard, a segment that mixes a value with text), so what
// it returns is a prefix of what was matched; "" when there is no pattern or
// the result is not a prefix of the path.
func routedPrefix(r *http.Request) string {
	pat := r.Pattern
	if pat == "" {
		return ""
	}
	// A ServeMux pattern may name a method and a host: "GET host/path".
	if i := strings.IndexByte(pat, ' '); i >= 0 {
		pat = strings.TrimLeft(pat[i+1:], " \t")
	}
	i := strings.IndexByte(pat, '/')
	if i < 0 {
		return ""
	}
	var b strings.Builder
	for seg := range strings.SplitSeq(pat[i+1:], "/") {
		if seg == "" || strings.ContainsAny(seg, "*") || seg == "{$}" || strings.HasSuffix(seg, "...}") {
			break // the end of what was matched segment by segment
		}
		if seg[0] == '{' && seg[len(seg)-1] == '}' && strings.Count(seg, "{") == 1 {
			name, _, _ := strings.Cut(seg[1:len(seg)-1], ":") // chi: {id:[0-9]+}
			v := r.PathValue(name)
			if v == "" || strings.IndexByte(v, '/') >= 0 {
				break
			}
			seg = v
		} else if strings.ContainsAny(seg, "{}") {
			break // text and a value in one segment: not read exactly
		}
		b.WriteByte('/')
		b.WriteString(seg)
	}
	routed := b.String()
	if !strings.HasPrefix(r.URL.Path, routed) {
		return ""
	}
	return routed
}

// validMount reports whether a mount is one the middleware can build into
// URLs and cookie paths as it is: "" or segments of the asset grammar.
func validMount(m string) bool {
	if m == "" {
		return true
	}
	if len(m) > maxPath || m[0] != '/' {
		return false
	}
	for seg := range strings.SplitSeq(m[1:], "/") {
		if !validSegment(seg) {
			return false
		}
	}
	return true
}
