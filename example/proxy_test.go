//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testOrigin is a media origin: the demo media under /vod/{id}/, a video
// "broken" that answers 500, a video "stuck" that never answers, and a
// video "slow" whose body waits for the test. It records what reaches it.
type testOrigin struct {
	*httptest.Server
	mu       sync.Mutex
	seen     []string // paths and queries, as received
	cookies  []string
	started  chan struct{} // a request for "slow" has sent its headers
	release  chan struct{} // lets "slow" finish its body
	stopping chan struct{} // closed at cleanup: "stuck" gives up
}

func newTestOrigin(t *testing.T) *testOrigin {
	o := &testOrigin{started: make(chan struct{}, 1), release: make(chan struct{}), stopping: make(chan struct{})}
	files := http.StripPrefix("/vod", http.FileServerFS(os.DirFS("media")))
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, r.URL.RequestURI())
		o.cookies = append(o.cookies, r.Header.Get("Cookie"))
		o.mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/vod/broken/"):
			http.Error(w, "database at 10.0.0.7 is down", http.StatusInternalServerError)
		case strings.HasPrefix(r.URL.Path, "/vod/stuck/"):
			select {
			case <-o.stopping:
			case <-r.Context().Done():
			}
		case strings.HasPrefix(r.URL.Path, "/vod/slow/"):
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("12345"))
			http.NewResponseController(w).Flush()
			o.started <- struct{}{}
			select {
			case <-o.release:
				w.Write([]byte("67890"))
			case <-o.stopping: // the test failed: let cleanup close the origin
			}
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() {
		close(o.stopping)
		o.Close()
	})
	return o
}

func (o *testOrigin) requests() (seen, cookies []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...), append([]string(nil), o.cookies...)
}

// In front of an origin, links work as on the demo media: the origin sees
// the public path only, a range request gets its bytes, another browser is
// refused.
func TestProxyPrivateVideo(t *testing.T) {
	t.Parallel()
	origin := newTestOrigin(t)
	e := startEdge(t, nil, "-origin", origin.URL)
	if e.player != "" {
		t.Errorf("proxy mode printed a player URL %q for a catalogue it cannot know", e.player)
	}

	var list struct{ Data []videoJSON }
	e.api("GET", "/videos", "", &list)
	if len(list.Data) != 0 {
		t.Fatalf("a new proxy catalogue lists %d videos, want none", len(list.Data))
	}
	v := e.video("demo") // first mention: the video exists from now on
	if v.Title != "demo" || v.Public || v.Token == "" {
		t.Fatalf("GET /videos/demo = %+v", v)
	}
	e.api("GET", "/videos", "", &list)
	if len(list.Data) != 1 || list.Data[0].VideoID != "demo" {
		t.Fatalf("after the first mention, GET /videos = %+v", list.Data)
	}

	one := viewer(t, "viewer-one/1.0")
	mp4 := readFile(t, "media/demo/mp4/source.mp4")
	resp, body := get(t, one, v.Assets.MP4, "Range", "bytes=100-1123")
	wantStatus(t, "range request", resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, mp4[100:1124]) {
		t.Errorf("range request: %d bytes, not bytes 100-1123 of the MP4", len(body))
	}
	if cr, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes 100-1123/%d", len(mp4)); cr != want {
		t.Errorf("Content-Range = %q, want %q", cr, want)
	}
	resp, body = get(t, one, v.Assets.HLS)
	wantStatus(t, "HLS master", resp, body, http.StatusOK)
	rendition := playlistURI(t, v.Assets.HLS, body, "180p/index.m3u8")
	resp, body = get(t, one, rendition)
	wantStatus(t, "rendition", resp, body, http.StatusOK)
	resp, body = get(t, one, playlistURI(t, rendition, body, "seg0.m4s"))
	wantStatus(t, "segment", resp, body, http.StatusOK)
	if !bytes.Equal(body, readFile(t, "media/demo/hls/180p/seg0.m4s")) {
		t.Errorf("segment: %d bytes, not the origin's", len(body))
	}
	resp, body = get(t, one, strings.Replace(v.Assets.MP4, "mp4/source.mp4", "missing.txt", 1))
	wantStatus(t, "the origin's 404", resp, body, http.StatusNotFound)

	two := viewer(t, "viewer-two/1.0")
	resp, body = get(t, two, v.Assets.MP4, "Range", "bytes=100-1123")
	wantProblem(t, "client 2", resp, body, http.StatusForbidden, "token-used")

	seen, cookies := origin.requests()
	if len(seen) != 5 {
		t.Errorf("the origin got %d requests, want 5 (the refused one never reaches it): %q", len(seen), seen)
	}
	for i, p := range seen {
		if !strings.HasPrefix(p, "/vod/demo/") || strings.Contains(p, v.Token) || strings.Contains(p, "token") || strings.Contains(p, "avh") {
			t.Errorf("the origin got %q: want the public path, without token or session token", redactURL(p))
		}
		if strings.Contains(cookies[i], "pv_session") {
			t.Errorf("the session cookie reached the origin")
		}
	}
	assertNoSecrets(t, e, v.Token)
}

// An origin that is down, stuck or failing gives 502 origin-unavailable,
// quickly, and never its own error page.
func TestProxyOriginUnavailable(t *testing.T) {
	t.Parallel()
	origin := newTestOrigin(t)
	e := startEdge(t, nil, "-origin", origin.URL, "-origin-timeout", "1s")
	for _, id := range []string{"broken", "stuck"} {
		v := e.video(id)
		start := time.Now()
		resp, body := get(t, viewer(t, "viewer/1.0"), v.Assets.HLS)
		wantProblem(t, id+" origin", resp, body, http.StatusBadGateway, "origin-unavailable")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s origin: answered after %s", id, d)
		}
		if bytes.Contains(body, []byte("10.0.0.7")) {
			t.Errorf("the origin's error page reached the client")
		}
	}

	down := freeAddr(t) // nothing listens there
	e = startEdge(t, nil, "-origin", "http://"+down)
	v := e.video("demo")
	start := time.Now()
	resp, body := get(t, viewer(t, "viewer/1.0"), v.Assets.HLS)
	wantProblem(t, "origin down", resp, body, http.StatusBadGateway, "origin-unavailable")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("origin down: answered after %s", d)
	}
	var warned bool
	for _, line := range e.logLines() {
		if line["msg"] == "origin unavailable" && line["video"] == "demo" {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no log line for the unavailable origin:\n%s", e.stderr)
	}
	assertNoSecrets(t, e, v.Token)
}

// SIGTERM while a request is in flight: the listener closes at once, the
// request completes, and the process exits 0.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	origin := newTestOrigin(t)
	e := startEdge(t, nil, "-origin", origin.URL)
	v := e.video("slow")

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := viewer(t, "viewer/1.0").Get(v.Assets.MP4)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		done <- result{resp.StatusCode, b.String(), err}
	}()
	select {
	case <-origin.started:
	case r := <-done:
		t.Fatalf("the request ended before the origin held it: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the origin")
	}

	e.signal(syscall.SIGTERM)
	addr := strings.TrimPrefix(e.base, "http://")
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // refused: the listener is closed
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 5s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("the in-flight request ended before its origin finished: %+v", r)
	default:
	}

	close(origin.release)
	r := <-done
	if r.err != nil || r.status != http.StatusOK || r.body != "1234567890" {
		t.Fatalf("in-flight request: status %d, body %q, error %v; want 200 and the whole body", r.status, r.body, r.err)
	}
	if code := e.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0\n%s", code, e.stderr)
	}
}

// freeAddr returns a local address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// The shutdown wait is bounded: a request that outlasts -shutdown-timeout
// is cut, and the exit status says the stop was not clean.
func TestShutdownIsBounded(t *testing.T) {
	t.Parallel()
	origin := newTestOrigin(t)
	e := startEdge(t, nil, "-origin", origin.URL, "-shutdown-timeout", "500ms")
	v := e.video("slow")
	done := make(chan error, 1)
	go func() {
		resp, err := viewer(t, "viewer/1.0").Get(v.Assets.MP4)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-origin.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the origin")
	}
	start := time.Now()
	e.signal(syscall.SIGTERM)
	if code := e.wait(5 * time.Second); code != exitFailure {
		t.Errorf("exit status %d, want %d for a shutdown that timed out", code, exitFailure)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopped %s after SIGTERM, with a 500ms bound", d)
	}
	if err := <-done; err == nil {
		t.Error("the held request completed: it should have been cut")
	}
}
