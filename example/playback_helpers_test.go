//go:build unix

package main

// Helpers of the origin-failure and chaos tests: players that can run in
// goroutines (no testing.T), an origin that serves the demo media under
// any video ID, a redis-server of the test's own that can be paused, and
// what the built server's flags are.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// answer is what one request got.
type answer struct {
	status int
	reason string // the problem's reason; "" for an answer that is no problem+json
	ptype  string // the problem's type
	header http.Header
	body   []byte
	took   time.Duration
}

func (a answer) String() string {
	s := strconv.Itoa(a.status)
	if a.reason != "" {
		s += " " + a.reason
	} else if a.ptype != "" {
		s += " " + a.ptype
	}
	return s
}

// ok reports a 2xx answer.
func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

// sessionCookie reports whether the answer sets the session cookie.
func (a answer) sessionCookie() bool {
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "pv_session=") {
			return true
		}
	}
	return false
}

// mediaClient is one player: a User-Agent and, like a browser, a cookie
// jar, or, like ffmpeg, AVPlayer or ExoPlayer, none (it follows a
// playlist's URIs, which carry the session token as avh).
type mediaClient struct {
	ua  string
	jar http.CookieJar // nil: cookie-less
	c   *http.Client
}

// newMediaClient makes a player on transport (http.DefaultTransport when
// nil). Players share transports: the middleware tells clients apart by
// address and User-Agent, not by connection.
func newMediaClient(ua string, withJar bool, transport http.RoundTripper) *mediaClient {
	m := &mediaClient{ua: ua}
	if transport == nil {
		transport = http.DefaultTransport
	}
	m.c = &http.Client{Transport: transport, Timeout: 90 * time.Second}
	if withJar {
		jar, _ := cookiejar.New(nil) // never fails without options
		m.jar, m.c.Jar = jar, jar
	}
	return m
}

// get fetches u and reads the whole body; header is name, value pairs.
func (m *mediaClient) get(ctx context.Context, u string, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("User-Agent", m.ua)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := m.c.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("GET %s: %s", redactURL(u), scrub(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: body, took: time.Since(start)}
	if err != nil {
		return a, fmt.Errorf("GET %s: status %d, reading the body: %s", redactURL(u), a.status, scrub(err.Error()))
	}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p problem
		if json.Unmarshal(body, &p) == nil {
			a.reason, a.ptype = p.Reason, p.Type
		}
	}
	return a, nil
}

// hasSession reports whether the jar holds a session cookie for u.
func (m *mediaClient) hasSession(u string) bool {
	if m.jar == nil {
		return false
	}
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	for _, c := range m.jar.Cookies(pu) {
		if c.Name == "pv_session" {
			return true
		}
	}
	return false
}

// firstURI resolves the first URI line of playlist, fetched from base. A
// client with a cookie jar drops the avh parameter, so that its session
// travels by cookie only (a playlist fetched by cookie is not rewritten);
// a cookie-less one needs it there.
func (m *mediaClient) firstURI(base string, playlist []byte) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(playlist), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := b.Parse(line)
		if err != nil {
			return "", err
		}
		q := u.Query()
		switch {
		case m.jar != nil && q.Has("avh"):
			q.Del("avh")
			u.RawQuery = q.Encode()
		case m.jar == nil && q.Get("avh") == "":
			return "", fmt.Errorf("the playlist's URI %q carries no session token", redactURL(line))
		}
		return u.String(), nil
	}
	return "", fmt.Errorf("no URI in the playlist (%d bytes)", len(playlist))
}

// avhOf returns the session token of a playlist's first URI.
func avhOf(playlist []byte) string {
	for line := range strings.SplitSeq(string(playlist), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if u, err := url.Parse(line); err == nil {
			return u.Query().Get("avh")
		}
	}
	return ""
}

// playStep is one request of a session, as play reports it.
type playStep struct {
	what string
	a    answer
	err  error
}

// play plays an HLS stream within a session, from its master playlist
// (fetched from masterURL): the first variant playlist, then its first
// segment, each through rehost (which may send it to another replica). A
// step that fails is tried again, up to attempts times in all, each failure
// reported to failed. It returns the segment's bytes, or the last failure.
func (m *mediaClient) play(ctx context.Context, masterURL string, master []byte, rehost func(string) string, attempts int, failed func(playStep)) ([]byte, error) {
	base, body := masterURL, master
	for _, what := range []string{"variant playlist", "segment"} {
		next, err := m.firstURI(base, body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		next = rehost(next)
		var a answer
		for i := 0; ; i++ {
			a, err = m.get(ctx, next)
			if err == nil && a.ok() {
				break
			}
			if failed != nil {
				failed(playStep{what, a, err})
			}
			if i+1 >= attempts || ctx.Err() != nil {
				if err == nil {
					err = fmt.Errorf("%s: %s", what, a)
				}
				return nil, err
			}
			sleepCtx(ctx, time.Duration(50*(i+1))*time.Millisecond)
		}
		base, body = next, a.body
	}
	return body, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// demoOrigin serves media/demo under every video ID: /vod/{id}/{asset} is
// media/demo/{asset}.
var demoOrigin = http.FileServerFS(os.DirFS("media/demo"))

// serveDemo answers r from media/demo, whatever its video ID.
func serveDemo(w http.ResponseWriter, r *http.Request) {
	_, asset, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/vod/"), "/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+asset, ""
	demoOrigin.ServeHTTP(w, r2)
}

// edgeFlags lists the flags of the built server, from its -help: tests
// use a flag where the server has it (a shorter first-byte timeout, say)
// and its default otherwise.
func edgeFlags(t *testing.T) map[string]bool {
	t.Helper()
	edgeFlagsOnce.Do(func() {
		out, err := exec.Command(edgeBinary, "-help").Output()
		if err != nil {
			edgeFlagsErr = err
			return
		}
		edgeFlagSet = make(map[string]bool)
		for line := range strings.SplitSeq(string(out), "\n") {
			line = strings.TrimSpace(line)
			if name, ok := strings.CutPrefix(line, "-"); ok {
				name, _, _ = strings.Cut(name, " ")
				edgeFlagSet[name] = true
			}
		}
	})
	if edgeFlagsErr != nil {
		t.Fatalf("edge server -help: %v", edgeFlagsErr)
	}
	return edgeFlagSet
}

var (
	edgeFlagsOnce sync.Once
	edgeFlagSet   map[string]bool
	edgeFlagsErr  error
)

// pausableRedis is a redis-server of the test's own, on a free port,
// which the test pauses (SIGSTOP: connections stay open, nothing answers)
// and resumes (SIGCONT).
type pausableRedis struct {
	port int
	cmd  *exec.Cmd
	mu   sync.Mutex
}

// startPausableRedis starts one. Like every Redis test it needs REDIS_URL,
// the sign that Redis is installed (.ci/run sets it); once that is set, a
// missing redis-server fails the test.
func startPausableRedis(t *testing.T) *pausableRedis {
	t.Helper()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: set it (e.g. redis://127.0.0.1:6379/0) to run the edge server on a Redis of the test's own")
	}
	s := &pausableRedis{port: mustAtoi(t, port(freeAddr(t)))}
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", t.TempDir(), "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server (it must be installed when REDIS_URL is set): %v", err)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.cmd.Process.Signal(syscall.SIGCONT) // a paused server dies too
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := s.ping(time.Second)
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not start: %v", s.port, err)
		}
	}
}

func (s *pausableRedis) url() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) + "/0" }

// ping sends PING and waits for PONG within timeout.
func (s *pausableRedis) ping(timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func (s *pausableRedis) pause() error  { return s.signal(syscall.SIGSTOP) }
func (s *pausableRedis) resume() error { return s.signal(syscall.SIGCONT) }

func (s *pausableRedis) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Signal(sig)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logLinesNow returns the JSON lines the server has logged so far (the
// server keeps running; a line may still be on its way).
func (e *edge) logLinesNow() []map[string]any {
	var lines []map[string]any
	for line := range strings.SplitSeq(e.stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// waitLogLine waits up to timeout for a line of the running server that
// match accepts.
func (e *edge) waitLogLine(timeout time.Duration, match func(map[string]any) bool) (map[string]any, error) {
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		for _, l := range e.logLinesNow() {
			if match(l) {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no such log line within " + timeout.String())
		}
	}
}

// releasedMsg is the library's log message for a released redemption.
const releasedMsg = "privatevideo: redemption released"

// isRelease matches the release line of video with cause ("" for any).
func isRelease(video, cause string) func(map[string]any) bool {
	return func(l map[string]any) bool {
		return l["msg"] == releasedMsg && l["video"] == video && (cause == "" || l["cause"] == cause)
	}
}
