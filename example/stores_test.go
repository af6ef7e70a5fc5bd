//go:build unix

package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Two replicas sharing a store and keys are one service: a link redeemed on
// one is refused to another browser on the other, the first browser's
// session plays on both, and a token revoked on one is revoked on both.
func TestSharedStores(t *testing.T) {
	for _, c := range []struct{ name, env string }{{"redis", "REDIS_URL"}, {"postgres", "DATABASE_URL"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := os.Getenv(c.env)
			if url == "" {
				t.Skipf("%s is not set: set it to test the edge server on the %s store", c.env, c.name)
			}
			args := []string{"-store", url, "-hash-key", hashHex, "-api-key", "shared-api-key-0123456789"}
			a := startEdge(t, nil, args...)
			b := startEdge(t, nil, args...)
			for _, e := range []*edge{a, b} {
				resp, body := get(t, http.DefaultClient, e.base+"/healthz")
				wantStatus(t, "healthz", resp, body, http.StatusOK)
			}
			onB := func(u string) string { return b.base + strings.TrimPrefix(u, a.base) }

			v := a.video("demo")
			one := viewer(t, "viewer-one/1.0")
			resp, body := get(t, one, v.Assets.HLS)
			wantStatus(t, "client 1 on A", resp, body, http.StatusOK)
			resp, body = get(t, viewer(t, "viewer-two/1.0"), onB(v.Assets.HLS))
			wantProblem(t, "client 2 on B", resp, body, http.StatusForbidden, "token-used")
			// Cookies are per host, not per port: client 1 carries its session to B.
			resp, body = get(t, one, onB(v.Assets.MP4), "Range", "bytes=0-9")
			wantStatus(t, "client 1's session on B", resp, body, http.StatusPartialContent)

			w := a.video("demo")
			resp = b.api("DELETE", "/videos/demo/tokens/"+w.Token, "", nil)
			wantStatus(t, "revoke on B", resp, nil, http.StatusNoContent)
			resp, body = get(t, viewer(t, "viewer-three/1.0"), w.Assets.HLS)
			wantProblem(t, "revoked token on A", resp, body, http.StatusForbidden, "token-revoked")
			assertNoSecrets(t, a, v.Token, w.Token)
			assertNoSecrets(t, b, v.Token, w.Token)
		})
	}
}

// A shared store that does not answer: the server starts all the same,
// health says 503, and so do new links, quickly, with a reason.
func TestStoreUnavailable(t *testing.T) {
	for _, c := range []struct{ name, url string }{
		// No retries: a refused connection is refused at once.
		{"redis", "redis://127.0.0.1:" + port(freeAddr(t)) + "/0?max_retries=-1"},
		{"postgres", "postgres://postgres@127.0.0.1:" + port(freeAddr(t)) + "/none?sslmode=disable&connect_timeout=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startEdge(t, nil, "-store", c.url)
			start := time.Now()
			resp, body := get(t, http.DefaultClient, e.base+"/healthz")
			wantHealth(t, resp, body, http.StatusServiceUnavailable, map[string]string{"token_store": "down", "video_store": "down"})
			resp = e.api("GET", "/videos/demo", "", nil)
			wantProblem(t, "GET /videos/demo", resp, readAll(t, resp), http.StatusServiceUnavailable, "store-unavailable")
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("answers took %s", d)
			}
			if log := e.finalLog(); !strings.Contains(log, "does not answer yet") && !strings.Contains(log, "not ready yet") {
				t.Errorf("no warning about the store at start:\n%s", log)
			}
		})
	}
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
