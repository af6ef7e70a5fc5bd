//go:build unix

package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// -cors-origins through the built server: the listed origin's player reads
// the media with credentials, its preflight is answered and spends nothing;
// a page on an unlisted origin is refused before redemption, so the
// viewer's link still plays afterwards.
func TestEdgeCORSOrigins(t *testing.T) {
	t.Parallel()
	const player = "http://player.test:8081"
	e := startEdge(t, []string{envName("cors-origins") + "=" + player})
	if got := bannerField(e.banner, "CORS:"); got != player {
		t.Errorf("banner CORS line %q, want %q:\n%s", got, player, e.banner)
	}
	wantCORS := func(what string, resp *http.Response) {
		t.Helper()
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != player || h.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Fatalf("%s: CORS headers ACAO %q ACAC %q Vary %q; want %s with credentials, varying on Origin", what,
				h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"), h.Values("Vary"), player)
		}
	}

	// The preflight comes first, as a browser's would for a Range request
	// that is not a simple one: answered, and the token still unspent.
	v := e.video("demo")
	pre, err := http.NewRequest(http.MethodOptions, v.Assets.HLS, nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.Header.Set("Origin", player)
	pre.Header.Set("Access-Control-Request-Method", "GET")
	pre.Header.Set("Access-Control-Request-Headers", "range")
	resp, body := do(t, viewer(t, "player/1.0"), pre)
	wantStatus(t, "preflight", resp, body, http.StatusNoContent)
	wantCORS("preflight", resp)
	if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "GET") {
		t.Errorf("preflight Allow-Methods %q", m)
	}
	if hs := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(hs, "range") {
		t.Errorf("preflight Allow-Headers %q, want Range", hs)
	}

	one := viewer(t, "player/1.0")
	resp, master := get(t, one, v.Assets.HLS, "Origin", player)
	wantStatus(t, "master from the listed origin, after its preflight", resp, master, http.StatusOK)
	wantCORS("master", resp)
	if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Content-Range") {
		t.Errorf("Expose-Headers %q: want Content-Range for the player's range requests", resp.Header.Get("Access-Control-Expose-Headers"))
	}
	rendition := playlistURI(t, v.Assets.HLS, master, "360p/index.m3u8")
	resp, playlist := get(t, one, rendition, "Origin", player)
	wantStatus(t, "rendition from the listed origin", resp, playlist, http.StatusOK)
	wantCORS("rendition", resp)
	resp, seg := get(t, one, playlistURI(t, rendition, playlist, "seg1.m4s"), "Origin", player, "Range", "bytes=0-99")
	wantStatus(t, "segment range from the listed origin", resp, seg, http.StatusPartialContent)
	wantCORS("segment", resp)

	// Another page, another link: refused before redemption, and in a way
	// its browser would hide (no CORS header for it).
	w := e.video("demo")
	for _, origin := range []string{"https://evil.test", player + "/", "null", "http://player.test"} {
		resp, body := get(t, viewer(t, "evil/1.0"), w.Assets.HLS, "Origin", origin)
		wantProblem(t, "Origin "+origin, resp, body, http.StatusForbidden, "origin-not-allowed")
		if a := resp.Header.Get("Access-Control-Allow-Origin"); a != "" {
			t.Errorf("Origin %s: ACAO %q on the refusal", origin, a)
		}
	}
	// The link was not spent: its viewer plays it.
	resp, body = get(t, viewer(t, "viewer/1.0"), w.Assets.HLS, "Origin", player)
	wantStatus(t, "the link refused to unlisted origins, then opened by the listed one", resp, body, http.StatusOK)
	wantCORS("the link's own player", resp)
}

// Without -cors-origins only the server's own pages may spend a link: a
// player on any other origin is refused before redemption.
func TestEdgeNoCORSOrigins(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	if got := bannerField(e.banner, "CORS:"); got != "" {
		t.Errorf("banner CORS line %q without -cors-origins", got)
	}
	v := e.video("demo")
	resp, body := get(t, viewer(t, "player/1.0"), v.Assets.HLS, "Origin", "http://player.test:8081")
	wantProblem(t, "another origin", resp, body, http.StatusForbidden, "origin-not-allowed")
	resp, body = get(t, viewer(t, "viewer/1.0"), v.Assets.HLS, "Origin", e.base)
	wantStatus(t, "the server's own origin, same link", resp, body, http.StatusOK)
	if a := resp.Header.Get("Access-Control-Allow-Origin"); a != "" {
		t.Errorf("same origin: ACAO %q without -cors-origins", a)
	}
}

// A bad -cors-origins stops the server with the usage status.
func TestEdgeCORSOriginsExitStatus(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(edgeBinary, "-addr", "127.0.0.1:0", "-cors-origins", "https://player.example/")
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	if got := cmd.ProcessState.ExitCode(); got != 2 || !strings.Contains(stderr.String(), "-cors-origins") ||
		!strings.Contains(stderr.String(), "trailing slash") {
		t.Fatalf("exit status %d, stderr %q; want 2 and a message naming -cors-origins", got, stderr.String())
	}
}
