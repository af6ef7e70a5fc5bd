package pvcaddy_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// memoryBlock is the issue's Caddyfile block on the memory store, its
// secrets from the environment.
const memoryBlock = "\t\thash_key {env.PV_HASH_KEY}\n\t\tapi_key {env.PV_API_KEY}\n\t\tstore memory\n\t\tinsecure_cookies"

// The issue's flow through a real Caddy: the API mints a link whose URLs
// start with the request's host, the first browser plays and refreshes,
// another browser is refused with token-used; PATCH and DELETE act; what is
// not media or API reaches file_server untouched; the log holds no secret.
func TestCaddyTwoBrowsers(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	port, admin := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + port
	c := startCaddy(t, admin, caddyfile(t, admin, issueOrder, site{port, memoryBlock, "\troot * " + root + "\n\tfile_server"}), base)

	if r, reason, _ := get(t, http.DefaultClient, base+"/videos/demo"); r.StatusCode != 401 || reason != "unauthorized" {
		t.Fatalf("the API without the key: %d %q", r.StatusCode, reason)
	}
	v := mint(t, base, "demo")
	if !strings.HasPrefix(v.Assets.Player, base+"/vod/demo?token="+v.Token) || !strings.HasPrefix(v.Assets.HLS, base+"/vod/demo/token/"+v.Token+"/") {
		t.Fatalf("URLs %+v: want them on %s with the token", v.Assets, base)
	}

	one, two := browser(t), browser(t)
	r, reason, body := get(t, one, v.Assets.HLS)
	want(t, "first open", r, reason, 200, "")
	if !strings.HasPrefix(string(body), "#EXTM3U") {
		t.Fatalf("first open: not a playlist: %.60q", body)
	}
	if len(r.Cookies()) != 1 || r.Cookies()[0].Secure {
		t.Fatalf("first open: cookies %v, want one session cookie (not Secure: insecure_cookies)", r.Cookies())
	}
	r, reason, _ = get(t, two, v.Assets.HLS)
	want(t, "another browser", r, reason, 403, "token-used")
	r, reason, _ = get(t, two, v.Assets.MP4, "Range", "bytes=0-99")
	want(t, "another browser, another asset", r, reason, 403, "token-used")

	// A refresh: the player page again, the playlist, a range of the MP4.
	r, reason, body = get(t, one, v.Assets.Player)
	want(t, "refresh: player page", r, reason, 200, "")
	if !strings.Contains(string(body), "<video") {
		t.Errorf("the player page is not a player: %.80q", body)
	}
	r, reason, _ = get(t, one, v.Assets.HLS)
	want(t, "refresh: playlist", r, reason, 200, "")
	r, reason, _ = get(t, one, v.Assets.MP4, "Range", "bytes=0-99")
	want(t, "refresh: MP4 range", r, reason, 206, "")
	r, reason, _ = get(t, one, v.Assets.Thumbnail)
	want(t, "refresh: thumbnail", r, reason, 200, "")

	// No token, and a file that is not there under a valid session: the
	// middleware refuses the first, file_server the second.
	r, reason, _ = get(t, two, base+"/vod/demo/hls/manifest.m3u8")
	want(t, "no token", r, reason, 403, "token-required")
	r, _, _ = get(t, one, strings.Replace(v.Assets.HLS, "hls/manifest.m3u8", "hls/nothing.m3u8", 1))
	if r.StatusCode != 404 {
		t.Errorf("a missing file within the session: %d, want file_server's 404", r.StatusCode)
	}
	// A link whose first request is file_server's 404 (an error to Caddy)
	// is spent, as behind any handler that answers 404: the session goes
	// out with Caddy's answer, and another browser is refused.
	x := mint(t, base, "demo")
	three := browser(t)
	r, _, _ = get(t, three, strings.Replace(x.Assets.HLS, "hls/manifest.m3u8", "hls/nothing.m3u8", 1))
	if r.StatusCode != 404 || len(r.Cookies()) != 1 {
		t.Fatalf("a first request for a missing file: %d with cookies %v, want 404 with the session", r.StatusCode, r.Cookies())
	}
	r, reason, _ = get(t, three, x.Assets.HLS)
	want(t, "the same browser, then the playlist", r, reason, 200, "")
	r, reason, _ = get(t, browser(t), x.Assets.HLS)
	want(t, "another browser after the 404", r, reason, 403, "token-used")
	// Not media, not the API: file_server's, untouched.
	r, reason, body = get(t, two, base+"/robots.txt")
	want(t, "robots.txt", r, reason, 200, "")
	if string(body) != "User-agent: *\n" {
		t.Errorf("robots.txt = %q", body)
	}

	// PATCH makes it public, for anyone without a token; then private again.
	if resp, v := api(t, "PATCH", base+"/videos/demo", `{"public": true}`); resp.StatusCode != 200 || !v.Public || v.Token != "" {
		t.Fatalf("PATCH public: %d %+v", resp.StatusCode, v)
	}
	r, reason, _ = get(t, two, base+"/vod/demo/hls/manifest.m3u8")
	want(t, "public video", r, reason, 200, "")
	if resp, _ := api(t, "PATCH", base+"/videos/demo", `{"public": false}`); resp.StatusCode != 200 {
		t.Fatalf("PATCH private: %d", resp.StatusCode)
	}
	r, reason, _ = get(t, two, base+"/vod/demo/hls/manifest.m3u8")
	want(t, "private again", r, reason, 403, "token-required")

	// DELETE revokes an unused token.
	w := mint(t, base, "demo")
	if resp, _ := api(t, "DELETE", base+"/videos/demo/tokens/"+w.Token, ""); resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	r, reason, _ = get(t, browser(t), w.Assets.HLS)
	want(t, "revoked token", r, reason, 403, "token-revoked")

	c.noSecrets(v.Token, w.Token, x.Token)
	if !c.waitLog(`"uri":"/vod/demo/token/` + v.Token[:8] + `…`) {
		t.Error("the access log does not show the redacted token URI")
	}
}

// A config reload keeps the store and the keys: random ones here (no
// hash_key), so a session opened before the reload plays after it only if
// the keys were kept, and a token minted before it is redeemable after it
// only if the memory store was.
func TestCaddyReloadKeepsSessions(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	port, admin := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + port
	block := "\t\tapi_key {env.PV_API_KEY}\n\t\tinsecure_cookies"
	rest := "\troot * " + root + "\n\tfile_server"
	c := startCaddy(t, admin, caddyfile(t, admin, issueOrder, site{port, block, rest}), base)

	a, b := mint(t, base, "demo"), mint(t, base, "demo")
	one := browser(t)
	r, reason, _ := get(t, one, a.Assets.HLS)
	want(t, "before the reload", r, reason, 200, "")

	r, reason, _ = get(t, browser(t), base+"/vod/trailer/mp4/source.mp4")
	want(t, "trailer before the reload", r, reason, 403, "token-required")

	// The new config changes other subdirectives, and pins trailer public.
	c.reload(caddyfile(t, admin, issueOrder, site{port, block + "\n\t\tsession_ttl 12h\n\t\tpublic trailer", rest + "\n\theader X-Config 2"}))
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _, _ := get(t, http.DefaultClient, base+"/robots.txt")
		if r.Header.Get("X-Config") == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new config never served")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !c.waitLog("random session keys") {
		t.Error("no warning about the random keys")
	}

	r, reason, _ = get(t, one, a.Assets.MP4, "Range", "bytes=0-9")
	want(t, "the session after the reload", r, reason, 206, "")
	r, reason, _ = get(t, browser(t), a.Assets.HLS)
	want(t, "another browser after the reload", r, reason, 403, "token-used")
	r, reason, _ = get(t, browser(t), b.Assets.HLS)
	want(t, "a token minted before the reload", r, reason, 200, "")
	r, reason, _ = get(t, browser(t), base+"/vod/trailer/mp4/source.mp4", "Range", "bytes=0-9")
	want(t, "trailer, public by the new config", r, reason, 206, "")
	if resp, v := api(t, "GET", base+"/videos/trailer", ""); resp.StatusCode != 200 || !v.Public || v.Token != "" {
		t.Errorf("the API on trailer: %d %+v, want it public", resp.StatusCode, v)
	}
	c.noSecrets(a.Token, b.Token)
}

// When next fails (reverse_proxy to an origin that is down), Caddy gets the
// error and answers it (502, logged as an error), and the redemption is
// released: the viewer's session is not delivered, and the link plays on
// the next try, here through the file server that shares the store.
func TestCaddyNextErrorReleases(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	good, bad, admin := freePort(t), freePort(t), freePort(t)
	dead := freePort(t) // nothing listens there
	// No order option: the module's own place puts it before reverse_proxy.
	c := startCaddy(t, admin, caddyfile(t, admin, "",
		site{good, memoryBlock, "\troot * " + root + "\n\tfile_server"},
		site{bad, memoryBlock, "\treverse_proxy 127.0.0.1:" + dead},
	), "http://127.0.0.1:"+good, "http://127.0.0.1:"+bad)

	// The module guards the proxy: no token, no request to the origin.
	r, reason, _ := get(t, browser(t), "http://127.0.0.1:"+bad+"/vod/demo/hls/manifest.m3u8")
	want(t, "no token through the proxy", r, reason, 403, "token-required")

	v := mint(t, "http://127.0.0.1:"+good, "demo")
	onBad := strings.Replace(v.Assets.HLS, ":"+good+"/", ":"+bad+"/", 1)
	r, _, _ = get(t, browser(t), onBad)
	if r.StatusCode != 502 || len(r.Cookies()) != 0 {
		t.Fatalf("through a dead origin: %d with cookies %v, want Caddy's 502 without a session", r.StatusCode, r.Cookies())
	}
	if !c.waitLog(`"level":"error"`, "http.log.error", "connection refused") {
		t.Error("the proxy's error did not reach Caddy's error log")
	}
	if !c.waitLog("redemption released", `"cause":"handler-error"`, v.Token[:8]) {
		t.Error("no release of the redemption in the log")
	}
	r, reason, _ = get(t, browser(t), v.Assets.HLS)
	want(t, "the same link after the failure", r, reason, 200, "")
	c.noSecrets(v.Token)
}

// A fleet of two Caddy instances on one Redis, with the same keys: a link
// redeemed on one is refused to another browser on the other, and the
// first browser's session plays on both.
func TestCaddyFleetOnRedis(t *testing.T) {
	t.Parallel()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL is not set: set it (redis://127.0.0.1:6379/0) to test two Caddy instances sharing a Redis store")
	}
	root := mediaRoot(t)
	block := "\t\thash_key {env.PV_HASH_KEY}\n\t\tapi_key {env.PV_API_KEY}\n\t\tstore " + url + "\n\t\tinsecure_cookies"
	rest := "\troot * " + root + "\n\tfile_server"
	pa, pb, aa, ab := freePort(t), freePort(t), freePort(t), freePort(t)
	a, b := "http://127.0.0.1:"+pa, "http://127.0.0.1:"+pb
	ca := startCaddy(t, aa, caddyfile(t, aa, issueOrder, site{pa, block, rest}), a)
	cb := startCaddy(t, ab, caddyfile(t, ab, issueOrder, site{pb, block, rest}), b)
	onB := func(u string) string { return b + strings.TrimPrefix(u, a) }

	v := mint(t, a, "demo")
	one := browser(t)
	r, reason, _ := get(t, one, v.Assets.HLS)
	want(t, "browser one on A", r, reason, 200, "")
	r, reason, _ = get(t, browser(t), onB(v.Assets.HLS))
	want(t, "browser two on B", r, reason, 403, "token-used")
	// Cookies are per host, not per port: browser one carries its session to B.
	r, reason, _ = get(t, one, onB(v.Assets.MP4), "Range", "bytes=0-9")
	want(t, "browser one's session on B", r, reason, 206, "")

	// A token minted on B, revoked on A, is refused on B.
	w := mint(t, b, "demo")
	if resp, _ := api(t, "DELETE", a+"/videos/demo/tokens/"+w.Token, ""); resp.StatusCode != 204 {
		t.Fatalf("revoke on A: %d", resp.StatusCode)
	}
	r, reason, _ = get(t, browser(t), w.Assets.HLS)
	want(t, "revoked on A, opened on B", r, reason, 403, "token-revoked")
	ca.noSecrets(v.Token, w.Token)
	cb.noSecrets(v.Token, w.Token)
}
