package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/privatevideo/privatevideo"
)

// The fixture's HLS: two video renditions and an alternate audio one, fMP4
// with AES-128 segments (scripts/make-media.sh); the audio has one more.
var segments = []string{"seg0.m4s", "seg1.m4s", "seg2.m4s", "seg3.m4s", "seg4.m4s"}

// wantHLSByHLSJS checks that the requests played the HLS through hls.js:
// the master, the playlists of the given renditions, their init sections
// and a segment of each, and the key, all fetched by script (XHR), never by
// the media element (native HLS), all answered; and no MP4 at all.
func wantHLSByHLSJS(t *testing.T, what string, reqs []request, renditions ...string) {
	t.Helper()
	m := media(reqs)
	want := []string{"hls/manifest.m3u8", "hls/key.bin"}
	for _, r := range renditions {
		want = append(want, "hls/"+r+"/index.m3u8", "hls/"+r+"/init.mp4")
	}
	for _, w := range want {
		if len(m[w]) == 0 {
			t.Errorf("%s: %s never requested", what, w)
		}
	}
	for _, r := range renditions {
		segs := 0
		for _, s := range segments {
			segs += len(m["hls/"+r+"/"+s])
		}
		if segs == 0 {
			t.Errorf("%s: no segment of %s requested", what, r)
		}
	}
	for asset, rs := range m {
		for _, r := range rs {
			switch {
			case strings.HasPrefix(asset, "mp4/"):
				t.Errorf("%s: the MP4 was requested: %+v", what, r)
			case strings.HasPrefix(asset, "hls/") && r.Dest != "empty":
				t.Errorf("%s: %s fetched by %q, not by hls.js (native HLS?)", what, asset, r.Dest)
			case strings.HasPrefix(asset, "hls/") && r.Status != 200 && r.Status != 206:
				t.Errorf("%s: %s answered %d", what, asset, r.Status)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// wantLoadedByHLSJS checks, from the page's side (Resource Timing, which
// counts what the HTTP cache answered too), that the page in ctx loaded the
// HLS by script and no MP4.
func wantLoadedByHLSJS(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`performance.getEntriesByType("resource").map((e) => e.initiatorType + " " + new URL(e.name).pathname)`))
	if err != nil {
		t.Fatal(err)
	}
	segs := 0
	for _, l := range loaded {
		by, p, _ := strings.Cut(l, " ")
		switch {
		case strings.Contains(p, "/mp4/"):
			t.Fatalf("%s: the page loaded the MP4: %q", what, loaded)
		case strings.Contains(p, "/hls/") && by != "xmlhttprequest":
			t.Fatalf("%s: %s loaded by %s, not hls.js: %q", what, p, by, loaded)
		case strings.HasSuffix(p, ".m4s"):
			segs++
		}
	}
	if segs < 2 {
		t.Fatalf("%s: %d segments loaded: %q", what, segs, loaded)
	}
}

// wantLibrary checks that the page loaded hls.js once, from its own URL.
func wantLibrary(t *testing.T, what string, reqs []request, loads int) {
	t.Helper()
	n := 0
	for _, r := range reqs {
		if strings.Contains(r.URL, "player.lib=") {
			n++
			if r.Status != 200 || r.Dest != "script" {
				t.Fatalf("%s: the library's request %+v", what, r)
			}
		}
	}
	if n != loads {
		t.Fatalf("%s: the library was requested %d times, want %d", what, n, loads)
	}
}

// switchTo makes hls.js play the rendition of the given height now, and
// waits until its frames are on screen and playing on.
func switchTo(t *testing.T, ctx context.Context, height int) {
	t.Helper()
	level, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(
		`(() => { const h = window.__pvHls, i = h.levels.findIndex((l) => l.height === %d); h.currentLevel = i; return i; })()`, height)))
	if err != nil || level < 0 {
		t.Fatalf("switching to %dp: level %d, %v (%+v)", height, level, err, state(t, ctx))
	}
	from := state(t, ctx).Time
	waitFor(t, ctx, fmt.Sprintf("switch to %dp", height), fmt.Sprintf(
		`h.currentLevel === %d && v.videoHeight === %d && !v.paused && v.currentTime > %f`, level, height, from+0.2))
	t.Logf("switched to %dp at %.2fs", height, state(t, ctx).Time)
}

// seekTo seeks and waits until playback goes on past the new position.
func seekTo(t *testing.T, ctx context.Context, at float64) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`document.querySelector("video").currentTime = %f`, at))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, fmt.Sprintf("seek to %.1fs", at), fmt.Sprintf(
		`!v.seeking && !v.paused && v.currentTime > %f && v.currentTime < %f`, at+0.2, at+1.2))
}

// Cookie mode: the page plays the HLS through hls.js (never the MP4, never
// Chromium's native HLS), switches rendition, seeks, plays again after a
// reload, and another browser (its own cookies and storage) is refused in
// words.
func TestPlayerHLSCookieMode(t *testing.T) {
	f := server(t)
	ctx := browser(t)
	page := f.playerURL(t)

	st := plays(t, ctx, "first open", "hls.js", chromedp.Navigate(page))
	if !strings.HasPrefix(st.Src, "blob:") || !slices.Contains(st.Heights, 360) || !slices.Contains(st.Heights, 180) {
		t.Fatalf("first open: not MSE with both renditions: %+v", st)
	}
	switchTo(t, ctx, 180)
	seekTo(t, ctx, 2.5)
	// The sound is the alternate audio rendition's: the video renditions
	// have none.
	if audio, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("video").webkitAudioDecodedByteCount`)); err != nil || audio == 0 {
		t.Fatalf("no audio decoded (%d bytes, %v)", audio, err)
	}
	reqs := f.log.since(0)
	wantHLSByHLSJS(t, "first open", reqs, "360p", "180p", "audio")
	wantLibrary(t, "first open", reqs, 1)
	for _, r := range reqs {
		if strings.Contains(r.URL, "/hls/") && (!r.Cookie || query(t, r.URL).Get("avh") == "") {
			t.Fatalf("cookie mode: %s came without the cookie and the session token (%+v)", r.URL, r)
		}
	}

	plays(t, ctx, "reload", "hls.js", chromedp.Reload())
	wantLoadedByHLSJS(t, ctx, "reload") // from the browser's cache, partly

	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	mark := f.log.len()
	if reason := refused(t, other, "another browser", page); reason != "token-used" {
		t.Fatalf("another browser: reason %q, want token-used", reason)
	}
	for _, r := range f.log.since(mark) {
		if r.Status == 200 && strings.Contains(r.URL, "/hls/") {
			t.Fatalf("another browser got media: %+v", r)
		}
	}
}

// Page-bound mode: no cookie, the session token on every URL hls.js loads;
// reload plays again; a new tab of the same browser is refused.
func TestPlayerHLSPageBoundMode(t *testing.T) {
	f := server(t, privatevideo.WithPageBound())
	ctx := browser(t)
	page := f.playerURL(t)

	plays(t, ctx, "first open", "hls.js", chromedp.Navigate(page))
	switchTo(t, ctx, 180)
	seekTo(t, ctx, 2.5)
	reqs := f.log.since(0)
	wantHLSByHLSJS(t, "first open", reqs, "360p", "180p", "audio")
	wantPageBound(t, f, ctx, page, "hls.js", reqs)
	plays(t, ctx, "the first tab, reloaded again", "hls.js", chromedp.Reload())
}

// A refusal in the middle of playback (here a revoked link, with the
// revocation check on) is said in words: hls.js's fatal error makes the
// page ask why with a HEAD, which never redeems.
func TestPlayerHLSRefusedMidway(t *testing.T) {
	f := server(t, privatevideo.WithRevocationCheck(privatevideo.StopPlaying))
	ctx := browser(t)
	page := f.playerURL(t)
	u, _ := url.Parse(page)

	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	// The manifest is read at once; nothing else loads before play.
	waitFor(t, ctx, "manifest read", `h && h.levels.length === 2`)
	if err := f.mw.Revoke(context.Background(), u.Query().Get("token")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const v = document.querySelector("video"); v.muted = true; v.play().catch(() => {}); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if reason := refusal(t, ctx, "revoked midway"); reason != "token-revoked" {
		t.Fatalf("revoked midway: reason %q, want token-revoked", reason)
	}
	for _, r := range f.log.since(0) {
		if strings.Contains(r.URL, "mp4/") {
			t.Fatalf("a refusal made the page try the MP4: %+v", r)
		}
	}
}

// The page as an embed: in an iframe of another site (localhost embedding
// 127.0.0.1), where the browser keeps no SameSite=Lax cookie, the page plays
// in cookie mode too, since it carries the session token it opened on every
// media URL. The grace window is off: within it, the same client's
// requests would pass without any session.
func TestPlayerHLSEmbeddedCrossSite(t *testing.T) {
	f := server(t, privatevideo.WithGrace(0))
	page := f.playerURL(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>a platform's page</title>
<iframe src="%s" allow="autoplay" width="640" height="360"></iframe>
<script>window.__embed = {}; addEventListener("message", (e) => { window.__embed = e.data; });</script>`, html.EscapeString(page))
	}))
	t.Cleanup(site.Close)
	embedder := strings.Replace(site.URL, "127.0.0.1", "localhost", 1)

	ctx := browserWith(t, chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "IsolateOrigins,site-per-process"))
	// In the player's frame (in process, so this probe runs there too):
	// press play, and tell the embedding page how it goes.
	onNewDocument(t, ctx, `if (window !== top) document.addEventListener("DOMContentLoaded", () => {
		const v = document.querySelector("video"), note = document.getElementById("note");
		if (!v) return;
		v.muted = true;
		v.play().catch(() => {});
		setInterval(() => top.postMessage({ engine: v.dataset.engine || "", time: v.currentTime, note: note.hidden ? "" : note.dataset.reason }, "*"), 100);
	});`)
	if err := chromedp.Do(ctx, chromedp.Navigate(embedder)); err != nil {
		t.Fatal(err)
	}
	got, err := poll[string](ctx, `(() => {
		const e = window.__embed;
		return e.note ? "refused: " + e.note : e.time > 0.5 ? e.engine : "";
	})()`)
	if err != nil || got != "hls.js" {
		t.Fatalf("embedded: %q, %v", got, err)
	}
	reqs := f.log.since(0)
	wantHLSByHLSJS(t, "embedded", reqs, "360p", "audio")
	for asset, rs := range media(reqs) {
		for _, r := range rs {
			if r.Cookie || query(t, r.URL).Get("avh") == "" {
				t.Fatalf("embedded: %s with a cookie (%v) or without the session token: the test does not embed cross-site", asset, r.Cookie)
			}
		}
	}
}

// wantPageBound checks a page-bound player after its first open (reqs):
// every media request carried one session token and no cookie; a reload
// plays on that session, opening none; a new tab of the same browser is
// refused.
func wantPageBound(t *testing.T, f *fixture, ctx context.Context, page, player string, reqs []request) {
	t.Helper()
	session := ""
	for asset, rs := range media(reqs) {
		for _, r := range rs {
			avh := query(t, r.URL)["avh"]
			if len(avh) != 1 || r.Cookie {
				t.Fatalf("page-bound: %s with session tokens %q, cookie %v", asset, avh, r.Cookie)
			}
			if session == "" {
				session = avh[0]
			} else if avh[0] != session {
				t.Fatalf("page-bound: %s with another session token", asset)
			}
		}
	}

	mark := f.log.len()
	plays(t, ctx, "reload", player, chromedp.Reload())
	for _, r := range f.log.since(mark) {
		if strings.HasSuffix(r.path(), "/session") {
			t.Fatalf("reload: the page opened a new session (%+v); it keeps its own", r)
		}
	}

	tab, cancel := chromedp.NewContext(ctx) // a new tab, same browser context
	defer cancel()
	if reason := refused(t, tab, "a new tab", page); reason != "token-used" {
		t.Fatalf("a new tab: reason %q, want token-used", reason)
	}
}
