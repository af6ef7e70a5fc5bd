package edge

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

func TestBearer(t *testing.T) {
	for _, c := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer k3y", "k3y", true},
		{"bearer k3y", "k3y", true},
		{"BEARER  k3y ", "k3y", true},
		{"Basic k3y", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	} {
		got, ok := bearer(c.header)
		if got != c.want || ok != c.ok {
			t.Errorf("bearer(%q) = %q, %v", c.header, got, ok)
		}
	}
}

func TestCheckAPIKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"0123456789abcdef":        true,
		strings.Repeat("k", 256):  true,
		"0123456789abcde":         false,
		strings.Repeat("k", 257):  false,
		"0123456789 abcdef":       false,
		"0123456789abcdef\u00e9":  false,
		"0123456789abcdef\x7f":    false,
		"hunter2-hunter2-hunter2": true,
	} {
		err := CheckAPIKey(key)
		if (err == nil) != ok {
			t.Errorf("CheckAPIKey(%q) = %v, want ok %v", key, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
}

// openAPI is an API over an open catalogue with pinned videos, without a
// public URL: links follow each request.
func openAPI(t *testing.T, key string, pinned ...string) *API {
	t.Helper()
	st := store.NewMemory(1024)
	cat := NewOpenCatalogue(store.NewMemoryVideos(), 0, slog.New(slog.DiscardHandler))
	cat.Pin(pinned...)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: make([]byte, 32)}}, privatevideo.WithStore(st), privatevideo.WithPublic(cat.IsPublic))
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAPI(APIConfig{Catalogue: cat, Middleware: mw, Tokens: st, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// call makes one API call through a real server (a body needs a
// connection's read deadline); target's host goes in the Host header.
func call(t *testing.T, h http.Handler, key, method, target, body string) (int, string, VideoResource) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, srv.URL+u.RequestURI(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = u.Host
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v VideoResource
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
	}
	return resp.StatusCode, string(b), v
}

// Without a public URL the links start with the request's own scheme and
// host: https over TLS, http otherwise.
func TestAPILinksFollowTheRequest(t *testing.T) {
	const key = "test-api-key-0123456789"
	a := openAPI(t, key)
	code, _, v := call(t, a, key, "GET", "http://media.example.test:8443/videos/intro", "")
	if code != 200 || !strings.HasPrefix(v.Assets.Player, "http://media.example.test:8443/vod/intro?token=") || v.Token == "" {
		t.Fatalf("GET over http: %d %+v", code, v)
	}
	req := httptest.NewRequest("GET", "https://cdn.example.test/videos/intro", nil)
	req.TLS = &tls.ConnectionState{}
	if got := RequestOrigin(req); got != "https://cdn.example.test" {
		t.Errorf("RequestOrigin over TLS = %q", got)
	}
}

// A pinned video is public whatever the store says: the API shows it
// public, the hook needs no store call, and a PATCH cannot make it private.
func TestAPIPinnedVideo(t *testing.T) {
	const key = "test-api-key-0123456789"
	a := openAPI(t, key, "trailer")
	code, _, v := call(t, a, key, "GET", "http://m.test/videos/trailer", "")
	if code != 200 || !v.Public || v.Token != "" || v.Assets.Player != "http://m.test/vod/trailer" {
		t.Fatalf("GET a pinned video: %d %+v", code, v)
	}
	code, body, _ := call(t, a, key, "PATCH", "http://m.test/videos/trailer", `{"public": false}`)
	if code != http.StatusConflict || !strings.Contains(body, `"reason":"video-pinned"`) {
		t.Fatalf("PATCH a pinned video private: %d %s", code, body)
	}
	if code, _, v = call(t, a, key, "PATCH", "http://m.test/videos/trailer", `{"public": true}`); code != 200 || !v.Public {
		t.Fatalf("PATCH a pinned video public: %d %+v", code, v)
	}
	if !a.cat.IsPublic(t.Context(), "trailer") || a.cat.IsPublic(t.Context(), "intro") {
		t.Error("the hook disagrees with the pins")
	}
	// Other videos stay private until asked.
	if code, _, v = call(t, a, key, "GET", "http://m.test/videos/intro", ""); code != 200 || v.Public || v.Token == "" {
		t.Fatalf("GET another video: %d %+v", code, v)
	}
}

func TestNewAPIRefuses(t *testing.T) {
	good := openAPI(t, "test-api-key-0123456789")
	base := APIConfig{Catalogue: good.cat, Middleware: good.mw, Tokens: good.store, APIKey: "test-api-key-0123456789"}
	for name, mod := range map[string]func(*APIConfig){
		"no catalogue":      func(c *APIConfig) { c.Catalogue = nil },
		"short key":         func(c *APIConfig) { c.APIKey = "short" },
		"public URL path":   func(c *APIConfig) { c.PublicURL = "https://m.test/media" },
		"public URL scheme": func(c *APIConfig) { c.PublicURL = "ftp://m.test" },
		"negative timeout":  func(c *APIConfig) { c.BodyTimeout = -time.Second },
	} {
		c := base
		mod(&c)
		if _, err := NewAPI(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewAPI(base); err != nil {
		t.Fatal(err)
	}
}
