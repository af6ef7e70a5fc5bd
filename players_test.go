package privatevideo_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// mediaDir is the fixture stream of scripts/make-media.sh: video "v1".
const mediaDir = "testdata/media"

// requestLog records what reached the media handler.
type requestLog struct {
	mu   sync.Mutex
	seen []string // public paths, with the status the handler gave
	hdr  []http.Header
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.seen = append(l.seen, r.Method+" "+r.URL.RequestURI())
		l.hdr = append(l.hdr, r.Header.Clone())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// newMediaFixture serves testdata/media at /vod/ behind the middleware and
// the player page, through a real server.
func newMediaFixture(t *testing.T, opts ...privatevideo.Option) (*fixture, *requestLog) {
	t.Helper()
	log := &requestLog{}
	f := &fixture{
		t:     t,
		store: &countingStore{Store: store.NewMemory(0)},
		clock: testclock.New(time.Now()),
		keys:  []privatevideo.Key{newKey(t)},
	}
	all := append([]privatevideo.Option{
		privatevideo.WithStore(f.store), privatevideo.WithClock(f.clock.Now), privatevideo.WithInsecureCookies(),
	}, opts...)
	mw, err := privatevideo.New(f.keys, all...)
	if err != nil {
		t.Fatal(err)
	}
	f.mw = mw
	media := http.StripPrefix("/vod/", http.FileServer(http.Dir(mediaDir)))
	f.srv = httptest.NewServer(mw.Handler(mw.Player(log.wrap(media))))
	t.Cleanup(f.srv.Close)
	return f, log
}

// walker follows an HLS stream the way a player without cookies does: from
// the master, every URI of every playlist, checking each byte against the
// files on disk.
type walker struct {
	t       *testing.T
	f       *fixture
	c       *http.Client
	session string // the session token, once seen in a playlist
	fetched map[string]bool
}

var uriAttr = regexp.MustCompile(`URI="([^"]*)"`)

func (w *walker) playlist(u *url.URL) {
	w.t.Helper()
	body, resp := w.fetch(u, "")
	if resp.ContentLength != int64(len(body)) {
		w.t.Fatalf("%s: Content-Length %d for a %d-byte rewritten playlist", u.Path, resp.ContentLength, len(body))
	}
	if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" {
		w.t.Fatalf("%s: Referrer-Policy %q", u.Path, rp)
	}
	// Without the session parameter, the playlist is the file on disk.
	m := regexp.MustCompile(`[?&]avh=([A-Za-z0-9_-]+)`).FindStringSubmatch(string(body))
	if m == nil {
		w.t.Fatalf("%s: no session token in the playlist:\n%s", u.Path, body)
	}
	if w.session == "" {
		w.session = m[1]
	}
	plain := strings.ReplaceAll(string(body), "?avh="+w.session, "")
	if want := w.disk(u); plain != string(want) {
		w.t.Fatalf("%s: rewritten playlist is not the original plus the session:\n%s", u.Path, body)
	}
	byteRange := ""
	for line := range strings.SplitSeq(string(body), "\n") {
		var ref string
		switch {
		case strings.HasPrefix(line, "#EXT-X-BYTERANGE:"):
			byteRange = strings.TrimPrefix(line, "#EXT-X-BYTERANGE:")
			continue
		case strings.HasPrefix(line, "#"):
			if sub := uriAttr.FindStringSubmatch(line); sub != nil {
				ref = sub[1]
			}
		case strings.TrimSpace(line) != "":
			ref = strings.TrimSpace(line)
		}
		if ref == "" {
			continue
		}
		if !strings.Contains(ref, "avh="+w.session) {
			w.t.Fatalf("%s: URI %q lacks the session token", u.Path, ref)
		}
		next, err := u.Parse(ref)
		if err != nil {
			w.t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(next.Path, ".m3u8"):
			if !w.fetched[next.Path] {
				w.fetched[next.Path] = true
				w.playlist(next)
			}
		default:
			w.resource(next, byteRange)
		}
		byteRange = ""
	}
}

func (w *walker) resource(u *url.URL, byteRange string) {
	w.t.Helper()
	rng := ""
	want := w.disk(u)
	if byteRange != "" {
		var n, off int
		if _, err := fmt.Sscanf(byteRange, "%d@%d", &n, &off); err != nil {
			w.t.Fatalf("byte range %q: %v", byteRange, err)
		}
		rng = fmt.Sprintf("bytes=%d-%d", off, off+n-1)
		want = want[off : off+n]
	}
	body, _ := w.fetch(u, rng)
	if !bytes.Equal(body, want) {
		w.t.Fatalf("%s (%s): got %d bytes that differ from the file's %d", u.Path, rng, len(body), len(want))
	}
	w.fetched[u.Path+" "+rng] = true
}

func (w *walker) fetch(u *url.URL, rng string) ([]byte, *http.Response) {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("User-Agent", "hls-walker/1")
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := http.StatusOK
	if rng != "" {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want {
		w.t.Fatalf("GET %s (%s): %d %s, want %d", u.Path, rng, resp.StatusCode, body, want)
	}
	return body, resp
}

// disk returns the file behind a private URL /vod/v1/token/{T}/{asset}.
func (w *walker) disk(u *url.URL) []byte {
	w.t.Helper()
	_, asset, ok := strings.Cut(u.Path, "/token/")
	if !ok {
		w.t.Fatalf("%s is not a private URL", u.Path)
	}
	_, asset, _ = strings.Cut(asset, "/")
	b, err := os.ReadFile(path.Join(mediaDir, "v1", asset))
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// A player without cookies walks master -> every playlist -> every URI after
// one redemption and gets every byte; a second one with the same URL is
// refused.
func TestHLSWithoutCookies(t *testing.T) {
	f, log := newMediaFixture(t)
	tok := f.issue("v1")
	master, _ := url.Parse(f.srv.URL + tokenPath("v1", tok, "hls/manifest.m3u8"))
	w := &walker{t: t, f: f, c: &http.Client{}, fetched: map[string]bool{}}
	w.fetched[master.Path] = true
	w.playlist(master)

	// master + 3 renditions + I-frames; 3 inits, the key, 13 segments and 4
	// I-frame ranges.
	if n := len(w.fetched); n < 5+3+1+13+4 {
		t.Fatalf("walked %d resources, want at least 26: %v", n, w.fetched)
	}
	for _, r := range log.requests() {
		if strings.Contains(r, "avh") || strings.Contains(r, tok) {
			t.Fatalf("the media handler saw a secret: %s", r)
		}
	}
	res := f.get(f.player("second"), tokenPath("v1", tok, "hls/manifest.m3u8"))
	wantDenied(t, "a second player with the same URL", res, http.StatusForbidden, "token-used")
	if res.header.Get("Privatevideo-Reason") != "token-used" {
		t.Fatalf("denial without the reason header: %v", res.header)
	}
}

func TestPlaylistRequestsAreWholeAndIdentity(t *testing.T) {
	f, log := newMediaFixture(t)
	tok := f.issue("v1")
	res := f.get(f.player("p"), tokenPath("v1", tok, "hls/360p/index.m3u8"), "Range", "bytes=0-9", "Accept-Encoding", "gzip")
	if res.status != http.StatusOK || !strings.Contains(res.body, "avh=") || res.header.Get("Accept-Ranges") != "" {
		t.Fatalf("ranged, compressed playlist request: %d %v %q", res.status, res.header, res.body)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	last := log.hdr[len(log.hdr)-1]
	if last.Get("Range") != "" || last.Get("Accept-Encoding") != "" {
		t.Fatalf("the handler got Range %q and Accept-Encoding %q for a playlist", last.Get("Range"), last.Get("Accept-Encoding"))
	}
}

// An upstream that compresses whatever it is asked: the playlist is decoded,
// rewritten and sent uncompressed with the right length.
func TestGzipPlaylistFromUpstream(t *testing.T) {
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
	playlist := []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n#EXT-X-ENDLIST\n")
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(playlist)
		zw.Close()
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
		w.Header().Set("Etag", `"v1"`)
		w.Write(buf.Bytes())
	})
	srv := httptest.NewServer(mw.Handler(upstream))
	defer srv.Close()
	tok, _ := mw.Issue(context.Background(), "v1")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+tokenPath("v1", tok, "hls/index.m3u8"), nil)
	req.Header.Set("Accept-Encoding", "identity") // read what is on the wire
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || resp.ContentLength != int64(len(body)) ||
		!bytes.Contains(body, []byte("seg0.ts?avh=")) || resp.Header.Get("Etag") != `W/"v1"` {
		t.Fatalf("gzip upstream: %v %q", resp.Header, body)
	}
}

func mustIssue(t *testing.T, mw *privatevideo.Middleware, video string) string {
	t.Helper()
	tok, err := mw.Issue(context.Background(), video)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// MP4 byte ranges: Safari's bytes=0-1 probe, the real range within the
// grace window, If-Range, all within one session.
func TestMP4Ranges(t *testing.T) {
	f, _ := newMediaFixture(t)
	tok := f.issue("v1")
	mp4 := tokenPath("v1", tok, "mp4/source.mp4")
	file, err := os.ReadFile(mediaDir + "/v1/mp4/source.mp4")
	if err != nil {
		t.Fatal(err)
	}
	safari := f.player("safari") // no cookies yet: the probe and the range race the session
	res := f.get(safari, mp4, "Range", "bytes=0-1")
	if res.status != http.StatusPartialContent || res.body != string(file[:2]) {
		t.Fatalf("bytes=0-1 probe: %d %q", res.status, res.body)
	}
	res = f.get(safari, mp4, "Range", "bytes=100-")
	if res.status != http.StatusPartialContent || res.body != string(file[100:]) {
		t.Fatalf("range within the grace window: %d, %d bytes", res.status, len(res.body))
	}
	if res.header.Get("Cache-Control") != "private" {
		t.Fatalf("ranged answer Cache-Control %q", res.header.Get("Cache-Control"))
	}

	b := f.browser("chrome")
	tok2 := f.issue("v1")
	mp4 = tokenPath("v1", tok2, "mp4/source.mp4")
	res = f.get(b, mp4, "Range", "bytes=0-")
	lastModified := res.header.Get("Last-Modified")
	if res.status != http.StatusPartialContent || lastModified == "" {
		t.Fatalf("first range: %d, Last-Modified %q", res.status, lastModified)
	}
	f.clock.Advance(time.Minute) // past the grace: only the cookie opens it now
	res = f.get(b, mp4, "Range", "bytes=10-19", "If-Range", lastModified)
	if res.status != http.StatusPartialContent || res.body != string(file[10:20]) {
		t.Fatalf("If-Range, unchanged: %d %q", res.status, res.body)
	}
	res = f.get(b, mp4, "Range", "bytes=10-19", "If-Range", "Mon, 02 Jan 2006 15:04:05 GMT")
	if res.status != http.StatusOK || len(res.body) != len(file) {
		t.Fatalf("If-Range, changed: %d, %d bytes; want the whole file", res.status, len(res.body))
	}
}

func TestPlayerPage(t *testing.T) {
	f, _ := newMediaFixture(t, privatevideo.WithPublic(func(_ context.Context, id string) bool { return id == "open" }))
	tok := f.issue("v1")
	res := f.get(f.browser("b"), "/vod/v1?token="+tok)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("player page: %d %q", res.status, res.body)
	}
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!regexp.MustCompile(`script-src 'sha256-[A-Za-z0-9+/=]+' 'self';`).MatchString(csp) || !strings.Contains(csp, "worker-src 'none'") {
		t.Fatalf("player page CSP %q", csp)
	}
	for _, want := range []string{
		`data-hls="/vod/v1/token/` + tok + `/hls/manifest.m3u8"`,
		`data-mp4="/vod/v1/token/` + tok + `/mp4/source.mp4"`,
		`data-session="/vod/v1/token/` + tok + `/session"`,
		`data-mode="cookie"`,
		"This link has already been used.",
	} {
		if !strings.Contains(res.body, want) {
			t.Fatalf("player page lacks %s:\n%s", want, res.body)
		}
	}
	if strings.Contains(res.body, "http://") || strings.Contains(res.body, "https://") || strings.Contains(res.body, "<script src") {
		t.Fatalf("player page refers beyond its origin:\n%s", res.body)
	}
	if res.header.Get("Cache-Control") != "no-store" || res.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("player page headers %v", res.header)
	}
	// The page's copy of hls.js, at its own URL: whole, as its integrity
	// says, gzipped when asked, and nothing that redeems.
	lib := regexp.MustCompile(`data-lib-param="(player\.lib)" data-lib="(hls-[0-9.]+\.min\.js)" data-lib-integrity="(sha384-[A-Za-z0-9+/=]+)"`).FindStringSubmatch(res.body)
	if lib == nil {
		t.Fatalf("player page names no hls.js:\n%s", res.body)
	}
	libPath := "/vod/v1?token=" + tok + "&" + lib[1] + "=" + lib[2]
	js := f.get(f.browser("b"), libPath, "Accept-Encoding", "identity")
	sum := sha512.Sum384([]byte(js.body))
	if js.status != http.StatusOK || "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) != lib[3] || !strings.Contains(js.body, `"`+strings.TrimSuffix(strings.TrimPrefix(lib[2], "hls-"), ".min.js")+`"`) {
		t.Fatalf("hls.js: %d, %d bytes, not the integrity %s of its version", js.status, len(js.body), lib[3])
	}
	if js.header.Get("Content-Type") != "text/javascript; charset=utf-8" || js.header.Get("X-Content-Type-Options") != "nosniff" ||
		js.header.Get("Cache-Control") != "private, max-age=86400, immutable" || js.header.Get("Content-Encoding") != "" {
		t.Fatalf("hls.js headers %v", js.header)
	}
	for _, ae := range []string{"gzip", "br, gzip;q=0.5", "*", "deflate, *;q=0.1"} {
		gz := f.get(f.browser("b"), libPath, "Accept-Encoding", ae)
		zr, err := gzip.NewReader(strings.NewReader(gz.body))
		if err != nil || gz.header.Get("Content-Encoding") != "gzip" || gz.header.Get("Content-Length") != fmt.Sprint(len(gz.body)) {
			t.Fatalf("hls.js, Accept-Encoding %q: %v %v", ae, err, gz.header)
		}
		if plain, err := io.ReadAll(zr); err != nil || string(plain) != js.body {
			t.Fatalf("hls.js, Accept-Encoding %q: the gzip body is not the library (%v)", ae, err)
		}
	}
	for _, ae := range []string{"gzip;q=0", "gzip;q=0, *", "br"} {
		if plain := f.get(f.browser("b"), libPath, "Accept-Encoding", ae); plain.header.Get("Content-Encoding") != "" || plain.body != js.body {
			t.Fatalf("hls.js, Accept-Encoding %q: %v", ae, plain.header)
		}
	}
	if res := f.get(f.browser("b"), "/vod/v1?token="+tok+"&"+lib[1]+"=hls-0.0.1.min.js"); res.status != http.StatusNotFound {
		t.Fatalf("another hls.js version: %d, want 404", res.status)
	}
	if s := f.state(tok); s != store.Issued {
		t.Fatalf("the page redeemed the token (%v)", s)
	}
	res = f.get(f.browser("b"), "/vod/open?"+lib[1]+"="+lib[2])
	if res.status != http.StatusOK || res.body != js.body || res.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("hls.js for a public page: %d %v", res.status, res.header)
	}
	res = f.get(f.browser("b"), "/vod/open")
	if res.status != http.StatusOK || !strings.Contains(res.body, `data-hls="/vod/open/hls/manifest.m3u8"`) || !strings.Contains(res.body, `data-session=""`) {
		t.Fatalf("public player page: %d\n%s", res.status, res.body)
	}
}

func TestPageBoundMode(t *testing.T) {
	f, _ := newMediaFixture(t, privatevideo.WithPageBound())
	tok := f.issue("v1")
	page := f.browser("one")
	res := f.get(page, "/vod/v1?token="+tok)
	if !strings.Contains(res.body, `data-mode="page"`) {
		t.Fatalf("page-bound player page lacks its mode:\n%s", res.body)
	}
	res = f.do(page, http.MethodPost, tokenPath("v1", tok, "session"))
	var s struct {
		SessionToken string `json:"session_token"`
	}
	if res.status != http.StatusOK || json.Unmarshal([]byte(res.body), &s) != nil || res.header.Get("Set-Cookie") != "" {
		t.Fatalf("page-bound session endpoint: %d %v %q", res.status, res.header, res.body)
	}
	if res := f.get(page, tokenPath("v1", tok, "thumbnail.jpg")+"?avh="+s.SessionToken); res.status != http.StatusOK {
		t.Fatalf("media with the session token: %d %s", res.status, res.reason)
	}
	wantDenied(t, "media without it (no cookie in this mode)", f.get(page, tokenPath("v1", tok, "thumbnail.jpg")), http.StatusForbidden, "token-used")
	// Another tab of the same browser, at once: no grace in this mode.
	wantDenied(t, "another page", f.do(page, http.MethodPost, tokenPath("v1", tok, "session")), http.StatusForbidden, "token-used")
}

func TestCORS(t *testing.T) {
	t.Run("listed origin, with credentials", func(t *testing.T) {
		f := newFixture(t, privatevideo.WithCORS("https://player.example"))
		tok := f.issue("v1")
		path := tokenPath("v1", tok, "hls/manifest.m3u8")
		res := f.do(f.player("p"), http.MethodOptions, path, "Origin", "https://player.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "range")
		if res.status != http.StatusNoContent || res.header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
			res.header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(res.header.Get("Access-Control-Allow-Headers"), "Range") {
			t.Fatalf("preflight: %d %v", res.status, res.header)
		}
		if s := f.state(tok); s != store.Issued {
			t.Fatalf("a preflight touched the token (%v)", s)
		}
		res = f.get(f.player("p"), path, "Origin", "https://player.example")
		if res.status != http.StatusOK || res.header.Get("Access-Control-Allow-Origin") != "https://player.example" || !strings.Contains(res.header.Get("Vary"), "Origin") {
			t.Fatalf("cross-origin GET: %d %v", res.status, res.header)
		}
		res = f.get(f.player("q"), path, "Origin", "https://player.example")
		if res.reason != "token-used" || res.header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
			!strings.Contains(res.header.Get("Access-Control-Expose-Headers"), "Privatevideo-Reason") {
			t.Fatalf("cross-origin denial must be readable: %d %v", res.status, res.header)
		}
		res = f.get(f.player("r"), path, "Origin", "https://evil.example")
		if res.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("an unlisted origin got %q", res.header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("any origin, never with credentials", func(t *testing.T) {
		f := newFixture(t, privatevideo.WithCORS("*"))
		res := f.do(f.player("p"), http.MethodOptions, "/vod/v1/x", "Origin", "https://a.example", "Access-Control-Request-Method", "GET")
		if res.header.Get("Access-Control-Allow-Origin") != "*" || res.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("'*' preflight: %v", res.header)
		}
	})
	t.Run("validation", func(t *testing.T) {
		for _, origins := range [][]string{{"*", "https://a.example"}, {"player.example"}, {"https://a.example/path"}} {
			if _, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithCORS(origins...)); err == nil {
				t.Errorf("WithCORS(%q) accepted", origins)
			}
		}
	})
}

// A client that brought its session in a cookie will bring it to every URI
// of the playlist too: it gets the playlist as it is. The redeeming request
// and requests with avh get it rewritten.
func TestPlaylistRewrittenOnlyWithoutCookie(t *testing.T) {
	f, _ := newMediaFixture(t)
	tok := f.issue("v1")
	file, err := os.ReadFile(mediaDir + "/v1/hls/360p/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser("b")
	playlist := tokenPath("v1", tok, "hls/360p/index.m3u8")
	first := f.get(b, playlist)
	if first.status != http.StatusOK || !strings.Contains(first.body, "?avh=") {
		t.Fatalf("the redeeming request: %d, rewritten: %t", first.status, strings.Contains(first.body, "?avh="))
	}
	again := f.get(b, playlist)
	if again.status != http.StatusOK || again.body != string(file) {
		t.Fatalf("with the session cookie: %d, want the playlist unchanged:\n%s", again.status, again.body)
	}
	m := regexp.MustCompile(`avh=([A-Za-z0-9_-]+)`).FindStringSubmatch(first.body)
	viaURL := f.get(f.player("p"), playlist+"?avh="+m[1])
	if viaURL.status != http.StatusOK || !strings.Contains(viaURL.body, "?avh="+m[1]) {
		t.Fatalf("with avh: %d, want it rewritten:\n%s", viaURL.status, viaURL.body)
	}
}
