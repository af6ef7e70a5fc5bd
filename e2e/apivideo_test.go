package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// tlsServer is server over HTTPS: api.video's client library builds https
// URLs only.
func tlsServer(t *testing.T, opts ...privatevideo.Option) *fixture {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	f := &fixture{clock: testclock.New(time.Now()), log: &requestLog{}}
	opts = append([]privatevideo.Option{privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithClock(f.clock.Now)}, opts...)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.mw = mw
	media := http.StripPrefix("/vod/", http.FileServer(http.Dir("../testdata/media")))
	f.srv = httptest.NewUnstartedServer(f.log.wrap(mw.Handler(mw.Player(media))))
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// api.video's @api.video/private-video-session (vendored in
// testdata/players/apivideo), given this server's host as its domains,
// works against our URL grammar: built from a video ID and token or from
// one of our asset URLs, it opens the session with GET …/session from a
// page of another origin, and its HLS, MP4 and thumbnail URLs (each with
// avh) play and answer; a reload plays on, since it keeps the session in
// sessionStorage; and its player URL opens our player page, which plays.
func TestAPIVideoPrivateVideoSession(t *testing.T) {
	site := playerSite(t)
	f := tlsServer(t, privatevideo.WithCORS(site.URL))
	host := strings.TrimPrefix(f.srv.URL, "https://")
	ctx := browserWith(t, chromedp.Flag("ignore-certificate-errors", true))
	noCache(t, ctx)

	for _, from := range []string{"token", "asset"} {
		urls, err := f.mw.IssueURLs(context.Background(), f.srv.URL, "v1")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(urls.Player)
		token := u.Query().Get("token")
		q := url.Values{"host": {host}}
		if from == "token" {
			q.Set("video", "v1")
			q.Set("token", token)
		} else {
			q.Set("asset", urls.HLS)
		}
		page := site.URL + "/apivideo.html?" + q.Encode()
		mark := f.log.len()
		sitePlays(t, ctx, from+": first open", chromedp.Navigate(page))
		reqs := f.log.since(mark)
		if len(reqs) == 0 || reqs[0].Method != http.MethodGet || reqs[0].path() != "/vod/v1/token/"+token+"/session" || reqs[0].Status != http.StatusOK {
			t.Fatalf("%s: the first request %+v, want GET /vod/v1/token/{T}/session answered 200", from, reqs)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__pv)`))
		if err != nil {
			t.Fatal(err)
		}
		var pv struct {
			URLs    map[string]string `json:"urls"`
			Fetched map[string]string `json:"fetched"`
		}
		if err := json.Unmarshal([]byte(got), &pv); err != nil {
			t.Fatal(err)
		}
		base := f.srv.URL + "/vod/v1/token/" + token + "/"
		avh := "?avh=" + pv.URLs["session"]
		for k, want := range map[string]string{
			"hls":       base + "hls/manifest.m3u8" + avh,
			"mp4":       base + "mp4/source.mp4" + avh,
			"thumbnail": base + "thumbnail.jpg" + avh,
			"player":    f.srv.URL + "/vod/v1?token=" + token + "&avh=" + pv.URLs["session"],
		} {
			if pv.URLs[k] != want || pv.URLs["session"] == "" {
				t.Errorf("%s: its %s URL %q, want %q", from, k, pv.URLs[k], want)
			}
		}
		for _, k := range []string{"mp4", "thumbnail"} {
			if !strings.HasPrefix(pv.Fetched[k], "200 ") || pv.Fetched[k] == "200 0" {
				t.Errorf("%s: its %s URL answered %q", from, k, pv.Fetched[k])
			}
		}
		for asset, rs := range media(reqs) {
			for _, r := range rs {
				if r.Status >= 400 || query(t, r.URL).Get("avh") != pv.URLs["session"] {
					t.Fatalf("%s: %s answered %d, avh %t", from, asset, r.Status, query(t, r.URL).Get("avh") != "")
				}
			}
		}

		// A reload: the library finds its session in sessionStorage and
		// asks for none.
		f.pastGrace()
		mark = f.log.len()
		sitePlays(t, ctx, from+": reload", chromedp.Reload())
		for _, r := range f.log.since(mark) {
			if strings.HasSuffix(r.path(), "/session") || r.Status >= 400 {
				t.Fatalf("%s: reload: %+v; want no new session and every answer under 400", from, r)
			}
		}

		// Its player URL is ours, avh included: the page plays.
		plays(t, ctx, from+": its player URL", "hls.js", chromedp.Navigate(pv.URLs["player"]))
	}
}
