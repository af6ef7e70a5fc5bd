package privatevideo_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// mountedFixture is the fixture's middleware and media handler behind
// mount (a handler around the middleware's), with the grace and retry
// windows off.
func mountedFixture(t *testing.T, mount func(h http.Handler) http.Handler) *fixture {
	t.Helper()
	f := newFixture(t, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
	srv := httptest.NewServer(mount(f.mw.Handler(mediaHandler())))
	t.Cleanup(srv.Close)
	f.srv = srv
	return f
}

func stripApp(h http.Handler) http.Handler { return http.StripPrefix("/app", h) }

// Behind http.StripPrefix, the redirect of a query token and the cookie's
// Path stay under the mount, in the origin or the absolute form of the
// request line.
func TestMountStrippedSpellings(t *testing.T) {
	f := mountedFixture(t, stripApp)
	for _, c := range []struct{ name, prefix string }{
		{"origin form", "/app"},
		{"absolute form", f.srv.URL + "/app"},
		{"absolute form without a host", "http:/app"},
	} {
		tok := f.issue("v1")
		status, h, _ := rawRequest(t, f.srv.URL, http.MethodGet, c.prefix+"/vod/v1/a.ts?token="+tok)
		if want := "/app" + tokenPath("v1", tok, "a.ts"); status != http.StatusTemporaryRedirect || h.Get("Location") != want {
			t.Errorf("%s: %d Location %q, want 307 to %q", c.name, status, h.Get("Location"), want)
		}
		status, h, _ = rawRequest(t, f.srv.URL, http.MethodGet, c.prefix+tokenPath("v1", tok, "a.ts"))
		if want := "; Path=/app/vod/v1/token/" + tok + ";"; status != http.StatusOK || !strings.Contains(h.Get("Set-Cookie"), want) {
			t.Errorf("%s: %d Set-Cookie %q, want 200 with %q", c.name, status, h.Get("Set-Cookie"), want)
		}
	}
}

// The client cannot move the mount: a path the application does not strip
// or route is not the middleware's, however it holds the prefix, and it
// spends nothing.
func TestMountNotSpoofable(t *testing.T) {
	f := mountedFixture(t, func(h http.Handler) http.Handler { return h }) // at the root
	tok := f.issue("v1")
	for _, p := range []string{
		"/app" + tokenPath("v1", tok, "a.ts"),
		"/v1" + tokenPath("v1", tok, "a.ts"),
		"/a/b/c" + tokenPath("v1", tok, "a.ts"),
	} {
		wantDenied(t, "unrouted mount "+p, f.get(f.player("p"), p), http.StatusBadRequest, "malformed")
	}
	if st := f.state(tok); st != store.Issued {
		t.Fatalf("token state %v after unrouted mounts, want issued", st)
	}
}

// A routed mount (a ServeMux pattern that leaves it in the path) must be
// built into URLs as it is: one outside the asset grammar, from a path
// value the client chose, is refused before the store, and a prefix under
// the mount spelled in another case is refused as it is at the root.
func TestMountRoutedRefusals(t *testing.T) {
	f := mountedFixture(t, func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/t/{tenant}/", h)
		return mux
	})
	tok := f.issue("v1")
	for _, c := range []struct{ path, reason string }{
		{"/t/a%20b" + tokenPath("v1", tok, "a.ts"), "malformed"},
		{"/t/a%3Bb" + tokenPath("v1", tok, "a.ts"), "malformed"},
		{"/t/acme/VOD/v1/token/" + tok + "/a.ts", "malformed"},
		{"/t/acme/x" + tokenPath("v1", tok, "a.ts"), "malformed"},
	} {
		wantDenied(t, c.path, f.get(f.player("p"), c.path), http.StatusBadRequest, c.reason)
	}
	if st := f.state(tok); st != store.Issued {
		t.Fatalf("token state %v after refused mounts, want issued", st)
	}
	res := f.get(f.player("p"), "/t/acme"+tokenPath("v1", tok, "a.ts"))
	wantOK(t, "the routed mount", res)
	if !strings.Contains(res.body, "path=/t/acme/vod/v1/a.ts ") {
		t.Fatalf("the handler saw %q, want the public path under the routed mount", res.body)
	}
}
