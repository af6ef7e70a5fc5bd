package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The player page's weight, as served: the HTML (its script and style are
// inline) and hls.js, each as is and gzipped. The page is never compressed
// by Player (it holds the token: see player.go), so its gzip figure is what
// a compressing proxy would send; hls.js is served gzipped by Player itself.
// The test fails when the page or its library is not what it says; the
// figures are reported, not judged.
func TestPlayerWeight(t *testing.T) {
	f := server(t)
	page := f.playerURL(t)
	html := fetch(t, page, "identity")
	if html.Header.Get("Content-Encoding") != "" {
		t.Fatalf("the page came compressed: %v", html.Header)
	}
	m := regexp.MustCompile(`data-lib-param="([^"]+)" data-lib="([^"]+)"`).FindSubmatch(html.body)
	if m == nil {
		t.Fatalf("the page names no library:\n%s", html.body)
	}
	lib := page + "&" + string(m[1]) + "=" + string(m[2])
	plain, packed := fetch(t, lib, "identity"), fetch(t, lib, "gzip")
	if packed.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, packed.body), plain.body) {
		t.Fatalf("the gzipped library is not the library: %v", packed.Header)
	}
	var zhtml bytes.Buffer
	zw := gzip.NewWriter(&zhtml)
	zw.Write(html.body)
	zw.Close()
	t.Logf("page HTML (inline JS+CSS): %d bytes, %d gzipped by a proxy", len(html.body), zhtml.Len())
	t.Logf("hls.js %s: %d bytes, %d as served gzipped", m[2], len(plain.body), len(packed.body))
	t.Logf("total: %d bytes as is, %d gzipped; iOS Safari (no MSE) loads the page alone", len(html.body)+len(plain.body), zhtml.Len()+len(packed.body))
}

// Time to first frame in headless Chromium: from navigation to the first
// video frame presented, for a viewer who presses play at once (the page
// preloads nothing before play). Each case opens three new links in a
// browser warmed by one page, and reloads each (hls.js and the media then
// come from the browser's cache); on loopback, on a throttled link, and on
// the old path (no MSE: the browser's HLS fails, then the MP4) for
// comparison. The test fails when no frame comes; the timings are reported.
func TestPlayerTimeToFirstFrame(t *testing.T) {
	f := server(t)
	const runs = 3
	cases := []struct {
		name     string
		throttle bool
		noMSE    bool
	}{
		{name: "loopback"},
		{name: "10 Mbit/s, 40 ms RTT", throttle: true},
		{name: "loopback, no MSE (native HLS fails, then the MP4)", noMSE: true},
	}
	for _, c := range cases {
		ctx := browser(t)
		onNewDocument(t, ctx, firstFrameProbe)
		if c.noMSE {
			onNewDocument(t, ctx, `delete window.MediaSource; delete window.ManagedMediaSource;`)
		}
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
			page := f.playerURL(t)
			for _, nav := range []struct {
				what string
				do   chromedp.Action[chromedp.Void]
			}{{"new link", chromedp.Navigate(page)}, {"reload", chromedp.Reload()}} {
				if err := chromedp.Do(ctx, nav.do); err != nil {
					t.Fatal(err)
				}
				m := firstFrame(t, ctx, c.name+", "+nav.what)
				times[nav.what] = append(times[nav.what], m.Frame)
				lib := "hls.js not loaded"
				if m.Library > 0 {
					lib = fmt.Sprintf("hls.js in at %.0f ms, %.0f bytes over the wire", m.Library, m.LibraryBytes)
				}
				t.Logf("%s, %s: first frame at %.0f ms with %s; %s", c.name, nav.what, m.Frame, m.Engine, lib)
			}
		}
		for _, what := range []string{"new link", "reload"} {
			slices.Sort(times[what])
			t.Logf("%s, %s: median first frame %.0f ms of %d", c.name, what, times[what][runs/2], runs)
		}
	}
}

type frameTimes struct {
	Frame, Library, LibraryBytes float64
	Engine                       string
}

// firstFrame waits for the probe's first frame in the page of ctx.
func firstFrame(t *testing.T, ctx context.Context, what string) frameTimes {
	t.Helper()
	waitFor(t, ctx, what+": first frame", `window.__pvFirst.frame`)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__pvFirst)`))
	if err != nil {
		t.Fatal(err)
	}
	var m frameTimes
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	if m.Engine == "" {
		t.Fatalf("%s: a first frame with no engine: %s", what, s)
	}
	return m
}

// firstFrameProbe, run before the page's scripts, presses play as soon as
// the page is parsed and records when the first frame is presented.
const firstFrameProbe = `(() => {
	const first = (window.__pvFirst = {});
	document.addEventListener("DOMContentLoaded", () => {
		const v = document.querySelector("video");
		if (!v) return;
		v.muted = true;
		v.play().catch(() => {});
		v.requestVideoFrameCallback(() => {
			first.frame = performance.now();
			first.engine = v.dataset.engine;
			const lib = performance.getEntriesByType("resource").find((e) => e.name.includes("player.lib="));
			first.library = lib ? lib.responseEnd : 0;
			first.librarybytes = lib ? lib.transferSize : 0;
		});
	});
})()`

type fetched struct {
	*http.Response
	body []byte
}

// fetch GETs url with the given Accept-Encoding, as the server sends it.
func fetch(t *testing.T, url, encoding string) fetched {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", encoding)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return fetched{res, body}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
