package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// wantHealth checks a /healthz answer: its status code, and the state of
// every dependency.
func wantHealth(t *testing.T, resp *http.Response, body []byte, code int, checks map[string]string) {
	t.Helper()
	if got := healthOf(t, resp, body); resp.StatusCode != code || !maps.Equal(got.Checks, checks) {
		t.Fatalf("healthz: %d %s, want %d with checks %v", resp.StatusCode, body, code, checks)
	}
}

func healthOf(t *testing.T, resp *http.Response, body []byte) healthReport {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("healthz: Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("healthz: Cache-Control %q", cc)
	}
	var r healthReport
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("healthz: %q: %v", body, err)
	}
	wantStatus := statusOK
	if resp.StatusCode != http.StatusOK {
		wantStatus = statusUnavailable
	}
	if r.Status != wantStatus {
		t.Fatalf("healthz: %d with status %q", resp.StatusCode, r.Status)
	}
	return r
}

// countingCheck is a dependency whose probe the test controls and counts.
type countingCheck struct {
	calls atomic.Int64
	mode  atomic.Int32 // 0 up, 1 down, 2 hangs until the probe's deadline
}

func (c *countingCheck) check(name string) check {
	return check{name, func(ctx context.Context) error {
		c.calls.Add(1)
		switch c.mode.Load() {
		case 1:
			return errors.New("connection refused")
		case 2:
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}}
}

// However often /healthz is called, the dependencies are probed once per
// TTL, one probe at a time; the answer names the dependency that is down.
func TestHealthProbesAreBounded(t *testing.T) {
	tokens, videos := new(countingCheck), new(countingCheck)
	h := newHealth(quietLog(), time.Second, tokens.check("token_store"), videos.check("video_store"))
	h.ttl = 200 * time.Millisecond
	h.timeout = 300 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()

	hammer := func(n int) (codes map[int]int, last healthReport) {
		codes = map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := http.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				var r healthReport
				json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				last = r
				mu.Unlock()
			})
		}
		wg.Wait()
		return codes, last
	}
	start := time.Now()
	codes, _ := hammer(200)
	if codes[http.StatusOK] != 200 {
		t.Fatalf("answers: %v, want 200 × 200", codes)
	}
	// All within one TTL (on a slow machine, two).
	if n, limit := tokens.calls.Load(), 1+int64(time.Since(start)/h.ttl); n > limit || videos.calls.Load() != n {
		t.Fatalf("%d token probes and %d video probes for 200 requests in %s, want at most %d", n, videos.calls.Load(), time.Since(start), limit)
	}

	// One dependency down: 503, and the answer says which.
	videos.mode.Store(1)
	time.Sleep(h.ttl)
	codes, last := hammer(50)
	if codes[http.StatusServiceUnavailable] != 50 || last.Checks["video_store"] != depDown || last.Checks["token_store"] != depUp {
		t.Fatalf("video store down: %v, %+v", codes, last)
	}

	// A probe that hangs: callers wait for the one probe in flight, which
	// the timeout ends; no second probe starts meanwhile.
	tokens.mode.Store(2)
	videos.mode.Store(0)
	time.Sleep(h.ttl)
	before := tokens.calls.Load()
	start = time.Now()
	codes, last = hammer(50)
	if d := time.Since(start); d > h.timeout+time.Second {
		t.Errorf("a hanging probe held the answers for %s", d)
	}
	if n := tokens.calls.Load() - before; n != 1 {
		t.Errorf("%d probes of a hanging store for 50 requests, want 1", n)
	}
	if codes[http.StatusServiceUnavailable] != 50 || last.Checks["token_store"] != depDown || last.Checks["video_store"] != depUp {
		t.Fatalf("token store hanging: %v, %+v", codes, last)
	}
}

// A caller that gives up before the first probe ends is told the service
// is unavailable, and the probe goes on for the others.
func TestHealthCallerGone(t *testing.T) {
	dep := new(countingCheck)
	dep.mode.Store(2)
	h := newHealth(quietLog(), time.Second, dep.check("token_store"))
	h.timeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if r := h.report(ctx); r.Status != statusUnavailable || r.Checks["token_store"] != depDown {
		t.Fatalf("report to a caller that gave up: %+v", r)
	}
	dep.mode.Store(0)
	if r := h.report(context.Background()); r.Status != statusUnavailable {
		t.Fatalf("the probe in flight (hanging) did not decide the next answer: %+v", r)
	}
	if n := dep.calls.Load(); n != 1 {
		t.Fatalf("%d probes, want the one in flight", n)
	}
}
