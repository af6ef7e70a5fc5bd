//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// authVideo is what the forward-auth tests read of a video from the API.
type authVideo struct {
	Token  string `json:"token"`
	Assets struct {
		Player, HLS, MP4, Thumbnail string
	} `json:"assets"`
}

// mint asks e's API for a fresh link to video and returns its token.
func mint(t *testing.T, e *edge, video string) string {
	t.Helper()
	var v authVideo
	if resp := e.api("GET", "/videos/"+video, "", &v); resp.StatusCode != http.StatusOK || v.Token == "" {
		t.Fatalf("GET /videos/%s: %s, token %t", video, resp.Status, v.Token != "")
	}
	return v.Token
}

// askAuth calls e's /auth as a proxy would, with headers in pairs.
func askAuth(t *testing.T, e *edge, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", e.base+"/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, http.DefaultClient, req)
}

// nginxAsks describes method uri as nginx's auth_request does, for the
// viewer ua.
func nginxAsks(method, uri, ua string, extra ...string) []string {
	return append([]string{"X-Original-URI", uri, "X-Original-Method", method, "User-Agent", ua}, extra...)
}

// forwardedAsks describes method uri as Traefik and Caddy do.
func forwardedAsks(method, uri, ua string, extra ...string) []string {
	return append([]string{"X-Forwarded-Uri", uri, "X-Forwarded-Method", method, "X-Forwarded-Host", "media.example.com",
		"X-Forwarded-Proto", "https", "User-Agent", ua}, extra...)
}

// wantRefused fails the test unless the answer is status with reason in
// Privatevideo-Reason and in a problem body, and sets no cookie.
func wantRefused(t *testing.T, what string, resp *http.Response, body []byte, status int, reason string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Privatevideo-Reason") != reason {
		t.Fatalf("%s: %d, reason %q; want %d, %q; body %.300s", what, resp.StatusCode,
			resp.Header.Get("Privatevideo-Reason"), status, reason, body)
	}
	var p struct{ Reason string }
	if err := json.Unmarshal(body, &p); err != nil || p.Reason != reason {
		t.Fatalf("%s: body %.300q, want a problem with reason %q", what, body, reason)
	}
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		t.Fatalf("%s: a refusal sets a cookie", what)
	}
}

// sessionCookie returns the "pv_session=…" pair of resp's Set-Cookie.
func sessionCookie(t *testing.T, what string, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "pv_session" && c.Value != "" {
			if c.Path == "" || !c.HttpOnly {
				t.Errorf("%s: cookie path %q, HttpOnly %t", what, c.Path, c.HttpOnly)
			}
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("%s: no session cookie in %q", what, resp.Header.Values("Set-Cookie"))
	return ""
}

// wantAllowed fails the test unless the answer allows: 200 and no body.
func wantAllowed(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("%s: %d (reason %q), %d bytes; want 200 and no body", what, resp.StatusCode,
			resp.Header.Get("Privatevideo-Reason"), len(body))
	}
}

// wantUnspent checks that token still redeems, on the edge's own media,
// for a browser of its own.
func wantUnspent(t *testing.T, e *edge, token, what string) {
	t.Helper()
	resp, body := get(t, viewer(t, "unspent-check/1.0"), e.base+"/vod/demo/token/"+token+"/thumbnail.jpg")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s spent the link: the edge then answers %d, %.200s", what, resp.StatusCode, body)
	}
}

// The decisions of /auth, from the attacker's side, in both header
// conventions: no token, a fresh link, the same browser again, another
// browser, a HEAD, a described method that is not GET.
func TestForwardAuthDecides(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	for _, tc := range []struct {
		name      string
		describe  func(method, uri, ua string, extra ...string) []string
		refusal   int // the status of a denial
		badMethod int
	}{
		{"nginx", nginxAsks, http.StatusForbidden, http.StatusForbidden},
		{"forwarded", forwardedAsks, http.StatusForbidden, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ask := func(method, uri, ua string, extra ...string) (*http.Response, []byte) {
				return askAuth(t, e, tc.describe(method, uri, ua, extra...)...)
			}
			resp, body := ask("GET", "/vod/demo/hls/manifest.m3u8", "one/1.0")
			wantRefused(t, "no token", resp, body, tc.refusal, "token-required")

			tok := mint(t, e, "demo")
			hls := "/vod/demo/token/" + tok + "/hls/manifest.m3u8"
			// Non-redeeming first: a HEAD and a preview bot spend nothing.
			resp, body = ask("HEAD", hls, "one/1.0")
			wantRefused(t, "HEAD of a fresh link", resp, body, tc.refusal, "not-redeemed")
			resp, body = ask("GET", hls, "Slackbot-LinkExpanding 1.0")
			wantRefused(t, "a preview bot", resp, body, tc.refusal, "not-redeemed")

			resp, body = ask("GET", hls, "one/1.0")
			wantAllowed(t, "first open", resp, body)
			cookie := sessionCookie(t, "first open", resp)
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
				t.Errorf("first open: Cache-Control %q, want private", cc)
			}

			// The same browser: its refresh, other assets, a HEAD, a range.
			for _, uri := range []string{hls, "/vod/demo/token/" + tok + "/hls/360p/seg1.m4s",
				"/vod/demo/token/" + tok + "/mp4/source.mp4", "/vod/demo/token/" + tok + "/thumbnail.jpg"} {
				for _, m := range []string{"GET", "HEAD"} {
					resp, body = ask(m, uri, "one/1.0", "Cookie", cookie, "Range", "bytes=0-99")
					wantAllowed(t, "the session, "+m, resp, body)
					if c := resp.Header.Get("Set-Cookie"); c != "" {
						t.Errorf("the session, %s: a new cookie %q", m, c)
					}
				}
			}
			// Another browser, with or without a cookie of its own.
			resp, body = ask("GET", hls, "two/1.0")
			wantRefused(t, "another browser", resp, body, tc.refusal, "token-used")
			resp, body = ask("GET", hls, "two/1.0", "Cookie", "pv_session=forged")
			wantRefused(t, "a forged cookie", resp, body, tc.refusal, "token-used")
			// The cookie of this link does not open another video.
			resp, body = ask("GET", "/vod/short/hls/manifest.m3u8", "one/1.0", "Cookie", cookie)
			wantRefused(t, "the session on another video", resp, body, tc.refusal, "session-invalid")

			// Every method but GET and HEAD is refused before any store
			// call: the link is not spent.
			fresh := mint(t, e, "demo")
			for _, m := range boundaryMethods {
				if m == "GET" || m == "HEAD" {
					continue
				}
				resp, body = ask(m, "/vod/demo/token/"+fresh+"/thumbnail.jpg", "three/1.0")
				wantRefused(t, "described "+m, resp, body, tc.badMethod, "method-not-allowed")
			}
			wantUnspent(t, e, fresh, "a described method other than GET")
		})
	}
	assertNoSecrets(t, e)
}

// A store that does not answer: nginx cannot relay a 503 (its auth_request
// makes any status but 2xx, 401 and 403 a 500), so it gets 401 with the
// reason, which its configuration turns into a 503; Traefik and Caddy relay
// the 503 itself. A session opened before keeps playing.
func TestForwardAuthStoreDown(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, "--appendonly", "yes", "--appendfsync", "always") // the links outlive the restart
	e := startEdge(t, nil, "-store", rs.url(), "-store-timeout", "300ms")
	tok := mint(t, e, "demo")
	open := mint(t, e, "demo")
	resp, body := askAuth(t, e, nginxAsks("GET", "/vod/demo/token/"+open+"/hls/manifest.m3u8", "one/1.0")...)
	wantAllowed(t, "before the outage", resp, body)
	cookie := sessionCookie(t, "before the outage", resp)

	rs.kill()
	uri := "/vod/demo/token/" + tok + "/hls/manifest.m3u8"
	resp, body = askAuth(t, e, nginxAsks("GET", uri, "one/1.0")...)
	wantRefused(t, "nginx, store down", resp, body, http.StatusUnauthorized, "store-unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("nginx, store down: no Retry-After")
	}
	resp, body = askAuth(t, e, forwardedAsks("GET", uri, "one/1.0")...)
	wantRefused(t, "forwarded, store down", resp, body, http.StatusServiceUnavailable, "store-unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("forwarded, store down: no Retry-After")
	}
	resp, body = askAuth(t, e, nginxAsks("GET", "/vod/demo/token/"+open+"/hls/360p/seg1.m4s", "one/1.0", "Cookie", cookie)...)
	wantAllowed(t, "an open session, store down", resp, body)

	rs.start()
	// The link the outage refused was not spent.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, body = askAuth(t, e, nginxAsks("GET", uri, "one/1.0")...)
		if resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	wantAllowed(t, "after the outage", resp, body)
}

// Described URIs that are not one request target of the media, and
// descriptions that do not add up, are refused and spend nothing.
func TestForwardAuthRefusesBadDescriptions(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := mint(t, e, "demo")
	asset := "/vod/demo/token/" + tok + "/thumbnail.jpg"
	for _, tc := range []struct {
		name   string
		header []string
		reason string
	}{
		{"absolute form", nginxAsks("GET", "http://media.example.com"+asset, "x/1"), "malformed"},
		{"authority form", nginxAsks("GET", "//media.example.com"+asset, "x/1"), "malformed"},
		{"asterisk", nginxAsks("GET", "*", "x/1"), "malformed"},
		{"empty", nginxAsks("GET", "", "x/1"), "malformed"},
		{"no slash", nginxAsks("GET", "vod/demo/token/"+tok+"/thumbnail.jpg", "x/1"), "malformed"},
		{"space", nginxAsks("GET", asset+" HTTP/1.1", "x/1"), "malformed"},
		{"tab", nginxAsks("GET", asset[:10]+"\t"+asset[10:], "x/1"), "malformed"},
		{"fragment", nginxAsks("GET", asset+"#x", "x/1"), "malformed"},
		{"non-ASCII", nginxAsks("GET", asset+"é", "x/1"), "malformed"},
		{"dot segments", nginxAsks("GET", "/vod/demo/token/"+tok+"/hls/../thumbnail.jpg", "x/1"), "malformed"},
		{"dot segments before the prefix", nginxAsks("GET", "/x/../vod/demo/token/"+tok+"/thumbnail.jpg", "x/1"), "malformed"},
		{"double slash", nginxAsks("GET", "/vod/demo/token/"+tok+"//thumbnail.jpg", "x/1"), "malformed"},
		{"encoded slash", nginxAsks("GET", "/vod/demo%2Ftoken%2F"+tok+"%2Fthumbnail.jpg", "x/1"), "malformed"},
		{"outside the media", nginxAsks("GET", "/healthz", "x/1"), "malformed"},
		{"the API", nginxAsks("GET", "/videos/demo", "x/1"), "malformed"},
		{"two URIs", nginxAsks("GET", asset, "x/1", "X-Original-URI", "/vod/demo/thumbnail.jpg"), "malformed"},
		{"two methods", nginxAsks("GET", asset, "x/1", "X-Original-Method", "DELETE"), "malformed"},
		{"lower-case get", nginxAsks("get", asset, "x/1"), "method-not-allowed"},
		// A viewer behind Traefik or Caddy (which pass its headers on)
		// writes nginx's header: which request is meant cannot be told.
		{"both conventions", forwardedAsks("GET", "/vod/short/thumbnail.jpg", "x/1", "X-Original-URI", asset, "X-Original-Method", "GET"), "malformed"},
		{"the session endpoint", nginxAsks("GET", "/vod/demo/token/"+tok+"/session", "x/1"), "forward-auth-unsupported"},
		{"the session endpoint, escaped", nginxAsks("GET", "/vod/demo/token/"+tok+"/%73ession", "x/1"), "forward-auth-unsupported"},
		{"the session endpoint, upper case", nginxAsks("GET", "/vod/demo/token/"+tok+"/SESSION", "x/1"), "forward-auth-unsupported"},
		// Traefik and Caddy relay the middleware's own status.
		{"bad forwarded host", forwardedAsks("GET", asset, "x/1", "X-Forwarded-Host", "evil.example/x"), "malformed"},
		{"absolute form, forwarded", forwardedAsks("GET", "https://media.example.com"+asset, "x/1"), "malformed"},
	} {
		status := http.StatusForbidden
		if tc.header[0] == "X-Forwarded-Uri" && tc.reason == "malformed" && tc.name != "both conventions" {
			status = http.StatusBadRequest
		}
		resp, body := askAuth(t, e, tc.header...)
		wantRefused(t, tc.name, resp, body, status, tc.reason)
	}
	// Not described at all, or without a method: the proxy's configuration
	// is wrong; nginx answers its viewer 500.
	for name, h := range map[string][]string{
		"nothing":              {"User-Agent", "x/1"},
		"no method, nginx":     {"X-Original-URI", asset},
		"no method, forwarded": {"X-Forwarded-Uri", asset},
	} {
		resp, body := askAuth(t, e, h...)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: %d, want 400; body %.200s", name, resp.StatusCode, body)
		}
	}
	// A line break folded into the header (obs-fold): refused one way or
	// the other.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /auth HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URI: " + asset + "\r\n /x\r\nConnection: close\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusForbidden {
		t.Errorf("a folded line: %d, want 400 or 403", resp.StatusCode)
	}
	wantUnspent(t, e, tok, "a bad description")
	assertNoSecrets(t, e, tok)
}

// Only a trusted proxy may ask: the caller vouches for every header. With
// -trusted-proxies naming others, a caller on this machine is refused and
// its forged X-Original-URI spends nothing.
func TestForwardAuthUntrustedCaller(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil, "-trusted-proxies", "192.0.2.0/24")
	tok := mint(t, e, "demo")
	start := time.Now()
	for _, h := range [][]string{
		nginxAsks("GET", "/vod/demo/token/"+tok+"/thumbnail.jpg", "attacker/1.0"),
		forwardedAsks("GET", "/vod/demo/token/"+tok+"/thumbnail.jpg", "attacker/1.0", "X-Forwarded-For", "192.0.2.7"),
		nginxAsks("GET", "/vod/demo/hls/manifest.m3u8", "attacker/1.0"),
	} {
		resp, body := askAuth(t, e, h...)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Set-Cookie") != "" ||
			!strings.Contains(string(body), "untrusted-caller") {
			t.Fatalf("an untrusted caller: %d, %.200s; want 403 untrusted-caller", resp.StatusCode, body)
		}
	}
	wantUnspent(t, e, tok, "an untrusted caller")
	// Refusals are logged, but a flood of them is not.
	for range 30 {
		askAuth(t, e, nginxAsks("GET", "/vod/demo/hls/manifest.m3u8", "attacker/1.0")...)
	}
	elapsed := time.Since(start)
	logged := 0
	for _, line := range e.logLines() {
		if msg, _ := line["msg"].(string); strings.Contains(msg, "not a trusted proxy") {
			logged++
		}
	}
	// At most one line in each second the calls spanned.
	if most := int(elapsed/time.Second) + 2; logged == 0 || logged > most {
		t.Errorf("33 refused callers in %s: %d log lines, want 1 to %d", elapsed.Round(time.Millisecond), logged, most)
	}
}

// With no -trusted-proxies, /auth answers loopback callers only.
func TestForwardAuthMayAsk(t *testing.T) {
	loopbackOnly := &forwardAuth{}
	listed := &forwardAuth{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}
	for _, tc := range []struct {
		a    *forwardAuth
		addr string
		want bool
	}{
		{loopbackOnly, "127.0.0.1:5000", true},
		{loopbackOnly, "[::1]:5000", true},
		{loopbackOnly, "[::ffff:127.0.0.1]:5000", true},
		{loopbackOnly, "10.0.0.1:5000", false},
		{loopbackOnly, "192.0.2.1:5000", false},
		{loopbackOnly, "garbage", false},
		{listed, "10.0.0.9:5000", true},
		{listed, "127.0.0.1:5000", false},
		{listed, "10.0.1.9:5000", false},
	} {
		if got := tc.a.mayAsk(remoteIP(tc.addr)); got != tc.want {
			t.Errorf("mayAsk(%s) with %v = %t, want %t", tc.addr, tc.a.trusted, got, tc.want)
		}
	}
}

// A public video passes, as the middleware passes it.
func TestForwardAuthPublicVideo(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	if resp := e.api("PATCH", "/videos/short", `{"public": true}`, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %s", resp.Status)
	}
	resp, body := askAuth(t, e, nginxAsks("GET", "/vod/short/hls/manifest.m3u8", "x/1")...)
	wantAllowed(t, "a public video", resp, body)
	resp, body = askAuth(t, e, nginxAsks("GET", "/vod/demo/hls/manifest.m3u8", "x/1")...)
	wantRefused(t, "a private one beside it", resp, body, http.StatusForbidden, "token-required")
}
