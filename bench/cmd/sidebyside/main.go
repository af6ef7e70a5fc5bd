// Command sidebyside measures, in one run, the same 1.9 KB playlist and
// 1 MiB segment with a valid session through every way of serving them that
// the project offers or competes with:
//
//	bare           Go's http.FileServer, no check
//	privatevideo   the middleware around that file server, in-process
//	edge           the edge server (a process), -origin the bare file server
//	caddy          Caddy with the privatevideo module before file_server
//	               (only with -caddy: a Caddy built with the module)
//	nginx+auth     nginx serving the files, auth_request to the edge's /auth
//	               (the README's forward-auth configuration)
//	nginx-secure   nginx serving the files behind secure_link: an MD5-signed,
//	               reusable URL, the cheapest check nginx users know
//	nginx          nginx serving the files, no check (for reference)
//
// Each runs under wrk, a separate process; the contenders alternate within
// each round (the order rotates from round to round) so that the machine's
// drift cancels out of the ratios to bare, whose spread it prints.
//
//	go build -o /tmp/edge ./example
//	go run ./bench/cmd/sidebyside -edge /tmp/edge -rounds 8 -duration 3s
//
// It runs from the repository root (it reads README.md's nginx block) and
// needs wrk and nginx (Debian's wrk and nginx-core).
package main

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/bench/internal/benchutil"
)

func main() {
	rounds := flag.Int("rounds", 8, "rounds; each runs every contender once per asset")
	duration := flag.Duration("duration", 3*time.Second, "length of each wrk run")
	conns := flag.Int("connections", 8, "wrk connections")
	threads := flag.Int("threads", 1, "wrk threads")
	edgeBin := flag.String("edge", "", "the built edge server (go build -o … ./example)")
	nginxBin := flag.String("nginx", "", "nginx (default: nginx on PATH, else /usr/sbin/nginx)")
	caddyBin := flag.String("caddy", "", "a Caddy built with github.com/privatevideo/privatevideo/caddy (default: none, and no Caddy row)")
	flag.Parse()
	if err := run(*rounds, *duration, *conns, *threads, *edgeBin, *nginxBin, *caddyBin); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

// contender is one way of serving the assets: the URL of each asset and
// the Cookie it sends.
type contender struct {
	name   string
	urls   map[string]string // asset name → URL
	cookie string
	pids   []int // the server processes whose CPU time a request costs
	// session: the contender redeems a link once and plays on its cookie.
	session bool
}

// asset is one file of the media, under dir/v1/.
type asset struct {
	name, path string
	body       []byte
}

func run(rounds int, duration time.Duration, conns, threads int, edgeBin, nginxBin, caddyBin string) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	if edgeBin == "" {
		return errors.New("-edge: the built edge server is needed (go build -o /tmp/edge ./example)")
	}
	if nginxBin == "" {
		if nginxBin, err = exec.LookPath("nginx"); err != nil {
			nginxBin = "/usr/sbin/nginx"
		}
	}
	dir, err := os.MkdirTemp("", "privatevideo-sidebyside")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	media := filepath.Join(dir, "media")
	playlist, segment, err := benchutil.WriteMedia(media)
	if err != nil {
		return err
	}
	assets := []asset{{"playlist", benchutil.PlaylistPath, playlist}, {"segment", benchutil.SegmentPath, segment}}

	// (a) and (b), in this process, as the loadtest command runs them.
	bare, wrapped, tok, err := benchutil.Servers(media)
	if err != nil {
		return err
	}
	defer bare.Close()
	defer wrapped.Close()

	// (c) the edge server, in front of the bare file server.
	edge, stopEdge, err := startEdge(edgeBin, bare.URL, dir)
	if err != nil {
		return err
	}
	defer stopEdge()

	// (e), (f) and the nginx reference, in one nginx.
	ng, stopNginx, err := startNginx(nginxBin, dir, media, strings.TrimPrefix(edge.base, "http://"))
	if err != nil {
		return err
	}
	defer stopNginx()

	self := os.Getpid() // the bare and wrapped servers, and the edge's origin
	contenders := []*contender{
		{name: "bare (Go file server)", urls: map[string]string{}, pids: []int{self}},
		{name: "privatevideo around it", urls: map[string]string{}, pids: []int{self}, session: true},
		{name: "edge server (-origin the bare server)", urls: map[string]string{}, pids: []int{edge.pid, self}, session: true},
		{name: "nginx + auth_request to /auth", urls: map[string]string{}, pids: append([]int{edge.pid}, ng.pids...), session: true},
		{name: "nginx secure_link (MD5, reusable)", urls: map[string]string{}, pids: ng.pids},
		{name: "nginx, no check", urls: map[string]string{}, pids: ng.pids},
	}
	var cd *caddyServer
	if caddyBin != "" {
		var stopCaddy func()
		if cd, stopCaddy, err = startCaddy(caddyBin, dir, media); err != nil {
			return err
		}
		defer stopCaddy()
		contenders = append(contenders, &contender{name: "Caddy + the privatevideo module", urls: map[string]string{}, pids: []int{cd.pid}, session: true})
	}
	edgeTok, err := edge.mint()
	if err != nil {
		return err
	}
	nginxTok, err := edge.mint()
	if err != nil {
		return err
	}
	expires := strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10)
	for _, a := range assets {
		contenders[0].urls[a.name] = bare.URL + "/vod/v1/" + a.path
		contenders[1].urls[a.name] = wrapped.URL + "/vod/v1/token/" + tok + "/" + a.path
		contenders[2].urls[a.name] = edge.base + "/vod/v1/token/" + edgeTok + "/" + a.path
		contenders[3].urls[a.name] = ng.auth + "/vod/v1/token/" + nginxTok + "/" + a.path
		contenders[4].urls[a.name] = ng.plain + secureLink("/sl/v1/"+a.path, expires)
		contenders[5].urls[a.name] = ng.plain + "/vod/v1/" + a.path
	}
	if cd != nil {
		caddyTok, err := cd.mint()
		if err != nil {
			return err
		}
		for _, a := range assets {
			contenders[6].urls[a.name] = cd.base + "/vod/v1/token/" + caddyTok + "/" + a.path
		}
	}
	// Each private contender redeems its token once, as a browser's first
	// request; the cookie it gets is the session every wrk request sends.
	for _, c := range contenders {
		if !c.session {
			continue
		}
		if c.cookie, err = redeem(c.urls[assets[0].name]); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	// Every contender answers 200 with the very bytes, and a session
	// refused would fail wrk's run (non-2xx): nothing passes for speed.
	for _, c := range contenders {
		for _, a := range assets {
			if err := check(c.urls[a.name], c.cookie, a.body); err != nil {
				return fmt.Errorf("%s, %s: %w", c.name, a.name, err)
			}
		}
	}

	fmt.Printf("wrk -t%d -c%d -d%s, %d rounds, every contender once per round and asset, order rotating\n", threads, conns, duration, rounds)
	fmt.Printf("nginx: %s, worker_processes auto, access_log off, sendfile on\n\n", nginxVersion(nginxBin))
	rps := make(map[string][][]float64) // asset → contender → runs
	cpu := make(map[string][][]float64) // asset → contender → server CPU µs per request, per run
	for _, a := range assets {
		runs := make([][]float64, len(contenders))
		cpus := make([][]float64, len(contenders))
		for _, c := range contenders { // warm up
			if _, err := measure(wrk, c.urls[a.name], c.cookie, time.Second, conns, threads, c.pids); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		for r := range rounds {
			for k := range contenders {
				i := (k + r) % len(contenders)
				c := contenders[i]
				m, err := measure(wrk, c.urls[a.name], c.cookie, duration, conns, threads, c.pids)
				if err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				runs[i] = append(runs[i], m.rps)
				cpus[i] = append(cpus[i], m.cpuPerRequest)
			}
		}
		rps[a.name], cpu[a.name] = runs, cpus
	}

	for _, a := range assets {
		runs, cpus := rps[a.name], cpu[a.name]
		fmt.Printf("### %s (%s)\n\n", a.name, benchutil.Human(len(a.body)))
		fmt.Println("| contender | req/s (median) | req/s ÷ bare's: mean | std dev | min … max | server CPU µs/request (median) | CPU ÷ bare's: mean | std dev |")
		fmt.Println("|---|--:|--:|--:|--:|--:|--:|--:|")
		for i, c := range contenders {
			ratios, cratios := make([]float64, rounds), make([]float64, rounds)
			for r := range rounds {
				ratios[r] = runs[i][r] / runs[0][r]
				cratios[r] = cpus[i][r] / cpus[0][r]
			}
			mean, std := benchutil.MeanStd(ratios)
			cmean, cstd := benchutil.MeanStd(cratios)
			fmt.Printf("| %s | %.0f | %.3f | %.3f | %.3f … %.3f | %.1f | %.2f | %.2f |\n", c.name, benchutil.Median(runs[i]), mean, std,
				slices.Min(ratios), slices.Max(ratios), benchutil.Median(cpus[i]), cmean, cstd)
		}
		fmt.Println()
	}
	fmt.Println("raw, one line per contender, rounds in order: req/s; server CPU µs per request")
	for _, a := range assets {
		for i, c := range contenders {
			fmt.Printf("%s | %s | %s; %s\n", a.name, c.name, benchutil.Join(rps[a.name][i], 0), benchutil.Join(cpu[a.name][i], 1))
		}
	}
	return nil
}

// edgeServer is a running edge server.
type edgeServer struct {
	base, apiKey string
	pid          int
}

// startEdge runs the edge server on a free port, protecting origin.
func startEdge(bin, origin, dir string) (*edgeServer, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	e := &edgeServer{base: "http://" + addr, apiKey: randomHex(24)}
	logFile, err := os.Create(filepath.Join(dir, "edge.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "-addr", addr, "-origin", origin, "-trusted-proxies", "127.0.0.1", "-log-format", "json")
	// Keys through the environment, as the README deploys them.
	cmd.Env = append(os.Environ(), "PRIVATEVIDEO_API_KEY="+e.apiKey, "PRIVATEVIDEO_HASH_KEY="+randomHex(32))
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting the edge server: %w", err)
	}
	e.pid = cmd.Process.Pid
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logFile.Close()
	}
	if err := waitHTTP(e.base + "/healthz"); err != nil {
		stop()
		log, _ := os.ReadFile(logFile.Name())
		return nil, nil, fmt.Errorf("the edge server: %w\n%s", err, log)
	}
	return e, stop, nil
}

// mint asks the edge's API for a fresh token of v1.
func (e *edgeServer) mint() (string, error) {
	req, _ := http.NewRequest("GET", e.base+"/videos/v1", nil)
	req.Header.Set("Authorization", "Bearer "+e.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Token == "" {
		return "", fmt.Errorf("GET /videos/v1: %s, no token", resp.Status)
	}
	return v.Token, nil
}

// caddyServer is a running Caddy with the privatevideo module.
type caddyServer struct {
	base, apiKey string
	pid          int
}

// startCaddy runs Caddy with the module before file_server, as the caddy
// module's README configures it, over media (seen as {root}/vod/v1/…).
func startCaddy(bin, dir, media string) (*caddyServer, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	root := filepath.Join(dir, "caddy-root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.Symlink(media, filepath.Join(root, "vod")); err != nil {
		return nil, nil, err
	}
	c := &caddyServer{base: "http://" + addr, apiKey: randomHex(24)}
	conf := `{
	admin off
	auto_https off
	order privatevideo before file_server
}
http://` + addr + ` {
	privatevideo {
		hash_key {env.PV_HASH_KEY}
		api_key {env.PV_API_KEY}
		insecure_cookies
	}
	root * ` + root + `
	file_server
}
`
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "caddy.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "PV_API_KEY="+c.apiKey, "PV_HASH_KEY="+randomHex(32),
		"HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting caddy: %w", err)
	}
	c.pid = cmd.Process.Pid
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logFile.Close()
	}
	if err := waitHTTP(c.base + "/"); err != nil {
		stop()
		log, _ := os.ReadFile(logFile.Name())
		return nil, nil, fmt.Errorf("caddy: %w\n%s", err, log)
	}
	return c, stop, nil
}

// mint asks the module's API for a fresh token of v1.
func (c *caddyServer) mint() (string, error) {
	e := edgeServer{base: c.base, apiKey: c.apiKey}
	return e.mint()
}

// nginxServer is a running nginx: auth serves the README's forward-auth
// block, plain the reference and secure_link locations.
type nginxServer struct {
	auth, plain string
	pids        []int // the master and its workers
}

// secureLinkSecret signs the secure_link URLs.
const secureLinkSecret = "sidebyside-secret"

// startNginx runs nginx with the README's forward-auth server block, its
// edge and media root substituted, and a second server: the same files with
// no check (/vod/) and behind secure_link (/sl/).
func startNginx(bin, dir, media, edgeAddr string) (*nginxServer, func(), error) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return nil, nil, fmt.Errorf("run from the repository root: %w", err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Forward-auth")
	m := regexp.MustCompile("(?s)\n```nginx\n(.*?)\n```\n").FindStringSubmatch(section)
	if m == nil {
		return nil, nil, errors.New("README.md has no nginx block in its Forward-auth section")
	}
	authAddr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	plainAddr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	block := m[1]
	for _, r := range [][2]string{{"listen 80;", "listen " + authAddr + ";"}, {"server 127.0.0.1:8080;", "server " + edgeAddr + ";"}, {"root /srv/media;", "root " + media + ";"}} {
		if !strings.Contains(block, r[0]) {
			return nil, nil, fmt.Errorf("the README's nginx block has no %q", r[0])
		}
		block = strings.ReplaceAll(block, r[0], r[1])
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers as nobody could not read the temporary directory
	}
	conf := user + `daemon off;
worker_processes auto;
pid ` + dir + `/nginx.pid;
error_log ` + dir + `/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path ` + dir + `/body;
    proxy_temp_path ` + dir + `/proxy;
    fastcgi_temp_path ` + dir + `/fastcgi;
    uwsgi_temp_path ` + dir + `/uwsgi;
    scgi_temp_path ` + dir + `/scgi;
    default_type application/octet-stream;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
` + block + `
    server {
        listen ` + plainAddr + `;
        location /vod/ {
            alias ` + media + `/;
        }
        location /sl/ {
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri ` + secureLinkSecret + `";
            if ($secure_link = "") { return 403; }
            if ($secure_link = "0") { return 410; }
            alias ` + media + `/;
        }
    }
}
`
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "-e", filepath.Join(dir, "nginx-error.log"), "-p", dir, "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting nginx: %w", err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
	}
	n := &nginxServer{auth: "http://" + authAddr, plain: "http://" + plainAddr}
	for _, u := range []string{n.auth, n.plain} {
		if err := waitHTTP(u + "/"); err != nil {
			stop()
			log, _ := os.ReadFile(filepath.Join(dir, "nginx-error.log"))
			return nil, nil, fmt.Errorf("nginx: %w\n%s\n%s", err, out.String(), log)
		}
	}
	n.pids = append([]int{cmd.Process.Pid}, children(cmd.Process.Pid)...)
	if len(n.pids) < 2 {
		stop()
		return nil, nil, errors.New("nginx has no worker processes")
	}
	return n, stop, nil
}

// secureLink signs uri as nginx's secure_link_md5 above expects.
func secureLink(uri, expires string) string {
	sum := md5.Sum([]byte(expires + uri + " " + secureLinkSecret))
	return uri + "?md5=" + base64.RawURLEncoding.EncodeToString(sum[:]) + "&expires=" + expires
}

// redeem opens u once, as a browser's first request, and returns the
// session cookie it sets.
func redeem(u string) (string, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", "sidebyside/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == privatevideo.DefaultCookieName {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("the first request answered %s without a session cookie", resp.Status)
}

// check fetches u with cookie and compares the body with want.
func check(u, cookie string, want []byte) error {
	req, _ := http.NewRequest("GET", u, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		return fmt.Errorf("%s, %d bytes; want 200 and the %d bytes of the file", resp.Status, len(got), len(want))
	}
	return nil
}

var (
	rpsLine      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	non2xxLine   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	errorsLine   = regexp.MustCompile(`Socket errors: .*`)
	requestsLine = regexp.MustCompile(`(\d+) requests in `)
)

// measurement is one wrk run.
type measurement struct {
	rps           float64
	cpuPerRequest float64 // µs of CPU (user and system) of the server processes
}

// measure runs wrk against u and returns its requests per second and the
// CPU time the processes pids spent per request meanwhile; any non-2xx
// answer or socket error is an error. CPU per request holds up better than
// throughput on a busy machine: other processes' load slows a server down
// but adds little to the CPU each of its requests takes.
func measure(wrk, u, cookie string, d time.Duration, conns, threads int, pids []int) (measurement, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s"}
	if cookie != "" {
		args = append(args, "-H", "Cookie: "+cookie)
	}
	before, err := cpuTicks(pids)
	if err != nil {
		return measurement{}, err
	}
	out, err := exec.Command(wrk, append(args, u)...).CombinedOutput()
	if err != nil {
		return measurement{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	after, err := cpuTicks(pids)
	if err != nil {
		return measurement{}, err
	}
	if m := non2xxLine.FindSubmatch(out); m != nil {
		return measurement{}, fmt.Errorf("wrk got %s non-2xx answers from %s", m[1], benchutil.Redact(u))
	}
	if m := errorsLine.Find(out); m != nil {
		return measurement{}, fmt.Errorf("wrk: %s from %s", m, benchutil.Redact(u))
	}
	m := rpsLine.FindSubmatch(out)
	n := requestsLine.FindSubmatch(out)
	if m == nil || n == nil {
		return measurement{}, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	requests, _ := strconv.ParseFloat(string(n[1]), 64)
	return measurement{rps: rps, cpuPerRequest: float64(after-before) / clockTicks * 1e6 / requests}, nil
}

// clockTicks is USER_HZ, the unit of /proc/{pid}/stat's times: 100 on
// Linux.
const clockTicks = 100

// cpuTicks sums the user and system time of pids, in clock ticks.
func cpuTicks(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return 0, err
		}
		// Fields after the command name, which is in parentheses and may
		// hold spaces: state is field 3, utime 14, stime 15.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
		}
		for _, s := range f[11:13] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, err
			}
			sum += v
		}
	}
	return sum, nil
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

func nginxVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	return strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
}

func waitHTTP(u string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer: %v", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
