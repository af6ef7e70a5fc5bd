package privatevideo

import (
	"context"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo/internal/hls"
	"github.com/privatevideo/privatevideo/internal/manifest"
	"github.com/privatevideo/privatevideo/store"
)

// passState is everything an allowed request of a private video needs,
// allocated at once: the response wrapper, the rewritten URL and the
// context carrying the access.
type passState struct {
	rw  responseWriter
	url url.URL
	ctx accessContext
}

// pass hands a private video's request to next, with the public URL, the
// access in the context, and the headers of a private response.
func (m *Middleware) pass(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start time.Time, how string, a access) {
	m.decided(r, t, start, how, nil)
	st := m.passState(w, r, t, r.Context(), a)
	if a.sessionToken != "" && st.rw.byName != notManifest {
		defer st.rw.recoverAbort()
	}
	m.serveNext(st, r, next, t, a)
	st.rw.finish()
}

// passFresh is pass for the request that has just redeemed its token: its
// answer is watched until it reaches the viewer, and the redemption released
// when it does not (see delivery).
func (m *Middleware) passFresh(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start time.Time, a access, rel store.ReleaseRequest, cookie string) {
	m.decided(r, t, start, allowRedeemed, nil)
	d, ctx := m.newDelivery(r.Context(), w, t, rel, cookie)
	st := m.passState(&gated{ResponseWriter: w, d: d}, r, t, ctx, a)
	panicked := true
	defer func() {
		if panicked {
			d.settle(true)
		}
	}()
	if a.sessionToken != "" && st.rw.byName != notManifest {
		defer st.rw.recoverAbort()
	}
	m.serveNext(st, r, next, t, a)
	st.rw.finish()
	panicked = false
	d.settle(false)
}

func (m *Middleware) passState(w http.ResponseWriter, r *http.Request, t *target, ctx context.Context, a access) *passState {
	byName := kindByName(t.asset)
	st := &passState{
		rw:  responseWriter{ResponseWriter: w, noReferrer: t.route == routePage || byName != notManifest, byName: byName, head: r.Method == http.MethodHead, m: m},
		ctx: accessContext{Context: ctx, access: a},
	}
	if h := w.Header(); len(h) > 0 {
		st.rw.own = shallowCopy(h)
	}
	return st
}

// serveNext runs next with the request in its public form.
func (m *Middleware) serveNext(st *passState, r *http.Request, next http.Handler, t *target, a access) {
	byName := st.rw.byName
	r = r.WithContext(&st.ctx)
	m.layout.rewrite(r, t, &st.url)
	rewriting := a.sessionToken != "" && byName != notManifest
	if rewriting {
		st.rw.rewrite = hls.Rewriter{Param: m.layout.SessionParam, Value: a.sessionToken, Hosts: manifest.Hosts{Host: r.Host, Allowed: m.playlistHosts}}
	}
	r.Header, _ = m.handlerHeader(r.Header, rewriting)
	next.ServeHTTP(&st.rw, r)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// passPublic hands a public video's request to next with only the token
// and session parameters removed.
func (m *Middleware) passPublic(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start time.Time) {
	m.decided(r, t, start, allowPublic, nil)
	h, changed := m.handlerHeader(r.Header, false)
	if t.mount == "" && !changed && m.layout.isPublic(r.URL, t) {
		next.ServeHTTP(w, r)
		return
	}
	ctx := r.Context()
	if t.mount != "" {
		// The player page builds its URLs under the mount.
		ctx = &accessContext{Context: ctx, access: access{video: t.video, mount: t.mount, inner: t.inner}}
	}
	r = r.WithContext(ctx) // a shallow copy: the caller's request stays as it was
	m.layout.rewrite(r, t, new(url.URL))
	r.Header = h
	next.ServeHTTP(w, r)
}

// handlerHeader returns the header the wrapped handler gets for h: without
// the session cookie (the site's other cookies stay), a Referer that holds a
// credential, or a rewrite header; and, for a playlist to rewrite, without
// Range, If-Range and Accept-Encoding, since it must come whole and
// readable (a proxy then asks its origin for identity; a compressed answer
// is still decoded). h is the caller's too: what changes is a copy, and h
// itself comes back, with changed false, when nothing does.
func (m *Middleware) handlerHeader(h http.Header, rewriting bool) (_ http.Header, changed bool) {
	cookie := m.hasSessionCookie(h)
	referer := m.layout.carriesCredential(h.Get("Referer"))
	if !cookie && !referer && !rewriting && !hasRewriteHeader(h) {
		return h, false
	}
	h = shallowCopy(h)
	if cookie {
		m.dropSessionCookie(h)
	}
	if referer {
		delete(h, "Referer") // a player page's URL, with its token
	}
	for _, k := range rewriteHeaders {
		delete(h, k)
	}
	if rewriting {
		delete(h, "Range")
		delete(h, "If-Range")
		delete(h, "Accept-Encoding")
	}
	return h, true
}

func hasRewriteHeader(h http.Header) bool {
	for _, k := range rewriteHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// shallowCopy copies h's map but shares its values: enough to delete or
// replace whole keys without touching the caller's header.
func shallowCopy(h http.Header) http.Header {
	c := make(http.Header, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// hasSessionCookie reports whether h carries a cookie of the session
// cookie's name. It errs on the side of yes: dropSessionCookie decides.
func (m *Middleware) hasSessionCookie(h http.Header) bool {
	for _, line := range h["Cookie"] {
		if strings.Contains(line, m.cookie.name) {
			return true
		}
	}
	return false
}

// dropSessionCookie removes the session cookies from h's Cookie lines and
// keeps the site's other cookies, so that no session token reaches the
// wrapped handler, an origin behind it, or their logs.
func (m *Middleware) dropSessionCookie(h http.Header) {
	var kept []string
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = textproto.TrimString(part)
			name, _, _ := strings.Cut(part, "=")
			if part != "" && textproto.TrimString(name) != m.cookie.name {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}
