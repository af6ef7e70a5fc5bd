//go:build unix

package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxServer is an nginx of the test's own: its configuration, pid file,
// temporary directories and error log under a directory of the test.
type nginxServer struct {
	base string // http://127.0.0.1:port
	dir  string
	cmd  *exec.Cmd
}

// nginxBinary finds nginx, or skips the test (see proxyBinary).
func nginxBinary(t *testing.T) string {
	t.Helper()
	return proxyBinary(t, "nginx", "install Debian's nginx-core (apt-get install nginx-core) to test forward-auth behind nginx",
		"/usr/sbin/nginx", "/usr/local/sbin/nginx")
}

// startNginx runs nginx on addr with the README's server block, its edge
// address and media root replaced by edgeAddr and media.
func startNginx(t *testing.T, addr, edgeAddr, media string) *nginxServer {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	block := readmeForwardAuth(t, "nginx",
		[2]string{"listen 80;", "listen " + addr + ";"},
		[2]string{"server 127.0.0.1:8080;", "server " + edgeAddr + ";"},
		[2]string{"root /srv/media;", "root " + media + ";"},
	)
	user := ""
	if os.Geteuid() == 0 {
		// Workers would drop to nobody, who cannot read the test's
		// directories (0700).
		user = "user root;\n"
	}
	conf := user + `daemon off;
worker_processes 1;
pid ` + dir + `/nginx.pid;
error_log ` + dir + `/error.log info;
events { worker_connections 256; }
http {
    access_log ` + dir + `/access.log;
    client_body_temp_path ` + dir + `/body;
    proxy_temp_path ` + dir + `/proxy;
    fastcgi_temp_path ` + dir + `/fastcgi;
    uwsgi_temp_path ` + dir + `/uwsgi;
    scgi_temp_path ` + dir + `/scgi;
    default_type application/octet-stream;
` + block + `
}
`
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &nginxServer{base: "http://" + addr, dir: dir}
	n.cmd = exec.Command(bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", confPath)
	var out lockedBuffer
	n.cmd.Stdout, n.cmd.Stderr = &out, &out
	runProxy(t, n.cmd, addr, syscall.SIGQUIT, 10*time.Second, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + "\nnginx error log:\n" + string(log) + "\nconfiguration:\n" + conf
	})
	return n
}

// copyDir copies the files under src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// nginxEdge starts an edge server and, in front of it, nginx with the
// README's configuration, serving a copy of the demo media itself.
func nginxEdge(t *testing.T, args ...string) (*edge, *nginxServer) {
	t.Helper()
	nginxBinary(t) // skip before starting anything
	media := t.TempDir()
	copyDir(t, "media/demo", filepath.Join(media, "demo"))
	addr := freeAddr(t)
	e := startEdge(t, nil, append([]string{"-public-url", "http://" + addr, "-trusted-proxies", "127.0.0.1"}, args...)...)
	return e, startNginx(t, addr, strings.TrimPrefix(e.base, "http://"), media)
}

// wantNginxServed fails the test unless nginx, not the edge, answered
// status with the file's bytes.
func wantNginxServed(t *testing.T, what string, resp *http.Response, body []byte, status int, file string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d (reason %q), want %d; body %.200s", what, resp.StatusCode,
			resp.Header.Get("Privatevideo-Reason"), status, body)
	}
	if s := resp.Header.Get("Server"); !strings.HasPrefix(s, "nginx") {
		t.Errorf("%s: Server %q: not nginx's answer", what, s)
	}
	want := readFile(t, file)
	if status == http.StatusOK && !bytes.Equal(body, want) {
		t.Errorf("%s: %d bytes, want the %d bytes of %s", what, len(body), len(want), file)
	}
	if status == http.StatusPartialContent && !bytes.Equal(body, want[:len(body)]) {
		t.Errorf("%s: the range is not the start of %s", what, file)
	}
}

// wantNginxRefused fails the test unless nginx refused with status and
// the edge's reason.
func wantNginxRefused(t *testing.T, what string, resp *http.Response, body []byte, status int, reason string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Privatevideo-Reason") != reason {
		t.Fatalf("%s: %d, reason %q; want %d, %q", what, resp.StatusCode, resp.Header.Get("Privatevideo-Reason"), status, reason)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("%s: a refusal sets a cookie", what)
	}
	for _, probe := range [][]byte{[]byte("#EXTM3U"), readFile(t, "media/demo/hls/key.bin")} {
		if bytes.Contains(body, probe) {
			t.Fatalf("%s: the refusal carries media", what)
		}
	}
}

// A link behind nginx: the first open plays, a refresh and the session's
// other assets play, served by nginx; another browser, no token and a
// malformed path are refused; the player page and the session endpoint
// are the edge's.
func TestNginxForwardAuth(t *testing.T) {
	t.Parallel()
	e, n := nginxEdge(t)
	var v authVideo
	if resp := e.api("GET", "/videos/demo", "", &v); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /videos/demo: %s", resp.Status)
	}
	if !strings.HasPrefix(v.Assets.HLS, n.base+"/vod/demo/token/") {
		t.Fatalf("the API's HLS URL %q is not nginx's", redactURL(v.Assets.HLS))
	}

	one := viewer(t, "viewer-one/1.0")
	resp, master := get(t, one, v.Assets.HLS)
	wantNginxServed(t, "first open", resp, master, http.StatusOK, "media/demo/hls/manifest.m3u8")
	if resp.Header.Get("Set-Cookie") == "" {
		t.Fatal("first open: no session cookie passed on")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("first open: Content-Type %q", ct)
	}
	rendition := playlistURI(t, v.Assets.HLS, master, "360p/index.m3u8")
	resp, playlist := get(t, one, rendition)
	wantNginxServed(t, "rendition playlist", resp, playlist, http.StatusOK, "media/demo/hls/360p/index.m3u8")
	segment := playlistURI(t, rendition, playlist, "seg1.m4s")
	resp, seg := get(t, one, segment)
	wantNginxServed(t, "segment", resp, seg, http.StatusOK, "media/demo/hls/360p/seg1.m4s")
	resp, mp4 := get(t, one, v.Assets.MP4, "Range", "bytes=0-1023")
	wantNginxServed(t, "MP4 range", resp, mp4, http.StatusPartialContent, "media/demo/mp4/source.mp4")
	resp, thumb := get(t, one, v.Assets.Thumbnail)
	wantNginxServed(t, "thumbnail", resp, thumb, http.StatusOK, "media/demo/thumbnail.jpg")
	resp, again := get(t, one, v.Assets.HLS)
	wantNginxServed(t, "refresh", resp, again, http.StatusOK, "media/demo/hls/manifest.m3u8")

	two := viewer(t, "viewer-two/1.0")
	for _, u := range []string{v.Assets.HLS, segment, v.Assets.MP4} {
		resp, body := get(t, two, u)
		wantNginxRefused(t, "another browser", resp, body, http.StatusForbidden, "token-used")
	}
	resp, body := get(t, two, n.base+"/vod/demo/hls/manifest.m3u8")
	wantNginxRefused(t, "no token", resp, body, http.StatusForbidden, "token-required")
	resp, body = get(t, two, n.base+"/vod/demo/hls/key.bin")
	wantNginxRefused(t, "the key, no token", resp, body, http.StatusForbidden, "token-required")

	// Paths that nginx reads as the media but the edge reads otherwise.
	tok := mint(t, e, "demo")
	for _, p := range []string{
		"/vod/demo/token/" + tok + "//hls/manifest.m3u8",
		"/vod/demo/token/" + tok + "/hls/x/../manifest.m3u8",
		"/vod/demo/token/" + tok + "/hls%2Fmanifest.m3u8",
		"/vod/x/../demo/hls/manifest.m3u8",
	} {
		resp, body := rawGet(t, n.base, p, "viewer-three/1.0")
		wantNginxRefused(t, redactURL(p), resp, body, http.StatusForbidden, "malformed")
	}
	// Nothing outside /vod/ is served from the media root.
	resp, body = get(t, two, n.base+"/demo/hls/manifest.m3u8")
	if resp.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte("#EXTM3U")) {
		t.Fatalf("/demo/hls/manifest.m3u8: %d, want 404", resp.StatusCode)
	}

	// The player page comes from the edge, through nginx.
	resp, _ = get(t, viewer(t, "viewer-four/1.0"), v.Assets.Player)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("player page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// So does the session endpoint, which answers a body.
	resp, body = post(t, viewer(t, "viewer-five/1.0"), n.base+"/vod/demo/token/"+tok+"/session")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"session_token"`)) {
		t.Fatalf("session endpoint through nginx: %d %.200s", resp.StatusCode, body)
	}
	assertNoSecrets(t, e, v.Token, tok)
}

// A store that does not answer, behind nginx: a new link gets 503 with the
// reason and Retry-After (401 from /auth, turned back by the
// configuration), and is not spent; an open session keeps playing.
func TestNginxForwardAuthStoreDown(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	e, _ := nginxEdge(t, "-store", rs.url(), "-store-timeout", "300ms")
	var open, fresh authVideo
	e.api("GET", "/videos/demo", "", &open)
	e.api("GET", "/videos/demo", "", &fresh)
	one := viewer(t, "viewer-one/1.0")
	resp, body := get(t, one, open.Assets.HLS)
	wantNginxServed(t, "before the outage", resp, body, http.StatusOK, "media/demo/hls/manifest.m3u8")

	rs.kill()
	resp, body = get(t, viewer(t, "viewer-two/1.0"), fresh.Assets.HLS)
	wantNginxRefused(t, "store down", resp, body, http.StatusServiceUnavailable, "store-unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("store down: no Retry-After")
	}
	resp, body = get(t, one, open.Assets.Thumbnail)
	wantNginxServed(t, "an open session, store down", resp, body, http.StatusOK, "media/demo/thumbnail.jpg")

	rs.start()
	two := viewer(t, "viewer-two/1.0")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, body = get(t, two, fresh.Assets.HLS)
		if resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	wantNginxServed(t, "after the outage", resp, body, http.StatusOK, "media/demo/hls/manifest.m3u8")
}

// rawGet sends path to base as written, which net/http would clean.
func rawGet(t *testing.T, base, path, ua string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	host := strings.TrimPrefix(base, "http://")
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nUser-Agent: "+ua+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}
