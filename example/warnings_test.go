//go:build unix

package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo"
)

// Under -log-format json every line on stderr is JSON, the library's own
// warnings (here about playlists it cannot rewrite) included, and each
// decision is logged once.
func TestLogIsJSONOnly(t *testing.T) {
	t.Parallel()
	big := "#EXTM3U\n#EXT-X-TARGETDURATION:4\n" + strings.Repeat("#EXTINF:4.0,\nsegment-0000000000000000000000000000.ts\n", (20<<20)/56)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		switch r.URL.Path {
		case "/vod/logs/hls/big.m3u8": // beyond any rewrite limit
			w.Write([]byte(big))
		case "/vod/logs/hls/brotli.m3u8": // an encoding the middleware cannot read
			w.Header().Set("Content-Encoding", "br")
			w.Write([]byte("\x1b\x00\x00 not really brotli"))
		default:
			w.Write([]byte("#EXTM3U\n#EXTINF:4.0,\nseg0.ts\n#EXT-X-ENDLIST\n"))
		}
	}))
	defer origin.Close()
	e := startEdge(t, nil, "-origin", origin.URL)
	tok := e.video("logs").Token
	sessionToken, _ := e.session("logs", tok, "player/1.0")
	decisions := 1 // the session endpoint's
	cookieless := &http.Client{}
	for _, name := range []string{"big.m3u8", "brotli.m3u8", "manifest.m3u8"} {
		resp, err := cookieless.Get(e.base + "/vod/logs/token/" + tok + "/hls/" + name + "?avh=" + url.QueryEscape(sessionToken))
		if err != nil {
			t.Fatalf("%s: %s", name, scrub(err.Error()))
		}
		resp.Body.Close()
		decisions++
	}
	resp, body := get(t, cookieless, e.base+"/vod/logs/hls/manifest.m3u8")
	wantProblem(t, "no token", resp, body, http.StatusForbidden, "token-required")
	decisions++

	log := e.finalLog()
	var decided, manifestWarnings int
	for line := range strings.SplitSeq(strings.TrimRight(log, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("a line of stderr is not JSON: %.200q", line)
			continue
		}
		if _, ok := m["allowed"]; ok {
			decided++
		}
		if msg, _ := m["msg"].(string); m["level"] == "WARN" && strings.Contains(msg, "manifest") {
			manifestWarnings++
		}
	}
	if decided != decisions {
		t.Errorf("%d decision lines for %d requests: want each decision logged once", decided, decisions)
	}
	if manifestWarnings == 0 {
		t.Errorf("no JSON warning about the playlists that could not be rewritten:\n%s", log)
	}
	assertNoSecrets(t, e, tok)
}

// The library's decision lines are dropped (the hook logs decisions), its
// other lines pass, attributes and groups kept.
func TestLibraryLogger(t *testing.T) {
	var b strings.Builder
	l := libraryLogger(slog.New(slog.NewJSONHandler(&b, nil))).With("component", "privatevideo")
	l.Info(libraryDecisionMsg, "allowed", false)
	l.WithGroup("g").Warn("privatevideo: a playlist passes unrewritten", "limit", 1)
	out := b.String()
	if strings.Contains(out, libraryDecisionMsg) || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, `"component":"privatevideo"`) || !strings.Contains(out, `"g":{"limit":1}`) {
		t.Errorf("logged %s", out)
	}
	// The message is the library's: a decision it logs is dropped, once it
	// is given WithLogger, and the hook still gets it.
	b.Reset()
	var hooked int
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: randomBytes(32)}},
		privatevideo.WithLogger(libraryLogger(slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})))),
		privatevideo.WithDecisionHook(func(privatevideo.Decision) { hooked++ }))
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(http.NotFoundHandler())
	for _, p := range []string{"/vod/demo/hls/manifest.m3u8", "/vod/bad$id/x"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil).WithContext(context.Background()))
	}
	if hooked != 2 || b.Len() != 0 {
		t.Errorf("%d decisions hooked, library logged %q: want 2 hooked and nothing logged", hooked, b.String())
	}
}

// Listening beyond loopback without -trusted-proxies warns that the grace
// window then cannot tell viewers apart behind a proxy; on loopback, or
// with proxies named, it does not.
func TestNonLoopbackWarning(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		warn bool
	}{
		{[]string{"-addr", "0.0.0.0:0"}, true},
		{[]string{"-addr", "[::]:0"}, true},
		{nil, false}, // 127.0.0.1
		{[]string{"-addr", "localhost:0"}, false},
		{[]string{"-addr", "0.0.0.0:0", "-trusted-proxies", "10.0.0.0/8"}, false},
	} {
		if c.args != nil && strings.Contains(c.args[1], "::") && !ipv6Available() {
			continue
		}
		e := startEdge(t, nil, c.args...)
		var warned bool
		for _, line := range e.logLines() {
			if msg, _ := line["msg"].(string); line["level"] == "WARN" && strings.Contains(msg, "-trusted-proxies") {
				warned = true
			}
		}
		if warned != c.warn {
			t.Errorf("%q: warned %v, want %v", c.args, warned, c.warn)
		}
	}
}

func ipv6Available() bool {
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true,
		"127.0.0.2:8080": true,
		"[::1]:8080":     true,
		"0.0.0.0:8080":   false,
		"[::]:8080":      false,
		"10.1.2.3:8080":  false,
		"[fe80::1]:8080": false,
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(tcp); got != want {
			t.Errorf("isLoopback(%s) = %v, want %v", addr, got, want)
		}
	}
}
