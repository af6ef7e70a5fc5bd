package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/privatevideo/privatevideo"
)

// Players nobody here wrote (hls.js, Shaka Player, video.js, dash.js, each
// vendored in testdata/players by scripts/vendor-players.sh), on a page of
// another origin: the platform's own site, another port of 127.0.0.1 (same
// site, another origin), playing the media server's private links with
// WithCORS naming that origin, as the edge server's -cors-origins does.

// playerSite serves the test pages (testdata/players/pages) and the players,
// hls.js from the player page's own copy.
func playerSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/players/", http.StripPrefix("/players/", http.FileServer(http.Dir("testdata/players"))))
	mux.Handle("/hls.js/", http.StripPrefix("/hls.js/", http.FileServer(http.Dir("../player/hls.js"))))
	mux.Handle("/", http.FileServer(http.Dir("testdata/players/pages")))
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	return site
}

// pageURL is the site's page for player, playing src.
func pageURL(site *httptest.Server, player, src string, credentials bool) string {
	q := url.Values{"src": {src}}
	if credentials {
		q.Set("credentials", "1")
	}
	return site.URL + "/" + player + ".html?" + q.Encode()
}

// hlsURL issues a token for v1 and returns its HLS master URL.
func (f *fixture) hlsURL(t *testing.T) string {
	t.Helper()
	urls, err := f.mw.IssueURLs(context.Background(), f.srv.URL, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return urls.HLS
}

// sitePlays opens (or reloads) a test page in ctx and waits until its video
// has played past half a second; a player's fatal error fails at once.
func sitePlays(t *testing.T, ctx context.Context, what string, nav chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, nav); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	_, err := poll[bool](ctx, `(() => {
		const v = document.querySelector("video"), pv = window.__pv;
		if (pv && pv.errors.length) throw new Error(pv.errors.join("; "));
		if (v && v.paused && v.readyState > 2) { v.muted = true; v.play().catch(() => {}); }
		return !!(v && v.currentTime > 0.5);
	})()`)
	if err != nil {
		t.Fatalf("%s: not playing: %v (%s)", what, err, siteState(ctx))
	}
	t.Logf("%s: playing (%s)", what, siteState(ctx))
}

// siteFails opens (or reloads) a test page in ctx and waits until its
// player gives up; it returns the player's errors.
func siteFails(t *testing.T, ctx context.Context, what string, nav chromedp.Action[chromedp.Void]) string {
	t.Helper()
	if err := chromedp.Do(ctx, nav); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	errs, err := poll[string](ctx, `(() => {
		const v = document.querySelector("video"), pv = window.__pv;
		if (v && v.currentTime > 0.5) throw new Error("playing");
		return pv && pv.errors.length ? pv.errors.join("; ") : "";
	})()`)
	if err != nil {
		t.Fatalf("%s: the player did not give up: %v (%s)", what, err, siteState(ctx))
	}
	return errs
}

func siteState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const v = document.querySelector("video");
		return (window.__pv ? window.__pv.player : "?") + " time " + (v ? v.currentTime : -1) + " height " + (v ? v.videoHeight : -1) +
			" errors " + JSON.stringify(window.__pv ? window.__pv.errors : null);
	})()`))
	if err != nil {
		return err.Error()
	}
	return s
}

// wantCarriers checks how each media request after the first (the
// redemption) carried the session: by cookie only (credentials, whose
// playlists come as they are), or by avh only (no credentials: rewritten
// playlists). The first request of a credentialed player may carry both.
func wantCarriers(t *testing.T, what string, reqs []request, cookie bool) {
	t.Helper()
	n := 0
	for asset, rs := range media(reqs) {
		for _, r := range rs {
			if r.Status >= 400 {
				t.Fatalf("%s: %s answered %d", what, asset, r.Status)
			}
			avh := query(t, r.URL).Get("avh") != ""
			switch {
			case !cookie && (r.Cookie || !avh):
				t.Fatalf("%s: without credentials, %s came with a cookie (%v) or without avh (%v)", what, asset, r.Cookie, avh)
			case cookie && !r.Cookie:
				t.Fatalf("%s: with credentials, %s came without the cookie (avh %v)", what, asset, avh)
			}
			n++
		}
	}
	if n < 5 {
		t.Fatalf("%s: %d media requests", what, n)
	}
}

// noCache turns the browser's HTTP cache off for the tab of ctx: a reload
// then asks the server again for everything, as a reload after the cache's
// heuristic freshness has run out would (the answers are Cache-Control:
// private with a Last-Modified, which browsers keep a while).
func noCache(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return cdp.Empty{}, err
		}
		return cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pastGrace moves the fixture's clock past the grace and retry windows, in
// which the same client re-enters a redemption without any session: what
// plays after it plays by its session alone.
func (f *fixture) pastGrace() {
	f.clock.Advance(privatevideo.DefaultRetryWindow + time.Second)
}

// Each player, on a page of the listed origin, plays a private HLS link with
// and without credentials; what a reload of that page (the same link)
// does is recorded: with credentials the cookie carries the session on,
// without it the link is spent and the reload is refused (token-used).
func TestPlayersOnAnotherOrigin(t *testing.T) {
	for _, player := range []string{"hlsjs", "shaka", "videojs"} {
		for _, credentials := range []bool{true, false} {
			name := player + "/without credentials"
			if credentials {
				name = player + "/with credentials"
			}
			t.Run(name, func(t *testing.T) {
				site := playerSite(t)
				f := server(t, privatevideo.WithCORS(site.URL))
				ctx := browser(t)
				noCache(t, ctx)
				page := pageURL(site, player, f.hlsURL(t), credentials)

				sitePlays(t, ctx, "first open", chromedp.Navigate(page))
				reqs := f.log.since(0)
				wantCarriers(t, "first open", reqs[1:], credentials)
				if m := media(reqs); len(m["hls/manifest.m3u8"]) == 0 || len(m["hls/key.bin"]) == 0 {
					t.Fatalf("first open: no master or no key requested: %v", m)
				}

				wantReloadAfterGrace(t, f, ctx, credentials, "/hls/manifest.m3u8", "master")
			})
		}
	}
}

// A page on an origin that WithCORS does not list is refused before
// redemption: its player gets nothing, and the link still plays on the
// listed origin afterwards.
func TestPlayersUnlistedOriginSpendsNothing(t *testing.T) {
	listed, unlisted := playerSite(t), playerSite(t)
	var mu sync.Mutex
	var reasons []string
	f := server(t, privatevideo.WithCORS(listed.URL), privatevideo.WithDecisionHook(func(d privatevideo.Decision) {
		mu.Lock()
		reasons = append(reasons, d.Reason)
		mu.Unlock()
	}))
	ctx := browser(t)
	src := f.hlsURL(t)
	for _, player := range []string{"hlsjs", "shaka", "videojs"} {
		mark := f.log.len()
		errs := siteFails(t, ctx, player+" on an unlisted origin", chromedp.Navigate(pageURL(unlisted, player, src, player != "hlsjs")))
		for _, r := range f.log.since(mark) {
			if r.Status != http.StatusForbidden {
				t.Fatalf("%s on an unlisted origin: %s answered %d", player, r.URL, r.Status)
			}
		}
		t.Logf("%s on an unlisted origin gives up: %s", player, errs)
	}
	mu.Lock()
	for _, r := range reasons {
		if r != privatevideo.ErrOriginNotAllowed.Reason() {
			t.Errorf("a request from the unlisted origin was decided %q, want %s", r, privatevideo.ErrOriginNotAllowed.Reason())
		}
	}
	if len(reasons) < 3 {
		t.Errorf("%d decisions for three players", len(reasons))
	}
	mu.Unlock()
	// The same link, on the listed origin, in the same browser, past the
	// windows in which its own client could re-enter a redemption: it was
	// never redeemed.
	f.pastGrace()
	sitePlays(t, ctx, "the same link on the listed origin", chromedp.Navigate(pageURL(listed, "hlsjs", src, false)))
}

// dash.js and Shaka Player play the private DASH (dash/manifest.mpd) from a
// page of the listed origin, as they play the HLS: with credentials the
// MPD's request redeems and sets the cookie, which every later request
// carries, and a reload plays on by it; without, the MPD comes rewritten
// with avh in every URL the player builds, and a reload is refused.
func TestPlayersDASHOnAnotherOrigin(t *testing.T) {
	for _, player := range []string{"dashjs", "shaka"} {
		for _, credentials := range []bool{true, false} {
			name := player + "/without credentials"
			if credentials {
				name = player + "/with credentials"
			}
			t.Run(name, func(t *testing.T) {
				site := playerSite(t)
				f := server(t, privatevideo.WithCORS(site.URL))
				ctx := browser(t)
				noCache(t, ctx)
				urls, err := f.mw.IssueURLs(context.Background(), f.srv.URL, "v1")
				if err != nil || urls.DASH == "" {
					t.Fatalf("no DASH URL: %q, %v", urls.DASH, err)
				}
				page := pageURL(site, player, urls.DASH, credentials)
				sitePlays(t, ctx, "first open", chromedp.Navigate(page))
				reqs := f.log.since(0)
				m := media(reqs)
				if len(m["dash/manifest.mpd"]) == 0 {
					t.Fatalf("first open: the MPD was never requested: %v", m)
				}
				segs := 0
				for asset := range m {
					if strings.HasPrefix(asset, "dash/") && strings.HasSuffix(asset, ".m4s") {
						segs++
					}
				}
				if segs < 2 {
					t.Fatalf("first open: %d DASH segments requested: %v", segs, m)
				}
				wantCarriers(t, "first open", reqs[1:], credentials)

				wantReloadAfterGrace(t, f, ctx, credentials, "/dash/manifest.mpd", "MPD")
			})
		}
	}
}

// firstOf is the first of reqs whose path ends with suffix. A request of
// the page before a reload may still be logged after the mark, since the
// log records requests as they end.
func firstOf(reqs []request, suffix string) (request, bool) {
	for _, r := range reqs {
		if strings.HasSuffix(r.path(), suffix) {
			return r, true
		}
	}
	return request{}, false
}

// wantReloadAfterGrace reloads the page of a player on another origin once
// the grace is over: with credentials it plays on its cookie; without, the
// manifest (path suffix, called what) is refused, as a new redemption.
func wantReloadAfterGrace(t *testing.T, f *fixture, ctx context.Context, credentials bool, suffix, what string) {
	t.Helper()
	f.pastGrace()
	mark := f.log.len()
	if credentials {
		sitePlays(t, ctx, "reload", chromedp.Reload())
		wantCarriers(t, "reload", f.log.since(mark), true)
		return
	}
	errs := siteFails(t, ctx, "reload", chromedp.Reload())
	if r, ok := firstOf(f.log.since(mark), suffix); !ok || r.Status != http.StatusForbidden {
		t.Fatalf("reload without credentials: the %s %+v, want it refused (token-used)", what, r)
	}
	t.Logf("reload without credentials: refused, the player says %q", errs)
}
