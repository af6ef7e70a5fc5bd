package pvcaddy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	_ "github.com/caddyserver/caddy/v2/modules/logging"
	_ "github.com/privatevideo/privatevideo/caddy"
)

// childEnv makes the test binary run as Caddy (with this module and the
// standard HTTP handlers) instead of the tests: each test starts real Caddy
// processes, as many as a fleet needs, from the binary it already has.
const childEnv = "PRIVATEVIDEO_CADDY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		caddycmd.Main()
		return
	}
	os.Exit(m.Run())
}

const (
	apiKey  = "caddy-test-api-key-0123456789"
	hashKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

// mediaRoot is a copy of the edge server's demo media laid out as
// file_server serves it, as the videos demo and trailer: {root}/vod/demo/….
func mediaRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, id := range []string{"demo", "trailer"} {
		copyTree(t, filepath.Join("..", "example", "media", "demo"), filepath.Join(root, "vod", id))
	}
	if err := os.WriteFile(filepath.Join(root, "robots.txt"), []byte("User-agent: *\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// handedOut are the ports freePort gave: the kernel may give a closed
// port again, and parallel tests must not share one.
var (
	portsMu   sync.Mutex
	handedOut = map[int]bool{}
)

// freePort returns a port nothing listens on, for Caddy to take.
func freePort(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return fmt.Sprint(port)
		}
	}
}

// site is one site block of a test Caddyfile.
type site struct {
	port  string
	block string // the privatevideo block's body
	rest  string // what follows it: root and file_server, or reverse_proxy
}

// readmeBlocks are the caddyfile blocks of the README, their list
// indentation removed.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	rest := string(readme)
	for {
		var block string
		var ok bool
		if _, rest, ok = strings.Cut(rest, "```caddyfile\n"); !ok {
			return blocks
		}
		block, rest, _ = strings.Cut(rest, "```")
		var b strings.Builder
		for line := range strings.Lines(block) {
			b.WriteString(strings.TrimPrefix(line, "  "))
		}
		blocks = append(blocks, strings.TrimRight(b.String(), " "))
	}
}

// redactLog is the README's log snippet that keeps credentials out of
// Caddy's own logs (access and errors), which record request URIs as they
// came: the tests run every log through it.
func redactLog(t *testing.T) string {
	t.Helper()
	for _, b := range readmeBlocks(t) {
		if snippet, _, ok := strings.Cut(b, "{\n\tlog {"); ok && strings.HasPrefix(b, "(privatevideo_log) {") {
			return snippet
		}
	}
	t.Fatal("README.md has no (privatevideo_log) snippet")
	return ""
}

// issueOrder is the issue's global option; without it the module's own
// place in Caddy's order applies.
const issueOrder = "\torder privatevideo before file_server\n"

// caddyfile is a Caddyfile with admin on adminPort, the global options
// global and sites, each with an access log, every log through redactLog.
func caddyfile(t *testing.T, adminPort, global string, sites ...site) string {
	var b strings.Builder
	b.WriteString(redactLog(t))
	fmt.Fprintf(&b, "{\n\tadmin 127.0.0.1:%s\n\tauto_https off\n\tpersist_config off\n%s\tlog {\n\t\toutput stderr\n\t\timport privatevideo_log\n\t}\n}\n", adminPort, global)
	for _, s := range sites {
		fmt.Fprintf(&b, "http://:%s {\n\tlog {\n\t\toutput stderr\n\t\timport privatevideo_log\n\t}\n\tprivatevideo {\n%s\n\t}\n%s\n}\n", s.port, s.block, s.rest)
	}
	return b.String()
}

// caddy is one running Caddy process.
type caddy struct {
	t     *testing.T
	admin string // http://127.0.0.1:port of the admin API
	cmd   *exec.Cmd
	log   *syncBuffer
	done  chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCaddy runs Caddy on config until the test ends, and waits until
// every site in urls answers.
func startCaddy(t *testing.T, adminPort, config string, urls ...string) *caddy {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), childEnv+"=1", "HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"PV_API_KEY="+apiKey, "PV_HASH_KEY="+hashKey)
	c := &caddy{t: t, admin: "http://127.0.0.1:" + adminPort, cmd: cmd, log: new(syncBuffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(c.done) }()
	t.Cleanup(c.stop)
	for _, u := range urls {
		c.waitFor(u)
	}
	return c
}

func (c *caddy) waitFor(u string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u + "/robots.txt")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-c.done:
			c.t.Fatalf("caddy exited:\n%s", c.log)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s does not answer: %v\n%s", u, err, c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *caddy) stop() {
	select {
	case <-c.done:
		return // stopped already
	default:
	}
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	if c.t.Failed() {
		c.t.Logf("caddy log:\n%s", c.log)
	}
}

// reload loads config through the admin API, as `caddy reload` does.
func (c *caddy) reload(config string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.admin+"/load", strings.NewReader(config))
	req.Header.Set("Content-Type", "text/caddyfile")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.t.Fatalf("reload: %d %s", resp.StatusCode, body)
	}
}

// waitLog waits for every one of parts in one line of the log: Caddy's
// lines reach it through a pipe, a moment after the answers.
func (c *caddy) waitLog(parts ...string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.Lines(c.log.String()) {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noSecrets stops Caddy, so that every line is in, and fails when its log
// holds a token or a key.
func (c *caddy) noSecrets(secrets ...string) {
	c.t.Helper()
	c.stop()
	log := c.log.String()
	for _, s := range append(secrets, apiKey, hashKey) {
		if s != "" && strings.Contains(strings.ToLower(log), strings.ToLower(s)) {
			c.t.Errorf("the log holds the secret %.8s…", s)
		}
	}
}

type video struct {
	VideoID string `json:"videoId"`
	Public  bool   `json:"public"`
	Token   string `json:"token"`
	Assets  struct {
		Player, HLS, MP4, Thumbnail string
	} `json:"assets"`
}

// api calls the video API at base.
func api(t *testing.T, method, url, body string) (*http.Response, video) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v video
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp, v
}

func mint(t *testing.T, base, id string) video {
	t.Helper()
	resp, v := api(t, "GET", base+"/videos/"+id, "")
	if resp.StatusCode != 200 || v.Token == "" {
		t.Fatalf("GET /videos/%s: %d %+v", id, resp.StatusCode, v)
	}
	return v
}

// browsers counts the browsers, so that each has a User-Agent of its own:
// on one address, the grace window would give the same session to the
// same User-Agent.
var browsers atomic.Int64

// browser is a client with its own cookie jar and User-Agent.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ua := fmt.Sprintf("test-browser-%d/1.0", browsers.Add(1))
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: userAgent{ua}}
}

type userAgent struct{ ua string }

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

// get fetches u and returns the status, the denial's reason (if any) and
// the body.
func get(t *testing.T, c *http.Client, u string, header ...string) (*http.Response, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var p struct{ Reason string }
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		json.Unmarshal(body, &p)
	}
	return resp, p.Reason, body
}

func want(t *testing.T, what string, resp *http.Response, reason string, status int, wantReason string) {
	t.Helper()
	if resp.StatusCode != status || reason != wantReason {
		t.Fatalf("%s: %d %q, want %d %q", what, resp.StatusCode, reason, status, wantReason)
	}
}
