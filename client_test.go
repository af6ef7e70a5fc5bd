package privatevideo_test

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/privatevideo/privatevideo"
)

// WithClientKey: the application says what a client is. Within the grace
// window the same key gets in from any address and User-Agent, and another
// key is refused even from the same address and User-Agent.
func TestClientKey(t *testing.T) {
	f := newFixture(t, privatevideo.WithRetryWindow(0), privatevideo.WithClientKey(func(r *http.Request, _ netip.Addr) string {
		return r.Header.Get("X-Device")
	}))
	tok := f.issue("v1")
	wantOK(t, "first open, device A", f.get(f.player("one"), tokenPath("v1", tok, "a.ts"), "X-Device", "A"))
	wantOK(t, "device A, another User-Agent, within the grace", f.get(f.player("two"), tokenPath("v1", tok, "b.ts"), "X-Device", "A"))
	wantDenied(t, "device B, the first User-Agent", f.get(f.player("one"), tokenPath("v1", tok, "c.ts"), "X-Device", "B"), http.StatusForbidden, "token-used")
	wantDenied(t, "no device: a client like no other", f.get(f.player("one"), tokenPath("v1", tok, "c.ts")), http.StatusForbidden, "token-used")

	// An empty key on the redeeming request matches nobody, not even
	// another empty key.
	tok2 := f.issue("v1")
	wantOK(t, "first open, no device", f.get(f.player("one"), tokenPath("v1", tok2, "a.ts")))
	wantDenied(t, "no device again", f.get(f.player("one"), tokenPath("v1", tok2, "b.ts")), http.StatusForbidden, "token-used")
}

// The key function gets the address read with the trusted proxies' rules:
// a forged X-Forwarded-For from an untrusted peer does not change it.
func TestClientKeyAddressKeepsProxyTrust(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	f := newFixture(t, privatevideo.WithRetryWindow(0), privatevideo.WithClientKey(func(r *http.Request, addr netip.Addr) string {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, addr.String())
		return addr.String()
	}))
	tok := f.issue("v1")
	wantOK(t, "first open", f.get(f.player("one"), tokenPath("v1", tok, "a.ts"), "X-Forwarded-For", "203.0.113.9"))
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "127.0.0.1" {
		t.Fatalf("key function saw %q, want the peer 127.0.0.1 (X-Forwarded-For from an untrusted peer is ignored)", seen)
	}

	g := newFixture(t, privatevideo.WithRetryWindow(0), privatevideo.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")),
		privatevideo.WithClientKey(func(r *http.Request, addr netip.Addr) string { return addr.String() }))
	tok = g.issue("v1")
	wantOK(t, "first open behind the trusted proxy", g.get(g.player("one"), tokenPath("v1", tok, "a.ts"), "X-Forwarded-For", "203.0.113.9"))
	wantOK(t, "the same forwarded client, another User-Agent", g.get(g.player("two"), tokenPath("v1", tok, "b.ts"), "X-Forwarded-For", "203.0.113.9"))
	wantDenied(t, "another forwarded client", g.get(g.player("one"), tokenPath("v1", tok, "c.ts"), "X-Forwarded-For", "203.0.113.10"), http.StatusForbidden, "token-used")
}

func TestClientKeyNilRefused(t *testing.T) {
	_, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithClientKey(nil))
	if err == nil || !strings.Contains(err.Error(), "WithClientKey") {
		t.Fatalf("New(WithClientKey(nil)) = %v, want an error naming the option", err)
	}
}
