package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/privatevideo/privatevideo"
)

func TestMediaHandler(t *testing.T) {
	fsys := fstest.MapFS{
		"a/hls/manifest.m3u8": {Data: []byte("#EXTM3U\n")},
		"a/hls/360p/seg0.m4s": {Data: []byte("segment")},
		"a/mp4/source.mp4":    {Data: []byte("mp4")},
		"a/notes.weird":       {Data: []byte("plain words")},
	}
	h := mediaHandler(fsys)
	for _, c := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/vod/a/hls/manifest.m3u8", 200, "application/vnd.apple.mpegurl"},
		{"/vod/a/hls/360p/seg0.m4s", 200, "video/iso.segment"},
		{"/vod/a/mp4/source.mp4", 200, "video/mp4"},
		{"/vod/a/notes.weird", 200, "text/plain; charset=utf-8"}, // sniffed
		{"/vod/a/hls/", 404, "text/plain; charset=utf-8"},        // no listing
		{"/vod/a/hls", 404, "text/plain; charset=utf-8"},
		{"/vod/a/missing.m3u8", 404, "text/plain; charset=utf-8"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.status || rec.Header().Get("Content-Type") != c.ctype {
			t.Errorf("%s: %d %q, want %d %q", c.path, rec.Code, rec.Header().Get("Content-Type"), c.status, c.ctype)
		}
	}
}

func TestEmbeddedDemoMedia(t *testing.T) {
	ids, err := demoVideos(mediaFS())
	if err != nil || len(ids) == 0 {
		t.Fatalf("demo videos %v, %v", ids, err)
	}
	l := privatevideo.DefaultLayout
	for _, id := range ids {
		if demoTitles[id] == "" {
			t.Errorf("demo video %q has no title", id)
		}
		for _, asset := range []string{l.HLS, l.MP4, l.Thumbnail} {
			rec := httptest.NewRecorder()
			mediaHandler(mediaFS()).ServeHTTP(rec, httptest.NewRequest("GET", "/vod/"+id+"/"+asset, nil))
			if rec.Code != 200 || rec.Body.Len() == 0 {
				t.Errorf("%s/%s: %d, %d bytes", id, asset, rec.Code, rec.Body.Len())
			}
		}
	}
}

func TestDropCookie(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"pv_session=abc", ""},
		{"a=1; pv_session=abc; b=2", "a=1; b=2"},
		{"pv_session_x=1;pv_session=2", "pv_session_x=1"},
		{"a=1", "a=1"},
	} {
		h := http.Header{"Cookie": {c.in}}
		dropCookie(h, "pv_session")
		if got := h.Get("Cookie"); got != c.want {
			t.Errorf("dropCookie(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDefaultPublicURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://localhost:8080",
		"[::]:9000":      "http://localhost:9000",
		"[::1]:9000":     "http://[::1]:9000",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultPublicURL(tcp); got != want {
			t.Errorf("defaultPublicURL(%s) = %q, want %q", addr, got, want)
		}
	}
}

// Decisions are logged with the token as the middleware redacted it, and
// a store failure's cause scrubbed.
func TestDecisionLogger(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewJSONHandler(&b, nil))
	tok := privatevideo.NewToken()
	decisionLogger(log)(privatevideo.Decision{
		Allowed: false, Reason: "store-unavailable", VideoID: "demo", Token: privatevideo.RedactToken(tok),
		Err: fmt.Errorf("%w: timeout on key %s", privatevideo.ErrStoreUnavailable, tok),
	})
	out := b.String()
	if strings.Contains(out, tok) || !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, `"video":"demo"`) {
		t.Errorf("logged %s", out)
	}
}

// The proxy forwards the public path under the origin URL's own path, with
// the session cookie removed and other cookies kept.
func TestOriginProxyPath(t *testing.T) {
	var gotPath, gotCookie string
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotCookie = r.URL.RequestURI(), r.Header.Get("Cookie")
		w.Write([]byte("ok"))
	}))
	defer origin.Close()
	u, err := parseOrigin(origin.URL + "/media")
	if err != nil {
		t.Fatal(err)
	}
	h := originProxy(u, time.Second, privatevideo.DefaultCookieName, slog.New(slog.DiscardHandler))
	req := httptest.NewRequest("GET", "/vod/intro/hls/manifest.m3u8?lang=en", nil)
	req.Header.Set("Cookie", "pv_session=secret; theme=dark")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || gotPath != "/media/vod/intro/hls/manifest.m3u8?lang=en" || gotCookie != "theme=dark" {
		t.Errorf("origin got %q with Cookie %q; answer %d", gotPath, gotCookie, rec.Code)
	}
}
