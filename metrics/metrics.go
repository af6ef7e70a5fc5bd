// Package metrics exports privatevideo's decisions and store latency to
// Prometheus. It is a module of its own, so that the core never requires
// client_golang.
//
//	m, err := metrics.New(prometheus.DefaultRegisterer)
//	pv, err := privatevideo.New(keys,
//		privatevideo.WithDecisionHook(m.Observe),
//		privatevideo.WithStore(m.Store(st)))
//
// It registers:
//
//	privatevideo_decisions_total{outcome="allow"|"deny", reason="…"}
//	privatevideo_decision_seconds{outcome}          the middleware's own time
//	privatevideo_store_seconds{op, result}          every store call
//
// Reasons are the Decision's: a fixed, small set, so the label cardinality is
// bounded; no label carries a video ID or a token.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the collectors. Its methods are safe for concurrent use.
type Metrics struct {
	decisions *prometheus.CounterVec
	decision  *prometheus.HistogramVec
	store     *prometheus.HistogramVec
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "privatevideo_decisions_total",
			Help: "Requests under the prefix, by outcome (allow, deny) and reason.",
		}, []string{"outcome", "reason"}),
		decision: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "privatevideo_decision_seconds",
			Help:    "Time the middleware took to decide, by outcome (the wrapped handler's time excluded).",
			Buckets: []float64{1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2, .05, .25, 1},
		}, []string{"outcome"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "privatevideo_store_seconds",
			Help:    "Latency of store calls, by operation and result (ok, denied, error).",
			Buckets: []float64{1e-5, 5e-5, 2e-4, 1e-3, 5e-3, 2e-2, .1, .5, 2},
		}, []string{"op", "result"}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.decision, m.store} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observe counts one decision; pass it to privatevideo.WithDecisionHook.
func (m *Metrics) Observe(d privatevideo.Decision) {
	outcome := "deny"
	if d.Allowed {
		outcome = "allow"
	}
	m.decisions.WithLabelValues(outcome, d.Reason).Inc()
	m.decision.WithLabelValues(outcome).Observe(d.Latency.Seconds())
}

// Store returns s with every call timed. The middleware gives a wrapped
// memory store the same per-call deadline as a remote one, a few hundred
// nanoseconds a redemption.
func (m *Metrics) Store(s store.Store) store.Store { return &timedStore{s: s, h: m.store} }

type timedStore struct {
	s store.Store
	h *prometheus.HistogramVec
}

var (
	_ store.Store       = (*timedStore)(nil)
	_ store.NonBlocking = (*timedStore)(nil)
)

// NeverBlocks passes on what the wrapped store says.
func (t *timedStore) NeverBlocks() bool {
	nb, ok := t.s.(store.NonBlocking)
	return ok && nb.NeverBlocks()
}

func (t *timedStore) observe(op string, start time.Time, err error) {
	result := "ok"
	switch {
	case err == nil:
	case store.IsDenial(err):
		result = "denied"
	case errors.Is(err, context.DeadlineExceeded):
		result = "timeout"
	default:
		result = "error"
	}
	t.h.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

func (t *timedStore) Issue(ctx context.Context, token, videoID string, expires time.Time) error {
	start := time.Now()
	err := t.s.Issue(ctx, token, videoID, expires)
	t.observe("issue", start, err)
	return err
}

func (t *timedStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	start := time.Now()
	r, err := t.s.Redeem(ctx, req)
	t.observe("redeem", start, err)
	return r, err
}

func (t *timedStore) Release(ctx context.Context, req store.ReleaseRequest) error {
	start := time.Now()
	err := t.s.Release(ctx, req)
	t.observe("release", start, err)
	return err
}

func (t *timedStore) Confirm(ctx context.Context, token string, now time.Time) error {
	start := time.Now()
	err := t.s.Confirm(ctx, token, now)
	t.observe("confirm", start, err)
	return err
}

func (t *timedStore) Lookup(ctx context.Context, token string, now time.Time) (store.Record, error) {
	start := time.Now()
	r, err := t.s.Lookup(ctx, token, now)
	t.observe("lookup", start, err)
	return r, err
}

func (t *timedStore) Revoke(ctx context.Context, token string, now time.Time) error {
	start := time.Now()
	err := t.s.Revoke(ctx, token, now)
	t.observe("revoke", start, err)
	return err
}
