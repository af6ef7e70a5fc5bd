//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// outcome is what one request got: its status and, for a problem, its
// reason.
type outcome struct {
	status int
	reason string
	took   time.Duration
}

func (o outcome) String() string {
	if o.reason != "" {
		return fmt.Sprintf("%d %s in %s", o.status, o.reason, o.took.Round(time.Millisecond))
	}
	return fmt.Sprintf("%d in %s", o.status, o.took.Round(time.Millisecond))
}

// fetch is get without t, for goroutines: the status, the problem's reason
// and how long it took.
func fetch(c *http.Client, url string, header ...string) (outcome, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return outcome{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return outcome{}, fmt.Errorf("GET %s: %s", redactURL(url), scrub(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	o := outcome{status: resp.StatusCode, took: time.Since(start)}
	if err != nil {
		return o, err
	}
	var p problem
	if resp.Header.Get("Content-Type") == "application/problem+json" && json.Unmarshal(body, &p) == nil {
		o.reason = p.Reason
	}
	return o, nil
}

// onEach runs check on every replica at once and reports each failure with
// the replica's name.
func onEach(t *testing.T, what string, fleet []*edge, check func(i int, e *edge) error) {
	t.Helper()
	errs := make([]error, len(fleet))
	var wg sync.WaitGroup
	for i, e := range fleet {
		wg.Go(func() { errs[i] = check(i, e) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s, replica %c: %v", what, 'A'+i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// want checks an outcome.
func want(o outcome, err error, status int, reason string, within time.Duration) error {
	switch {
	case err != nil:
		return err
	case o.status != status || o.reason != reason:
		return fmt.Errorf("got %s, want %d %s", o, status, reason)
	case within > 0 && o.took > within:
		return fmt.Errorf("got %s, want an answer within %s", o, within)
	}
	return nil
}

// fleetStore is a shared store of the test's own and how to take it down.
type fleetStore struct {
	url     string
	outages []fleetOutage
}

type fleetOutage struct {
	name         string
	cut, restore func()
}

func redisFleetStore(t *testing.T) fleetStore {
	// Every write is on disk before it is answered: a killed server comes
	// back with every video's visibility.
	srv := startRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	return fleetStore{url: srv.url(), outages: []fleetOutage{
		{"hung (SIGSTOP)", func() { srv.signal(syscall.SIGSTOP) }, func() { srv.signal(syscall.SIGCONT) }},
		{"killed", srv.kill, srv.start},
	}}
}

func pgFleetStore(t *testing.T) fleetStore {
	u, p := proxiedPG(t)
	return fleetStore{url: u, outages: []fleetOutage{
		{"network stalled", func() { p.set(proxyStalled) }, func() { p.set(proxyUp) }},
		{"connections cut", func() { p.set(proxyCut) }, func() { p.set(proxyUp) }},
	}}
}

// fleetStoreTimeout is the -store-timeout of the fleet tests: short, so
// that outages are quick to see.
const fleetStoreTimeout = 500 * time.Millisecond

// Three replicas on one store are one service for visibility too: a PATCH
// on one holds on the others from their next request on, both ways; while
// the store hangs or is gone, every video is private on every replica (a
// video public before the outage included), sessions keep playing and new
// links answer 503; when it is back, visibility is as it was set.
func TestFleetVisibility(t *testing.T) {
	for _, c := range []struct {
		name  string
		store func(*testing.T) fleetStore
	}{{"redis", redisFleetStore}, {"postgres", pgFleetStore}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := c.store(t)
			args := []string{"-store", st.url, "-store-timeout", fleetStoreTimeout.String(), "-hash-key", hashHex, "-api-key", "fleet-api-key-0123456789",
				"-trusted-proxies", "127.0.0.1/32"} // the balancer below
			fleet := make([]*edge, 3)
			var wg sync.WaitGroup
			for i := range fleet {
				wg.Go(func() { fleet[i] = startEdge(t, nil, args...) })
			}
			wg.Wait()
			for _, e := range fleet {
				if e == nil {
					t.FailNow() // startEdge failed it
				}
			}
			a, b := fleet[0], fleet[1]
			public := func(e *edge) string { return e.base + "/vod/demo/hls/manifest.m3u8" }
			patch := func(e *edge, public bool) {
				t.Helper()
				var v videoJSON
				if resp := e.api("PATCH", "/videos/demo", fmt.Sprintf(`{"public": %t}`, public), &v); resp.StatusCode != http.StatusOK || v.Public != public {
					t.Fatalf("PATCH public=%t: %s %+v", public, resp.Status, v)
				}
			}
			patch(a, false) // a known start
			onEach(t, "private at the start", fleet, func(_ int, e *edge) error {
				o, err := fetch(http.DefaultClient, public(e))
				return want(o, err, http.StatusForbidden, "token-required", 0)
			})

			// Public on A: B and C serve it on their next request.
			patch(a, true)
			onEach(t, "after PATCH public on A", fleet, func(_ int, e *edge) error {
				o, err := fetch(http.DefaultClient, public(e))
				return want(o, err, http.StatusOK, "", 0)
			})
			var listed struct{ Data []videoJSON }
			if resp := fleet[2].api("GET", "/videos", "", &listed); resp.StatusCode != http.StatusOK || len(listed.Data) != 2 ||
				listed.Data[0].VideoID != "demo" || !listed.Data[0].Public || listed.Data[1].Public {
				t.Fatalf("GET /videos on C: %s %+v", resp.Status, listed.Data)
			}
			// Private on B: A and C refuse it on their next request.
			patch(b, false)
			onEach(t, "after PATCH private on B", fleet, func(_ int, e *edge) error {
				o, err := fetch(http.DefaultClient, public(e))
				return want(o, err, http.StatusForbidden, "token-required", 0)
			})

			// Behind a balancer that names each viewer in X-Forwarded-For, as
			// the README's deployment does: two viewers with one User-Agent
			// are two clients, though every request comes from the
			// balancer's address.
			lb := balancer(t, fleet)
			w := a.video("short")
			resp, body := get(t, viewer(t, "same-agent/1.0"), lb+"/vod/short/token/"+w.Token+"/hls/manifest.m3u8", "X-Test-Client", "203.0.113.1")
			wantStatus(t, "the first viewer through the balancer", resp, body, http.StatusOK)
			resp, body = get(t, viewer(t, "same-agent/1.0"), lb+"/vod/short/token/"+w.Token+"/hls/manifest.m3u8", "X-Test-Client", "203.0.113.2")
			wantProblem(t, "another viewer with the same User-Agent, within the grace window", resp, body, http.StatusForbidden, "token-used")
			resp, body = get(t, viewer(t, "same-agent/1.0"), lb+"/vod/short/token/"+w.Token+"/thumbnail.jpg", "X-Test-Client", "203.0.113.1")
			wantStatus(t, "the first viewer's parallel request, on another replica", resp, body, http.StatusOK)

			// A viewer's session, opened on A, for the outages.
			v := a.video("demo")
			one := viewer(t, "fleet-viewer/1.0")
			resp, body = get(t, one, v.Assets.HLS)
			wantStatus(t, "redemption on A", resp, body, http.StatusOK)
			// on moves a URL of any replica to e.
			on := func(e *edge, u string) string { return e.base + u[strings.Index(u, "/vod/"):] }
			patch(a, true)

			for _, out := range st.outages {
				fresh := b.video("short") // a link issued before the outage
				t.Logf("%s: cut at %s", out.name, time.Now().Format("15:04:05.000"))
				out.cut()
				// The store's timeout, and room for a loaded machine under
				// the race detector; below the 5 s (go-redis's read
				// timeout) to forever (a stalled PostgreSQL connection)
				// that a call would take if its deadline were ignored.
				within := fleetStoreTimeout + 3*time.Second
				onEach(t, out.name+": public video", fleet, func(_ int, e *edge) error {
					o, err := fetch(http.DefaultClient, public(e))
					return want(o, err, http.StatusForbidden, "token-required", within)
				})
				// (That the next ones skip the store is TestCatalogueFailsClosed's.)
				onEach(t, out.name+": public video, again", fleet, func(_ int, e *edge) error {
					o, err := fetch(http.DefaultClient, public(e))
					return want(o, err, http.StatusForbidden, "token-required", within)
				})
				onEach(t, out.name+": private video", fleet, func(_ int, e *edge) error {
					o, err := fetch(http.DefaultClient, e.base+"/vod/short/mp4/source.mp4")
					return want(o, err, http.StatusForbidden, "token-required", within)
				})
				onEach(t, out.name+": the session plays on", fleet, func(_ int, e *edge) error {
					o, err := fetch(one, on(e, v.Assets.MP4), "Range", "bytes=0-9")
					return want(o, err, http.StatusPartialContent, "", within)
				})
				o, err := fetch(viewer(t, "fleet-newcomer/1.0"), on(fleet[2], fresh.Assets.HLS))
				if err := want(o, err, http.StatusServiceUnavailable, "store-unavailable", within); err != nil {
					t.Fatalf("%s: a new link on C: %v", out.name, err)
				}
				t.Logf("%s: restored at %s", out.name, time.Now().Format("15:04:05.000"))
				out.restore()
				// Back: public again on every replica, within the gate's
				// retry and the store's reconnection.
				onEach(t, out.name+": back", fleet, func(_ int, e *edge) error {
					deadline := time.Now().Add(10 * time.Second)
					for {
						o, err := fetch(http.DefaultClient, public(e))
						if err == nil && o.status == http.StatusOK {
							return nil
						}
						if time.Now().After(deadline) {
							return fmt.Errorf("still %v %v 10s after the store came back", o, err)
						}
						time.Sleep(100 * time.Millisecond)
					}
				})
				// The link refused during the outage was not consumed.
				resp, body := get(t, viewer(t, "fleet-newcomer/1.0"), on(fleet[2], fresh.Assets.HLS))
				wantStatus(t, out.name+": the refused link after the outage", resp, body, http.StatusOK)
			}
			for _, e := range fleet {
				log := e.finalLog()
				if !strings.Contains(log, "video state store unavailable") || !strings.Contains(log, "video state store answers again") {
					t.Errorf("a replica's log does not tell the outage of the video state store:\n%s", log)
				}
				assertNoSecrets(t, e, v.Token)
			}
		})
	}
}

// balancer is a round-robin load balancer in front of fleet that sets
// X-Forwarded-For to the request's X-Test-Client header: each test viewer
// gets an address of its own.
func balancer(t *testing.T, fleet []*edge) string {
	var next atomic.Uint32
	lb := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		e := fleet[int(next.Add(1)-1)%len(fleet)]
		u, _ := url.Parse(e.base)
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // the replicas build URLs from their -public-url, not Host
		pr.Out.Header.Set("X-Forwarded-For", pr.In.Header.Get("X-Test-Client"))
		pr.Out.Header.Del("X-Test-Client")
	}})
	t.Cleanup(lb.Close)
	return lb.URL
}

// In proxy mode the catalogue is the fleet's: a video the API created on
// one replica is listed, with its title, by the others, and its visibility
// set on any of them holds on all.
func TestFleetCatalogue(t *testing.T) {
	for _, c := range []struct {
		name  string
		store func(*testing.T) string
	}{
		{"redis", func(t *testing.T) string { return startRedis(t).url() }},
		{"postgres", func(t *testing.T) string { return pgSchema(t, "") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			origin := newTestOrigin(t)
			args := []string{"-store", c.store(t), "-origin", origin.URL, "-hash-key", hashHex, "-api-key", "fleet-api-key-0123456789"}
			a, b := startEdge(t, nil, args...), startEdge(t, nil, args...)
			v := a.video("demo")
			if v.Public || v.Title != "demo" {
				t.Fatalf("GET /videos/demo on A: %+v", v)
			}
			var listed struct{ Data []videoJSON }
			if resp := b.api("GET", "/videos", "", &listed); resp.StatusCode != http.StatusOK || len(listed.Data) != 1 || listed.Data[0].VideoID != "demo" || listed.Data[0].Title != "demo" {
				t.Fatalf("GET /videos on B: %s %+v", resp.Status, listed.Data)
			}
			if resp := b.api("PATCH", "/videos/demo", `{"public": true}`, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("PATCH on B: %s", resp.Status)
			}
			resp, body := get(t, http.DefaultClient, a.base+"/vod/demo/hls/manifest.m3u8")
			wantStatus(t, "public through A's proxy", resp, body, http.StatusOK)
			// A PATCH of a new video on A creates it for B.
			if resp := a.api("PATCH", "/videos/short", `{"public": false}`, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("PATCH of a new video on A: %s", resp.Status)
			}
			if resp := b.api("GET", "/videos", "", &listed); resp.StatusCode != http.StatusOK || len(listed.Data) != 2 || listed.Data[1].VideoID != "short" || listed.Data[1].Title != "short" {
				t.Fatalf("GET /videos on B: %s %+v", resp.Status, listed.Data)
			}
		})
	}
}
