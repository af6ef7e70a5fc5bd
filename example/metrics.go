package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/metrics"
	"github.com/privatevideo/privatevideo/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// edgeMetrics is what -metrics-addr serves: the metrics module's series
// (decisions, token store latency, releases), the edge's own (video state
// store latency, fail-closed visibility answers) and the Go runtime's and
// the process's.
type edgeMetrics struct {
	reg      *prometheus.Registry
	m        *metrics.Metrics
	releases *metrics.Releases
	videos   *prometheus.HistogramVec
	closed   prometheus.Counter
}

func newEdgeMetrics() (*edgeMetrics, error) {
	reg := prometheus.NewRegistry()
	e := &edgeMetrics{reg: reg}
	var err error
	if e.m, err = metrics.New(reg); err != nil {
		return nil, err
	}
	if e.releases, err = metrics.NewReleases(reg); err != nil {
		return nil, err
	}
	e.videos = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "privatevideo_edge_video_state_seconds",
		Help:    "Latency of video state store calls (public: one per media request), by operation and result (ok, error, timeout).",
		Buckets: []float64{1e-5, 5e-5, 2e-4, 1e-3, 5e-3, 2e-2, .1, .5, 2},
	}, []string{"op", "result"})
	e.closed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "privatevideo_edge_visibility_fail_closed_total",
		Help: "Media requests whose video was taken as private because the video state store failed or was down.",
	})
	for _, c := range []prometheus.Collector{
		e.videos, e.closed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// handler serves the series at /metrics, and nothing else.
func (e *edgeMetrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { probNotFound.write(w) })
	return mux
}

// decisions chains the metrics' decision hook after log.
func (e *edgeMetrics) decisions(log func(privatevideo.Decision)) func(privatevideo.Decision) {
	return func(d privatevideo.Decision) {
		log(d)
		e.m.Observe(d)
	}
}

// timedVideos is a store.Videos whose every call is timed.
type timedVideos struct {
	vs store.Videos
	h  *prometheus.HistogramVec
}

func (e *edgeMetrics) wrapVideos(vs store.Videos) store.Videos {
	return &timedVideos{vs: vs, h: e.videos}
}

func (t *timedVideos) observe(op string, start time.Time, err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded):
		result = "timeout"
	default:
		result = "error"
	}
	t.h.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

func (t *timedVideos) Public(ctx context.Context, id string) (bool, error) {
	start := time.Now()
	p, err := t.vs.Public(ctx, id)
	t.observe("public", start, err)
	return p, err
}

func (t *timedVideos) SetPublic(ctx context.Context, id string, public bool) (store.Video, error) {
	start := time.Now()
	v, err := t.vs.SetPublic(ctx, id, public)
	t.observe("set", start, err)
	return v, err
}

func (t *timedVideos) Create(ctx context.Context, id, title string) (store.Video, error) {
	start := time.Now()
	v, err := t.vs.Create(ctx, id, title)
	t.observe("create", start, err)
	return v, err
}

func (t *timedVideos) List(ctx context.Context) ([]store.Video, error) {
	start := time.Now()
	v, err := t.vs.List(ctx)
	t.observe("list", start, err)
	return v, err
}

// metricsServer is the listener of -metrics-addr.
func metricsServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// listenMetrics opens the metrics listener.
func listenMetrics(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.New("cannot listen on -metrics-addr " + addr + ": " + err.Error())
	}
	return ln, nil
}
