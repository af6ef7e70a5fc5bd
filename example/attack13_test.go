//go:build unix

package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Round 13: forward-auth (GET /auth) and -cors-origins from the attacker's
// side, through the README's real nginx and Caddy blocks where it matters.

// linkSpent reports whether tok is spent: a browser of its own, on the
// edge's own media, is refused token-used. An unspent tok is spent by it.
func linkSpent(t *testing.T, e *edge, tok, ua string) bool {
	t.Helper()
	resp, _ := get(t, viewer(t, ua), e.base+"/vod/demo/token/"+tok+"/thumbnail.jpg")
	return resp.StatusCode == http.StatusForbidden && resp.Header.Get("Privatevideo-Reason") == "token-used"
}

// publicClimbs are paths that name the public video short to /auth (or nothing
// at all) and, once a proxy resolves dot segments, escapes, backslashes or
// letter case, the private video demo; tok is a fresh link to demo.
func publicClimbs(tok string) []string {
	return []string{
		"/vod/short/../demo/hls/manifest.m3u8",
		"/vod/short/%2e%2e/demo/hls/manifest.m3u8",
		"/vod/short/%2E%2E%2Fdemo%2Fhls%2Fmanifest.m3u8",
		"/vod/short/..%2Fdemo/hls/manifest.m3u8",
		"/vod/short/hls/..%2F..%2F..%2Fvod%2Fdemo%2Fhls%2Fmanifest.m3u8",
		"/vod/short//../demo/hls/manifest.m3u8",
		"/vod/short/./../demo/hls/manifest.m3u8",
		"/vod/short/hls/%252e%252e/%252e%252e/demo/hls/manifest.m3u8",
		"/vod/short/token/" + tok + "/../../demo/hls/manifest.m3u8",
		"/vod/demo/token/" + tok + "/../../short/hls/manifest.m3u8",
		"/vod/short/hls/manifest.m3u8/../../../demo/hls/key.bin",
		"/vod/short\\..\\demo\\hls\\manifest.m3u8",
		"/vod/short/%5C..%5Cdemo/hls/manifest.m3u8",
		"/vod/short;/../demo/hls/manifest.m3u8",
		"/vod/%73hort/../demo/hls/manifest.m3u8",
		"/VOD/demo/hls/manifest.m3u8",
		"/Vod/short/../demo/hls/manifest.m3u8",
	}
}

// A player on a listed origin (-cors-origins) behind the README's nginx:
// /auth allows the request and redeems the link, but nginx passes on only
// Set-Cookie and the reason, never Access-Control-Allow-Origin, so the
// browser hides the playlist from the player, and the viewer's link is
// spent for an answer nobody could read: issue 12's "a cross-origin
// request whose answer the browser will hide still redeems the token",
// back through forward-auth. A preflight (OPTIONS, for a Range or
// credentials with headers) is a 403 there too.
func TestAttackNginxForwardAuthCORSFinding(t *testing.T) {
	t.Parallel()
	const origin = "http://player.example"
	e, n := nginxEdge(t, "-cors-origins", origin)
	tok := mint(t, e, "demo")
	hls := n.base + "/vod/demo/token/" + tok + "/hls/manifest.m3u8"

	req, _ := http.NewRequest("OPTIONS", hls, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "range")
	resp, _ := do(t, viewer(t, "cors-player/1.0"), req)
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("a preflight from the listed origin through nginx: %d, Access-Control-Allow-Origin %q; want 2xx with %q",
			resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), origin)
	}

	resp, body := get(t, viewer(t, "cors-player/1.0"), hls, "Origin", origin)
	acao := resp.Header.Get("Access-Control-Allow-Origin")
	if resp.StatusCode == http.StatusOK && acao != origin {
		spent := linkSpent(t, e, tok, "cors-check/1.0")
		t.Errorf("GET with Origin %s through nginx: 200 (%d bytes) without Access-Control-Allow-Origin (%q): "+
			"the browser hides it from the player; link spent: %t", origin, len(body), acao, spent)
	}
	assertNoSecrets(t, e, tok)
}

// The same through the README's Caddy forward_auth block (Debian's Caddy
// 2.6): only Set-Cookie is copied onto the answer.
func TestAttackCaddyForwardAuthCORSFinding(t *testing.T) {
	t.Parallel()
	caddyBinary(t)
	const origin = "http://player.example"
	media := t.TempDir()
	copyDir(t, "media/demo", filepath.Join(media, "demo"))
	addr := freeAddr(t)
	e := startEdge(t, nil, "-public-url", "http://"+addr, "-trusted-proxies", "127.0.0.1", "-cors-origins", origin)
	base := startCaddy(t, addr, strings.TrimPrefix(e.base, "http://"), media)
	tok := mint(t, e, "demo")
	resp, body := get(t, viewer(t, "cors-player/1.0"), base+"/vod/demo/token/"+tok+"/hls/manifest.m3u8", "Origin", origin)
	acao := resp.Header.Get("Access-Control-Allow-Origin")
	if resp.StatusCode == http.StatusOK && acao != origin {
		spent := linkSpent(t, e, tok, "cors-check/1.0")
		t.Errorf("GET with Origin %s through Caddy's forward_auth: 200 (%d bytes) without Access-Control-Allow-Origin (%q): "+
			"the browser hides it; link spent: %t", origin, len(body), acao, spent)
	}
}

// The README's nginx sends the edge "Host $host", which has no port: on a
// media host with a port (here 127.0.0.1:port, in production any
// non-default port), a page of the media host's own origin is refused
// origin-not-allowed, since its Origin (host and port) is not the Host the
// edge sees. Browsers send Origin on every POST, even same-origin, so the
// page-bound player page's POST to the session endpoint fails.
func TestAttackNginxSameOriginWithPortFinding(t *testing.T) {
	t.Parallel()
	e, n := nginxEdge(t)
	tok := mint(t, e, "demo")
	req, _ := http.NewRequest("POST", n.base+"/vod/demo/token/"+tok+"/session", nil)
	req.Header.Set("Origin", n.base) // the page /vod/demo?token=… came from nginx's own origin
	resp, body := do(t, viewer(t, "page-bound/1.0"), req)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"session_token"`)) {
		t.Errorf("the session endpoint from the media host's own page (Origin %s) through nginx: %d %q; want 200",
			n.base, resp.StatusCode, resp.Header.Get("Privatevideo-Reason"))
	}
}

// What holds behind the real nginx: a public video beside the private one
// is no way to climb into it (dot segments, escaped, merged slashes, which
// nginx resolves after /auth decided the public one); the player page
// described to /auth serves nothing and spends nothing; a second Origin, a
// forged X-Forwarded-Uri or X-Original-URI from the viewer changes
// nothing.
func TestAttackNginxForwardAuthHolds(t *testing.T) {
	t.Parallel()
	e, n := nginxEdge(t)
	if resp := e.api("PATCH", "/videos/short", `{"public": true}`, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH short public: %s", resp.Status)
	}
	tok := mint(t, e, "demo")
	for _, p := range publicClimbs(tok) {
		resp, body := rawGet(t, n.base, p, "climber/1.0")
		if resp.StatusCode == http.StatusOK || bytes.Contains(body, []byte("#EXTM3U")) || bytes.Contains(body, readFile(t, "media/demo/hls/key.bin")) {
			t.Errorf("%s through nginx: %d, %d bytes: the private video, by way of the public one", redactURL(p), resp.StatusCode, len(body))
		}
	}
	// The public video itself still plays through nginx (there are no
	// files for it in this copy: /auth allows, nginx answers 404).
	if resp, _ := rawGet(t, n.base, "/vod/short/hls/manifest.m3u8", "climber/1.0"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the public video through nginx: %d, want nginx's 404 (allowed, no file)", resp.StatusCode)
	}

	// The player page, as a path under the token, reaches /auth (nginx's
	// edge location takes only /vod/{id}): allowed without redemption, but
	// nginx has nothing to serve there.
	for _, p := range []string{"/vod/demo/token/" + tok + "/", "/vod/demo/token/" + tok, "/vod/demo/token/" + tok + "/?player.lib=x"} {
		resp, body := rawGet(t, n.base, p, "page/1.0")
		if resp.StatusCode == http.StatusOK || bytes.Contains(body, []byte("#EXTM3U")) || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s through nginx: %d, cookie %t", redactURL(p), resp.StatusCode, resp.Header.Get("Set-Cookie") != "")
		}
	}
	// The viewer's own descriptions: nginx overwrites X-Original-URI and
	// clears X-Forwarded-Uri, so a private asset stays refused however the
	// viewer describes the public one.
	for _, h := range [][]string{
		{"X-Original-URI", "/vod/short/hls/manifest.m3u8"},
		{"X-Forwarded-Uri", "/vod/short/hls/manifest.m3u8", "X-Forwarded-Method", "GET"},
		{"X-Original-Method", "HEAD"},
		{"X-Forwarded-For", "203.0.113.9"},
		{"Origin", "http://evil.example", "X-Forwarded-Host", "evil.example"},
	} {
		resp, body := get(t, viewer(t, "forger/1.0"), n.base+"/vod/demo/hls/manifest.m3u8", h...)
		if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte("#EXTM3U")) {
			t.Errorf("a private asset without a token, the viewer adding %q: %d", h, resp.StatusCode)
		}
	}
	if linkSpent(t, e, tok, "holds-check/1.0") {
		t.Error("the link was spent by the climbs or the player page")
	}
	assertNoSecrets(t, e, tok)
}

// What holds in /auth itself (no proxy in front): descriptions too long, a
// line break escaped into the URI, the session endpoint in other
// spellings, the viewer's X-Forwarded-For telling viewers apart in the
// grace window, an Origin not listed (spends nothing), in both
// conventions.
func TestAttackForwardAuthDescriptionsHolds(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil, "-trusted-proxies", "127.0.0.1", "-cors-origins", "http://player.example")
	tok := mint(t, e, "demo")
	asset := "/vod/demo/token/" + tok + "/thumbnail.jpg"
	for _, describe := range []func(method, uri, ua string, extra ...string) []string{nginxAsks, forwardedAsks} {
		for _, uri := range []string{
			asset + "?x=" + strings.Repeat("a", 9000),
			"/vod/demo/token/" + tok + "/thumb%0d%0aSet-Cookie:%20x=y",
			"/vod/demo/token/" + tok + "/%0athumbnail.jpg",
			"/vod/demo/token/" + tok + "/thumbnail.jpg%00",
			"/vod/demo/token/" + tok + "/thumbnail.jpg%",
			"/vod/demo/token/" + tok + "/session/",
			"/vod/demo/token/" + tok + "/%53%45%53%53%49%4f%4e",
			"/vod/demo/token/" + tok + "/session?avh=x",
			"/vod/demo/session?token=" + tok,
			"/vod/demo/token/" + tok + "/hls/session",
			"/vod",
			"/VOD/demo/token/" + tok + "/thumbnail.jpg",
			"/auth",
		} {
			resp, _ := askAuth(t, e, describe("GET", uri, "desc/1.0")...)
			if resp.StatusCode/100 == 2 || resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("%.80s: %d, cookie %t; want a refusal", redactURL(uri), resp.StatusCode, resp.Header.Get("Set-Cookie") != "")
			}
			if strings.ContainsAny(resp.Header.Get("Privatevideo-Reason"), "\r\n:") {
				t.Errorf("%.80s: reason %q", redactURL(uri), resp.Header.Get("Privatevideo-Reason"))
			}
		}
		// An Origin neither the host's nor listed: refused before
		// redemption, however the proxy describes the host.
		for _, o := range []string{"http://evil.example", "null", "http://player.example.evil.example", "http://player.example:80"} {
			resp, body := askAuth(t, e, describe("GET", asset, "desc/1.0", "Origin", o)...)
			if resp.StatusCode/100 == 2 || resp.Header.Get("Privatevideo-Reason") != "origin-not-allowed" {
				t.Errorf("Origin %q: %d %q %.100s; want origin-not-allowed", o, resp.StatusCode, resp.Header.Get("Privatevideo-Reason"), body)
			}
		}
	}
	if linkSpent(t, e, tok, "desc-check/1.0") {
		t.Fatal("a refused description spent the link")
	}
	// X-Forwarded-For (set by the trusted proxy) tells viewers apart: the
	// same User-Agent on another address is not let in by the grace window.
	fresh := mint(t, e, "demo")
	fa := "/vod/demo/token/" + fresh + "/thumbnail.jpg"
	resp, body := askAuth(t, e, nginxAsks("GET", fa, "same-ua/1.0", "X-Forwarded-For", "198.51.100.1")...)
	wantAllowed(t, "the redeemer", resp, body)
	resp, body = askAuth(t, e, nginxAsks("GET", fa, "same-ua/1.0", "X-Forwarded-For", "198.51.100.2")...)
	wantRefused(t, "the same User-Agent elsewhere", resp, body, http.StatusForbidden, "token-used")
	resp, body = askAuth(t, e, nginxAsks("GET", fa, "same-ua/1.0", "X-Forwarded-For", "198.51.100.1, 198.51.100.2")...)
	wantRefused(t, "the redeemer's address written first by another viewer", resp, body, http.StatusForbidden, "token-used")
	assertNoSecrets(t, e, tok, fresh)
}

// -cors-origins promises to refuse an origin no browser sends, with the
// spelling browsers use (WHATWG URL, checked with Node's URL above each
// case), but numeric hosts pass as host names and an IPv4-mapped IPv6
// address is "corrected" into a spelling no browser sends: the listed
// origin then never matches and the player is refused with no clue why,
// while the browser's own spelling is refused at start.
func TestAttackCORSOriginNumericHostsFinding(t *testing.T) {
	for _, c := range []struct{ value, browser string }{
		{"http://127.1:8080", "http://127.0.0.1:8080"},
		{"http://2130706433", "http://127.0.0.1"},
		{"http://0x7f.0.0.1", "http://127.0.0.1"},
		{"http://1.2.3.4.", "http://1.2.3.4"},
		{"http://[::ffff:127.0.0.1]:8080", "http://[::ffff:7f00:1]:8080"},
	} {
		if got, err := parseConfig([]string{"-cors-origins", c.value}, envOf()); err == nil {
			t.Errorf("-cors-origins %q: accepted as %q; a browser sends %s, which never matches it", c.value, got.corsOrigins, c.browser)
		}
	}
	// What a browser sends is accepted as it is.
	for _, o := range []string{"http://127.0.0.1:8080", "http://[::ffff:7f00:1]:8080", "http://[::1]:8080"} {
		if got, err := parseConfig([]string{"-cors-origins", o}, envOf()); err != nil || len(got.corsOrigins) != 1 || got.corsOrigins[0] != o {
			t.Errorf("-cors-origins %q (a browser's own spelling): %q, %v", o, got.corsOrigins, err)
		}
	}
}

// The same climbs behind the README's Caddy forward_auth (Debian's Caddy
// 2.6, whose path matchers clean the path and ignore letter case, and
// whose file_server cleans it again): none reaches demo's bytes; nor do a
// viewer's own X-Forwarded-* (Caddy sets its own), nor the player page
// under the token (allowed by /auth, nothing served); a same-origin POST
// to the session endpoint passes.
func TestAttackCaddyForwardAuthHolds(t *testing.T) {
	t.Parallel()
	caddyBinary(t)
	media := t.TempDir()
	copyDir(t, "media/demo", filepath.Join(media, "demo"))
	addr := freeAddr(t)
	e := startEdge(t, nil, "-public-url", "http://"+addr, "-trusted-proxies", "127.0.0.1")
	base := startCaddy(t, addr, strings.TrimPrefix(e.base, "http://"), media)
	if resp := e.api("PATCH", "/videos/short", `{"public": true}`, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH short public: %s", resp.Status)
	}
	tok := mint(t, e, "demo")
	key := readFile(t, "media/demo/hls/key.bin")
	for _, p := range append(publicClimbs(tok), "/vod/demo/token/"+tok+"/", "/vod/demo/token/"+tok) {
		resp, body := rawGet(t, base, p, "climber/1.0")
		if resp.StatusCode == http.StatusOK || bytes.Contains(body, []byte("#EXTM3U")) || bytes.Contains(body, key) {
			t.Errorf("%s through Caddy: %d, %d bytes", redactURL(p), resp.StatusCode, len(body))
		}
	}
	for _, h := range [][]string{
		{"X-Forwarded-Uri", "/vod/short/hls/manifest.m3u8", "X-Forwarded-Method", "GET"},
		{"X-Forwarded-Method", "HEAD"},
		{"X-Forwarded-For", "203.0.113.9"},
		{"X-Forwarded-Host", "evil.example", "Origin", "http://evil.example"},
	} {
		resp, body := get(t, viewer(t, "forger/1.0"), base+"/vod/demo/hls/manifest.m3u8", h...)
		if resp.StatusCode/100 != 4 || bytes.Contains(body, []byte("#EXTM3U")) {
			t.Errorf("a private asset without a token, the viewer adding %q: %d", h, resp.StatusCode)
		}
	}
	if linkSpent(t, e, tok, "holds-check/1.0") {
		t.Error("the link was spent by the climbs or the player page")
	}
	// Caddy passes the Host as it came, port included: the media host's
	// own page may POST to the session endpoint (unlike behind nginx's
	// Host $host, TestAttackNginxSameOriginWithPortFinding).
	req, _ := http.NewRequest("POST", base+"/vod/demo/token/"+mint(t, e, "demo")+"/session", nil)
	req.Header.Set("Origin", base)
	if resp, body := do(t, viewer(t, "page-bound/1.0"), req); resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"session_token"`)) {
		t.Errorf("the session endpoint from the media host's own page through Caddy: %d %q", resp.StatusCode, resp.Header.Get("Privatevideo-Reason"))
	}
	assertNoSecrets(t, e, tok)
}
