//go:build unix

package main

// The end-to-end tests run the built edge server as a process, on a free
// port, and talk to it with real HTTP clients: what a user runs is what is
// tested. This file holds the harness.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// edgeBinary is the server built once for the whole run by TestMain.
var edgeBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "privatevideo-edge-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	edgeBinary = filepath.Join(dir, "edge")
	args := []string{"build", "-o", edgeBinary}
	if raceEnabled {
		// The race detector watches the server too, not only the tests.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the edge server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// edge is one running edge server.
type edge struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port, where it listens
	apiKey string
	player string // the player URL of the banner, "" in proxy mode
	banner string
	stderr *lockedBuffer
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

// startEdge runs the server with args (after -addr 127.0.0.1:0 and
// -log-format json, which args may override) and waits for its banner. The
// environment has no PRIVATEVIDEO_ variable but those of env.
func startEdge(t *testing.T, env []string, args ...string) *edge {
	t.Helper()
	return startEdgeBinary(t, edgeBinary, env, args...)
}

// startEdgeBinary is startEdge with another build of the server.
func startEdgeBinary(t *testing.T, binary string, env []string, args ...string) *edge {
	t.Helper()
	e := &edge{t: t, stderr: new(lockedBuffer), exited: make(chan struct{})}
	e.cmd = exec.Command(binary, append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	e.cmd.Env = append(cleanEnv(), env...)
	e.cmd.Stderr = e.stderr
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		e.err = e.cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("edge server log:\n%s", e.stderr)
		}
	})
	banner, err := readBanner(stdout, 20*time.Second)
	if err != nil {
		e.stop()
		t.Fatalf("edge server did not start: %v\nstderr:\n%s", err, e.stderr)
	}
	e.banner = banner
	e.base = bannerField(banner, "Address:")
	e.apiKey = bannerField(banner, "API key:")
	for i, a := range args {
		if a == "-api-key" && i+1 < len(args) {
			e.apiKey = args[i+1] // the banner does not repeat a given key
		}
	}
	if p := bannerField(banner, "Player URL:"); strings.HasPrefix(p, "http") {
		e.player = p
	}
	if e.base == "" {
		t.Fatalf("no address in the banner:\n%s", banner)
	}
	return e
}

// readBanner reads the startup summary from a server's stdout: everything
// up to its curl example, its last line. The rest of stdout is drained.
func readBanner(stdout io.Reader, timeout time.Duration) (string, error) {
	type result struct {
		banner string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "curl -H") {
				done <- result{b.String(), nil}
				io.Copy(io.Discard, stdout)
				return
			}
		}
		done <- result{b.String(), fmt.Errorf("stdout ended before the banner did:\n%s", b.String())}
	}()
	select {
	case r := <-done:
		return r.banner, r.err
	case <-time.After(timeout):
		return "", fmt.Errorf("no banner within %s", timeout)
	}
}

// bannerField returns the value after label on its banner line.
func bannerField(banner, label string) string {
	for line := range strings.SplitSeq(banner, "\n") {
		if _, v, ok := strings.Cut(line, label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// cleanEnv is the test's environment without PRIVATEVIDEO_ variables, so
// that a developer's settings do not leak into a test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			env = append(env, kv)
		}
	}
	return env
}

// signal sends sig to the server.
func (e *edge) signal(sig syscall.Signal) {
	e.t.Helper()
	if err := e.cmd.Process.Signal(sig); err != nil {
		e.t.Fatalf("signalling the edge server: %v", err)
	}
}

// wait waits for the server to exit and returns its exit status, or fails
// the test after timeout.
func (e *edge) wait(timeout time.Duration) int {
	e.t.Helper()
	select {
	case <-e.exited:
	case <-time.After(timeout):
		e.t.Fatalf("edge server still running %s after the signal", timeout)
	}
	return e.cmd.ProcessState.ExitCode()
}

// stop ends the server: SIGTERM, then SIGKILL if it lingers.
func (e *edge) stop() {
	select {
	case <-e.exited:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
	}
}

// api calls the video API with the server's key and decodes a JSON answer
// into out when out is not nil.
func (e *edge) api(method, path, body string, out any) *http.Response {
	e.t.Helper()
	return e.apiWith("Bearer "+e.apiKey, method, path, body, out)
}

func (e *edge) apiWith(authorization, method, path, body string, out any) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, b := do(e.t, http.DefaultClient, req)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// video gets a video from the API, with fresh URLs.
func (e *edge) video(id string) videoJSON {
	e.t.Helper()
	var v videoJSON
	if resp := e.api("GET", "/videos/"+id, "", &v); resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /videos/%s: %s", id, resp.Status)
	}
	return v
}

// session opens a session for token through the session endpoint, as the
// player page does, and returns the session token and the cookie's value.
func (e *edge) session(video, token, userAgent string) (sessionToken, cookie string) {
	e.t.Helper()
	resp, body := post(e.t, viewer(e.t, userAgent), e.base+"/vod/"+video+"/token/"+token+"/session")
	wantStatus(e.t, "session endpoint", resp, body, http.StatusOK)
	var s struct {
		SessionToken string `json:"session_token"`
	}
	decodeJSON(e.t, body, &s)
	for _, c := range resp.Cookies() {
		if c.Name == "pv_session" {
			cookie = c.Value
		}
	}
	if s.SessionToken == "" || cookie == "" {
		e.t.Fatalf("session endpoint: session token %t, cookie %t", s.SessionToken != "", cookie != "")
	}
	return s.SessionToken, cookie
}

// finalLog stops the server and returns its whole log. Only a stopped
// server's log is complete: stderr is a pipe, and a line written before a
// response may reach the test after the response does.
func (e *edge) finalLog() string {
	e.stop()
	return e.stderr.String()
}

// logLines stops the server and returns its JSON log lines.
func (e *edge) logLines() []map[string]any {
	var lines []map[string]any
	for line := range strings.SplitSeq(e.finalLog(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// viewer is one browser: its own cookie jar and User-Agent. Distinct
// User-Agents keep viewers apart within the middleware's grace window, in
// which the same address and User-Agent count as the same client.
func viewer(t *testing.T, userAgent string) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:       jar,
		Transport: userAgentTransport{userAgent, http.DefaultTransport},
		Timeout:   20 * time.Second,
	}
}

type userAgentTransport struct {
	ua   string
	next http.RoundTripper
}

func (u userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// get fetches url with c and returns the response and its whole body.
func get(t *testing.T, c *http.Client, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %s", req.Method, redactURL(req.URL.String()), scrub(err.Error()))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %s", req.Method, redactURL(req.URL.String()), scrub(err.Error()))
	}
	return resp, b
}

// redactURL keeps test failure messages readable: paths, not tokens nor
// session tokens.
func redactURL(u string) string { return sessionParam.ReplaceAllString(scrub(u), "${1}…") }

var sessionParam = regexp.MustCompile(`(?i)(avh=|pv_session=)[^&;\s"]*`)

// wantStatus fails the test unless resp has the status code.
func wantStatus(t *testing.T, what string, resp *http.Response, body []byte, code int) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s: status %d, want %d; body: %.300s", what, resp.StatusCode, code, body)
	}
}

// wantProblem fails the test unless the answer is a problem+json with the
// status and reason.
func wantProblem(t *testing.T, what string, resp *http.Response, body []byte, code int, reason string) {
	t.Helper()
	wantStatus(t, what, resp, body, code)
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: problem body %q: %v", what, body, err)
	}
	if p.Reason != reason || p.Status != code || p.Type == "" || p.Title == "" {
		t.Fatalf("%s: problem %+v, want reason %q and status %d", what, p, reason, code)
	}
}

// lockedBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func decodeJSON(t *testing.T, body []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
