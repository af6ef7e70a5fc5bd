package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// healthTTL is how long a health result is answered before the
// dependencies are probed again: /healthz takes no credential, so however
// often it is called, each replica probes its dependencies at most once per
// healthTTL (plus the probe's own time), one probe at a time.
const healthTTL = time.Second

// healthTimeout bounds each probe beside the store timeout: a load
// balancer's health check waits a few seconds at most.
const healthTimeout = 2 * time.Second

// The health answer's words: the status of the whole, and each
// dependency's state.
const (
	statusOK          = "ok"
	statusUnavailable = "unavailable"
	depUp             = "up"
	depDown           = "down"
)

// check is one dependency: its name in the answer and its probe.
type check struct {
	name  string
	probe func(ctx context.Context) error
}

// healthReport is the answer: 200 when every check is up, else 503.
//
//	{"status": "ok", "checks": {"token_store": "up", "video_store": "up", "origin": "up"}}
//	{"status": "unavailable", "checks": {"token_store": "down", "video_store": "down", "origin": "up"}}
type healthReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// health answers /healthz from the last probe of every dependency, probing
// again when it is older than healthTTL. Concurrent callers share one probe,
// which runs detached from their requests: a caller that hangs up does not
// cut it short for the others.
type health struct {
	checks  []check
	timeout time.Duration
	ttl     time.Duration
	log     *slog.Logger

	mu       sync.Mutex
	last     healthReport
	at       time.Time     // when last was probed; zero before the first probe
	inflight chan struct{} // closed when the running probe ends; nil when none runs
	probes   int           // how many probes ran, for tests
}

// newHealth probes checks, each within the store timeout (at most
// healthTimeout).
func newHealth(log *slog.Logger, storeTimeout time.Duration, checks ...check) *health {
	return &health{checks: checks, timeout: min(storeTimeout, healthTimeout), ttl: healthTTL, log: log}
}

// tokenCheck probes the token store with a lookup of a fresh random token:
// a working store reports it unknown, and the probe writes nothing.
func tokenCheck(st store.Store) check {
	return check{"token_store", func(ctx context.Context) error {
		_, err := st.Lookup(ctx, privatevideo.NewToken(), time.Now())
		if errors.Is(err, store.ErrUnknown) {
			return nil
		}
		if err == nil {
			return errors.New("a fresh random token was found")
		}
		return err
	}}
}

// videoCheck probes the video state store with one visibility lookup, as a
// media request makes it.
func videoCheck(vs store.Videos) check {
	return check{"video_store", func(ctx context.Context) error {
		_, err := vs.Public(ctx, "healthz")
		return err
	}}
}

// originCheck probes the origin of proxy mode with a HEAD of its URL: any
// answer below 500 means it serves (a 404 or 405 at its root included), as
// the proxy itself counts an answer of 500 or more as the origin failing.
func originCheck(origin *url.URL, client *http.Client) check {
	return check{"origin", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, origin.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return &originStatusError{status: resp.StatusCode}
		}
		return nil
	}}
}

// originHealthClient is the HTTP client of the origin probe: no redirects
// followed, no connection kept beyond a few idle ones.
func originHealthClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:              http.ProxyFromEnvironment,
			MaxIdleConns:       2,
			IdleConnTimeout:    30 * time.Second,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// report returns a result no older than the TTL, probing when needed; a
// caller whose ctx ends first gets the last result known.
func (h *health) report(ctx context.Context) healthReport {
	h.mu.Lock()
	if !h.at.IsZero() && time.Since(h.at) < h.ttl {
		r := h.last
		h.mu.Unlock()
		return r
	}
	if h.inflight == nil {
		h.inflight = make(chan struct{})
		go h.probe(h.inflight)
	}
	done := h.inflight
	h.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.at.IsZero() {
		return h.downReport()
	}
	return h.last
}

// downReport says every dependency is down: the answer to a caller that
// gave up before the first probe ended.
func (h *health) downReport() healthReport {
	r := healthReport{Status: statusUnavailable, Checks: make(map[string]string, len(h.checks))}
	for _, c := range h.checks {
		r.Checks[c.name] = depDown
	}
	return r
}

// probe runs every check at once, each within the timeout, and publishes
// the result.
func (h *health) probe(done chan struct{}) {
	results := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
			defer cancel()
			results[i] = c.probe(ctx)
		})
	}
	wg.Wait()
	r := healthReport{Status: statusOK, Checks: make(map[string]string, len(h.checks))}
	h.mu.Lock()
	before := h.last.Checks // nil before the first probe
	h.mu.Unlock()
	for i, c := range h.checks {
		r.Checks[c.name] = depUp
		err := results[i]
		if err != nil {
			r.Status, r.Checks[c.name] = statusUnavailable, depDown
		}
		// One line per change, not one per probe.
		switch {
		case err != nil && before[c.name] != depDown:
			h.log.LogAttrs(context.Background(), slog.LevelWarn, "health check: dependency down",
				slog.String("dependency", c.name), slog.String("cause", h.cause(c.name, err)))
		case err == nil && before[c.name] == depDown:
			h.log.LogAttrs(context.Background(), slog.LevelInfo, "health check: dependency up again",
				slog.String("dependency", c.name))
		}
	}
	h.mu.Lock()
	h.last, h.at, h.inflight = r, time.Now(), nil
	h.probes++
	h.mu.Unlock()
	close(done)
}

// cause describes a probe's failure for the log, without URLs (the
// origin's may hold credentials) or tokens.
func (h *health) cause(name string, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + h.timeout.String()
	case name == "origin":
		return originCause(err)
	}
	return scrub(err.Error())
}

// ServeHTTP answers the report: 200 when every dependency is up, else 503
// with Retry-After. Never cached.
func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := h.report(r.Context())
	body, _ := json.Marshal(rep) // strings only: cannot fail
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)+1))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	status := http.StatusOK
	if rep.Status != statusOK {
		status = http.StatusServiceUnavailable
		hd.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
