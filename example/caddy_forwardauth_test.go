//go:build unix

package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// caddyBinary finds caddy, or skips the test (see proxyBinary).
func caddyBinary(t *testing.T) string {
	t.Helper()
	return proxyBinary(t, "caddy", "install Debian's caddy (apt-get install caddy) to test forward-auth behind Caddy")
}

// startCaddy runs caddy on addr with the README's Caddyfile, its site,
// edge address and media root replaced, and its state under a directory of
// the test.
func startCaddy(t *testing.T, addr, edgeAddr, media string) string {
	t.Helper()
	bin := caddyBinary(t)
	dir := t.TempDir()
	site := readmeForwardAuth(t, "caddyfile",
		[2]string{"media.example.com {", "http://" + addr + " {"},
		[2]string{"127.0.0.1:8080", edgeAddr},
		[2]string{"root * /srv/media", "root * " + media},
	)
	conf := "{\n\tadmin off\n\tauto_https off\n}\n\n" + site + "\n"
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runProxy(t, cmd, addr, syscall.SIGTERM, 15*time.Second, func() string {
		return out.String() + "\nconfiguration:\n" + conf
	})
	return "http://" + addr
}

// wantCaddyServed fails the test unless Caddy, not the edge, answered 200
// with the file's bytes.
func wantCaddyServed(t *testing.T, what string, resp *http.Response, body []byte, file string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d (reason %q), want 200; body %.200s", what, resp.StatusCode, resp.Header.Get("Privatevideo-Reason"), body)
	}
	if s := resp.Header.Get("Server"); s != "Caddy" {
		t.Errorf("%s: Server %q: not Caddy's answer", what, s)
	}
	if want := readFile(t, file); !bytes.Equal(body, want) {
		t.Errorf("%s: %d bytes, want the %d bytes of %s", what, len(body), len(want), file)
	}
	for _, c := range resp.Header.Values("Set-Cookie") {
		if !strings.HasPrefix(c, "pv_session=") {
			t.Errorf("%s: Set-Cookie %q", what, redactURL(c))
		}
	}
}

// A link behind Caddy with the README's forward_auth: the first open plays,
// a refresh and the session's other assets play, served by Caddy; another
// browser, no token, a malformed path and a forged X-Original-URI are
// refused with the middleware's own answer, which Caddy relays.
func TestCaddyForwardAuth(t *testing.T) {
	t.Parallel()
	caddyBinary(t) // skip before starting anything
	media := t.TempDir()
	copyDir(t, "media/demo", filepath.Join(media, "demo"))
	addr := freeAddr(t)
	e := startEdge(t, nil, "-public-url", "http://"+addr, "-trusted-proxies", "127.0.0.1")
	base := startCaddy(t, addr, strings.TrimPrefix(e.base, "http://"), media)

	var v authVideo
	if resp := e.api("GET", "/videos/demo", "", &v); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /videos/demo: %s", resp.Status)
	}
	one := viewer(t, "viewer-one/1.0")
	resp, master := get(t, one, v.Assets.HLS)
	wantCaddyServed(t, "first open", resp, master, "media/demo/hls/manifest.m3u8")
	if resp.Header.Get("Set-Cookie") == "" {
		t.Fatal("first open: no session cookie passed on")
	}
	rendition := playlistURI(t, v.Assets.HLS, master, "360p/index.m3u8")
	resp, playlist := get(t, one, rendition)
	wantCaddyServed(t, "rendition playlist", resp, playlist, "media/demo/hls/360p/index.m3u8")
	segment := playlistURI(t, rendition, playlist, "seg1.m4s")
	resp, seg := get(t, one, segment)
	wantCaddyServed(t, "segment", resp, seg, "media/demo/hls/360p/seg1.m4s")
	if resp.Header.Get("Set-Cookie") != "" {
		t.Error("segment: a cookie set again within the session")
	}
	resp, thumb := get(t, one, v.Assets.Thumbnail)
	wantCaddyServed(t, "thumbnail", resp, thumb, "media/demo/thumbnail.jpg")
	resp, again := get(t, one, v.Assets.HLS)
	wantCaddyServed(t, "refresh", resp, again, "media/demo/hls/manifest.m3u8")

	two := viewer(t, "viewer-two/1.0")
	resp, body := get(t, two, v.Assets.HLS)
	wantNginxRefused(t, "another browser", resp, body, http.StatusForbidden, "token-used")
	resp, body = get(t, two, base+"/vod/demo/hls/manifest.m3u8")
	wantNginxRefused(t, "no token", resp, body, http.StatusForbidden, "token-required")
	tok := mint(t, e, "demo")
	// Paths that Caddy may read as the media and the edge reads otherwise.
	for _, p := range []string{
		"/vod/demo/token/" + tok + "//hls/manifest.m3u8",
		"/vod/demo/token/" + tok + "/hls/x/../manifest.m3u8",
		"/vod/demo/token/" + tok + "/hls%2Fmanifest.m3u8",
		"/vod/x/../demo/hls/manifest.m3u8",
	} {
		resp, body := rawGet(t, base, p, "viewer-three/1.0")
		wantNginxRefused(t, redactURL(p), resp, body, http.StatusBadRequest, "malformed")
	}
	// A viewer's own X-Original-URI, naming the link it holds, does not
	// open another video: Caddy drops it, and /auth would refuse both
	// conventions at once anyway.
	resp, body = get(t, one, base+"/vod/short/hls/manifest.m3u8",
		"X-Original-URI", strings.TrimPrefix(v.Assets.HLS, base), "X-Original-Method", "GET")
	if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte("#EXTM3U")) {
		t.Fatalf("a forged X-Original-URI: %d, want 403", resp.StatusCode)
	}
	// Nothing outside /vod/ is served from the media root.
	resp, body = get(t, two, base+"/demo/hls/manifest.m3u8")
	if resp.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte("#EXTM3U")) {
		t.Fatalf("/demo/hls/manifest.m3u8: %d, want 404", resp.StatusCode)
	}
	// The player page and the session endpoint come from the edge.
	resp, _ = get(t, viewer(t, "viewer-four/1.0"), v.Assets.Player)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("player page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = post(t, viewer(t, "viewer-five/1.0"), base+"/vod/demo/token/"+tok+"/session")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"session_token"`)) {
		t.Fatalf("session endpoint through Caddy: %d %.200s", resp.StatusCode, body)
	}
	assertNoSecrets(t, e, v.Token, tok)
}
