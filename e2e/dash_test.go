package e2e

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/privatevideo/privatevideo"
)

// dashPage is the player page URL asking for DASH.
func dashPage(page string) string { return page + "&player.format=dash" }

// wantDASHByShaka checks that the requests played the DASH through Shaka
// Player: the MPD, the init sections it shares with the HLS and a segment
// of each given rendition, all fetched by script, all answered; no MP4, and
// nothing of the HLS but those init sections (no playlist, key or
// encrypted segment).
func wantDASHByShaka(t *testing.T, what string, reqs []request, renditions ...string) {
	t.Helper()
	m := media(reqs)
	if len(m["dash/manifest.mpd"]) == 0 {
		t.Errorf("%s: dash/manifest.mpd never requested", what)
	}
	for _, r := range renditions {
		if len(m["hls/"+r+"/init.mp4"]) == 0 {
			t.Errorf("%s: hls/%s/init.mp4 never requested", what, r)
		}
		segs := 0
		for _, s := range segments {
			segs += len(m["dash/"+r+"/"+s])
		}
		if segs == 0 {
			t.Errorf("%s: no DASH segment of %s requested", what, r)
		}
	}
	for asset, rs := range m {
		for _, r := range rs {
			switch {
			case strings.HasPrefix(asset, "mp4/"):
				t.Errorf("%s: the MP4 was requested: %+v", what, r)
			case strings.HasPrefix(asset, "hls/") && !strings.HasSuffix(asset, "/init.mp4"):
				t.Errorf("%s: the HLS's %s was requested: %+v", what, asset, r)
			case !strings.HasPrefix(asset, "dash/") && !strings.HasPrefix(asset, "hls/"):
				// the poster
			case r.Dest != "empty":
				t.Errorf("%s: %s fetched by %q, not by Shaka", what, asset, r.Dest)
			case r.Status != 200 && r.Status != 206:
				t.Errorf("%s: %s answered %d", what, asset, r.Status)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// wantShakaLibrary checks that the page loaded Shaka Player, and only it,
// once from its own URL.
func wantShakaLibrary(t *testing.T, what string, reqs []request) {
	t.Helper()
	wantLibrary(t, what, reqs, 1)
	for _, r := range reqs {
		if lib := query(t, r.URL).Get("player.lib"); lib != "" && !strings.HasPrefix(lib, "shaka-") {
			t.Fatalf("%s: the page loaded %s, not Shaka", what, lib)
		}
	}
}

// wantLoadedByShaka checks, from the page's side (Resource Timing, which
// counts what the HTTP cache answered too), that the page in ctx loaded the
// MPD and DASH segments by script, and no MP4 and no HLS segment.
func wantLoadedByShaka(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`performance.getEntriesByType("resource").map((e) => e.initiatorType + " " + new URL(e.name).pathname)`))
	if err != nil {
		t.Fatal(err)
	}
	mpd, segs := 0, 0
	for _, l := range loaded {
		by, p, _ := strings.Cut(l, " ")
		switch {
		case strings.Contains(p, "/mp4/") || strings.Contains(p, "/hls/") && !strings.HasSuffix(p, "/init.mp4"):
			t.Fatalf("%s: the page loaded %s: %q", what, p, loaded)
		case (strings.Contains(p, "/dash/") || strings.Contains(p, "/hls/")) && by != "fetch":
			t.Fatalf("%s: %s loaded by %s, not Shaka: %q", what, p, by, loaded)
		case strings.HasSuffix(p, "/dash/manifest.mpd"):
			mpd++
		case strings.HasSuffix(p, ".m4s"):
			segs++
		}
	}
	if mpd != 1 || segs < 2 {
		t.Fatalf("%s: %d MPDs and %d segments loaded: %q", what, mpd, segs, loaded)
	}
}

// shakaProbe, run before the page's scripts, records the errors of each
// Shaka instance the page makes (window.__pvShakaErrors), for failure
// messages, and turns off one rule of Shaka's ABR: a rendition whose frames
// the browser drops is banned for 30 s. A busy test machine (two cores,
// several browsers) drops frames of the 360p one, and the test's switch
// would find nothing to switch to.
const shakaProbe = `(() => {
	let p = null;
	window.__pvShakaErrors = [];
	Object.defineProperty(window, "__pvShaka", {
		configurable: true,
		get: () => p,
		set: (v) => {
			p = v;
			if (v) v.configure({ abr: { droppedFrames: false } });
			if (v) v.addEventListener("error", (e) => window.__pvShakaErrors.push(e.detail.severity + "/" + e.detail.code + " " + JSON.stringify(e.detail.data).slice(0, 300)));
		},
	});
})()`

// shakaErrors returns what shakaProbe recorded.
func shakaErrors(ctx context.Context) []string {
	errs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__pvShakaErrors || []`))
	return errs
}

// shakaHeights are the heights of the variants Shaka offers, the active
// one first.
const shakaHeights = `(() => {
	const p = window.__pvShaka, tracks = p ? p.getVariantTracks() : [];
	return tracks.filter((t) => t.active).concat(tracks.filter((t) => !t.active)).map((t) => t.height);
})()`

// Cookie mode: asked for DASH, the page plays the MPD through Shaka
// (never the HLS, never the MP4), both video renditions and the audio,
// seeks back, and plays on after a reload; another browser is refused in
// words.
func TestPlayerDASHCookieMode(t *testing.T) {
	f := server(t)
	ctx := browser(t)
	onNewDocument(t, ctx, shakaProbe)
	page := dashPage(f.playerURL(t))

	st := plays(t, ctx, "first open", "shaka", chromedp.Navigate(page))
	// Shaka attaches its MediaSource through a <source> child, not src.
	src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("video").currentSrc`))
	if err != nil || !strings.HasPrefix(src, "blob:") || !strings.HasSuffix(st.Playing, "/dash/manifest.mpd") {
		t.Fatalf("first open: not Shaka over MSE playing the MPD: %q %v %+v", src, err, st)
	}
	heights, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](shakaHeights))
	if err != nil || len(heights) != 2 || heights[0] != st.Height {
		var failed []request
		for _, r := range f.log.since(0) {
			if r.Status >= 300 {
				failed = append(failed, r)
			}
		}
		t.Fatalf("first open: Shaka's variants %v (%v), on screen %dp; failed requests %+v; Shaka's errors %q", heights, err, st.Height, failed, shakaErrors(ctx))
	}
	// The other rendition, by hand.
	other := heights[1]
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const p = window.__pvShaka;
		p.configure({ abr: { enabled: false } });
		p.selectVariantTrack(p.getVariantTracks().find((t) => t.height === %d), true);
		return true;
	})()`, other))); err != nil {
		t.Fatal(err)
	}
	from := state(t, ctx).Time
	waitFor(t, ctx, fmt.Sprintf("switch to %dp", other), fmt.Sprintf(`v.videoHeight === %d && !v.paused && v.currentTime > %f`, other, from+0.3))
	seekTo(t, ctx, 0.2) // back, past what the other rendition has buffered
	if audio, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("video").webkitAudioDecodedByteCount`)); err != nil || audio == 0 {
		t.Fatalf("no audio decoded (%d bytes, %v)", audio, err)
	}
	reqs := f.log.since(0)
	wantDASHByShaka(t, "first open", reqs, "360p", "180p", "audio")
	wantShakaLibrary(t, "first open", reqs)
	for _, r := range reqs {
		if strings.Contains(r.URL, "/dash/") && (!r.Cookie || query(t, r.URL).Get("avh") == "") {
			t.Fatalf("cookie mode: %s came without the cookie and the session token (%+v)", r.URL, r)
		}
	}

	plays(t, ctx, "reload", "shaka", chromedp.Reload())
	wantLoadedByShaka(t, ctx, "reload") // from the browser's cache, partly

	// The first browser leaves (or its requests would count below).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	browser2, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	mark := f.log.len()
	if reason := refused(t, browser2, "another browser", page); reason != "token-used" {
		t.Fatalf("another browser: reason %q, want token-used", reason)
	}
	for _, r := range f.log.since(mark) {
		if r.Status == 200 && (strings.Contains(r.URL, "/dash/") || strings.Contains(r.URL, "/hls/")) {
			t.Fatalf("another browser got media: %+v", r)
		}
	}
}

// Page-bound mode: no cookie; Shaka's request filter puts the page's
// session token on the MPD, the init sections and every segment; reload
// plays again on the session the page kept; a new tab is refused.
func TestPlayerDASHPageBoundMode(t *testing.T) {
	f := server(t, privatevideo.WithPageBound())
	ctx := browser(t)
	page := dashPage(f.playerURL(t))

	plays(t, ctx, "first open", "shaka", chromedp.Navigate(page))
	waitFor(t, ctx, "two seconds in", `v.currentTime > 2`)
	reqs := f.log.since(0)
	wantDASHByShaka(t, "first open", reqs, "audio")
	wantShakaLibrary(t, "first open", reqs)
	wantPageBound(t, f, ctx, page, "shaka", reqs)
}

// A refusal in the middle of playback (a revoked link, with the revocation
// check on) is said in words under Shaka too: its error makes the page ask
// why with a HEAD, which never redeems, and it never falls to the MP4.
func TestPlayerDASHRefusedMidway(t *testing.T) {
	f := server(t, privatevideo.WithRevocationCheck(privatevideo.StopPlaying))
	ctx := browser(t)
	onNewDocument(t, ctx, shakaProbe)
	plain := f.playerURL(t)
	u, _ := url.Parse(plain)

	plays(t, ctx, "first open", "shaka", chromedp.Navigate(dashPage(plain)))
	if err := f.mw.Revoke(context.Background(), u.Query().Get("token")); err != nil {
		t.Fatal(err)
	}
	// Past the buffered media: Shaka must fetch again.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const p = window.__pvShaka;
		p.configure({ abr: { enabled: false } });
		p.selectVariantTrack(p.getVariantTracks().find((t) => !t.active), true);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	if reason := refusal(t, ctx, "revoked midway"); reason != "token-revoked" {
		t.Fatalf("revoked midway: reason %q, want token-revoked", reason)
	}
	asked, refusedGets := false, map[string]int{}
	for _, r := range f.log.since(0) {
		if strings.Contains(r.URL, "mp4/") {
			t.Fatalf("a refusal made the page try the MP4: %+v", r)
		}
		asked = asked || r.Method == http.MethodHead && strings.Contains(r.URL, "/vod/v1/") && r.Status == http.StatusForbidden
		if r.Method == http.MethodGet && r.Status == http.StatusForbidden {
			refusedGets[r.URL]++
		}
	}
	if !asked {
		t.Fatal("the page never asked why with a HEAD")
	}
	// Shaka retries HTTP errors; the page stops it retrying a refusal.
	for u, n := range refusedGets {
		if n > 1 {
			t.Fatalf("a refused request was retried: %d times %s", n, u)
		}
	}
	if len(refusedGets) == 0 {
		t.Fatal("no media request was refused: the test revoked nothing Shaka asked for")
	}
}

// The page's weight asking for DASH (the HTML and Shaka, as is and
// gzipped), and its time to first frame in headless Chromium for a viewer
// who presses play at once: three new links and their reloads, on loopback
// and on a throttled link. It fails when the library is not what the page
// says or no frame comes; the figures are reported (go test -v).
func TestPlayerDASHWeightAndFirstFrame(t *testing.T) {
	f := server(t)
	page := dashPage(f.playerURL(t))
	doc := fetch(t, page, "identity")
	m := regexp.MustCompile(`data-lib-param="([^"]+)" data-lib="([^"]+)" data-lib-integrity="([^"]+)"`).FindSubmatch(doc.body)
	if m == nil || !strings.HasPrefix(string(m[2]), "shaka-") {
		t.Fatalf("the DASH page names no Shaka:\n%s", doc.body)
	}
	lib := page + "&" + string(m[1]) + "=" + string(m[2])
	plain, packed := fetch(t, lib, "identity"), fetch(t, lib, "gzip")
	sum := sha512.Sum384(plain.body)
	if "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) != html.UnescapeString(string(m[3])) {
		t.Fatalf("Shaka as served is not the integrity the page gives (%d bytes)", len(plain.body))
	}
	if packed.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, packed.body), plain.body) {
		t.Fatalf("the gzipped library is not the library: %v", packed.Header)
	}
	t.Logf("page HTML: %d bytes; Shaka %s: %d bytes, %d as served gzipped", len(doc.body), m[2], len(plain.body), len(packed.body))

	const runs = 3
	for _, c := range []struct {
		name     string
		throttle bool
	}{{name: "loopback"}, {name: "10 Mbit/s, 40 ms RTT", throttle: true}} {
		ctx := browser(t)
		onNewDocument(t, ctx, firstFrameProbe)
		if c.throttle {
			_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.EmulateNetworkConditionsByRuleResult, error) {
				return cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
					MatchedNetworkConditions: []*network.Conditions{{Latency: 40, DownloadThroughput: 10e6 / 8, UploadThroughput: 5e6 / 8}},
				})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/vod/v1")); err != nil { // warm up: a denial page
			t.Fatal(err)
		}
		times := map[string][]float64{}
		for range runs {
			page := dashPage(f.playerURL(t))
			for _, nav := range []struct {
				what string
				do   chromedp.Action[chromedp.Void]
			}{{"new link", chromedp.Navigate(page)}, {"reload", chromedp.Reload()}} {
				if err := chromedp.Do(ctx, nav.do); err != nil {
					t.Fatal(err)
				}
				m := firstFrame(t, ctx, c.name+", "+nav.what)
				if m.Engine != "shaka" {
					t.Fatalf("%s, %s: first frame from %s, not Shaka", c.name, nav.what, m.Engine)
				}
				times[nav.what] = append(times[nav.what], m.Frame)
			}
		}
		for _, what := range []string{"new link", "reload"} {
			slices.Sort(times[what])
			t.Logf("DASH, %s, %s: median first frame %.0f ms of %d (%.0f to %.0f)", c.name, what, times[what][runs/2], runs, times[what][0], times[what][runs-1])
		}
	}
}

// Only player.format=dash asks for DASH, and only where the layout has a
// DASH asset; the page asks for Shaka then, and hls.js otherwise. Shaka is
// served at the name the page gives, and no other version is.
func TestPlayerFormatParam(t *testing.T) {
	noDASH := privatevideo.DefaultLayout
	noDASH.DASH = ""
	withDASH, without := server(t), server(t, privatevideo.WithLayout(noDASH))
	lib := regexp.MustCompile(`data-dash="([^"]*)" data-format="([^"]*)"[^>]*data-lib="([^"]+)"`)
	for _, c := range []struct {
		name, query     string
		f               *fixture
		dash, libPrefix string
	}{
		{"asked", "&player.format=dash", withDASH, "/dash/manifest.mpd", "shaka-"},
		{"not asked", "", withDASH, "", "hls-"},
		{"another format", "&player.format=DASH&player.format=dash", withDASH, "", "hls-"},
		{"a layout without DASH", "&player.format=dash", without, "", "hls-"},
	} {
		page := c.f.playerURL(t) + c.query
		m := lib.FindSubmatch(fetch(t, page, "identity").body)
		if m == nil {
			t.Fatalf("%s: the page names no library", c.name)
		}
		dash, format, name := string(m[1]), string(m[2]), string(m[3])
		if !strings.HasSuffix(dash, c.dash) || (c.dash == "") != (dash == "") || (format == "dash") != (c.dash != "") || !strings.HasPrefix(name, c.libPrefix) {
			t.Fatalf("%s: data-dash %q, data-format %q, data-lib %q", c.name, dash, format, name)
		}
		if js := fetch(t, page+"&player.lib="+name, "identity"); js.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("%s: %s as %q", c.name, name, js.Header.Get("Content-Type"))
		}
	}
	res, err := http.Get(withDASH.playerURL(t) + "&player.lib=shaka-0.0.1.dash.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("another Shaka version: %d, want 404", res.StatusCode)
	}
}
