//go:build unix

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
)

// boundaryMethods are the methods every private path is tried with: the
// standard ones, WebDAV's, a made-up one and a lower-case GET, which is
// another method (methods are case-sensitive).
var boundaryMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
	"PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "FOO", "get"}

// withBody are the methods sent with a small body, as their clients do.
var withBody = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "PROPFIND": true, "LOCK": true}

// anyMethodOrigin is an origin that answers every method like GET, ranges
// included, as http.FileServer and many origins do, and records what
// reaches it.
type anyMethodOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	seen []originRequest
}

type originRequest struct {
	method, uri, cookie string
	bodyLen             int64
}

func newAnyMethodOrigin(t *testing.T) *anyMethodOrigin {
	o := &anyMethodOrigin{}
	files := http.StripPrefix("/vod", http.FileServerFS(os.DirFS("media")))
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, originRequest{r.Method, r.RequestURI, r.Header.Get("Cookie"), r.ContentLength})
		o.mu.Unlock()
		if r.Method != http.MethodHead {
			r.Method = http.MethodGet
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *anyMethodOrigin) requests() []originRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]originRequest(nil), o.seen...)
}

// privateBytes tells whether b holds any piece of the private media: the
// HLS key whole, or one of several windows of the MP4.
type privateBytes struct {
	key    []byte
	mp4    []byte
	probes [][]byte
}

func newPrivateBytes(t *testing.T, video string) *privateBytes {
	p := &privateBytes{key: readFile(t, "media/"+video+"/hls/key.bin"), mp4: readFile(t, "media/"+video+"/mp4/source.mp4")}
	n := len(p.mp4)
	for _, off := range []int{0, 512, 4096, n / 3, n / 2, n - 64} {
		p.probes = append(p.probes, p.mp4[off:off+32])
	}
	return p
}

func (p *privateBytes) in(b []byte) bool {
	if bytes.Contains(b, p.key) {
		return true
	}
	for _, probe := range p.probes {
		if bytes.Contains(b, probe) {
			return true
		}
	}
	return false
}

// Every method, on every private path, in every state of its token: no
// private byte comes back but to GET and HEAD with a valid session; OPTIONS
// is answered with an empty 204 and other methods with 405 and Allow, and
// neither reaches the origin; no token changes state.
func TestMethodsBoundary(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"demo", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var origin *anyMethodOrigin
			var args []string
			if mode == "proxy" {
				origin = newAnyMethodOrigin(t)
				args = []string{"-origin", origin.URL}
			}
			e := startEdge(t, nil, args...)
			testMethodsBoundary(t, e, origin)
		})
	}
}

func testMethodsBoundary(t *testing.T, e *edge, origin *anyMethodOrigin) {
	const id = "demo"
	private := newPrivateBytes(t, id)
	addr := strings.TrimPrefix(e.base, "http://")
	unused, used, sess := e.video(id).Token, e.video(id).Token, e.video(id).Token

	resp, body := get(t, viewer(t, "redeemer/1.0"), e.base+"/vod/"+id+"/token/"+used+"/mp4/source.mp4", "Range", "bytes=0-99")
	wantStatus(t, "redeeming the used token", resp, body, http.StatusPartialContent)
	sessionToken, cookie := e.session(id, sess, "session-owner/1.0")
	avh := "?avh=" + url.QueryEscape(sessionToken)

	type probe struct {
		state, target string
		headers       []string
		asset         string // the file behind target, "" for the page and the session endpoint
		session       bool   // a valid session comes with it
		route         string // "asset", "page" or "session"
	}
	assets := []string{"mp4/source.mp4", "hls/key.bin"}
	var probes []probe
	tokenPaths := func(state, tok string, headers []string, query string, session bool) {
		for _, a := range assets {
			probes = append(probes, probe{state, "/vod/" + id + "/token/" + tok + "/" + a + query, headers, a, session, "asset"})
		}
		probes = append(probes, probe{state, "/vod/" + id + "/token/" + tok + "/session" + query, headers, "", session, "session"})
		probes = append(probes, probe{state, "/vod/" + id + "?token=" + tok + strings.Replace(query, "?", "&", 1), headers, "", session, "page"})
	}
	for _, a := range assets {
		probes = append(probes, probe{"no token", "/vod/" + id + "/" + a, nil, a, false, "asset"})
		probes = append(probes, probe{"avh, public path", "/vod/" + id + "/" + a + avh, nil, a, true, "asset"})
		probes = append(probes, probe{"cookie, public path", "/vod/" + id + "/" + a, []string{"Cookie: pv_session=" + cookie}, a, true, "asset"})
	}
	probes = append(probes, probe{"no token", "/vod/" + id, nil, "", false, "page"})
	probes = append(probes, probe{"avh, public path", "/vod/" + id + avh, nil, "", true, "page"})
	tokenPaths("unused token", unused, nil, "", false)
	tokenPaths("used token", used, nil, "", false)
	tokenPaths("cookie", sess, []string{"Cookie: pv_session=" + cookie}, "", true)
	tokenPaths("avh", sess, nil, avh, true)

	requests := 0
	for _, p := range probes {
		for _, method := range boundaryMethods {
			if p.state == "unused token" && (method == "GET" && p.route != "page" || method == "POST" && p.route == "session") {
				continue // these redeem, as they should: checked last
			}
			what := method + " " + p.route + " (" + p.state + ")"
			if p.asset != "" {
				what = method + " " + p.asset + " (" + p.state + ")"
			}
			body := ""
			if withBody[method] {
				body = "x=1"
			}
			headers := append([]string{"User-Agent: prober/1.0"}, p.headers...)
			r := rawDo(t, addr, method, p.target, headers, body)
			requests++
			grants := (method == "GET" || method == "HEAD") && p.session && p.route == "asset"
			switch {
			case grants:
				if r.status != http.StatusOK {
					t.Errorf("%s: %d, want 200 with a valid session", what, r.status)
				} else if method == "GET" && !bytes.Equal(r.body, readFile(t, "media/"+id+"/"+p.asset)) {
					t.Errorf("%s: %d bytes, not the file's", what, len(r.body))
				}
			case private.in(r.wire):
				t.Errorf("%s: %d answered private bytes", what, r.status)
			}
			switch {
			case method == "OPTIONS":
				if r.status != http.StatusNoContent || len(r.body) != 0 {
					t.Errorf("%s: %d with %d bytes, want an empty 204", what, r.status, len(r.body))
				}
			case method == "GET" || method == "HEAD" || method == "POST" && p.route == "session":
				if !grants && p.route == "asset" && r.status < 400 {
					t.Errorf("%s: %d without a valid session", what, r.status)
				}
			default:
				if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") == "" {
					t.Errorf("%s: %d with Allow %q, want 405 with Allow", what, r.status, r.header.Get("Allow"))
				}
				if allow := r.header.Get("Allow"); strings.Contains(","+strings.ReplaceAll(allow, " ", "")+",", ","+method+",") {
					t.Errorf("%s: 405 with Allow %q, which names the method", what, allow)
				}
			}
			if p.route != "session" && method != "GET" && method != "HEAD" && bytes.Contains(r.wire, []byte(sessionToken)) {
				t.Errorf("%s: the answer holds the session token", what)
			}
		}
	}
	t.Logf("%d requests", requests)

	if origin != nil {
		for _, o := range origin.requests() {
			if o.method != "GET" && o.method != "HEAD" {
				t.Errorf("the origin received %s %s: only GET and HEAD may reach it", o.method, redactURL(o.uri))
			}
			if !strings.HasPrefix(o.uri, "/vod/"+id+"/") {
				t.Errorf("the origin received %s %s: only assets may reach it", o.method, redactURL(o.uri))
			}
			lower := strings.ToLower(o.uri)
			if strings.Contains(lower, "avh") || strings.Contains(lower, "token") || strings.Contains(o.cookie, "pv_session") {
				t.Errorf("the origin received a credential: %s %s", o.method, redactURL(o.uri))
			}
			if o.bodyLen != 0 {
				t.Errorf("the origin received a request body (%d bytes) with %s %s", o.bodyLen, o.method, redactURL(o.uri))
			}
		}
	}

	// No token changed state. The unused one is still unused (a HEAD says
	// so without redeeming), and redeems now, once.
	checker := viewer(t, "checker/1.0")
	resp, _ = do(t, checker, mustRequest(t, "HEAD", e.base+"/vod/"+id+"/token/"+unused+"/mp4/source.mp4"))
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Privatevideo-Reason") != "not-redeemed" {
		t.Errorf("unused token after the probes: HEAD %d %q, want 403 not-redeemed", resp.StatusCode, resp.Header.Get("Privatevideo-Reason"))
	}
	resp, body = get(t, checker, e.base+"/vod/"+id+"/token/"+unused+"/hls/key.bin")
	wantStatus(t, "the unused token, redeemed after the probes", resp, body, http.StatusOK)
	if !bytes.Equal(body, private.key) {
		t.Errorf("the unused token's redemption answered %d bytes, not the key", len(body))
	}
	resp, body = get(t, viewer(t, "another/1.0"), e.base+"/vod/"+id+"/token/"+used+"/hls/key.bin")
	wantProblem(t, "the used token after the probes", resp, body, http.StatusForbidden, "token-used")
	resp, body = get(t, viewer(t, "another/1.0"), e.base+"/vod/"+id+"/token/"+sess+"/hls/key.bin"+avh)
	wantStatus(t, "the session after the probes", resp, body, http.StatusOK)
	assertNoSecrets(t, e, unused, used, sess)
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
