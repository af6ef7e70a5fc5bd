//go:build unix

package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape fetches the metrics listener's page and returns its series, name
// and labels as the text format writes them, to their values.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scraping %s: %s %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	series := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scraping: a line that does not parse: %q", line)
		}
		series[line[:i]] = v
	}
	return series
}

// -metrics-addr serves, on a listener of its own, the decisions, the
// latency of both stores and the releases with their causes; the media
// listener serves none of it.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	origin := newTestOrigin(t)
	e := startEdge(t, []string{envName("metrics-addr") + "=127.0.0.1:0"}, "-origin", origin.URL)
	metricsURL := bannerField(e.banner, "Metrics:")
	if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") || !strings.HasSuffix(metricsURL, "/metrics") {
		t.Fatalf("no metrics URL in the banner:\n%s", e.banner)
	}
	// Every release series exists before any release.
	before := scrape(t, metricsURL)
	for _, cause := range []string{"handler-error", "panic", "client-gone", "first-byte-timeout"} {
		for _, result := range []string{"ok", "refused", "error"} {
			if v, ok := before[`privatevideo_releases_total{cause="`+cause+`",result="`+result+`"}`]; !ok || v != 0 {
				t.Errorf("releases{%s,%s} at the start: %v, %t", cause, result, v, ok)
			}
		}
	}

	v := e.video("intro")
	resp, body := get(t, viewer(t, "viewer/1.0"), strings.Replace(v.Assets.HLS, "/vod/intro/", "/vod/demo/", 1))
	wantProblem(t, "another video's token", resp, body, http.StatusForbidden, "wrong-video")
	d := e.video("demo")
	resp, body = get(t, viewer(t, "viewer/1.0"), d.Assets.HLS)
	wantStatus(t, "a redemption", resp, body, http.StatusOK)
	resp, body = get(t, http.DefaultClient, e.base+"/vod/demo/hls/manifest.m3u8")
	wantProblem(t, "no token", resp, body, http.StatusForbidden, "token-required")
	// The origin answers 500 for "broken": the redemption is released.
	b := e.video("broken")
	resp, body = get(t, viewer(t, "viewer/1.0"), b.Assets.HLS)
	wantProblem(t, "a failing origin", resp, body, http.StatusBadGateway, "origin-unavailable")

	wants := map[string]float64{
		`privatevideo_decisions_total{outcome="allow",reason="redeemed"}`:          2,
		`privatevideo_decisions_total{outcome="deny",reason="token-required"}`:     1,
		`privatevideo_decisions_total{outcome="deny",reason="wrong-video"}`:        1,
		`privatevideo_releases_total{cause="handler-error",result="ok"}`:           1,
		`privatevideo_store_seconds_count{op="issue",result="ok"}`:                 3,
		`privatevideo_store_seconds_count{op="redeem",result="ok"}`:                2,
		`privatevideo_store_seconds_count{op="release",result="ok"}`:               1,
		`privatevideo_edge_video_state_seconds_count{op="create",result="ok"}`:     3,
		`privatevideo_edge_visibility_fail_closed_total`:                           0,
		`privatevideo_decision_seconds_count{outcome="deny"}`:                      2,
		`privatevideo_edge_video_state_seconds_count{op="public",result="ok"}`:     4,
		`privatevideo_store_seconds_count{op="redeem",result="denied"}`:            1,
		`privatevideo_decisions_total{outcome="deny",reason="origin-unavailable"}`: -1, // the middleware allowed it; the origin failed
	}
	// A release runs as the failed answer ends: poll briefly for it.
	var got map[string]float64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = scrape(t, metricsURL)
		if got[`privatevideo_releases_total{cause="handler-error",result="ok"}`] == 1 || time.Now().After(deadline) {
			break
		}
	}
	for series, want := range wants {
		v, ok := got[series]
		switch {
		case want < 0 && ok:
			t.Errorf("%s = %v: want no such series", series, v)
		case want >= 0 && (!ok || v != want):
			t.Errorf("%s = %v (present %t), want %v", series, v, ok, want)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime series")
	}
	// The media listener has no /metrics, the metrics listener no API.
	resp, body = get(t, http.DefaultClient, e.base+"/metrics")
	wantProblem(t, "/metrics on the media listener", resp, body, http.StatusNotFound, "not-found")
	resp, body = get(t, http.DefaultClient, strings.TrimSuffix(metricsURL, "/metrics")+"/videos")
	wantProblem(t, "/videos on the metrics listener", resp, body, http.StatusNotFound, "not-found")
}

// Without -metrics-addr nothing listens for metrics and the banner says
// nothing of it.
func TestMetricsOffByDefault(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	if strings.Contains(e.banner, "Metrics:") {
		t.Fatalf("a metrics URL without -metrics-addr:\n%s", e.banner)
	}
}
