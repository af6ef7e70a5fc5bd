package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Without Media Source Extensions (iOS Safari's case, simulated) the page
// does not load hls.js: it tries the browser's own HLS, and plays the MP4
// when that fails (Chromium's does, on this stream).
func TestPlayerWithoutMSE(t *testing.T) {
	f := server(t)
	ctx := browser(t)
	onNewDocument(t, ctx, `delete window.MediaSource; delete window.ManagedMediaSource; delete window.WebKitMediaSource;`)

	st := plays(t, ctx, "no MSE", "mp4", chromedp.Navigate(f.playerURL(t)))
	if strings.HasPrefix(st.Src, "blob:") {
		t.Fatalf("no MSE: playing from a blob: %+v", st)
	}
	reqs := f.log.since(0)
	wantLibrary(t, "no MSE", reqs, 0)
	native := 0
	for _, r := range media(reqs)["hls/manifest.m3u8"] {
		if r.Method == http.MethodHead {
			continue // the page asking why it failed
		}
		if r.Dest != "video" {
			t.Fatalf("no MSE: the manifest fetched by %q, not by the media element", r.Dest)
		}
		native++
	}
	if native == 0 {
		t.Fatal("no MSE: the browser's own HLS was not tried before the MP4")
	}
	if len(media(reqs)["mp4/source.mp4"]) == 0 {
		t.Fatal("no MSE: the MP4 was never requested")
	}
}

// A library that does not match its integrity (altered on the way, say)
// never runs: the page plays the MP4, and does not fall into Chromium's
// native HLS either.
func TestPlayerLibraryAltered(t *testing.T) {
	f := serverWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !r.URL.Query().Has("player.lib") {
				next.ServeHTTP(w, r)
				return
			}
			r.Header.Del("Accept-Encoding")
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			body[len(body)/2] ^= 1
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	})
	ctx := browser(t)

	plays(t, ctx, "altered library", "mp4", chromedp.Navigate(f.playerURL(t)))
	reqs := f.log.since(0)
	wantLibrary(t, "altered library", reqs, 1)
	for asset := range media(reqs) {
		if strings.HasPrefix(asset, "hls/") {
			t.Fatalf("altered library: %s requested; want the MP4 alone", asset)
		}
	}
}
