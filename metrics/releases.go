package metrics

import (
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Releases counts the redemptions the middleware undid because their answer
// never reached the viewer (see privatevideo.WithReleaseHook):
//
//	r, err := metrics.NewReleases(prometheus.DefaultRegisterer)
//	pv, err := privatevideo.New(keys, privatevideo.WithReleaseHook(r.Observe))
//
// It registers
//
//	privatevideo_releases_total{cause, result}
//
// where cause is the Release's (handler-error, panic, client-gone,
// first-byte-timeout; any other is counted as "other") and result says what
// the store did: "ok" (the token is redeemable again), "refused" (the store
// declined by contract: a grace re-entry had already carried the session,
// or the token was revoked or expired) or "error" (the store failed: the
// link stays spent). Every cause and result is exported from the start, at
// 0, so that rates and alerts need no series to appear first.
type Releases struct {
	total *prometheus.CounterVec
}

// releaseCauses are the causes the library reports.
var releaseCauses = []string{
	privatevideo.CauseHandlerError,
	privatevideo.CausePanic,
	privatevideo.CauseClientGone,
	privatevideo.CauseFirstByteTimeout,
}

// NewReleases creates the counter and registers it with reg.
func NewReleases(reg prometheus.Registerer) (*Releases, error) {
	r := &Releases{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "privatevideo_releases_total",
		Help: "Redemptions undone because their answer never reached the viewer, by cause and by what the store did (ok, refused, error).",
	}, []string{"cause", "result"})}
	for _, cause := range releaseCauses {
		for _, result := range []string{"ok", "refused", "error"} {
			r.total.WithLabelValues(cause, result)
		}
	}
	if err := reg.Register(r.total); err != nil {
		return nil, err
	}
	return r, nil
}

// Observe counts one release; pass it to privatevideo.WithReleaseHook.
func (r *Releases) Observe(rel privatevideo.Release) {
	cause := "other"
	for _, c := range releaseCauses {
		if rel.Cause == c {
			cause = c
		}
	}
	result := "ok"
	switch {
	case rel.Err == nil:
	case store.IsDenial(rel.Err):
		result = "refused"
	default:
		result = "error"
	}
	r.total.WithLabelValues(cause, result).Inc()
}
