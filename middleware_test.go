package privatevideo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// Row 1.
func TestOutsidePrefixPassesUntouched(t *testing.T) {
	f := newFixture(t)
	res := f.get(f.player("p"), "/other/thing?token=garbage&avh=x")
	wantOK(t, "outside the prefix", res)
	if got := field(res.body, "uri"); got != "/other/thing?token=garbage&avh=x" {
		t.Fatalf("request URI %q, want it untouched", got)
	}
	if n := f.store.Calls(); n != 0 {
		t.Fatalf("store calls = %d, want 0", n)
	}
}

// Row 2.
func TestPublicVideoPassesStripped(t *testing.T) {
	f := newFixture(t, privatevideo.WithPublic(func(_ context.Context, id string) bool { return id == "open" }))
	res := f.get(f.player("p"), "/vod/open/hls/manifest.m3u8?a=1&token=not-even-a-token&avh=junk&b=2")
	wantOK(t, "public video", res)
	if got := field(res.body, "uri"); got != "/vod/open/hls/manifest.m3u8?a=1&b=2" {
		t.Fatalf("request URI %q, want token and avh removed", got)
	}
	tok := privatevideo.NewToken()
	res = f.get(f.player("p"), tokenPath("open", tok, "mp4/source.mp4"))
	wantOK(t, "public video, token in the path", res)
	if got := field(res.body, "path"); got != "/vod/open/mp4/source.mp4" {
		t.Fatalf("path %q, want the public form", got)
	}
	if n := f.store.Calls(); n != 0 {
		t.Fatalf("store calls = %d, want 0 for public videos", n)
	}
}

// Row 3.
func TestPreflightNeverRedeems(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	res := f.do(f.player("p"), http.MethodOptions, tokenPath("v1", tok, "hls/manifest.m3u8"),
		"Origin", "https://embed.example", "Access-Control-Request-Method", "GET")
	if res.status != http.StatusNoContent || res.body != "" || res.header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Fatalf("preflight: %d %q Allow %q, want an empty 204 from the middleware", res.status, res.body, res.header.Get("Allow"))
	}
	if s := f.state(tok); s != store.Issued {
		t.Fatalf("after a preflight the token is %v, want issued", s)
	}
}

// Row 4.
func TestMalformedRequests(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	other := privatevideo.NewToken()
	calls := f.store.Calls()
	for _, path := range []string{
		"/vod/bad.id/hls/manifest.m3u8",
		"/vod/" + strings.Repeat("a", 65) + "/x",
		"/vod/",
		"/vod",
		"/vod//v1/x",
		"/vod/v1//token/x", // the token segment is reserved
		"/vod/v1/token",
		"/vod/v1/token/",
		"/vod/v1/token/not-a-uuid/hls/manifest.m3u8",
		"/vod/v1/token/" + strings.ToUpper(tok[:35]) + "/x", // 35 characters
		"/vod/v1/token/" + tok[:14] + "1" + tok[15:] + "/x", // version 1
		"/vod/v1/token/" + tok + "/x?token=" + other,        // two tokens that disagree
		"/vod/v1?token=" + tok + "&token=" + other,
		"/vod/v1token=nope",
		"/vod/v1tokn=" + tok,
		"/vod/v1/token/" + tok + "/hls%2F..%2F..%2Fsecret",
		"/vod/v1/token/" + tok + "/hls/a%5Cb",
		"/vod/v1/token/" + tok + "/a%00b",
		"/x/../vod/v1/token/" + tok + "/hls/manifest.m3u8",
		"/v%6Fd/v1/token/" + tok + "/x",
		"/vod/v1/x?" + strings.Repeat("a", 5000),
	} {
		res := f.get(f.player("p"), path)
		wantDenied(t, path, res, http.StatusBadRequest, "malformed")
	}
	if n := f.store.Calls(); n != calls {
		t.Fatalf("malformed requests made %d store calls, want none", n-calls)
	}
	if s := f.state(tok); s != store.Issued {
		t.Fatalf("token is %v after malformed requests, want issued", s)
	}
}

// Rows 5 and 8, and the headline promise: one browser plays and refreshes,
// another is refused.
func TestOneBrowserPlaysAnotherIsRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	b1, b2 := f.browser("one"), f.browser("two")
	manifest := tokenPath("v1", tok, "hls/manifest.m3u8")

	res := f.get(b1, manifest)
	wantOK(t, "first open", res)
	if got := field(res.body, "path"); got != "/vod/v1/hls/manifest.m3u8" {
		t.Fatalf("handler saw %q, want the public path", got)
	}
	if field(res.body, "session") != "true" || field(res.body, "session-token") != tok || field(res.body, "session-video") != "v1" {
		t.Fatalf("handler context: %s; want the session of v1 and the token", res.body)
	}
	calls := f.store.Calls()
	for i := range 3 {
		res = f.get(b1, manifest)
		wantOK(t, "refresh", res)
		res = f.get(b1, tokenPath("v1", tok, "hls/720p/seg3.ts"))
		wantOK(t, "segment", res)
		_ = i
	}
	if n := f.store.Calls(); n != calls {
		t.Fatalf("requests with a valid session made %d store calls, want none", n-calls)
	}
	wantDenied(t, "second browser", f.get(b2, manifest), http.StatusForbidden, "token-used")
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	wantDenied(t, "second browser, after the grace", f.get(b2, manifest), http.StatusForbidden, "token-used")
	wantOK(t, "first browser, still", f.get(b1, manifest))
}

func TestSessionLastsUntilItsEnd(t *testing.T) {
	f := newFixture(t, privatevideo.WithTokenTTL(time.Hour))
	tok := f.issue("v1")
	b := f.browser("one")
	manifest := tokenPath("v1", tok, "hls/manifest.m3u8")
	wantOK(t, "open", f.get(b, manifest))
	f.clock.Advance(23 * time.Hour)
	wantOK(t, "23 hours later (past the token's own expiry)", f.get(b, manifest))
	f.clock.Advance(time.Hour + time.Second)
	// The browser still sends the cookie (its Max-Age is real time); the
	// middleware's clock says the session is over: it says so.
	wantDenied(t, "after 24 hours", f.get(b, manifest), http.StatusForbidden, "session-expired")
	// Without the cookie, the token's record is gone.
	wantDenied(t, "after 24 hours, another browser", f.get(f.browser("two"), manifest), http.StatusForbidden, "token-unknown")
}

func TestWrongVideoDoesNotConsume(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("video-a")
	b := f.browser("one")
	wantDenied(t, "token of A on B", f.get(b, tokenPath("video-b", tok, "hls/manifest.m3u8")), http.StatusForbidden, "wrong-video")
	if s := f.state(tok); s != store.Issued {
		t.Fatalf("after wrong-video the token is %v, want issued", s)
	}
	wantOK(t, "token on A", f.get(b, tokenPath("video-a", tok, "hls/manifest.m3u8")))
	// A session of A never opens B either.
	wantDenied(t, "session of A on B", f.get(b, tokenPath("video-b", tok, "x")), http.StatusForbidden, "wrong-video")
}

func TestGraceAdmitsSameClientParallelFirstRequests(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	paths := []string{"hls/manifest.m3u8", "thumbnail.jpg", "mp4/source.mp4", "hls/720p/seg0.ts"}
	var wg sync.WaitGroup
	results := make([]result, len(paths))
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each request on a fresh jar: none carries the session yet.
			results[i] = f.get(f.browser("same"), tokenPath("v1", tok, p))
		}()
	}
	wg.Wait()
	for i, res := range results {
		wantOK(t, "parallel first request "+paths[i], res)
	}
	wantDenied(t, "another client within the grace", f.get(f.browser("other"), tokenPath("v1", tok, "thumbnail.jpg")), http.StatusForbidden, "token-used")
	// The session comes back (the player's next request): confirmed.
	b := f.browser("same")
	wantOK(t, "first open of the jar", f.get(b, tokenPath("v1", tok, "thumbnail.jpg")))
	wantOK(t, "the session in use", f.get(b, tokenPath("v1", tok, "hls/720p/seg1.ts")))
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	wantDenied(t, "same client after the grace", f.get(f.browser("same"), tokenPath("v1", tok, "thumbnail.jpg")), http.StatusForbidden, "token-used")
}

func TestGraceOff(t *testing.T) {
	f := newFixture(t, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
	tok := f.issue("v1")
	wantOK(t, "first", f.get(f.browser("same"), tokenPath("v1", tok, "a")))
	wantDenied(t, "same client, grace off", f.get(f.browser("same"), tokenPath("v1", tok, "b")), http.StatusForbidden, "token-used")
}

// The retry window: a client whose redemption it never used (its answer was
// lost, its store call timed out and ran late) gets back in after the grace
// window, until its session first comes back; nobody else ever does.
func TestRetryWindowUntilTheSessionIsUsed(t *testing.T) {
	f := newFixture(t, privatevideo.WithGrace(time.Second), privatevideo.WithRetryWindow(30*time.Second))
	tok := f.issue("v1")
	wantOK(t, "first open, answer lost", f.get(f.browser("same"), tokenPath("v1", tok, "a.ts")))
	f.clock.Advance(10 * time.Second)
	wantDenied(t, "another client", f.get(f.player("other"), tokenPath("v1", tok, "a.ts")), http.StatusForbidden, "token-used")
	b := f.browser("same")
	wantOK(t, "the same client's retry after the grace", f.get(b, tokenPath("v1", tok, "a.ts")))
	wantOK(t, "its session comes back", f.get(b, tokenPath("v1", tok, "b.ts")))
	wantDenied(t, "the same client again, once the session is in use", f.get(f.browser("same"), tokenPath("v1", tok, "a.ts")), http.StatusForbidden, "token-used")

	tok2 := f.issue("v1")
	wantOK(t, "first open", f.get(f.browser("same"), tokenPath("v1", tok2, "a.ts")))
	f.clock.Advance(31 * time.Second)
	wantDenied(t, "the same client after the retry window", f.get(f.browser("same"), tokenPath("v1", tok2, "a.ts")), http.StatusForbidden, "token-used")
}

// Row 7.
func TestNonRedeemingRequests(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	manifest := tokenPath("v1", tok, "hls/manifest.m3u8")
	cases := []struct {
		name   string
		method string
		header []string
	}{
		{"HEAD", http.MethodHead, nil},
		{"Sec-Purpose prefetch", http.MethodGet, []string{"Sec-Purpose", "prefetch"}},
		{"Purpose prefetch", http.MethodGet, []string{"Purpose", "prefetch"}},
		{"Slack", http.MethodGet, []string{"User-Agent", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}},
		{"iMessage", http.MethodGet, []string{"User-Agent", "Mozilla/5.0 (Macintosh) facebookexternalhit/1.1 Facebot Twitterbot/1.0"}},
		{"WhatsApp", http.MethodGet, []string{"User-Agent", "WhatsApp/2.23.20.0"}},
		{"Discord", http.MethodGet, []string{"User-Agent", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"}},
		{"Teams", http.MethodGet, []string{"User-Agent", "Mozilla/5.0 SkypeUriPreview Preview/0.5"}},
	}
	for _, c := range cases {
		res := f.do(f.player("p"), c.method, manifest, c.header...)
		if c.method == http.MethodHead {
			if res.status != http.StatusForbidden {
				t.Fatalf("%s: status %d, want 403", c.name, res.status)
			}
		} else {
			wantDenied(t, c.name, res, http.StatusForbidden, "not-redeemed")
		}
		if s := f.state(tok); s != store.Issued {
			t.Fatalf("after %s the token is %v, want issued", c.name, s)
		}
	}
	wantOK(t, "a real open after all that", f.get(f.browser("b"), manifest))
	wantDenied(t, "preview agent after redemption", f.get(f.player("p"), manifest, "User-Agent", "TelegramBot (like TwitterBot)"), http.StatusForbidden, "token-used")
}

func TestPreviewAgentsAreConfigurable(t *testing.T) {
	f := newFixture(t, privatevideo.WithPreviewAgents("MyScanner"))
	tok := f.issue("v1")
	path := tokenPath("v1", tok, "x")
	wantDenied(t, "configured agent", f.get(f.player("p"), path, "User-Agent", "myscanner/2"), http.StatusForbidden, "not-redeemed")
	wantOK(t, "Slack is no longer on the list", f.get(f.player("p"), path, "User-Agent", "Slackbot 1.0"))
}

// Row 6.
func TestPlayerPageIsAShell(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	for _, path := range []string{"/vod/v1?token=" + tok, "/vod/v1token=" + tok, "/vod/v1?token=" + strings.ToUpper(tok), "/vod/v1/token/" + tok} {
		res := f.get(f.browser("b"), path)
		wantOK(t, path, res)
		if field(res.body, "path") != "/vod/v1" || field(res.body, "token") != tok || field(res.body, "session") != "false" {
			t.Fatalf("%s: handler saw %s; want /vod/v1 with the token and no session", path, res.body)
		}
		if rp := res.header.Get("Referrer-Policy"); rp != "no-referrer" {
			t.Fatalf("%s: Referrer-Policy %q, want no-referrer", path, rp)
		}
		if s := f.state(tok); s != store.Issued {
			t.Fatalf("%s: the page redeemed the token (%v)", path, s)
		}
	}
}

// Row 9.
func TestNoToken(t *testing.T) {
	f := newFixture(t)
	wantDenied(t, "asset", f.get(f.player("p"), "/vod/v1/hls/manifest.m3u8"), http.StatusForbidden, "token-required")
	res := f.get(f.browser("b"), "/vod/v1", "Accept", "text/html,application/xhtml+xml")
	if res.status != http.StatusForbidden || !strings.Contains(res.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.body, "private") || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("player page without a token: %d %q %q, want the HTML denial page", res.status, res.header.Get("Content-Type"), res.body)
	}
}

func TestUnknownAndExpiredTokens(t *testing.T) {
	f := newFixture(t, privatevideo.WithTokenTTL(time.Hour))
	wantDenied(t, "never issued", f.get(f.player("p"), tokenPath("v1", privatevideo.NewToken(), "x")), http.StatusForbidden, "token-unknown")
	tok := f.issue("v1")
	f.clock.Advance(time.Hour + time.Second)
	wantDenied(t, "expired unredeemed", f.get(f.player("p"), tokenPath("v1", tok, "x")), http.StatusForbidden, "token-unknown")
}

func TestRevocation(t *testing.T) {
	ctx := context.Background()
	t.Run("before redemption", func(t *testing.T) {
		f := newFixture(t)
		tok := f.issue("v1")
		if err := f.mw.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		wantDenied(t, "revoked", f.get(f.browser("b"), tokenPath("v1", tok, "x")), http.StatusForbidden, "token-revoked")
		wantDenied(t, "revoked, HEAD's explanation", f.get(f.player("p"), tokenPath("v1", tok, "x"), "Sec-Purpose", "prefetch"), http.StatusForbidden, "token-revoked")
		if err := f.mw.Revoke(ctx, privatevideo.NewToken()); !errors.Is(err, store.ErrUnknown) {
			t.Fatalf("Revoke of an unknown token: %v, want store.ErrUnknown", err)
		}
		if err := f.mw.Revoke(ctx, "nope"); !errors.Is(err, privatevideo.ErrMalformed) {
			t.Fatalf("Revoke of a malformed token: %v, want ErrMalformed", err)
		}
	})
	t.Run("live session, without checks", func(t *testing.T) {
		f := newFixture(t)
		tok := f.issue("v1")
		b := f.browser("b")
		wantOK(t, "open", f.get(b, tokenPath("v1", tok, "x")))
		if err := f.mw.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		wantOK(t, "live session after revoke, checks off", f.get(b, tokenPath("v1", tok, "x")))
	})
	t.Run("live session, with checks", func(t *testing.T) {
		f := newFixture(t, privatevideo.WithRevocationCheck(privatevideo.KeepPlaying))
		tok := f.issue("v1")
		b := f.browser("b")
		wantOK(t, "open", f.get(b, tokenPath("v1", tok, "x")))
		wantOK(t, "refresh", f.get(b, tokenPath("v1", tok, "x")))
		if err := f.mw.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		wantDenied(t, "live session after revoke", f.get(b, tokenPath("v1", tok, "x")), http.StatusForbidden, "token-revoked")
	})
}

// The session endpoint, and the avh carrier for players without cookies.
func TestSessionEndpointAndAvh(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	p := f.player("native")
	res := f.do(p, http.MethodPost, tokenPath("v1", tok, "session"))
	if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("session endpoint: %d %q", res.status, res.body)
	}
	var answer struct {
		SessionToken string `json:"session_token"`
		ExpiresAt    string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(res.body), &answer); err != nil || answer.SessionToken == "" {
		t.Fatalf("session endpoint body %q: %v", res.body, err)
	}
	exp, err := time.Parse(time.RFC3339, answer.ExpiresAt)
	if err != nil || exp.Sub(f.clock.Now()) < 23*time.Hour || exp.Sub(f.clock.Now()) > 24*time.Hour {
		t.Fatalf("expires_at %q, want about 24 hours from now", answer.ExpiresAt)
	}
	if url.QueryEscape(answer.SessionToken) != answer.SessionToken {
		t.Fatalf("session token %q is not URL-safe", answer.SessionToken)
	}

	avh := "?avh=" + answer.SessionToken
	for _, path := range []string{tokenPath("v1", tok, "hls/manifest.m3u8") + avh, "/vod/v1/hls/720p/seg1.ts" + avh, "/vod/v1/hls/x.ts?a=1&avh=" + answer.SessionToken + "&b=2"} {
		res := f.get(p, path)
		wantOK(t, path, res)
		if uri := field(res.body, "uri"); strings.Contains(uri, "avh") || strings.Contains(uri, tok) {
			t.Fatalf("handler saw %q: session token or token not removed", uri)
		}
	}
	// The endpoint answers a valid session again without redeeming.
	res = f.get(p, tokenPath("v1", tok, "session")+avh)
	if res.status != http.StatusOK || !strings.Contains(res.body, answer.SessionToken) {
		t.Fatalf("session endpoint with a valid session: %d %q", res.status, res.body)
	}
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	wantDenied(t, "second POST from another player", f.do(f.player("other"), http.MethodPost, tokenPath("v1", tok, "session")), http.StatusForbidden, "token-used")
}

func TestBadSessions(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	s := redeemSession(t, f, "v1", tok)

	tampered := []byte(s)
	tampered[len(tampered)/2] ^= 'A' ^ 'B'
	if tampered[len(tampered)/2] == s[len(s)/2] {
		tampered[len(tampered)/2] = 'x'
	}
	wantDenied(t, "tampered", f.get(f.player("p"), "/vod/v1/x?avh="+url.QueryEscape(string(tampered))), http.StatusForbidden, "session-invalid")
	wantDenied(t, "garbage", f.get(f.player("p"), "/vod/v1/x?avh=garbage"), http.StatusForbidden, "session-invalid")
	wantDenied(t, "too long", f.get(f.player("p"), "/vod/v1/x?avh="+strings.Repeat("A", 600)), http.StatusForbidden, "session-invalid")
	wantDenied(t, "another video", f.get(f.player("p"), "/vod/v2/x?avh="+s), http.StatusForbidden, "session-invalid")

	foreign := newFixture(t)
	ftok := foreign.issue("v1")
	fs := redeemSession(t, foreign, "v1", ftok)
	wantDenied(t, "foreign key", f.get(f.player("p"), "/vod/v1/x?avh="+fs), http.StatusForbidden, "session-invalid")

	f.clock.Advance(24*time.Hour + time.Second)
	wantDenied(t, "expired", f.get(f.player("p"), "/vod/v1/x?avh="+s), http.StatusForbidden, "session-expired")
	wantDenied(t, "expired and tampered: expired wins", f.get(f.player("p"), "/vod/v1/x?avh=garbage&avh="+s), http.StatusForbidden, "session-expired")
}

// redeemSession redeems tok through the session endpoint and returns the
// session token.
func redeemSession(t *testing.T, f *fixture, video, tok string) string {
	t.Helper()
	res := f.do(f.player("redeemer"), http.MethodPost, tokenPath(video, tok, "session"))
	var answer struct {
		SessionToken string `json:"session_token"`
	}
	if res.status != http.StatusOK || json.Unmarshal([]byte(res.body), &answer) != nil {
		t.Fatalf("session endpoint: %d %q", res.status, res.body)
	}
	return answer.SessionToken
}

func TestSessionBoundToTheURLToken(t *testing.T) {
	f := newFixture(t, privatevideo.WithGrace(0))
	first, second := f.issue("v1"), f.issue("v1")
	s := redeemSession(t, f, "v1", first)
	// A session of the first token does not open the second token's URLs:
	// the request redeems the second token instead.
	res := f.get(f.player("p"), tokenPath("v1", second, "x")+"?avh="+s)
	wantOK(t, "second token's URL with the first's session", res)
	if field(res.body, "session-token") != second {
		t.Fatalf("handler saw session of %q, want the second token's new session", field(res.body, "session-token"))
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	old := redeemSession(t, f, "v1", tok)

	rotated, err := privatevideo.New([]privatevideo.Key{newKey(t), f.keys[0]}, privatevideo.WithStore(f.store), privatevideo.WithInsecureCookies())
	if err != nil {
		t.Fatal(err)
	}
	srv := http.Handler(rotated.Handler(mediaHandler()))
	rec := serve(srv, "/vod/v1/x?avh="+old)
	if rec.Code != http.StatusOK {
		t.Fatalf("old session after rotation: %d %s", rec.Code, rec.Body)
	}
	tok2 := f.issue("v1")
	rec = serve(srv, tokenPath("v1", tok2, "session"))
	var answer struct {
		SessionToken string `json:"session_token"`
	}
	json.Unmarshal(rec.Body.Bytes(), &answer)
	if rec.Code != http.StatusOK || answer.SessionToken == "" {
		t.Fatalf("redeem on the rotated middleware: %d %s", rec.Code, rec.Body)
	}
	wantDenied(t, "new key's session on the old middleware", f.get(f.player("p"), "/vod/v1/x?avh="+answer.SessionToken), http.StatusForbidden, "session-invalid")
}

// Nothing climbs out of the video's folder, whatever the encoding.
func TestPathsStayInsideTheVideo(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	b := f.browser("b")
	wantOK(t, "open", f.get(b, tokenPath("v1", tok, "x")))
	base := "/vod/v1/token/" + tok
	for _, c := range []struct{ path, want string }{
		{base + "/../../v2/secret", ""},
		{base + "/hls/../../../../etc/passwd", ""},
		{base + "//hls//720p//seg.ts", ""},
		{base + "/./hls/./x.ts", ""},
		{base + "/%2E%2E/%2E%2E/v2/secret", ""},
		{base + "/hls/%2e%2e/%2e%2e/%2e%2e/x", ""},
		{base + "/hls/seg%41.ts", "/vod/v1/hls/segA.ts"},
		{base + "/hls/seg(1).ts", "/vod/v1/hls/seg(1).ts"},
		{"/vod/v1/../v2/x?avh=nope", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+c.path, nil)
		req.Header.Set("User-Agent", "test-browser/b")
		for _, ck := range b.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if c.want == "" {
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("%s: 200 %q, want a denial", c.path, buf.String())
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || field(buf.String(), "path") != c.want {
			t.Fatalf("%s: %d %q, want the handler to see %s", c.path, resp.StatusCode, buf.String(), c.want)
		}
		if uri := field(buf.String(), "uri"); strings.Contains(uri, "..") || strings.Contains(uri, tok) {
			t.Fatalf("%s: request URI %q", c.path, uri)
		}
	}
}

func TestQueryTokenOnAssetRedirectsToPath(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	res := f.get(f.player("p"), "/vod/v1/hls/manifest.m3u8?x=1&token="+tok)
	if res.status != http.StatusTemporaryRedirect || res.header.Get("Location") != tokenPath("v1", tok, "hls/manifest.m3u8")+"?x=1" {
		t.Fatalf("asset with a query token: %d Location %q", res.status, res.header.Get("Location"))
	}
	if s := f.state(tok); s != store.Issued {
		t.Fatalf("the redirect redeemed the token (%v)", s)
	}
	b := f.browser("b")
	for range 2 {
		res = f.get(b, "/vod/v1/mp4/source.mp4?token="+tok)
		wantOK(t, "followed redirect (second time with the cookie)", res)
	}
}

func TestResponseHeaders(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	b := f.browser("b")
	for _, c := range []struct{ query, want string }{
		{"", "private"},
		{"?set-cache-control=" + url.QueryEscape("public, max-age=60, s-maxage=600"), "private, max-age=60"},
		{"?set-cache-control=no-store", "no-store"},
		{"?set-cache-control=" + url.QueryEscape("private, max-age=5"), "private, max-age=5"},
	} {
		res := f.get(b, tokenPath("v1", tok, "hls/720p/seg.ts")+c.query)
		wantOK(t, "segment", res)
		if got := res.header.Get("Cache-Control"); got != c.want {
			t.Fatalf("handler Cache-Control %q gave %q, want %q", c.query, got, c.want)
		}
		if rp := res.header.Get("Referrer-Policy"); rp != "" {
			t.Fatalf("segment has Referrer-Policy %q", rp)
		}
	}
	res := f.get(b, tokenPath("v1", tok, "hls/manifest.m3u8"))
	if rp := res.header.Get("Referrer-Policy"); rp != "no-referrer" {
		t.Fatalf("playlist Referrer-Policy %q, want no-referrer", rp)
	}
}

func TestCookieAttributes(t *testing.T) {
	cases := []struct {
		name string
		opts []privatevideo.Option
		want []string
		not  []string
	}{
		{"defaults, local HTTP", nil, []string{"HttpOnly", "SameSite=Lax", "Path=/vod/v1/token/"}, []string{"Secure", "Partitioned", "Domain"}},
		{"cross-site", []privatevideo.Option{privatevideo.WithCrossSiteCookies()}, []string{"SameSite=None", "Partitioned", "Secure"}, nil},
		{"domain and name", []privatevideo.Option{privatevideo.WithCookieDomain("example.com"), privatevideo.WithCookieName("pv")}, []string{"Domain=example.com", "pv="}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := []privatevideo.Option{privatevideo.WithStore(store.NewMemory(0))}
			if c.name != "defaults, local HTTP" {
				opts = append(opts, c.opts...)
			} else {
				opts = append(opts, privatevideo.WithInsecureCookies())
			}
			mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := mw.Issue(context.Background(), "v1")
			rec := serve(mw.Handler(mediaHandler()), tokenPath("v1", tok, "x"))
			sc := rec.Header().Get("Set-Cookie")
			for _, w := range append(c.want, "Path=/vod/v1/token/"+tok+";", "Max-Age=8639") {
				if !strings.Contains(sc, w) {
					t.Fatalf("Set-Cookie %q lacks %q", sc, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(sc, n) {
					t.Fatalf("Set-Cookie %q has %q", sc, n)
				}
			}
		})
	}
	// Secure by default: a cookie from an HTTPS server.
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)})
	tok, _ := mw.Issue(context.Background(), "v1")
	if sc := serve(mw.Handler(mediaHandler()), tokenPath("v1", tok, "x")).Header().Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Fatalf("default Set-Cookie %q is not Secure", sc)
	}
}

func TestDenialsLeakNothing(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, privatevideo.WithLogger(logger))
	tok := f.issue("v1")
	s := redeemSession(t, f, "v1", tok)
	f.clock.Advance(time.Minute)
	for _, path := range []string{
		tokenPath("v1", tok, "x"),
		tokenPath("v2", tok, "x"),
		"/vod/v1/x?avh=" + s + "x",
		"/vod/v9/x?avh=" + s,
	} {
		res := f.get(f.player("other"), path)
		if res.status < 400 {
			t.Fatalf("%s: %d, want a denial", path, res.status)
		}
		if strings.Contains(res.body, tok) || strings.Contains(res.body, s) || strings.Contains(res.body, tok[:8]) {
			t.Fatalf("%s: denial body %q leaks the token or session", path, res.body)
		}
	}
	wantOK(t, "allowed", f.get(f.player("other"), "/vod/v1/x?avh="+s))
	out := logs.String()
	if strings.Contains(out, tok) || strings.Contains(out, s) || strings.Contains(out, s[:20]) {
		t.Fatalf("logs leak a secret:\n%s", out)
	}
	if !strings.Contains(out, tok[:8]+"…") || !strings.Contains(out, "reason=token-used") || !strings.Contains(out, "reason=session") {
		t.Fatalf("logs lack the redacted token or the reasons:\n%s", out)
	}
}

func TestErrorHandlerAndStatus(t *testing.T) {
	var mu sync.Mutex
	var got []error
	f := newFixture(t,
		privatevideo.WithDenialStatus(http.StatusNotFound),
		privatevideo.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			got = append(got, err)
			mu.Unlock()
			http.Error(w, "nope", privatevideo.DenialOf(err).Status(http.StatusNotFound))
		}))
	tok := f.issue("v1")
	wantOK(t, "open", f.get(f.browser("a"), tokenPath("v1", tok, "x")))
	if res := f.get(f.browser("z"), tokenPath("v1", tok, "x")); res.status != http.StatusNotFound {
		t.Fatalf("token-used with the 404 option: %d", res.status)
	}
	if res := f.get(f.browser("z"), "/vod/bad!/x"); res.status != http.StatusBadRequest {
		t.Fatalf("malformed with the 404 option: %d, want 400", res.status)
	}
	if len(got) != 2 || !errors.Is(got[0], privatevideo.ErrTokenUsed) || !errors.Is(got[1], privatevideo.ErrMalformed) {
		t.Fatalf("error handler got %v, want token-used then malformed", got)
	}

	g := newFixture(t, privatevideo.WithDenialStatus(http.StatusNotFound))
	wantDenied(t, "default handler with 404", g.get(g.player("p"), "/vod/v1/x"), http.StatusNotFound, "token-required")
}

func TestDecisionHook(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	a := f.browser("a")
	f.get(a, tokenPath("v1", tok, "x"))
	f.get(a, tokenPath("v1", tok, "x"))
	f.get(f.browser("z"), tokenPath("v1", tok, "x"))
	f.get(f.browser("z"), "/elsewhere")
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []struct {
		allowed bool
		reason  string
	}{{true, "redeemed"}, {true, "session"}, {false, "token-used"}}
	if len(f.decisions) != len(want) {
		t.Fatalf("%d decisions, want %d: %+v", len(f.decisions), len(want), f.decisions)
	}
	for i, w := range want {
		d := f.decisions[i]
		if d.Allowed != w.allowed || d.Reason != w.reason || d.VideoID != "v1" || d.Token != tok[:8]+"…" || d.Latency <= 0 {
			t.Fatalf("decision %d = %+v, want allowed=%t reason=%s for v1 with a redacted token", i, d, w.allowed, w.reason)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	// Behind a trusted proxy, clients are told apart by X-Forwarded-For;
	// without trust, the header is ignored.
	for _, trusted := range []bool{true, false} {
		var opts []privatevideo.Option
		if trusted {
			opts = append(opts, privatevideo.WithTrustedProxies(mustPrefix(t, "127.0.0.0/8"), mustPrefix(t, "::1/128")))
		}
		f := newFixture(t, opts...)
		tok := f.issue("v1")
		wantOK(t, "first", f.get(f.player("p"), tokenPath("v1", tok, "a"), "X-Forwarded-For", "203.0.113.7"))
		res := f.get(f.player("p"), tokenPath("v1", tok, "b"), "X-Forwarded-For", "198.51.100.9")
		if trusted {
			wantDenied(t, "another client behind the proxy", res, http.StatusForbidden, "token-used")
		} else {
			wantOK(t, "X-Forwarded-For ignored: the same client", res)
		}
	}
}

func TestNewValidates(t *testing.T) {
	good := []privatevideo.Key{newKey(t)}
	cases := []struct {
		name string
		keys []privatevideo.Key
		opts []privatevideo.Option
	}{
		{"no keys", nil, nil},
		{"short hash key", []privatevideo.Key{{Hash: make([]byte, 31)}}, nil},
		{"bad block key", []privatevideo.Key{{Hash: make([]byte, 32), Block: make([]byte, 16)}}, nil},
		{"cross-site and insecure", good, []privatevideo.Option{privatevideo.WithCrossSiteCookies(), privatevideo.WithInsecureCookies()}},
		{"bad prefix", good, []privatevideo.Option{privatevideo.WithLayout(privatevideo.Layout{Prefix: "vod"})}},
		{"negative grace", good, []privatevideo.Option{privatevideo.WithGrace(-1)}},
		{"zero session", good, []privatevideo.Option{privatevideo.WithSessionTTL(0)}},
		{"denial status 200", good, []privatevideo.Option{privatevideo.WithDenialStatus(200)}},
		{"bad cookie name", good, []privatevideo.Option{privatevideo.WithCookieName("a b")}},
	}
	for _, c := range cases {
		if _, err := privatevideo.New(c.keys, c.opts...); err == nil {
			t.Errorf("%s: New accepted it", c.name)
		}
	}
	// Every option checks its own argument, and says which option and
	// which value.
	for _, c := range []struct {
		opt  privatevideo.Option
		want string
	}{
		{privatevideo.WithStore(nil), "WithStore(nil)"},
		{privatevideo.WithTokenTTL(0), "WithTokenTTL(0s)"},
		{privatevideo.WithSessionTTL(time.Millisecond), "WithSessionTTL(1ms)"},
		{privatevideo.WithGrace(-time.Second), "WithGrace(-1s)"},
		{privatevideo.WithStoreTimeout(0), "WithStoreTimeout(0s)"},
		{privatevideo.WithRetryWindow(-1), "WithRetryWindow(-1ns)"},
		{privatevideo.WithFirstByteTimeout(0), "WithFirstByteTimeout(0s)"},
		{privatevideo.WithPublic(nil), "WithPublic(nil)"},
		{privatevideo.WithDenialStatus(302), "WithDenialStatus(302)"},
		{privatevideo.WithErrorHandler(nil), "WithErrorHandler(nil)"},
		{privatevideo.WithTrustedProxies(netip.Prefix{}), "WithTrustedProxies(invalid Prefix)"},
		{privatevideo.WithPreviewAgents("Slackbot", " "), `WithPreviewAgents(" ")`},
		{privatevideo.WithLogger(nil), "WithLogger(nil)"},
		{privatevideo.WithDecisionHook(nil), "WithDecisionHook(nil)"},
		{privatevideo.WithReleaseHook(nil), "WithReleaseHook(nil)"},
		{privatevideo.WithClock(nil), "WithClock(nil)"},
		{privatevideo.WithRevocationCheck(0), "WithRevocationCheck(0)"},
		{privatevideo.WithRevocationCheck(7), "WithRevocationCheck(7)"},
		{privatevideo.WithPlaylistHosts("https://cdn.example/"), `WithPlaylistHosts("https://cdn.example/")`},
		{privatevideo.WithPlaylistHosts("cdn.example/x"), `WithPlaylistHosts("cdn.example/x")`},
		{privatevideo.WithPlaylistHosts(""), `WithPlaylistHosts("")`},
	} {
		_, err := privatevideo.New(good, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New said %v, want an error naming it", c.want, err)
		}
	}
	if _, err := privatevideo.New(good, privatevideo.WithPlaylistHosts("cdn.example.com", "cdn.example.com:8443", "[2001:db8::1]:443")); err != nil {
		t.Errorf("valid playlist hosts refused: %v", err)
	}
	// The exported default list is not the middleware's to share.
	saved := append([]string(nil), privatevideo.DefaultPreviewAgents...)
	f := newFixture(t)
	tok := f.issue("v1")
	privatevideo.DefaultPreviewAgents[0] = "test-player"
	defer copy(privatevideo.DefaultPreviewAgents, saved)
	wantOK(t, "a client whose agent was written into DefaultPreviewAgents after New", f.get(f.player("p"), tokenPath("v1", tok, "a.ts")))
	if _, err := privatevideo.New([]privatevideo.Key{{Hash: make([]byte, 32), Block: make([]byte, 32)}}); err != nil {
		t.Fatalf("a valid key with encryption: %v", err)
	}
}

func TestEncryptedSessions(t *testing.T) {
	key := newKey(t)
	key.Block = make([]byte, 32)
	copy(key.Block, key.Hash)
	mw, err := privatevideo.New([]privatevideo.Key{key}, privatevideo.WithInsecureCookies())
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mw.Issue(context.Background(), "secret-video")
	h := mw.Handler(mediaHandler())
	rec := serve(h, tokenPath("secret-video", tok, "session"))
	var answer struct {
		SessionToken string `json:"session_token"`
	}
	json.Unmarshal(rec.Body.Bytes(), &answer)
	if rec = serve(h, "/vod/secret-video/x?avh="+answer.SessionToken); rec.Code != http.StatusOK {
		t.Fatalf("encrypted session: %d %s", rec.Code, rec.Body)
	}
}

func TestIssueValidates(t *testing.T) {
	mw, _ := privatevideo.New([]privatevideo.Key{newKey(t)})
	if _, err := mw.Issue(context.Background(), "no/slash"); !errors.Is(err, privatevideo.ErrMalformed) {
		t.Fatalf("Issue of a bad video ID: %v", err)
	}
	if _, err := mw.IssueURLs(context.Background(), "ftp://x", "v1"); err == nil {
		t.Fatal("IssueURLs accepted an ftp base")
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A session of the URL's own token that has run out is session-expired, on
// the token path too (not token-used, which the token's state would say).
func TestExpiredSessionOnItsTokenPath(t *testing.T) {
	f := newFixture(t)
	tok := f.issue("v1")
	b := f.browser("b")
	wantOK(t, "open", f.get(b, tokenPath("v1", tok, "a.ts")))
	sess := redeemSession(t, f, "v1", f.issue("v1"))
	f.clock.Advance(privatevideo.DefaultSessionTTL + time.Second)
	wantDenied(t, "cookie, after the session", f.get(b, tokenPath("v1", tok, "a.ts")), http.StatusForbidden, "session-expired")
	res := f.do(f.player("p"), http.MethodHead, "/vod/v1/a.ts?avh="+sess)
	if res.status != http.StatusForbidden || res.header.Get("Privatevideo-Reason") != "session-expired" {
		t.Fatalf("HEAD with an expired avh: %d %q", res.status, res.header.Get("Privatevideo-Reason"))
	}
}
