package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// fixture is the middleware, the player page and the fixture stream of the
// root module (testdata/media, video "v1") behind a real server that
// records every request it gets.
type fixture struct {
	srv   *httptest.Server
	mw    *privatevideo.Middleware
	clock *testclock.Clock
	log   *requestLog
}

// serverOption changes the fixture's server.
type serverOption func(http.Handler) http.Handler

func server(t *testing.T, opts ...privatevideo.Option) *fixture {
	return serverWith(t, nil, opts...)
}

// serverWith is server with wrap around the whole handler (nil for none),
// inside the request log.
func serverWith(t *testing.T, wrap serverOption, opts ...privatevideo.Option) *fixture {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	f := &fixture{clock: testclock.New(time.Now()), log: &requestLog{}}
	opts = append([]privatevideo.Option{
		privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies(), privatevideo.WithClock(f.clock.Now),
	}, opts...)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.mw = mw
	media := http.StripPrefix("/vod/", http.FileServer(http.Dir("../testdata/media")))
	var h http.Handler = mw.Handler(mw.Player(media))
	if wrap != nil {
		h = wrap(h)
	}
	f.srv = httptest.NewServer(f.log.wrap(h))
	t.Cleanup(f.srv.Close)
	return f
}

// playerURL issues a token for v1 and returns its player page URL.
func (f *fixture) playerURL(t *testing.T) string {
	t.Helper()
	urls, err := f.mw.IssueURLs(context.Background(), f.srv.URL, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return urls.Player
}

// request is one request the server got, as it came.
type request struct {
	Method, URL string // URL: the request URI, with token and avh
	Dest        string // Sec-Fetch-Dest: "empty" for XHR and fetch, "video" for the media element
	Cookie      bool   // a Cookie header came
	Status      int
}

// path is the request's path without the query.
func (r request) path() string { p, _, _ := strings.Cut(r.URL, "?"); return p }

type requestLog struct {
	mu   sync.Mutex
	list []request
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		l.mu.Lock()
		l.list = append(l.list, request{
			Method: r.Method, URL: r.RequestURI, Dest: r.Header.Get("Sec-Fetch-Dest"),
			Cookie: r.Header.Get("Cookie") != "", Status: sw.status,
		})
		l.mu.Unlock()
	})
}

// since returns the requests from the n-th on; len of an earlier call is a
// mark.
func (l *requestLog) since(n int) []request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]request(nil), l.list[min(n, len(l.list)):]...)
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.list)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// browser starts headless Chromium with a fresh profile and returns a context
// for its first tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browserWith(t)
}

// browserWith is browser with more flags.
func browserWith(t *testing.T, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("PRIVATEVIDEO_REQUIRE_TOOLS") != "" {
			t.Fatalf("chromium is required (PRIVATEVIDEO_REQUIRE_TOOLS is set) but not found: %v", err)
		}
		t.Skip("chromium not found; .ci/run installs it (apt-get install chromium)")
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
	}, flags...)...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("starting chromium: %v", err)
	}
	onNewDocument(t, ctx, cspProbe)
	return ctx
}

// cspProbe records what the page's Content-Security-Policy blocked: plays
// fails on any of it.
const cspProbe = `window.__pvCSP = [];
document.addEventListener("securitypolicyviolation", (e) => window.__pvCSP.push(e.effectiveDirective + " " + e.blockedURI));`

// onNewDocument runs src in every document the tab of ctx opens from now on,
// before the page's own scripts (and outside its CSP).
func onNewDocument(t *testing.T, ctx context.Context, src string) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (page.AddScriptToEvaluateOnNewDocumentResult, error) {
		return cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// playerState is what the page shows, read in the browser.
type playerState struct {
	Engine  string  // hls.js, native or mp4
	Playing string  // the source's URL
	Src     string  // the video element's src (blob: under hls.js)
	Time    float64 // currentTime
	Height  int     // videoHeight: the rendition on screen
	Paused  bool
	Seeking bool
	Level   int    // hls.js's current level, -1 without hls.js
	Heights []int  // hls.js's levels
	Ready   int    // readyState
	Error   int    // the media error's code, 0 for none
	Note    string // the refusal's reason, "" while none is shown
}

const readState = `(() => {
	const v = document.querySelector("video"), note = document.getElementById("note"), h = window.__pvHls;
	return JSON.stringify({
		engine: v.dataset.engine || "", playing: v.dataset.playing || "", src: v.src, time: v.currentTime,
		height: v.videoHeight, paused: v.paused, seeking: v.seeking, ready: v.readyState, error: v.error ? v.error.code : 0,
		level: h ? h.currentLevel : -1, heights: h ? h.levels.map((l) => l.height) : [],
		note: note.hidden ? "" : note.dataset.reason || "?",
	});
})()`

func state(t *testing.T, ctx context.Context) playerState {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](readState))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	var st playerState
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		t.Fatalf("reading the page: %v (%s)", err, s)
	}
	return st
}

// poll evaluates expr in the page of ctx every 50 ms until it gives a truthy
// value, for up to 30 s. A poll that a navigation cuts short (the document
// it ran in is gone) starts again in the new one.
func poll[T any](ctx context.Context, expr string) (T, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil || time.Now().After(deadline) || !contextGone(err) {
			return v, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contextGone(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") || strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Inspected target navigated or closed")
}

// waitFor polls the page until cond (a JS expression over v, the video, and
// h, hls.js) is true, and fails with the page's state if it never is.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	_, err := poll[bool](ctx, `(() => {
		const v = document.querySelector("video"), h = window.__pvHls, note = document.getElementById("note");
		if (note && !note.hidden) throw new Error("refused: " + note.dataset.reason);
		return !!(v && (`+cond+`));
	})()`)
	if err != nil {
		t.Fatalf("%s: %v (%+v)", what, err, state(t, ctx))
	}
}

// plays opens (or reloads) the player page in ctx, starts it as a viewer
// would (muted, for the autoplay policy) and waits until the video has
// played half a second with the given engine.
func plays(t *testing.T, ctx context.Context, what, engine string, nav chromedp.Action[chromedp.Void]) playerState {
	t.Helper()
	if err := chromedp.Do(ctx, nav); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	waitFor(t, ctx, what, `v.dataset.engine && (v.paused && (v.muted = true, v.play().catch(() => {})), v.currentTime > 0.5)`)
	blocked, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__pvCSP || []`))
	if err != nil || len(blocked) > 0 {
		t.Fatalf("%s: the page's CSP blocked %q (%v)", what, blocked, err)
	}
	st := state(t, ctx)
	if st.Engine != engine {
		t.Fatalf("%s: played with %s (%s), want %s", what, st.Engine, st.Playing, engine)
	}
	t.Logf("%s: playing with %s at %.2fs, %dp", what, st.Engine, st.Time, st.Height)
	return st
}

// refused opens the player page in ctx and waits until it explains a
// refusal; it returns the reason.
func refused(t *testing.T, ctx context.Context, what, url string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return refusal(t, ctx, what)
}

// refusal waits until the page in ctx explains a refusal in words, and
// returns its reason.
func refusal(t *testing.T, ctx context.Context, what string) string {
	t.Helper()
	reason, err := poll[string](ctx, `(() => {
		const note = document.getElementById("note");
		return note && !note.hidden && note.textContent ? note.dataset.reason : "";
	})()`)
	if err != nil {
		t.Fatalf("%s: no refusal shown: %v (%+v)", what, err, state(t, ctx))
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("note").textContent`))
	if text == "" {
		t.Fatalf("%s: the refusal has no words", what)
	}
	return reason
}

// media returns the requests for the video's assets (not the page, its
// library or the session endpoint), with their paths relative to the
// video: "hls/360p/seg0.m4s".
func media(reqs []request) map[string][]request {
	out := map[string][]request{}
	for _, r := range reqs {
		p := r.path()
		rest, ok := strings.CutPrefix(p, "/vod/v1/")
		if !ok {
			continue
		}
		if tok, after, ok := strings.Cut(strings.TrimPrefix(rest, "token/"), "/"); ok && strings.HasPrefix(rest, "token/") && len(tok) == 36 {
			rest = after
		}
		if rest == "session" {
			continue
		}
		out[rest] = append(out[rest], r)
	}
	return out
}

// query returns the query of a recorded request URI.
func query(t *testing.T, uri string) url.Values {
	t.Helper()
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
