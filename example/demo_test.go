//go:build unix

package main

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// A link plays in the browser that opens it first, through a refresh, and
// is refused to another browser.
func TestDemoLinkPlaysOnceThenRefused(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	v := e.video("demo")
	if v.Public || v.Token == "" || v.Title == "" {
		t.Fatalf("GET /videos/demo = %+v, want a private video with a token and a title", v)
	}
	for name, u := range map[string]string{"player": v.Assets.Player, "hls": v.Assets.HLS, "mp4": v.Assets.MP4, "thumbnail": v.Assets.Thumbnail} {
		if !strings.HasPrefix(u, e.base+"/vod/demo") || !strings.Contains(u, v.Token) {
			t.Errorf("assets.%s = %q: want a URL under %s/vod/demo with the call's token", name, u, e.base)
		}
	}
	mediaRequests := 0

	one := viewer(t, "viewer-one/1.0")
	resp, master := get(t, one, v.Assets.HLS)
	mediaRequests++
	wantStatus(t, "client 1, HLS master", resp, master, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("HLS master Content-Type = %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
		t.Errorf("HLS master Cache-Control = %q, want private", cc)
	}
	if c := resp.Header.Get("Set-Cookie"); c == "" || strings.Contains(c, "Secure") {
		t.Errorf("Set-Cookie = %q: want a session cookie without Secure, the public URL being http", c)
	}

	rendition := playlistURI(t, v.Assets.HLS, master, "360p/index.m3u8")
	resp, playlist := get(t, one, rendition)
	mediaRequests++
	wantStatus(t, "client 1, rendition playlist", resp, playlist, http.StatusOK)

	segment := playlistURI(t, rendition, playlist, "seg1.m4s")
	resp, seg := get(t, one, segment)
	mediaRequests++
	wantStatus(t, "client 1, segment", resp, seg, http.StatusOK)
	if want := readFile(t, "media/demo/hls/360p/seg1.m4s"); !bytes.Equal(seg, want) {
		t.Errorf("segment: %d bytes, want the %d bytes of media/demo/hls/360p/seg1.m4s", len(seg), len(want))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "video/iso.segment" {
		t.Errorf("segment Content-Type = %q", ct)
	}

	// The MP4's URL carries no session token: the cookie alone opens it.
	resp, mp4 := get(t, one, v.Assets.MP4, "Range", "bytes=0-1023")
	mediaRequests++
	wantStatus(t, "client 1, MP4 by cookie", resp, mp4, http.StatusPartialContent)
	if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" {
		t.Errorf("MP4 Content-Type = %q", ct)
	}

	// A refresh plays again.
	resp, again := get(t, one, v.Assets.HLS)
	mediaRequests++
	wantStatus(t, "client 1, refresh", resp, again, http.StatusOK)

	// Another browser is refused, whatever it asks for.
	two := viewer(t, "viewer-two/1.0")
	for _, u := range []string{v.Assets.HLS, v.Assets.MP4, v.Assets.Thumbnail} {
		resp, body := get(t, two, u)
		mediaRequests++
		wantProblem(t, "client 2", resp, body, http.StatusForbidden, "token-used")
	}

	// Every call mints its own token.
	if w := e.video("demo"); w.Token == v.Token {
		t.Errorf("two calls gave the same token %s…", v.Token[:8])
	}

	// One log line per decision, and no secret in any line.
	decisions := 0
	for _, line := range e.logLines() {
		if line["msg"] == "decision" {
			decisions++
			if tok, _ := line["token"].(string); tok != v.Token[:8]+"…" {
				t.Errorf("decision logged token %q, want %q", tok, v.Token[:8]+"…")
			}
		}
	}
	if decisions != mediaRequests {
		t.Errorf("%d decision lines for %d media requests", decisions, mediaRequests)
	}
	assertNoSecrets(t, e, v.Token)
}

// The banner's player URL answers the player page, which holds the token's
// media URLs and redeems nothing itself.
func TestDemoPlayerPage(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	if !strings.HasPrefix(e.player, e.base+"/vod/demo?token=") {
		t.Fatalf("banner player URL %q, want %s/vod/demo?token=…", e.player, e.base)
	}
	tok := e.player[strings.Index(e.player, "=")+1:]
	one := viewer(t, "viewer-one/1.0")
	resp, page := get(t, one, e.player, "Accept", "text/html")
	wantStatus(t, "player page", resp, page, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("player page Content-Type = %q", ct)
	}
	if !bytes.Contains(page, []byte("/vod/demo/token/"+tok+"/hls/manifest.m3u8")) {
		t.Errorf("player page does not hold the token's HLS URL:\n%.500s", page)
	}
	// The page did not redeem: another browser's first media request does.
	two := viewer(t, "viewer-two/1.0")
	hls := e.base + "/vod/demo/token/" + tok + "/hls/manifest.m3u8"
	resp, body := get(t, two, hls)
	wantStatus(t, "first media request after the page", resp, body, http.StatusOK)
	resp, body = get(t, one, hls)
	wantProblem(t, "the page's browser, second", resp, body, http.StatusForbidden, "token-used")
}

// A public video plays without a token; made private again, it does not.
func TestDemoPublicVideo(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	var v videoJSON
	resp := e.api("PATCH", "/videos/short", `{"public": true}`, &v)
	wantStatus(t, "PATCH public", resp, nil, http.StatusOK)
	if !v.Public || v.Token != "" || v.Assets.HLS != e.base+"/vod/short/hls/manifest.m3u8" {
		t.Fatalf("PATCH public answered %+v, want public URLs without a token", v)
	}
	if got := e.video("short"); !got.Public || got.Assets.MP4 != e.base+"/vod/short/mp4/source.mp4" {
		t.Fatalf("GET after PATCH = %+v", got)
	}
	anyone := viewer(t, "anyone/1.0")
	resp, body := get(t, anyone, v.Assets.HLS)
	wantStatus(t, "public HLS without a token", resp, body, http.StatusOK)
	resp, body = get(t, anyone, v.Assets.Thumbnail)
	wantStatus(t, "public thumbnail", resp, body, http.StatusOK)
	if !bytes.Equal(body, readFile(t, "media/short/thumbnail.jpg")) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("public thumbnail: %d bytes of %q", len(body), resp.Header.Get("Content-Type"))
	}
	// The other video stays private.
	resp, body = get(t, anyone, e.base+"/vod/demo/hls/manifest.m3u8")
	wantProblem(t, "private video without a token", resp, body, http.StatusForbidden, "token-required")

	resp = e.api("PATCH", "/videos/short", `{"public": false}`, &v)
	wantStatus(t, "PATCH private", resp, nil, http.StatusOK)
	if v.Public || v.Token == "" {
		t.Fatalf("PATCH private answered %+v", v)
	}
	resp, body = get(t, anyone, e.base+"/vod/short/hls/manifest.m3u8")
	wantProblem(t, "private again, without a token", resp, body, http.StatusForbidden, "token-required")
}

// Revoking a token stops its redemption; with -revocation-check, its live
// session too. Without it, a live session plays on.
func TestDemoRevoke(t *testing.T) {
	t.Parallel()
	for _, check := range []bool{false, true} {
		var args []string
		if check {
			args = append(args, "-revocation-check")
		}
		e := startEdge(t, nil, args...)

		unused := e.video("demo")
		resp := e.api("DELETE", "/videos/demo/tokens/"+unused.Token, "", nil)
		wantStatus(t, "DELETE an unused token", resp, nil, http.StatusNoContent)
		resp, body := get(t, viewer(t, "viewer/1.0"), unused.Assets.HLS)
		wantProblem(t, "revoked before use", resp, body, http.StatusForbidden, "token-revoked")
		resp = e.api("DELETE", "/videos/demo/tokens/"+unused.Token, "", nil)
		wantStatus(t, "DELETE again", resp, nil, http.StatusNoContent)

		used := e.video("demo")
		one := viewer(t, "viewer-one/1.0")
		resp, body = get(t, one, used.Assets.HLS)
		wantStatus(t, "before revocation", resp, body, http.StatusOK)
		resp = e.api("DELETE", "/videos/demo/tokens/"+used.Token, "", nil)
		wantStatus(t, "DELETE a used token", resp, nil, http.StatusNoContent)
		resp, body = get(t, one, used.Assets.HLS)
		if check {
			wantProblem(t, "live session, revocation check on", resp, body, http.StatusForbidden, "token-revoked")
		} else {
			wantStatus(t, "live session, revocation check off", resp, body, http.StatusOK)
		}
		assertNoSecrets(t, e, unused.Token, used.Token)
	}
}

// In page-bound mode the session lives in the page, not in a cookie: the
// session endpoint answers it once, and another browser is refused.
func TestDemoPageMode(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil, "-mode", "page")
	v := e.video("demo")
	session := e.base + "/vod/demo/token/" + v.Token + "/session"

	one := viewer(t, "viewer-one/1.0")
	resp, body := post(t, one, session)
	wantStatus(t, "session endpoint", resp, body, http.StatusOK)
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("page-bound mode set a cookie: %.40s…", c)
	}
	var s struct {
		SessionToken string `json:"session_token"`
	}
	decodeJSON(t, body, &s)
	if s.SessionToken == "" {
		t.Fatalf("session endpoint answered %s", body)
	}
	resp, body = get(t, one, v.Assets.HLS+"?avh="+url.QueryEscape(s.SessionToken))
	wantStatus(t, "HLS with the page's session", resp, body, http.StatusOK)
	resp, body = get(t, one, v.Assets.HLS)
	wantProblem(t, "HLS without the page's session", resp, body, http.StatusForbidden, "token-used")

	two := viewer(t, "viewer-two/1.0")
	resp, body = post(t, two, session)
	wantProblem(t, "another browser", resp, body, http.StatusForbidden, "token-used")
}

// Session cookies are Secure exactly when the public URL is https.
func TestDemoSecureCookiesWithHTTPSPublicURL(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil, "-public-url", "https://media.example.test")
	v := e.video("demo")
	const public = "https://media.example.test"
	if !strings.HasPrefix(v.Assets.HLS, public+"/vod/demo/token/") {
		t.Fatalf("assets.hls = %q, want it under %s", v.Assets.HLS, public)
	}
	// This server answers plain HTTP: TLS ends in front of it.
	resp, body := get(t, viewer(t, "viewer/1.0"), e.base+strings.TrimPrefix(v.Assets.HLS, public))
	wantStatus(t, "HLS", resp, body, http.StatusOK)
	if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "; Secure") {
		t.Errorf("Set-Cookie = %q: want Secure for an https public URL", c)
	}
}

// assertNoSecrets stops the server and fails the test if its log holds the
// API key or a whole token.
func assertNoSecrets(t *testing.T, e *edge, tokens ...string) {
	t.Helper()
	log := e.finalLog()
	if strings.Contains(log, e.apiKey) {
		t.Error("the log holds the API key")
	}
	for _, tok := range tokens {
		if strings.Contains(log, tok) {
			t.Errorf("the log holds the whole token %s…", tok[:8])
		}
	}
	if strings.Contains(log, "avh=") || strings.Contains(log, "pv_session") {
		t.Error("the log holds a session token")
	}
}

// playlistURI finds the URI line of playlist (fetched from base) that starts
// with name and resolves it.
func playlistURI(t *testing.T, base string, playlist []byte, name string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(playlist), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, name) {
			u, err := b.Parse(line)
			if err != nil {
				t.Fatal(err)
			}
			return u.String()
		}
	}
	t.Fatalf("no %s in the playlist:\n%s", name, playlist)
	return ""
}

func post(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
