package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// A mount is one way an application puts the middleware under a path of
// its own. The middleware learns the mount from the request alone; every
// URL and cookie path it emits must stay under it, with the grace window
// off, so that a refresh works only if the cookie came back.
type mount struct {
	name string
	// path is where the videos appear to the client: path + "/vod/v1/…".
	path string
	// seen is what the wrapped handler must see before "/vod/v1/…": the
	// part of the mount a router leaves in the path.
	seen string
	// serve mounts pv (with its player) around media.
	serve func(pv *privatevideo.Middleware, media http.Handler) http.Handler
}

var mounts = []mount{
	{"root", "", "", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		return pv.Handler(pv.Player(media))
	}},
	{"http.StripPrefix", "/media", "", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/media/", http.StripPrefix("/media", pv.Handler(pv.Player(media))))
		return mux
	}},
	{"http.StripPrefix with a slash", "/media", "", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/media/", http.StripPrefix("/media/", pv.Handler(pv.Player(media))))
		return mux
	}},
	{"http.StripPrefix twice", "/site/media", "", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		return http.StripPrefix("/site", http.StripPrefix("/media", pv.Handler(pv.Player(media))))
	}},
	{"ServeMux pattern, no strip", "/media", "/media", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/media/", pv.Handler(pv.Player(media)))
		return mux
	}},
	{"ServeMux pattern with a wildcard", "/t/acme", "/t/acme", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /t/{tenant}/{rest...}", pv.Handler(pv.Player(media)))
		return mux
	}},
	{"chi Mount", "/media", "/media", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Mount("/media", pv.Handler(pv.Player(media)))
		return r
	}},
	{"chi Route with Use", "/media", "/media", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Route("/media", func(r chi.Router) {
			r.Use(pv.Handler)
			r.Handle("/vod/*", pv.Player(media))
		})
		return r
	}},
	{"chi Route with With", "/media", "/media", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Route("/media", func(r chi.Router) {
			r.With(pv.Handler).Handle("/vod/*", pv.Player(media))
		})
		return r
	}},
	{"chi Mount with a parameter", "/t/acme", "/t/acme", func(pv *privatevideo.Middleware, media http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Mount("/t/{tenant}", pv.Handler(pv.Player(media)))
		return r
	}},
}

// seenPaths records the paths the wrapped handler sees, and answers a
// playlist for .m3u8 and a few bytes for anything else.
type seenPaths struct {
	mu    sync.Mutex
	paths []string
}

func (s *seenPaths) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	s.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, ".m3u8") {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		io.WriteString(w, "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n720p/seg0.ts\n#EXT-X-ENDLIST\n")
		return
	}
	io.WriteString(w, "media bytes")
}

func (s *seenPaths) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

var dataAttr = regexp.MustCompile(`data-(hls|mp4|poster|session)="([^"]*)"`)

func TestMountedAnywhere(t *testing.T) {
	for _, mt := range mounts {
		t.Run(mt.name, func(t *testing.T) {
			key := make([]byte, 32)
			rand.Read(key)
			pv, err := privatevideo.New([]privatevideo.Key{{Hash: key}},
				privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies(),
				privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
			if err != nil {
				t.Fatal(err)
			}
			seen := &seenPaths{}
			srv := httptest.NewServer(mt.serve(pv, seen))
			defer srv.Close()

			urls, err := pv.IssueURLs(context.Background(), srv.URL+mt.path, "v1")
			if err != nil {
				t.Fatal(err)
			}
			tok := strings.TrimPrefix(urls.Player[strings.Index(urls.Player, "?token="):], "?token=")
			private := mt.path + "/vod/v1/token/" + tok

			a := jarClient(t)
			// The player page: its media URLs under the mount.
			page := fetchAs(t, a, urls.Player, http.StatusOK, "player page")
			attrs := map[string]string{}
			for _, m := range dataAttr.FindAllStringSubmatch(page, -1) {
				attrs[m[1]] = html.UnescapeString(m[2])
			}
			for name, want := range map[string]string{
				"hls": private + "/hls/manifest.m3u8", "mp4": private + "/mp4/source.mp4",
				"poster": private + "/thumbnail.jpg", "session": private + "/session",
			} {
				if attrs[name] != want {
					t.Errorf("player page data-%s = %q, want %q", name, attrs[name], want)
				}
			}

			// The query form redeems through a redirect under the mount.
			var locations []string
			a.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				locations = append(locations, req.Response.Header.Get("Location"))
				return nil
			}
			var setCookie string
			resp := get(t, a, srv.URL+mt.path+"/vod/v1/hls/manifest.m3u8?token="+tok)
			setCookie = resp.Header.Get("Set-Cookie")
			wantStatus(t, resp, http.StatusOK, "query-form manifest, redirected")
			if len(locations) != 1 || locations[0] != private+"/hls/manifest.m3u8" {
				t.Errorf("redirects %q, want one to %q", locations, private+"/hls/manifest.m3u8")
			}
			if !strings.Contains(setCookie, "; Path="+private+";") {
				t.Errorf("Set-Cookie %q, want Path=%s", setCookie, private)
			}

			// With the grace window off, only the cookie gets these in.
			fetchAs(t, a, srv.URL+private+"/hls/720p/seg0.ts", http.StatusOK, "a segment of the session")
			fetchAs(t, a, urls.Player, http.StatusOK, "the refreshed page")
			fetchAs(t, a, srv.URL+attrs["session"], http.StatusOK, "the session endpoint after the refresh")
			fetchAs(t, a, srv.URL+private+"/hls/720p/seg1.ts", http.StatusOK, "a segment after the refresh")

			// Another browser is refused.
			b := jarClient(t)
			resp = get(t, b, srv.URL+private+"/hls/720p/seg0.ts")
			wantStatus(t, resp, http.StatusForbidden, "another browser")
			if got := resp.Header.Get("Privatevideo-Reason"); got != "token-used" {
				t.Errorf("another browser: reason %q, want token-used", got)
			}

			// The wrapped handler saw the public paths, under what the
			// router left of the mount, never the token.
			want := []string{"/hls/manifest.m3u8", "/hls/720p/seg0.ts", "/hls/720p/seg1.ts"}
			got := seen.all()
			if len(got) != len(want) {
				t.Fatalf("the handler saw %q, want %d requests", got, len(want))
			}
			for i, p := range got {
				if p != mt.seen+"/vod/v1"+want[i] {
					t.Errorf("the handler saw %q, want %q", p, mt.seen+"/vod/v1"+want[i])
				}
			}
		})
	}
}

func jarClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func wantStatus(t *testing.T, resp *http.Response, want int, what string) string {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d (reason %q), want %d", what, resp.StatusCode, resp.Header.Get("Privatevideo-Reason"), want)
	}
	return string(body)
}

func fetchAs(t *testing.T, c *http.Client, url string, want int, what string) string {
	t.Helper()
	return wantStatus(t, get(t, c, url), want, fmt.Sprintf("%s (%s)", what, url))
}

// The player page under a mount, in Chromium, with the grace window off:
// it plays the HLS through hls.js and plays again on reload, which only
// the session cookie, scoped under the mount, can let in.
func TestPlayerUnderMount(t *testing.T) {
	f := serverWith(t, func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/media/", http.StripPrefix("/media", h))
		return mux
	}, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
	ctx := browser(t)
	urls, err := f.mw.IssueURLs(context.Background(), f.srv.URL+"/media", "v1")
	if err != nil {
		t.Fatal(err)
	}
	plays(t, ctx, "first open", "hls.js", chromedp.Navigate(urls.Player))
	plays(t, ctx, "reload", "hls.js", chromedp.Reload())
	for _, r := range f.log.since(0) {
		if r.URL != "/favicon.ico" && !strings.HasPrefix(r.URL, "/media/vod/v1") {
			t.Fatalf("the page asked for %s, outside the mount", r.URL)
		}
	}
}
