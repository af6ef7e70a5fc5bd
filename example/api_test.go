//go:build unix

package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo"
	pvedge "github.com/privatevideo/privatevideo/edge"
)

// videoJSON is a video as the API answers it.
type videoJSON = pvedge.VideoResource

// The API's refusals: every one a problem+json with a reason.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	short := e.video("short")
	key := "Bearer " + e.apiKey
	cases := []struct {
		name, auth, method, path, body string
		status                         int
		reason                         string
	}{
		{"no key", "", "GET", "/videos", "", 401, "unauthorized"},
		{"wrong key", "Bearer " + strings.Repeat("x", len(e.apiKey)), "GET", "/videos/demo", "", 401, "unauthorized"},
		{"key as a prefix", "Bearer " + e.apiKey[:len(e.apiKey)-1], "GET", "/videos", "", 401, "unauthorized"},
		{"basic scheme", "Basic " + e.apiKey, "GET", "/videos", "", 401, "unauthorized"},
		{"no key, unknown path", "", "GET", "/videos/demo/nothing", "", 401, "unauthorized"},
		{"unknown video", key, "GET", "/videos/nope", "", 404, "video-unknown"},
		{"malformed video ID", key, "GET", "/videos/bad%24id", "", 400, "malformed"},
		{"video ID too long", key, "GET", "/videos/" + strings.Repeat("a", 65), "", 400, "malformed"},
		{"PATCH unknown video", key, "PATCH", "/videos/nope", `{"public": true}`, 404, "video-unknown"},
		{"PATCH bad JSON", key, "PATCH", "/videos/demo", `{"public": tru`, 400, "bad-request"},
		{"PATCH not a boolean", key, "PATCH", "/videos/demo", `{"public": "yes"}`, 400, "bad-request"},
		{"PATCH no field", key, "PATCH", "/videos/demo", `{}`, 400, "bad-request"},
		{"PATCH null", key, "PATCH", "/videos/demo", `{"public": null}`, 400, "bad-request"},
		{"PATCH unknown field", key, "PATCH", "/videos/demo", `{"public": true, "title": "x"}`, 400, "bad-request"},
		{"PATCH another letter case", key, "PATCH", "/videos/demo", `{"Public": true}`, 400, "bad-request"},
		{"PATCH duplicate field", key, "PATCH", "/videos/demo", `{"public": false, "public": true}`, 400, "bad-request"},
		{"PATCH two objects", key, "PATCH", "/videos/demo", `{"public": true} {"public": false}`, 400, "bad-request"},
		{"PATCH too large", key, "PATCH", "/videos/demo", `{"public": true}` + strings.Repeat(" ", pvedge.MaxBodyBytes), 400, "bad-request"},
		{"PATCH empty", key, "PATCH", "/videos/demo", "", 400, "bad-request"},
		{"DELETE malformed token", key, "DELETE", "/videos/demo/tokens/not-a-token", "", 400, "malformed"},
		{"DELETE unknown token", key, "DELETE", "/videos/demo/tokens/" + privatevideo.NewToken(), "", 404, "token-unknown"},
		{"DELETE another video's token", key, "DELETE", "/videos/demo/tokens/" + short.Token, "", 404, "token-unknown"},
		{"DELETE on an unknown video", key, "DELETE", "/videos/nope/tokens/" + short.Token, "", 404, "video-unknown"},
		{"POST a video", key, "POST", "/videos/demo", "", 405, "method-not-allowed"},
		{"DELETE the list", key, "DELETE", "/videos", "", 405, "method-not-allowed"},
		{"unknown API path", key, "GET", "/videos/demo/nothing", "", 404, "not-found"},
		{"unknown path", "", "GET", "/nothing", "", 404, "not-found"},
	}
	for _, c := range cases {
		resp := e.apiWith(c.auth, c.method, c.path, c.body, nil)
		body := readAll(t, resp)
		wantProblem(t, c.name, resp, body, c.status, c.reason)
		if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q, want a Bearer challenge", c.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// The refused PATCH bodies changed nothing.
	if v := e.video("demo"); v.Public {
		t.Error("a refused PATCH made the video public")
	}
	// HEAD answers without a body (and, see TestAPIHeadMintsNothing,
	// without minting).
	for path, status := range map[string]int{"/videos": 200, "/videos/demo": 200, "/videos/nope": 404} {
		resp := e.api("HEAD", path, "", nil)
		if body := readAll(t, resp); resp.StatusCode != status || len(body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes, want %d without a body", path, resp.StatusCode, len(body), status)
		}
	}
	// The refused revocation consumed nothing: short's token still plays.
	resp, body := get(t, viewer(t, "viewer/1.0"), short.Assets.HLS)
	wantStatus(t, "short's token after a refused DELETE", resp, body, http.StatusOK)
	assertNoSecrets(t, e, short.Token)
}

// The list holds every demo video, each with its own fresh token; the
// scheme name of the key is case-insensitive.
func TestAPIList(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	var list struct{ Data []videoJSON }
	resp := e.apiWith("bearer "+e.apiKey, "GET", "/videos", "", &list)
	wantStatus(t, "GET /videos", resp, nil, http.StatusOK)
	if len(list.Data) != 2 || list.Data[0].VideoID != "demo" || list.Data[1].VideoID != "short" {
		t.Fatalf("GET /videos = %+v, want demo and short", list.Data)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q: answers with tokens must not be cached", cc)
	}
	a, b := list.Data[0], list.Data[1]
	if a.Token == "" || b.Token == "" || a.Token == b.Token || !strings.Contains(b.Assets.Player, b.Token) {
		t.Fatalf("tokens %q and %q: want one fresh token per video", a.Token, b.Token)
	}
	// Each list token is a working link to its own video.
	resp, body := get(t, viewer(t, "viewer/1.0"), b.Assets.MP4, "Range", "bytes=0-99")
	wantStatus(t, "MP4 from the list", resp, body, http.StatusPartialContent)
}
