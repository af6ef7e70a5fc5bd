package privatevideo_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// fixture is a real HTTP server running the middleware in front of a media
// handler that reports what it saw.
type fixture struct {
	t     *testing.T
	mw    *privatevideo.Middleware
	srv   *httptest.Server
	store *countingStore
	clock *testclock.Clock
	keys  []privatevideo.Key

	mu        sync.Mutex
	decisions []privatevideo.Decision
}

// countingStore counts the calls that reach the real store underneath, so a
// test can prove that a request never touched it.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls int
}

// NeverBlocks passes on the wrapped store's answer, as metrics.Store does:
// a counting wrapper around the memory store still never blocks, so the
// middleware confirms sessions inline and the tests see the confirmation
// land before their next request (off the request's path it would race).
func (s *countingStore) NeverBlocks() bool {
	nb, ok := s.Store.(store.NonBlocking)
	return ok && nb.NeverBlocks()
}

func (s *countingStore) count() {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
}

func (s *countingStore) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *countingStore) Issue(ctx context.Context, tok, video string, exp time.Time) error {
	s.count()
	return s.Store.Issue(ctx, tok, video, exp)
}

func (s *countingStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	s.count()
	return s.Store.Redeem(ctx, req)
}

func (s *countingStore) Lookup(ctx context.Context, tok string, now time.Time) (store.Record, error) {
	s.count()
	return s.Store.Lookup(ctx, tok, now)
}

func (s *countingStore) Revoke(ctx context.Context, tok string, now time.Time) error {
	s.count()
	return s.Store.Revoke(ctx, tok, now)
}

func newKey(t testing.TB) privatevideo.Key {
	t.Helper()
	k := privatevideo.Key{Hash: make([]byte, 32)}
	rand.Read(k.Hash)
	return k
}

// mediaHandler answers with what it saw of the request: path, query,
// request URI and the session from the context.
func mediaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := privatevideo.SessionFromContext(r.Context())
		tok, _ := privatevideo.TokenFromContext(r.Context())
		if strings.HasSuffix(r.URL.Path, ".m3u8") {
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		}
		if cc := r.URL.Query().Get("set-cache-control"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		fmt.Fprintf(w, "path=%s query=%s uri=%s rawpath=%s session=%t session-video=%s session-token=%s token=%s",
			r.URL.Path, r.URL.RawQuery, r.RequestURI, r.URL.RawPath, ok, sess.VideoID, sess.Token, tok)
	})
}

func newFixture(t *testing.T, opts ...privatevideo.Option) *fixture {
	t.Helper()
	f := &fixture{
		t:     t,
		store: &countingStore{Store: store.NewMemory(0)},
		clock: testclock.New(time.Now()),
		keys:  []privatevideo.Key{newKey(t)},
	}
	all := append([]privatevideo.Option{
		privatevideo.WithStore(f.store),
		privatevideo.WithClock(f.clock.Now),
		privatevideo.WithInsecureCookies(), // httptest serves plain HTTP
		privatevideo.WithDecisionHook(func(d privatevideo.Decision) {
			f.mu.Lock()
			f.decisions = append(f.decisions, d)
			f.mu.Unlock()
		}),
	}, opts...)
	mw, err := privatevideo.New(f.keys, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.mw = mw
	// No ServeMux in front: it would clean paths before the middleware
	// sees them, and the tests want to see the middleware do it.
	f.srv = httptest.NewServer(mw.Handler(mediaHandler()))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) issue(video string) string {
	f.t.Helper()
	tok, err := f.mw.Issue(context.Background(), video)
	if err != nil {
		f.t.Fatalf("Issue: %v", err)
	}
	return tok
}

func (f *fixture) state(tok string) store.State {
	f.t.Helper()
	rec, err := f.store.Store.Lookup(context.Background(), tok, f.clock.Now())
	if err != nil {
		f.t.Fatalf("Lookup: %v", err)
	}
	return rec.State
}

// browser returns a client with its own cookie jar and User-Agent: another
// browser, as far as the middleware can tell.
func (f *fixture) browser(name string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: uaTransport{ua: "test-browser/" + name}}
}

// player returns a client that keeps no cookies and follows no redirects.
func (f *fixture) player(name string) *http.Client {
	return &http.Client{
		Transport:     uaTransport{ua: "test-player/" + name},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", u.ua)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// result is a response, read.
type result struct {
	status int
	body   string
	header http.Header
	reason string // the problem's reason, for denials
}

func (f *fixture) do(c *http.Client, method, path string, header ...string) result {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatalf("NewRequest %s: %v", path, err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, body: string(body), header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && len(body) > 0 {
		var p struct{ Reason string }
		if err := json.Unmarshal(body, &p); err != nil {
			f.t.Fatalf("%s %s: problem body %q: %v", method, path, body, err)
		}
		res.reason = p.Reason
	}
	return res
}

func (f *fixture) get(c *http.Client, path string, header ...string) result {
	f.t.Helper()
	return f.do(c, http.MethodGet, path, header...)
}

// wantOK fails unless res is a 200 from the media handler.
func wantOK(t *testing.T, what string, res result) {
	t.Helper()
	if res.status != http.StatusOK || !strings.HasPrefix(res.body, "path=") {
		t.Fatalf("%s: status %d reason %q body %.200q, want 200 from the media handler", what, res.status, res.reason, res.body)
	}
}

// wantDenied fails unless res is a denial with the given status and reason.
func wantDenied(t *testing.T, what string, res result, status int, reason string) {
	t.Helper()
	if res.status != status || res.reason != reason {
		t.Fatalf("%s: status %d reason %q body %.200q, want %d %q", what, res.status, res.reason, res.body, status, reason)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("%s: denial Cache-Control %q, want no-store", what, cc)
	}
}

// field returns one key=value field of the media handler's answer.
func field(body, name string) string {
	for f := range strings.FieldsSeq(body) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

func tokenPath(video, tok, asset string) string {
	return "/vod/" + video + "/token/" + tok + "/" + asset
}

// serve runs one GET through h without a network, for the checks that need
// no cookie jar.
func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("User-Agent", "test-recorder")
	h.ServeHTTP(rec, req)
	return rec
}
