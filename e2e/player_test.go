package e2e

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// server runs the middleware, the player page and the fixture stream of the
// root module (testdata/media, video "v1").
func server(t *testing.T, opts ...privatevideo.Option) (*httptest.Server, *privatevideo.Middleware, *testclock.Clock) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	c := testclock.New(time.Now())
	opts = append([]privatevideo.Option{
		privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies(), privatevideo.WithClock(c.Now),
	}, opts...)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	media := http.StripPrefix("/vod/", http.FileServer(http.Dir("../testdata/media")))
	srv := httptest.NewServer(mw.Handler(mw.Player(media)))
	t.Cleanup(srv.Close)
	return srv, mw, c
}

// browser starts headless Chromium with a fresh profile and returns a context
// for its first tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("PRIVATEVIDEO_REQUIRE_TOOLS") != "" {
			t.Fatalf("chromium is required (PRIVATEVIDEO_REQUIRE_TOOLS is set) but not found: %v", err)
		}
		t.Skip("chromium not found; .ci/run installs it (apt-get install chromium)")
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
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
	)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// plays opens (or reloads) the player page in ctx and waits until the video
// has played half a second.
func plays(t *testing.T, ctx context.Context, what string, nav chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, nav); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	state, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const v = document.querySelector("video"), note = document.getElementById("note");
		if (!note.hidden) return "refused: " + note.dataset.reason;
		if (!v.src) return "";
		if (v.paused) { v.muted = true; v.play().catch(() => {}); }
		return v.currentTime > 0.5 ? "playing " + v.dataset.playing : "";
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("%s: the video did not play: %v (%s)", what, err, pageState(ctx))
	}
	if state[:7] != "playing" {
		t.Fatalf("%s: %s", what, state)
	}
	t.Logf("%s: %s", what, state)
}

// refused opens the player page in ctx and waits until it explains a
// refusal; it returns the reason.
func refused(t *testing.T, ctx context.Context, what, url string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	reason, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const note = document.getElementById("note");
		return note && !note.hidden && note.textContent ? note.dataset.reason : "";
	})()`, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("%s: no refusal shown: %v (%s)", what, err, pageState(ctx))
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("note").textContent`))
	if text == "" {
		t.Fatalf("%s: the refusal has no words", what)
	}
	return reason
}

func pageState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const v = document.querySelector("video");
		return v ? JSON.stringify({src: v.src, error: v.error && v.error.code, ready: v.readyState, t: v.currentTime, note: document.getElementById("note").textContent}) : document.body.innerText;
	})()`))
	if err != nil {
		return err.Error()
	}
	return s
}

func playerURL(t *testing.T, srv *httptest.Server, mw *privatevideo.Middleware) string {
	t.Helper()
	urls, err := mw.IssueURLs(context.Background(), srv.URL, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return urls.Player
}

// Cookie mode: the page plays, plays again after a reload, and another
// browser (a separate browser context: its own cookies and storage) is
// refused in words.
func TestPlayerCookieMode(t *testing.T) {
	srv, mw, clk := server(t)
	ctx := browser(t)
	url := playerURL(t, srv, mw)

	plays(t, ctx, "first open", chromedp.Navigate(url))
	plays(t, ctx, "reload", chromedp.Reload())

	clk.Advance(privatevideo.DefaultGrace + time.Second)
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if reason := refused(t, other, "another browser", url); reason != "token-used" {
		t.Fatalf("another browser: reason %q, want token-used", reason)
	}
}

// Page-bound mode: reload plays again; a new tab of the same browser is
// refused.
func TestPlayerPageBoundMode(t *testing.T) {
	srv, mw, _ := server(t, privatevideo.WithPageBound())
	ctx := browser(t)
	url := playerURL(t, srv, mw)

	plays(t, ctx, "first open", chromedp.Navigate(url))
	plays(t, ctx, "reload", chromedp.Reload())

	tab, cancel := chromedp.NewContext(ctx) // a new tab, same browser context
	defer cancel()
	if reason := refused(t, tab, "a new tab", url); reason != "token-used" {
		t.Fatalf("a new tab: reason %q, want token-used", reason)
	}
	plays(t, ctx, "the first tab, reloaded again", chromedp.Reload())
}
