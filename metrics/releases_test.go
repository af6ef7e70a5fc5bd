package metrics_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/metrics"
	"github.com/privatevideo/privatevideo/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func releases(t *testing.T, reg *prometheus.Registry, cause, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "privatevideo_releases_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["cause"] == cause && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series privatevideo_releases_total{cause=%q,result=%q}", cause, result)
	return 0
}

// Every cause and result exists from the start; each release lands in its
// series by the store's answer.
func TestReleasesObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := metrics.NewReleases(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := mustCount(t, reg); n != 12 {
		t.Fatalf("%d series at the start, want 4 causes × 3 results", n)
	}
	r.Observe(privatevideo.Release{Cause: privatevideo.CauseHandlerError})
	r.Observe(privatevideo.Release{Cause: privatevideo.CauseHandlerError})
	r.Observe(privatevideo.Release{Cause: privatevideo.CauseClientGone, Err: fmt.Errorf("release: %w", store.ErrUsed)})
	r.Observe(privatevideo.Release{Cause: privatevideo.CausePanic, Err: errors.New("connection refused")})
	r.Observe(privatevideo.Release{Cause: "something-new"})
	for _, c := range []struct {
		cause, result string
		want          float64
	}{
		{privatevideo.CauseHandlerError, "ok", 2},
		{privatevideo.CauseClientGone, "refused", 1},
		{privatevideo.CausePanic, "error", 1},
		{privatevideo.CauseFirstByteTimeout, "ok", 0},
		{"other", "ok", 1},
	} {
		if got := releases(t, reg, c.cause, c.result); got != c.want {
			t.Errorf("releases{%s,%s} = %v, want %v", c.cause, c.result, got, c.want)
		}
	}
	if _, err := metrics.NewReleases(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}

// Through the middleware: a handler that answers 500 to a fresh redemption
// releases it, and the counter says so.
func TestReleasesFromMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := metrics.NewReleases(reg)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	pv, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, privatevideo.WithReleaseHook(r.Observe))
	if err != nil {
		t.Fatal(err)
	}
	h := pv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "origin down", http.StatusBadGateway)
	}))
	tok, err := pv.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/vod/v1/token/"+tok+"/hls/manifest.m3u8", nil))
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want the handler's 502", rec.Code)
	}
	if got := releases(t, reg, privatevideo.CauseHandlerError, "ok"); got != 1 {
		t.Fatalf("releases{handler-error,ok} = %v, want 1", got)
	}
}

func mustCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, "privatevideo_releases_total")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
