package privatevideo_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// The Origin check from the attacker's side: a page whose browser would
// hide the answer must not spend the link, however its Origin is spelled.
// Each spelling is tried on a fresh token; a refused one must leave it
// issued (nothing spent), an allowed one must redeem it and carry the CORS
// headers a browser needs to show the answer.
func TestAttackOriginSpellingsFinding(t *testing.T) {
	const listed = "https://player.example"
	f := newFixture(t, privatevideo.WithCORS(listed))
	own := f.srv.URL // http://127.0.0.1:port
	ownHost := strings.TrimPrefix(own, "http://")
	for _, c := range []struct {
		name    string
		origins []string // Origin header lines, in order
		allowed bool
	}{
		{"listed", []string{listed}, true},
		{"the page's own origin", []string{own}, true},
		{"unlisted", []string{"https://evil.example"}, false},
		{"listed with a trailing slash", []string{listed + "/"}, false},
		{"listed with a path", []string{listed + "/embed"}, false},
		{"listed with its default port", []string{listed + ":443"}, false},
		{"listed with another port", []string{listed + ":8443"}, false},
		{"listed over http", []string{"http://player.example"}, false},
		{"a suffix of the listed host", []string{"https://player.example.evil.example"}, false},
		{"a prefix of the listed host", []string{"https://player.exampl"}, false},
		{"the listed origin inside another", []string{"https://evil.example/" + listed}, false},
		{"userinfo naming the listed host", []string{"https://player.example@evil.example"}, false},
		{"null (sandboxed frame, file:, data:)", []string{"null"}, false},
		{"no scheme", []string{"player.example"}, false},
		{"own host, another port", []string{"http://127.0.0.1:1"}, false},
		{"own host in a path", []string{"http://evil.example/" + ownHost}, false},
		{"own host as userinfo", []string{"http://" + ownHost + "@evil.example"}, false},
		{"own host with a trailing dot", []string{"http://" + strings.Replace(ownHost, ":", ".:", 1)}, false},
		{"two Origin lines, the first unlisted", []string{"https://evil.example", listed}, false},
		{"two Origin lines, the first the page's own", []string{"https://evil.example", own}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := f.issue("v1")
			req, err := http.NewRequest(http.MethodGet, f.srv.URL+tokenPath("v1", tok, "a.ts"), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header["Origin"] = c.origins
			req.Header.Set("User-Agent", "attack/"+c.name)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			state := f.state(tok)
			acao := resp.Header.Get("Access-Control-Allow-Origin")
			if !c.allowed {
				if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Privatevideo-Reason") != "origin-not-allowed" || state != store.Issued || acao != "" {
					t.Fatalf("Origin %q: %d %q, token %v, ACAO %q; want 403 origin-not-allowed, the token unspent, no ACAO",
						c.origins, resp.StatusCode, resp.Header.Get("Privatevideo-Reason"), state, acao)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || state != store.Redeemed {
				t.Fatalf("Origin %q: %d, token %v; want it played", c.origins, resp.StatusCode, state)
			}
			if c.origins[0] == listed && (acao != listed || resp.Header.Get("Access-Control-Allow-Credentials") != "true") {
				t.Fatalf("Origin %q: ACAO %q ACAC %q; want the listed origin echoed, with credentials", c.origins, acao,
					resp.Header.Get("Access-Control-Allow-Credentials"))
			}
		})
	}
}

// An unlisted origin's preflight is answered without any CORS header (so
// the browser never sends the request it announced) and spends nothing.
func TestAttackUnlistedPreflightFinding(t *testing.T) {
	f := newFixture(t, privatevideo.WithCORS("https://player.example"))
	tok := f.issue("v1")
	res := f.do(f.player("p"), http.MethodOptions, tokenPath("v1", tok, "a.ts"),
		"Origin", "https://evil.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "range")
	if res.status != http.StatusNoContent || res.header.Get("Access-Control-Allow-Origin") != "" ||
		res.header.Get("Access-Control-Allow-Methods") != "" || f.state(tok) != store.Issued {
		t.Fatalf("unlisted preflight: %d, headers %v, token %v; want 204 without CORS headers, token unspent", res.status, res.header, f.state(tok))
	}
}
