package main

// Forward-auth: GET /auth decides a media request that a proxy in front of
// the media (nginx's auth_request, Traefik's ForwardAuth, Caddy's
// forward_auth) describes in headers, exactly as the middleware would
// decide it, and serves no media: the proxy serves the bytes itself.
//
// The described request is rebuilt as a synthetic *http.Request (method and
// URI from the headers, the viewer's Cookie, User-Agent and X-Forwarded-For
// as they came) and run through the same privatevideo.Middleware.Handler as
// the edge's own media, around a handler that serves nothing. Its answer is
// then translated for the proxy: 200 with the Set-Cookie to pass on when the
// request may go on; otherwise a status the proxy can relay, with the reason
// in the Privatevideo-Reason header (the middleware's own) and the
// middleware's body.

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/privatevideo/privatevideo"
)

// The headers in which proxies describe the request they ask about.
const (
	// nginx (auth_request), set in its configuration.
	hdrOriginalURI    = "X-Original-Uri"
	hdrOriginalMethod = "X-Original-Method"
	// Traefik (ForwardAuth) and Caddy (forward_auth), set by the proxy.
	hdrForwardedURI    = "X-Forwarded-Uri"
	hdrForwardedMethod = "X-Forwarded-Method"
	hdrForwardedHost   = "X-Forwarded-Host"
	hdrForwardedProto  = "X-Forwarded-Proto"
)

// maxDescribedURI bounds the described URI before any work. The
// middleware's own caps are lower; this only keeps parsing cheap.
const maxDescribedURI = 8 << 10

// authPath is where the edge answers forward-auth.
const authPath = "/auth"

// forwardAuth answers /auth.
type forwardAuth struct {
	guard   http.Handler // the middleware around serveNothing
	prefix  string       // the layout's prefix, "/vod/"
	session string       // the layout's session endpoint segment, "session"
	trusted []netip.Prefix
	log     *slog.Logger
	warn    sync.Once // the loopback-without-trusted-proxies warning, once
	// lastRefusal is the Unix second of the last untrusted caller logged.
	lastRefusal atomic.Int64
}

// newForwardAuth answers forward-auth with mw, for callers in trusted (or,
// when trusted is empty, on loopback).
func newForwardAuth(mw *privatevideo.Middleware, trusted []netip.Prefix, log *slog.Logger) *forwardAuth {
	l := mw.Layout()
	a := &forwardAuth{prefix: l.Prefix, session: l.SessionEndpoint, trusted: trusted, log: log}
	a.guard = mw.Handler(http.HandlerFunc(a.serveNothing))
	return a
}

// serveNothing is what the middleware wraps: a request it lets through is
// allowed, with an empty 200. One it passes untouched because it is not
// under the prefix is refused: forward-auth vouches for media only, and a
// proxy may read as media what the middleware did not (nginx merges
// slashes and resolves dot segments).
func (a *forwardAuth) serveNothing(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, a.prefix) {
		writeDenial(w, privatevideo.ErrMalformed)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// proxyKind is the convention of the headers a request to /auth came in.
type proxyKind uint8

const (
	proxyNginx     proxyKind = iota + 1 // X-Original-URI: only 2xx, 401 and 403 get through
	proxyForwarded                      // X-Forwarded-Uri: any answer is relayed to the viewer
)

func (a *forwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The caller vouches for every header it sends: only a trusted proxy
	// may ask, or anyone could describe the request of someone else.
	ip := remoteIP(r.RemoteAddr)
	if !a.mayAsk(ip) {
		if now := time.Now().Unix(); a.lastRefusal.Swap(now) != now {
			// At most a line a second: a caller that may not ask must
			// not be able to flood the log either.
			a.log.Warn("forward-auth: refused a caller that is not a trusted proxy", "caller", ip.String())
		}
		writeProblem(w, http.StatusForbidden, "untrusted-caller",
			"Only a trusted proxy may ask /auth: name it in -trusted-proxies.")
		return
	}
	if len(a.trusted) == 0 {
		a.warn.Do(func() {
			a.log.Warn("forward-auth from loopback without -trusted-proxies: every viewer has the proxy's address, " +
				"and for a few seconds after a link is redeemed any client with the same User-Agent gets its session; " +
				"set -trusted-proxies to the proxy's address so that its X-Forwarded-For names the viewer")
		})
	}
	kind, sr, err := a.described(r)
	if err != nil {
		if kind == 0 {
			// No description at all: the proxy is misconfigured. nginx
			// answers its viewer 500, which is what this is.
			a.log.Warn("forward-auth: the request is not described", "cause", err.Error())
			writeProblem(w, http.StatusBadRequest, "bad-request",
				"Describe the request: X-Original-URI and X-Original-Method (nginx), or X-Forwarded-Uri and X-Forwarded-Method (Traefik, Caddy).")
			return
		}
		tw := &authWriter{ResponseWriter: w, kind: kind}
		if err == errDescribedMethod {
			w.Header().Set("Allow", "GET, HEAD")
			writeDenial(tw, privatevideo.ErrMethod)
			return
		}
		if err == errSessionEndpoint {
			w.Header().Set("Privatevideo-Reason", "forward-auth-unsupported")
			writeProblem(tw, http.StatusForbidden, "forward-auth-unsupported",
				"The session endpoint answers a body: proxy it to the edge server rather than through forward-auth.")
			return
		}
		writeDenial(tw, privatevideo.ErrMalformed)
		return
	}
	a.guard.ServeHTTP(&authWriter{ResponseWriter: w, kind: kind}, sr)
}

// mayAsk reports whether a caller at ip may use /auth: one of the trusted
// proxies, or, when none is named, a process on this machine.
func (a *forwardAuth) mayAsk(ip netip.Addr) bool {
	if len(a.trusted) == 0 {
		return ip.IsLoopback()
	}
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

type authError string

func (e authError) Error() string { return string(e) }

const (
	errNotDescribed    = authError("neither X-Original-URI nor X-Forwarded-Uri")
	errNoMethod        = authError("the described method is missing")
	errAmbiguous       = authError("described twice")
	errDescribedURI    = authError("the described URI is not an origin-form request target")
	errDescribedMethod = authError("the described method is neither GET nor HEAD")
	errDescribedHost   = authError("the described host is malformed")
	errSessionEndpoint = authError("the session endpoint")
)

// described rebuilds the request r describes. A zero kind means r
// describes none (a proxy's configuration error); any other error, with
// its kind, is a request to refuse.
func (a *forwardAuth) described(r *http.Request) (proxyKind, *http.Request, error) {
	h := r.Header
	uriHdr, methodHdr := hdrOriginalURI, hdrOriginalMethod
	kind := proxyNginx
	switch nginx, fwd := len(h.Values(hdrOriginalURI)) > 0, len(h.Values(hdrForwardedURI)) > 0; {
	case nginx && fwd:
		// Each proxy sets its own header, so the other came from the
		// viewer (Traefik and Caddy pass the viewer's headers on): which
		// request is described cannot be told.
		return proxyNginx, nil, errAmbiguous
	case fwd:
		uriHdr, methodHdr, kind = hdrForwardedURI, hdrForwardedMethod, proxyForwarded
	case !nginx:
		return 0, nil, errNotDescribed
	}
	uris, methods := h.Values(uriHdr), h.Values(methodHdr)
	if len(methods) == 0 {
		// Guessing GET would let a described DELETE pass as one.
		return 0, nil, errNoMethod
	}
	if len(uris) != 1 || len(methods) != 1 {
		return kind, nil, errAmbiguous
	}
	if m := methods[0]; m != http.MethodGet && m != http.MethodHead {
		return kind, nil, errDescribedMethod
	}
	uri := uris[0]
	if !originForm(uri) {
		return kind, nil, errDescribedURI
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return kind, nil, errDescribedURI
	}
	if a.sessionEndpoint(u) {
		return kind, nil, errSessionEndpoint
	}
	host := r.Host
	if kind == proxyForwarded {
		// The caller is trusted (mayAsk), so its X-Forwarded-Host names
		// the host the viewer asked for, as the middleware's CORS check
		// reads it behind a trusted proxy.
		if fh := h.Values(hdrForwardedHost); len(fh) > 0 {
			if len(fh) != 1 || !validHost(fh[0]) {
				return kind, nil, errDescribedHost
			}
			host = fh[0]
		}
	}
	sh := h.Clone()
	for _, k := range []string{hdrOriginalURI, hdrOriginalMethod, hdrForwardedURI, hdrForwardedMethod,
		hdrForwardedHost, hdrForwardedProto, "X-Original-Url", "X-Rewrite-Url", "Content-Length", "Transfer-Encoding"} {
		delete(sh, k)
	}
	sr := &http.Request{
		Method:     methods[0],
		URL:        u,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     sh,
		Body:       http.NoBody,
		Host:       host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: uri,
	}
	return kind, sr.WithContext(r.Context()), nil
}

// originForm reports whether uri is a request target in origin form
// (RFC 9112, 3.2.1): "/" then visible ASCII, no "//" at the start (Go would
// read a path, some proxies an authority). Absolute form, "*", spaces,
// controls, line breaks and non-ASCII bytes are refused.
func originForm(uri string) bool {
	if len(uri) == 0 || len(uri) > maxDescribedURI || uri[0] != '/' || strings.HasPrefix(uri, "//") {
		return false
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// sessionEndpoint reports whether u may be the session endpoint, whose
// answer is a body that forward-auth cannot hand on: redeeming there would
// spend the link for nothing. It errs on the side of yes: any path whose
// last segment is the endpoint's name in any letter case, even escaped.
func (a *forwardAuth) sessionEndpoint(u *url.URL) bool {
	for _, p := range []string{u.Path, u.EscapedPath()} {
		p = strings.TrimRight(p, "/")
		i := strings.LastIndexByte(p, '/')
		last := p[i+1:]
		if dec, err := url.PathUnescape(last); err == nil {
			last = dec
		}
		if strings.EqualFold(last, a.session) {
			return true
		}
	}
	return false
}

// validHost accepts a host[:port] of visible ASCII without "/", "@", "\",
// "?" or "#".
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`/\@?#,`, c) >= 0 {
			return false
		}
	}
	return true
}

// remoteIP is the address of a RemoteAddr, unmapped; invalid if unreadable.
func remoteIP(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// authWriter translates the middleware's answer for the proxy. Allowed
// (2xx) goes as it is. For nginx, whose auth_request turns any status but
// 2xx, 401 and 403 into a 500 for the viewer, a store failure (503) becomes
// 401 and any other refusal (400, 403, 404, 405, a 307 that moves a query
// token into the path) 403; the reason stays in Privatevideo-Reason, and
// Retry-After with it. Traefik and Caddy relay the answer to the viewer
// whole, so it goes unchanged.
type authWriter struct {
	http.ResponseWriter
	kind  proxyKind
	wrote bool
}

func (w *authWriter) WriteHeader(code int) {
	if w.wrote || code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wrote = true
	if w.kind == proxyNginx && code > 299 {
		if code == http.StatusServiceUnavailable {
			code = http.StatusUnauthorized
		} else {
			code = http.StatusForbidden
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *authWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection: the
// middleware flushes a fresh redemption's answer to learn that it left.
func (w *authWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeDenial answers d as the middleware does: its status (the default
// 403 for those without their own), Privatevideo-Reason, and a problem.
func writeDenial(w http.ResponseWriter, d *privatevideo.Denial) {
	w.Header().Set("Privatevideo-Reason", d.Reason())
	writeProblem(w, d.Status(http.StatusForbidden), d.Reason(), d.Title())
}

// writeProblem answers an RFC 9457 problem in the middleware's shape.
// reason and title are constants: no input is echoed.
func writeProblem(w http.ResponseWriter, status int, reason, title string) {
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Reason string `json:"reason"`
	}{"urn:privatevideo:" + reason, title, status, reason})
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
