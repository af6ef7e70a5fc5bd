package privatevideo_test

// The boundary, tried from the attacker's side: whatever method, path
// spelling or session-token spelling comes, nothing but a valid session gets
// a private byte, and no token changes state on the way.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// rawRequest sends one request as written, over its own connection, so that
// any method and any path spelling reach the server unchanged.
func rawRequest(t *testing.T, srvURL, method, target string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	u, _ := url.Parse(srvURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: test-raw\r\nConnection: close\r\n", method, target, u.Host)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Method: method}
	if strings.EqualFold(method, http.MethodHead) {
		req.Method = http.MethodHead
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, body.Bytes()
}

// privateBytes are the starts of the fixture's files: no denied request may
// answer any of them.
func privateBytes(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{"mp4/source.mp4", "hls/key.bin", "hls/manifest.m3u8", "thumbnail.jpg"} {
		b, err := os.ReadFile(mediaDir + "/v1/" + name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b[:min(len(b), 16)]
	}
	return out
}

func leaks(body []byte, private map[string][]byte) string {
	for name, b := range private {
		if bytes.Contains(body, b) {
			return name
		}
	}
	return ""
}

// Every method, to every kind of private URL, with every kind of credential
// (none, an unused token, a used one, a valid session as a cookie and as
// avh), over http.FileServer, which answers any method like GET: only GET
// and HEAD with a valid session reach it, OPTIONS is an empty 204 from the
// middleware, other methods are 405 with Allow, and no token moves.
func TestEveryMethodAtTheBoundary(t *testing.T) {
	f, log := newMediaFixture(t)
	private := privateBytes(t)
	used := f.issue("v1")
	b := f.browser("owner")
	wantOK200 := f.get(b, tokenPath("v1", used, "thumbnail.jpg"))
	if wantOK200.status != http.StatusOK {
		t.Fatalf("owner's open: %d", wantOK200.status)
	}
	var cookie string
	for _, c := range b.Jar.Cookies(mustURL(t, f.srv.URL+tokenPath("v1", used, "x"))) {
		cookie = c.Name + "=" + c.Value
	}
	session := redeemSession(t, f, "v1", f.issue("v1"))
	unused := f.issue("v1")

	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
		"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "FOO", "get", "Head"}
	type cred struct {
		name   string
		path   func(asset string) string
		header []string
		valid  bool // a valid session for v1
	}
	creds := []cred{
		{"none", func(a string) string { return "/vod/v1/" + a }, nil, false},
		{"unused token", func(a string) string { return tokenPath("v1", unused, a) }, nil, false},
		{"used token", func(a string) string { return tokenPath("v1", used, a) }, nil, false},
		{"query token", func(a string) string { return "/vod/v1/" + a + "?token=" + unused }, nil, false},
		{"cookie", func(a string) string { return tokenPath("v1", used, a) }, []string{"Cookie", cookie}, true},
		{"avh", func(a string) string { return "/vod/v1/" + a + "?avh=" + session }, nil, true},
		{"avh on the token path", func(a string) string { return tokenPath("v1", used, a) + "?avh=" + session }, nil, false},
	}
	for _, m := range methods {
		for _, c := range creds {
			for _, asset := range []string{"mp4/source.mp4", "hls/key.bin", "hls/manifest.m3u8", "session", ""} {
				if (m == "GET" || m == "POST") && c.name == "unused token" {
					continue // these redeem, by design: TestOneBrowserPlaysAnotherIsRefused
				}
				target := c.path(asset)
				if asset == "" {
					target = strings.Replace(target, "/?", "?", 1)
					target = strings.TrimSuffix(target, "/")
				}
				before := len(log.requests())
				status, hdr, body := rawRequest(t, f.srv.URL, m, target, c.header...)
				reached := len(log.requests()) > before
				what := fmt.Sprintf("%s %s (%s)", m, target, c.name)
				isGetHead := m == "GET" || m == "HEAD"
				switch {
				case m == "OPTIONS":
					if status != http.StatusNoContent || len(body) != 0 || reached {
						t.Fatalf("%s: %d, %d bytes, reached the handler %t; want an empty 204 from the middleware", what, status, len(body), reached)
					}
				case !isGetHead && !(m == "POST" && asset == "session" && strings.Contains(target, "/token/")):
					if status != http.StatusMethodNotAllowed || hdr.Get("Allow") == "" || reached {
						t.Fatalf("%s: %d Allow %q, reached the handler %t; want 405 with Allow", what, status, hdr.Get("Allow"), reached)
					}
				}
				if name := leaks(body, private); name != "" && !(isGetHead && c.valid) {
					t.Fatalf("%s: %d answered the private %s", what, status, name)
				}
				if reached && !(isGetHead && (c.valid || asset == "")) {
					t.Fatalf("%s: %d reached the media handler", what, status)
				}
			}
		}
	}
	if s := f.state(unused); s != store.Issued {
		t.Fatalf("the unused token is %v after every method, want issued", s)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// origin is a media server that reads paths its own way, as real servers
// do; it serves two videos, a and b, and records the paths it resolved.
type origin struct {
	name    string
	resolve func(raw string) string // the request target's path, as this server reads it
	mu      sync.Mutex
	seen    []string
	creds   atomic.Int32 // requests that carried a credential
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _, _ := strings.Cut(r.RequestURI, "?")
	p := o.resolve(raw)
	o.mu.Lock()
	o.seen = append(o.seen, p)
	o.mu.Unlock()
	if strings.Contains(r.Header.Get("Cookie"), privatevideo.DefaultCookieName) ||
		strings.Contains(r.URL.RawQuery, "avh=") || strings.Contains(r.RequestURI, "/token/") {
		o.creds.Add(1)
	}
	if rest, ok := strings.CutPrefix(p, "/vod/"); ok {
		video, _, _ := strings.Cut(rest, "/")
		fmt.Fprintf(w, "bytes of video %s: %s", video, p)
		return
	}
	http.NotFound(w, r)
}

func unescapeAll(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// The three readings of a path that differ from Go's.
var origins = []func() *origin{
	func() *origin { // Tomcat, Jetty: ";params" dropped, then decoded, then dot segments
		return &origin{name: "tomcat", resolve: func(raw string) string {
			segs := strings.Split(raw, "/")
			for i, s := range segs {
				s, _, _ = strings.Cut(s, ";")
				segs[i] = unescapeAll(s)
			}
			return path.Clean(strings.Join(segs, "/"))
		}}
	},
	func() *origin { // decodes twice
		return &origin{name: "double-decode", resolve: func(raw string) string {
			return path.Clean(unescapeAll(unescapeAll(raw)))
		}}
	},
	func() *origin { // IIS-like: backslash is a slash, case is ignored
		return &origin{name: "backslash", resolve: func(raw string) string {
			return strings.ToLower(path.Clean(strings.ReplaceAll(unescapeAll(raw), `\`, "/")))
		}}
	},
}

// climbs are spellings that try to leave video a for video b.
func climbs() []string {
	ups := []string{"..", "..;", "..;x=1", "%2e%2e", "%2E%2E;", ".%2e", "%252e%252e", "%252E%252E%253B",
		`..\`, "..%5c", "%5c..", "..%255c", "..%2f", "%2e%2e%2f", "..%252f", "..%00", "..%3b", "..%253b", ".."}
	seps := []string{"/", "%2f", "%5c", `\`, "%252f", ";/"}
	targets := []string{"b/mp4/source.mp4", "B/mp4/source.mp4", "b%2fmp4%2fsource.mp4"}
	var out []string
	for _, up := range ups {
		for _, sep := range seps {
			for _, tgt := range targets {
				out = append(out, up+sep+up+sep+tgt, up+sep+tgt, "hls"+sep+up+sep+up+sep+tgt)
			}
		}
	}
	return out
}

// No session for video a ever reads video b, behind origins that read paths
// differently from Go, on the token path and on the public path with avh;
// the origin never receives a credential.
func TestNoClimbingOutOfTheVideo(t *testing.T) {
	for _, mk := range origins {
		o := mk()
		t.Run(o.name, func(t *testing.T) {
			up := httptest.NewServer(o)
			defer up.Close()
			target, _ := url.Parse(up.URL)
			proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
			mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw.Handler(proxy))
			defer srv.Close()
			tok := mustIssue(t, mw, "a")
			f := &fixture{t: t, mw: mw, srv: srv}
			b := f.browser("owner")
			if res := f.get(b, tokenPath("a", tok, "hls/index.m3u8")); res.status != http.StatusOK || !strings.Contains(res.body, "video a") {
				t.Fatalf("open: %d %q", res.status, res.body)
			}
			var cookie string
			for _, c := range b.Jar.Cookies(mustURL(t, srv.URL+tokenPath("a", tok, "x"))) {
				cookie = c.Name + "=" + c.Value
			}
			sess := redeemSession(t, f, "a", mustIssue(t, mw, "a"))

			allowed := 0
			for _, climb := range climbs() {
				for _, form := range []struct {
					target string
					header []string
				}{
					{tokenPath("a", tok, climb), []string{"Cookie", cookie}},
					{"/vod/a/" + climb + "?avh=" + sess, nil},
					{tokenPath("a", tok, climb) + "?avh=" + sess, []string{"Cookie", cookie}},
				} {
					status, _, body := rawRequest(t, srv.URL, "GET", form.target, form.header...)
					if bytes.Contains(body, []byte("video b")) || bytes.Contains(body, []byte("video B")) {
						t.Fatalf("%s: %d %q: a session of a read video b", form.target, status, body)
					}
					if status == http.StatusOK {
						allowed++
					}
				}
			}
			o.mu.Lock()
			defer o.mu.Unlock()
			for _, p := range o.seen {
				if !strings.HasPrefix(p, "/vod/a/") {
					t.Fatalf("the origin resolved %q, outside video a", p)
				}
			}
			if n := o.creds.Load(); n != 0 {
				t.Fatalf("the origin received a credential %d times", n)
			}
			t.Logf("%d spellings tried, %d reached the origin (inside video a)", len(climbs())*3, allowed)
		})
	}
}

// Paths that are not under the prefix as Go reads them, but are to a server
// that ignores case, reads backslashes as slashes, drops ";params", decodes
// twice or resolves dot segments, are refused: passed through, they would
// reach a private video's files without a token.
func TestNoWayAroundThePrefix(t *testing.T) {
	for _, mk := range origins {
		o := mk()
		t.Run(o.name, func(t *testing.T) {
			up := httptest.NewServer(o)
			defer up.Close()
			target, _ := url.Parse(up.URL)
			proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
			mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
			srv := httptest.NewServer(mw.Handler(proxy))
			defer srv.Close()
			for _, p := range []string{
				"/VOD/b/mp4/source.mp4", "/Vod/b/mp4/source.mp4", `/\vod\b\mp4\source.mp4`, "/%5cvod%5cb/mp4/source.mp4",
				"/x/..;/vod/b/mp4/source.mp4", "/x/%2e%2e/vod/b/mp4/source.mp4", "/x/%252e%252e/vod/b/mp4/source.mp4",
				"/%2576od/b/mp4/source.mp4", "/vod;x/b/mp4/source.mp4", "/;x/vod/b/mp4/source.mp4",
				"/x/..%5cvod/b/mp4/source.mp4", "/x/..%255cvod/b/mp4/source.mp4", "/./vod/b/mp4/source.mp4",
				"//vod/b/mp4/source.mp4", "/x/../VOD/b", "/VOD", "/vod%2fb/mp4/source.mp4",
			} {
				status, _, body := rawRequest(t, srv.URL, "GET", p)
				if bytes.Contains(body, []byte("video b")) || status != http.StatusBadRequest {
					t.Fatalf("%s: %d %q, want 400 and nothing of video b", p, status, body)
				}
			}
			// Paths that are plainly elsewhere still pass.
			if status, _, _ := rawRequest(t, srv.URL, "GET", "/static/app.js"); status != http.StatusNotFound {
				t.Fatalf("/static/app.js: %d, want the origin's 404", status)
			}
		})
	}
}

// A session token has one spelling: line breaks, padding, other alphabets
// and spare bits make it session-invalid, in the query as in a cookie.
func TestSessionTokenHasOneSpelling(t *testing.T) {
	f := newFixture(t)
	sess := redeemSession(t, f, "v1", f.issue("v1"))
	wantOK(t, "the real one", f.get(f.player("p"), "/vod/v1/x?avh="+sess))
	last := sess[len(sess)-1]
	flip := map[byte]byte{'A': 'B', 'Q': 'R', 'g': 'h', 'w': 'x'}[last] // same 6-bit group head, other spare bits
	variants := map[string]string{
		"CRLF inside":     url.QueryEscape(sess[:20] + "\r\n" + sess[20:]),
		"LF inside":       url.QueryEscape(sess[:20] + "\n" + sess[20:]),
		"CR at the end":   url.QueryEscape(sess + "\r"),
		"padding":         sess + "%3D%3D",
		"one pad":         sess + "%3D",
		"space inside":    url.QueryEscape(sess[:10] + " " + sess[10:]),
		"plus for dash":   strings.ReplaceAll(sess, "-", "%2B"),
		"slash for under": strings.ReplaceAll(sess, "_", "%2F"),
		"tab inside":      url.QueryEscape(sess[:5] + "\t" + sess[5:]),
	}
	if flip != 0 {
		variants["spare bits"] = sess[:len(sess)-1] + string(flip)
	}
	for name, v := range variants {
		if v == sess {
			continue
		}
		wantDenied(t, name, f.get(f.player("p"), "/vod/v1/x?avh="+v), http.StatusForbidden, "session-invalid")
	}
	// In a cookie, the same.
	for _, v := range []string{sess + "==", sess[:20] + "\t" + sess[20:]} {
		res := f.get(f.player("p"), "/vod/v1/x", "Cookie", privatevideo.DefaultCookieName+"="+v)
		if res.status == http.StatusOK {
			t.Fatalf("cookie %q: 200, want a denial", v)
		}
	}
}

// The session cookie never reaches the wrapped handler (nor an origin
// behind it), on private and public videos; the site's other cookies do.
func TestSessionCookieStaysHere(t *testing.T) {
	var got []string
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, strings.Join(r.Header.Values("Cookie"), " | "))
		mu.Unlock()
	})
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(),
		privatevideo.WithPublic(func(_ context.Context, id string) bool { return id == "pub" }))
	srv := httptest.NewServer(mw.Handler(h))
	defer srv.Close()
	f := &fixture{t: t, mw: mw, srv: srv}
	tok := mustIssue(t, mw, "v1")
	b := f.browser("b")
	f.get(b, tokenPath("v1", tok, "a.ts")) // sets the cookie
	var cookie string
	for _, c := range b.Jar.Cookies(mustURL(t, srv.URL+tokenPath("v1", tok, "x"))) {
		cookie = c.Name + "=" + c.Value
	}
	for _, c := range []struct{ path, header, want string }{
		{tokenPath("v1", tok, "a.ts"), "site=1; " + cookie + "; theme=dark", "site=1; theme=dark"},
		{tokenPath("v1", tok, "a.ts"), cookie, ""},
		{tokenPath("v1", tok, "a.ts"), " " + cookie + " ;" + cookie, ""},
		{"/vod/pub/a.ts", "site=1; " + cookie, "site=1"},
	} {
		mu.Lock()
		got = got[:0]
		mu.Unlock()
		res := f.get(f.player("p"), c.path, "Cookie", c.header)
		mu.Lock()
		if res.status != http.StatusOK || len(got) != 1 || got[0] != c.want {
			t.Fatalf("%s with Cookie %q: %d, handler saw %q, want %q", c.path, c.header, res.status, got, c.want)
		}
		mu.Unlock()
	}
}

// The redirect of a query token is built from the escaped path: nothing a
// client escaped becomes a query, a fragment or a header line in Location.
func TestRedirectLocationStaysEscaped(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	for _, c := range []struct{ path, want string }{
		{"/vod/v1/seg(1).ts?token=" + tok, tokenPath("v1", tok, "seg%281%29.ts")},
		{"/vod/v1/a.ts?x=%0D%0ASet-Cookie:%20a%3Db&token=" + tok, tokenPath("v1", tok, "a.ts") + "?x=%0D%0ASet-Cookie:%20a%3Db"},
		{"/vod/v1/a%3Fb.ts?token=" + tok, ""},
		{"/vod/v1/a%23b.ts?token=" + tok, ""},
		{"/vod/v1/a%0D%0Ab.ts?token=" + tok, ""},
	} {
		res := f.get(f.player("p"), c.path)
		if c.want == "" {
			wantDenied(t, c.path, res, http.StatusBadRequest, "malformed")
			continue
		}
		if res.status != http.StatusTemporaryRedirect || res.header.Get("Location") != c.want || res.header.Get("Set-Cookie") != "" {
			t.Fatalf("%s: %d Location %q, want %q", c.path, res.status, res.header.Get("Location"), c.want)
		}
	}
}

// Player answers the player page's path itself, whatever the method: the
// media handler behind it never sees it, even without Handler in front.
func TestPlayerAnswersEveryMethodOnItsPage(t *testing.T) {
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
	var reached atomic.Int32
	media := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Write([]byte("media bytes"))
	})
	srv := httptest.NewServer(mw.Player(media))
	defer srv.Close()
	for _, m := range []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PROPFIND", "TRACE", "FOO"} {
		status, hdr, body := rawRequest(t, srv.URL, m, "/vod/v1")
		switch {
		case reached.Load() != 0 || bytes.Contains(body, []byte("media bytes")):
			t.Fatalf("%s /vod/v1 reached the media handler", m)
		case m == "GET" || m == "HEAD":
			if status != http.StatusOK || hdr.Get("Content-Security-Policy") == "" {
				t.Fatalf("%s /vod/v1: %d, want the player page", m, status)
			}
		case m == "OPTIONS":
			if status != http.StatusNoContent || len(body) != 0 {
				t.Fatalf("OPTIONS /vod/v1: %d %q, want an empty 204", status, body)
			}
		default:
			if status != http.StatusMethodNotAllowed || hdr.Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Fatalf("%s /vod/v1: %d Allow %q, want 405", m, status, hdr.Get("Allow"))
			}
		}
	}
	// Assets pass on to the media handler (Handler decides them).
	if status, _, body := rawRequest(t, srv.URL, "GET", "/vod/v1/a.ts"); status != http.StatusOK || string(body) != "media bytes" {
		t.Fatalf("asset through Player: %d %q", status, body)
	}
}

// A router that mounts the middleware under a path without stripping it
// hands it "/media/vod/…": passed untouched, the file server behind would
// serve the private video to anyone. Such paths are refused.
func TestMountWithoutStripPrefixFailsClosed(t *testing.T) {
	f, log := newMediaFixture(t)
	private := privateBytes(t)
	for _, p := range []string{"/media/vod/v1/mp4/source.mp4", "/a/b/VOD/v1/hls/key.bin", "/x/vod"} {
		before := len(log.requests())
		status, _, body := rawRequest(t, f.srv.URL, "GET", p)
		if status != http.StatusBadRequest || leaks(body, private) != "" || len(log.requests()) != before {
			t.Fatalf("%s: %d, reached the handler %t, want 400", p, status, len(log.requests()) != before)
		}
	}
	if status, _, _ := rawRequest(t, f.srv.URL, "GET", "/media/vodka/x"); status == http.StatusBadRequest {
		t.Fatalf("/media/vodka/x: 400; only whole segments are the prefix")
	}
}

// A Referer that holds a token or a session token (a player page's URL)
// never reaches the wrapped handler; another Referer does.
func TestCredentialRefererStaysHere(t *testing.T) {
	var got []string
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Referer"))
		mu.Unlock()
	})
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(),
		privatevideo.WithPublic(func(_ context.Context, id string) bool { return id == "pub" }))
	srv := httptest.NewServer(mw.Handler(h))
	defer srv.Close()
	f := &fixture{t: t, mw: mw, srv: srv}
	tok := mustIssue(t, mw, "v1")
	b := f.browser("b")
	for _, c := range []struct{ path, referer, want string }{
		{tokenPath("v1", tok, "a.ts"), "https://site.example/vod/v1?token=" + tok, ""},
		{tokenPath("v1", tok, "a.ts"), "https://site.example/vod/v1/token/" + tok + "/x", ""},
		{tokenPath("v1", tok, "b.ts"), "https://site.example/watch?avh=abc", ""},
		{tokenPath("v1", tok, "c.ts"), "https://site.example/watch/intro", "https://site.example/watch/intro"},
		{"/vod/pub/a.ts", "https://site.example/vod/v1?token=" + tok, ""},
		{"/vod/pub/b.ts", "https://site.example/blog", "https://site.example/blog"},
	} {
		mu.Lock()
		got = got[:0]
		mu.Unlock()
		res := f.get(b, c.path, "Referer", c.referer)
		mu.Lock()
		if res.status != http.StatusOK || len(got) != 1 || got[0] != c.want {
			t.Fatalf("%s with Referer %q: %d, handler saw %q, want %q", c.path, c.referer, res.status, got, c.want)
		}
		mu.Unlock()
	}
}
