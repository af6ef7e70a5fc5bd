package metrics_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/metrics"
	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	pv, err := privatevideo.New([]privatevideo.Key{{Hash: key}},
		privatevideo.WithDecisionHook(m.Observe), privatevideo.WithStore(m.Store(store.NewMemory(0))), privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
	if err != nil {
		t.Fatal(err)
	}
	h := pv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tok, err := pv.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/vod/v1/token/" + tok + "/x", // redeemed
		"/vod/v1/token/" + tok + "/x", // token-used
		"/vod/v1/x",                   // token-required
		"/vod/bad!/x",                 // malformed
		"/elsewhere",                  // not a decision
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	for _, c := range []struct {
		outcome, reason string
		want            float64
	}{{"allow", "redeemed", 1}, {"deny", "token-used", 1}, {"deny", "token-required", 1}, {"deny", "malformed", 1}} {
		if got := counter(t, reg, c.outcome, c.reason); got != c.want {
			t.Errorf("decisions{%s,%s} = %v, want %v", c.outcome, c.reason, got, c.want)
		}
	}
	n, err := testutil.GatherAndCount(reg, "privatevideo_store_seconds")
	if err != nil || n != 3 { // issue ok, redeem ok, redeem denied
		t.Fatalf("store latency series = %d, %v; want 3", n, err)
	}
	out, _ := reg.Gather()
	for _, mf := range out {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if strings.Contains(l.GetValue(), tok[:8]) || l.GetValue() == "v1" {
					t.Fatalf("a label carries a token or video ID: %v", l)
				}
			}
		}
	}
	if _, err := metrics.New(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
}

// The timed store is a store: it passes the conformance suite, and times
// every operation, releases and confirmations included.
func TestStoreConformance(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Store(store.NewMemory(0))
	storetest.Run(t, func(*testing.T) store.Store { return st })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "op" {
					ops[l.GetValue()] = true
				}
			}
		}
	}
	for _, op := range []string{"issue", "redeem", "release", "confirm", "lookup", "revoke"} {
		if !ops[op] {
			t.Errorf("no store latency series for op=%s (have %v)", op, ops)
		}
	}
}

// counter reads privatevideo_decisions_total{outcome, reason} from reg.
func counter(t *testing.T, reg *prometheus.Registry, outcome, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "privatevideo_decisions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["outcome"] == outcome && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// A wrapped memory store still never blocks, so the middleware spares it
// the deadline timer; a wrapped blocking store does not claim it.
func TestStorePassesOnNeverBlocks(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	nb, ok := m.Store(store.NewMemory(0)).(store.NonBlocking)
	if !ok || !nb.NeverBlocks() {
		t.Fatalf("a wrapped memory store: NonBlocking %t", ok)
	}
	type blocking struct{ store.Store }
	if nb, ok := m.Store(blocking{store.NewMemory(0)}).(store.NonBlocking); ok && nb.NeverBlocks() {
		t.Fatal("a wrapped store that may block claims it never blocks")
	}
}
