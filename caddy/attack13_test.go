package pvcaddy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	pvcaddy "github.com/privatevideo/privatevideo/caddy"
)

// Round 13, from the attacker's side, in one real Caddy (each Caddy costs
// CPU): the README's log snippet is on every log, as the flow tests run it.

// A query-token asset URL (/vod/{id}/{asset}?token=T, which the middleware
// moves into the path with a 307) puts the whole unredeemed token in
// Caddy's access log: the README's filter redacts request>uri, but the
// answer's Location (resp_headers>Location) holds /vod/{id}/token/{T}/…
// unfiltered. Whoever reads the log redeems the link first.
func TestAttackCaddyRedirectLocationLogsTokenFinding(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	port, admin := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + port
	c := startCaddy(t, admin, caddyfile(t, admin, issueOrder, site{port, memoryBlock, "\troot * " + root + "\n\tfile_server"}), base)
	v := mint(t, base, "demo")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base + "/vod/demo/thumbnail.jpg?token=" + v.Token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(resp.Header.Get("Location"), v.Token) {
		t.Fatalf("query token: %d, Location with the token %t; want the 307 into the path",
			resp.StatusCode, strings.Contains(resp.Header.Get("Location"), v.Token))
	}
	if !c.waitLog(`"status":307`) {
		t.Fatal("no access log line for the 307")
	}
	c.noSecrets(v.Token)
	for line := range strings.Lines(c.log.String()) {
		if strings.Contains(line, v.Token) {
			t.Errorf("the line: %.900s", strings.ReplaceAll(line, v.Token, "<THE TOKEN>"))
		}
	}
}

// What holds in the module: the API's bearer key (missing, wrong, another
// scheme, a key one byte off, a key one byte longer) is refused before any
// work with no token minted; without the order line, a handle block with
// file_server under /vod is still behind the guard; /vod/ itself (no video)
// never lists the videos through file_server browse; OPTIONS and unknown
// methods on a private asset spend nothing.
func TestAttackCaddyGuardAndAPIHolds(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	port, admin := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + port
	// No order line: the module's own place (before handle) applies.
	rest := "\thandle /vod/* {\n\t\troot * " + root + "\n\t\tfile_server browse\n\t}\n\thandle {\n\t\troot * " + root + "\n\t\tfile_server\n\t}"
	c := startCaddy(t, admin, caddyfile(t, admin, "", site{port, memoryBlock, rest}), base)

	for _, h := range [][]string{
		nil,
		{"Authorization", "Bearer wrong-key-0123456789abcdef"},
		{"Authorization", "Bearer " + apiKey[:len(apiKey)-1] + "X"},
		{"Authorization", "Bearer " + apiKey + "X"},
		{"Authorization", "Basic " + apiKey},
		{"Authorization", "bearer  " + apiKey + " x"},
	} {
		for _, m := range []string{"GET", "PATCH", "DELETE", "POST", "PUT"} {
			req, _ := http.NewRequest(m, base+"/videos/demo", strings.NewReader(`{"public": true}`))
			for i := 0; i+1 < len(h); i += 2 {
				req.Header.Set(h[i], h[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "token") && strings.Contains(string(body), "/vod/") {
				t.Fatalf("%s /videos/demo with %q: %d %.200s, want 401 and no link", m, h, resp.StatusCode, body)
			}
		}
	}
	// Still private: nobody's PATCH went through.
	r, reason, _ := get(t, browser(t), base+"/vod/demo/hls/manifest.m3u8")
	want(t, "after the refused PATCHes", r, reason, 403, "token-required")

	// Under handle /vod/* with file_server browse: guarded.
	for _, p := range []string{"/vod/demo/hls/", "/vod/demo/hls/key.bin", "/vod/demo/mp4/source.mp4", "/vod/trailer/thumbnail.jpg"} {
		r, reason, body := get(t, browser(t), base+p)
		if r.StatusCode != 403 && r.StatusCode != 400 || reason == "" || strings.Contains(string(body), "seg1") {
			t.Fatalf("%s through handle+file_server browse: %d %q %.100q", p, r.StatusCode, reason, body)
		}
	}
	// /vod/ and /vod: no listing of the video IDs.
	for _, p := range []string{"/vod/", "/vod", "/VOD/", "/vod//", "/vod/./"} {
		r, _, body := get(t, browser(t), base+p)
		if strings.Contains(string(body), "trailer") {
			t.Fatalf("%s lists the videos: %d %.200q", p, r.StatusCode, body)
		}
	}
	// Methods on a private asset: nothing spent.
	v := mint(t, base, "demo")
	for _, m := range []string{"OPTIONS", "POST", "PUT", "DELETE", "PROPFIND", "TRACE"} {
		req, _ := http.NewRequest(m, v.Assets.Thumbnail, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode == 200 || len(resp.Cookies()) != 0 {
			t.Fatalf("%s of a fresh link: %d, cookies %v", m, resp.StatusCode, resp.Cookies())
		}
	}
	r, reason, _ = get(t, browser(t), v.Assets.HLS)
	want(t, "the link after the other methods", r, reason, 200, "")
	c.noSecrets(v.Token)
}

// Two sites of one Caddy, each with a privatevideo block of its own, its
// own api_key, no hash_key and the memory store: the pool key is the store
// and the keys as given, so both blocks take the same entry, one memory
// store and one pair of random keys. A link minted by site A's API
// redeems on site B (B's video of that ID), and A's API key makes B's
// video public: an api_key is a key to every site that wrote its store the
// same way.
func TestAttackCaddyTwoSitesShareStoreFinding(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	portA, portB, admin := freePort(t), freePort(t), freePort(t)
	baseA, baseB := "http://127.0.0.1:"+portA, "http://127.0.0.1:"+portB
	rest := "\troot * " + root + "\n\tfile_server"
	blockA := "\t\tapi_key {env.PV_API_KEY}\n\t\tstore memory\n\t\tinsecure_cookies"
	blockB := "\t\tapi_key site-b-api-key-0123456789abcdef\n\t\tstore memory\n\t\tinsecure_cookies"
	c := startCaddy(t, admin, caddyfile(t, admin, issueOrder, site{portA, blockA, rest}, site{portB, blockB, rest}), baseA, baseB)

	v := mint(t, baseA, "demo")
	r, reason, _ := get(t, browser(t), strings.Replace(v.Assets.HLS, baseA, baseB, 1))
	if r.StatusCode == 200 {
		t.Errorf("site A's link opens site B's video: %d %q; want token-unknown", r.StatusCode, reason)
	}
	if resp, _ := api(t, "PATCH", baseA+"/videos/trailer", `{"public": true}`); resp.StatusCode != 200 {
		t.Fatalf("PATCH on A: %d", resp.StatusCode)
	}
	r, reason, _ = get(t, browser(t), baseB+"/vod/trailer/hls/manifest.m3u8")
	if r.StatusCode == 200 {
		t.Errorf("site A's API made site B's trailer public: %d %q; want token-required", r.StatusCode, reason)
	}
	c.noSecrets(v.Token)
}

// cors_origins is checked less than the edge's -cors-origins: a default
// port, an empty port and numeric hosts pass, though no browser sends
// them (Node's URL: https://player.example:443 is sent as
// https://player.example), so the listed player is refused with no clue.
func TestAttackCaddyCORSOriginSpellingsFinding(t *testing.T) {
	for _, o := range []string{"https://player.example:443", "http://player.example:80", "http://player.example:", "http://127.1:8080", "http://[0:0::1]:8080"} {
		h := pvcaddy.Handler{CORSOrigins: []string{o}}
		if err := h.Validate(); err == nil {
			t.Errorf("cors_origins %q: accepted, though no browser sends it", o)
		}
	}
}

// A reload that changes api_key: the old key is refused at once, the new
// one answers; the admin API's config holds the placeholders, never the
// secrets they stand for; a site-wide Cache-Control public set by the
// header directive does not make a private answer cacheable.
func TestAttackCaddyReloadAPIKeyHolds(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	port, admin := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + port
	const newKey = "rotated-api-key-0123456789abcdef"
	rest := "\troot * " + root + "\n\theader /vod/* Cache-Control \"public, max-age=600\"\n\tfile_server"
	c := startCaddy(t, admin, caddyfile(t, admin, issueOrder, site{port, memoryBlock, rest}), base)
	v := mint(t, base, "demo")
	r, reason, _ := get(t, browser(t), v.Assets.HLS)
	want(t, "first open", r, reason, 200, "")
	if cc := r.Header.Get("Cache-Control"); strings.Contains(cc, "public") || !strings.Contains(cc, "private") {
		t.Errorf("a private playlist under header Cache-Control public: Cache-Control %q", cc)
	}
	cfg, _, body := get(t, http.DefaultClient, c.admin+"/config/")
	if cfg.StatusCode != 200 || strings.Contains(string(body), hashKey) || strings.Contains(string(body), apiKey) {
		t.Errorf("the admin API's config: %d, holds a secret: %t", cfg.StatusCode,
			strings.Contains(string(body), hashKey) || strings.Contains(string(body), apiKey))
	}

	block := strings.Replace(memoryBlock, "{env.PV_API_KEY}", newKey, 1)
	c.reload(caddyfile(t, admin, issueOrder, site{port, block, rest + "\n\theader X-Config 2"}))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r, _, _ := get(t, http.DefaultClient, base+"/robots.txt"); r.Header.Get("X-Config") == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new config never served")
		}
	}
	if resp, _ := api(t, "GET", base+"/videos/demo", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old api_key after the reload: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/videos/demo", nil)
	req.Header.Set("Authorization", "Bearer "+newKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the new api_key after the reload: %d, want 200", resp.StatusCode)
	}
	c.noSecrets(v.Token, newKey)
}

// Huge and slow bodies at the API: without the key, a 64 MiB body is
// refused (401) without being read; with it, a body over the API's bound
// and one that stalls are refused within the body timeout (10 s) rather
// than holding the handler; the video stays private.
func TestAttackCaddyAPIBodiesHolds(t *testing.T) {
	t.Parallel()
	root := mediaRoot(t)
	port, admin := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + port
	c := startCaddy(t, admin, caddyfile(t, admin, issueOrder, site{port, memoryBlock, "\troot * " + root + "\n\tfile_server"}), base)
	addr := "127.0.0.1:" + port
	raw := func(auth string, length int, send string, wait time.Duration) (status int, took time.Duration) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(wait))
		start := time.Now()
		fmt.Fprintf(conn, "PATCH /videos/demo HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, auth, length, send)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, time.Since(start)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	key := "Authorization: Bearer " + apiKey + "\r\n"
	if s, took := raw("", 64<<20, `{"public": true`, 5*time.Second); s != http.StatusUnauthorized || took > 2*time.Second {
		t.Errorf("64 MiB announced without the key: %d after %s, want 401 at once", s, took)
	}
	// With the key, the API has read deadlines of its own: both are
	// refused within the body timeout (Caddy, unlike the edge, answers an
	// oversized body only when that deadline ends: the server goes on
	// reading it). The two run side by side, so the test waits 10 s once.
	var wg sync.WaitGroup
	for _, c := range []struct {
		what   string
		length int
		send   string
	}{
		{"64 MiB announced with the key", 64 << 20, `{"public": true, "x": "` + strings.Repeat("a", 1<<16)},
		{"a stalled body with the key", 40, `{"public": tr`},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s, took := raw(key, c.length, c.send, 20*time.Second); s/100 != 4 || took > 13*time.Second {
				t.Errorf("%s: %d after %s, want a 4xx within the body timeout", c.what, s, took)
			}
		}()
	}
	wg.Wait()
	r, reason, _ := get(t, browser(t), base+"/vod/demo/hls/manifest.m3u8")
	want(t, "after the bodies", r, reason, 403, "token-required")
	c.noSecrets()
}
