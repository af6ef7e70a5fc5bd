//go:build unix

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
)

// An odd origin: it reads request paths as some common server does, which
// is not as Go does, and serves two videos, "a" and "b", with distinct
// bytes. Whatever path reaches it is recorded, as received and as read.
type oddOrigin struct {
	*httptest.Server
	name string
	read func(rawPath string) (string, bool) // the path as this server reads it
	mu   sync.Mutex
	got  []oddRequest
}

type oddRequest struct {
	uri, read, cookie string
}

// The bytes of each video's assets. A's answer says which file it is, so
// that the test can tell a's bytes from b's.
const (
	bytesOfA = "video-a-bytes:"
	bytesOfB = "SECRET-OF-VIDEO-B:"
)

// oddAssets are the assets each video has, in lower case.
var oddAssets = []string{"mp4/source.mp4", "hls/key.bin", "thumbnail.jpg", "hls/720p/seg0.ts"}

func newOddOrigin(t *testing.T, name string, read func(string) (string, bool)) *oddOrigin {
	o := &oddOrigin{name: name, read: read}
	files := map[string]string{}
	for _, a := range oddAssets {
		files["/vod/a/"+a] = bytesOfA + a
		files["/vod/b/"+a] = bytesOfB + a
	}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _, _ := strings.Cut(r.RequestURI, "?")
		p, ok := o.read(raw)
		o.mu.Lock()
		o.got = append(o.got, oddRequest{r.RequestURI, p, r.Header.Get("Cookie")})
		o.mu.Unlock()
		body, found := files[p]
		switch {
		case !ok:
			http.Error(w, "bad request", http.StatusBadRequest)
		case !found:
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte(body))
		}
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *oddOrigin) requests() []oddRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]oddRequest(nil), o.got...)
}

// tomcatRead reads a path as Tomcat and Jetty do: path parameters (";…")
// dropped from each segment, then percent-decoding, then dot segments.
func tomcatRead(raw string) (string, bool) {
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	d, err := url.PathUnescape(strings.Join(segs, "/"))
	if err != nil {
		return "", false
	}
	return path.Clean("/" + d), true
}

// doubleDecodeRead decodes twice before resolving dot segments, as servers
// behind a decoding proxy or with a decoding rewrite rule do.
func doubleDecodeRead(raw string) (string, bool) {
	d, err := url.PathUnescape(raw)
	if err != nil {
		return "", false
	}
	if d2, err := url.PathUnescape(d); err == nil {
		d = d2
	}
	return path.Clean("/" + d), true
}

// iisRead reads as IIS does: a backslash is a slash, and names are
// case-insensitive.
func iisRead(raw string) (string, bool) {
	d, err := url.PathUnescape(raw)
	if err != nil {
		return "", false
	}
	d = strings.ToLower(strings.ReplaceAll(d, `\`, "/"))
	return path.Clean("/" + d), true
}

// climbs are spellings of a climb out of /vod/a/ towards /vod/b/: a dot
// segment in its forms, a separator in its forms, and the other video's
// name in its forms, in every combination, then some hand-picked ones.
func climbs() []string {
	dots := []string{"..", "..;", "..;x=1", ".;.", "%2e%2e", "%2E%2E", "%2e%2e;", ".%2e", "%2e.", "..%3b", "..%00",
		"%252e%252e", "%252E%252E", "%25%32%65%25%32%65", "%252e%252e%253b", "...", "..%20"}
	seps := []string{"/", `\`, "%5c", "%5C", "%255c", "%2f", "%2F", "%252f", ";/", "/;/", "//", "/./"}
	names := []string{"b", "B", "%62", "%2562"}
	var out []string
	for _, d := range dots {
		for _, s := range seps {
			for _, n := range names {
				out = append(out, d+s+n+"/mp4/source.mp4")
			}
			out = append(out, d+s+"b"+s+"mp4"+s+"source.mp4")
			out = append(out, "hls"+s+d+s+d+s+"b"+s+"hls/key.bin")
		}
	}
	return append(out,
		`..\b\mp4\source.mp4`,
		`%5c..%5cb/mp4/source.mp4`,
		`%5c..%5cb%5cmp4%5csource.mp4`,
		`\..\b/mp4/source.mp4`,
		`mp4/..;/..;/b/mp4/source.mp4`,
		`..;/..;/vod/b/mp4/source.mp4`,
		`..%2f..%2fvod%2fb%2fmp4%2fsource.mp4`,
		`..%252f..%252fvod%252fb%252fmp4%252fsource.mp4`,
		`%2e%2e%5c%2e%2e%5cvod%5cb%5cmp4%5csource.mp4`,
		`.%2E/.%2E/VOD/B/MP4/SOURCE.MP4`,
		`..;/B/Mp4/Source.MP4`,
		`;/../b/mp4/source.mp4`,
		`hls/..%5c..%5cb%5chls%5ckey.bin`,
	)
}

// A session for video a never reads video b through an origin that reads
// paths differently from Go, whatever the spelling, on the token path (by
// cookie or avh) and on the public path (by avh); the origin never
// receives a path outside /vod/a/, nor a credential.
func TestOddOriginsKeepVideosApart(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		read func(string) (string, bool)
	}{
		{"tomcat", tomcatRead},
		{"double-decode", doubleDecodeRead},
		{"iis", iisRead},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testOddOrigin(t, newOddOrigin(t, c.name, c.read))
		})
	}
}

func testOddOrigin(t *testing.T, origin *oddOrigin) {
	// The origin is as odd as it claims: straight to it, the first climb
	// reads video b.
	resp, body := get(t, http.DefaultClient, origin.URL+"/vod/a/"+map[string]string{
		"tomcat": "..;/b/mp4/source.mp4", "double-decode": "%252e%252e/b/mp4/source.mp4", "iis": `..%5cB/mp4/source.mp4`,
	}[origin.name])
	if resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte(bytesOfB)) {
		t.Fatalf("the %s origin does not read the climb to b: %d %q", origin.name, resp.StatusCode, body)
	}
	origin.mu.Lock()
	origin.got = nil // that request was the test's own
	origin.mu.Unlock()

	e := startEdge(t, nil, "-origin", origin.URL)
	tok := e.video("a").Token
	e.video("b")
	sessionToken, cookie := e.session("a", tok, "viewer-a/1.0")
	avh := "avh=" + url.QueryEscape(sessionToken)
	c := &rawClient{t: t, addr: strings.TrimPrefix(e.base, "http://")}
	defer c.close()

	// The session works: a's own assets come, by every carrier.
	for _, target := range []string{"/vod/a/token/" + tok + "/mp4/source.mp4?" + avh, "/vod/a/mp4/source.mp4?" + avh} {
		if r := c.do("GET", target); r.status != 200 || string(r.body) != bytesOfA+"mp4/source.mp4" {
			t.Fatalf("a's own MP4 with the session: %d %q", r.status, r.body)
		}
	}
	if r := c.do("GET", "/vod/a/token/"+tok+"/hls/key.bin", "Cookie: pv_session="+cookie); r.status != 200 {
		t.Fatalf("a's own key with the session cookie: %d %q", r.status, r.body)
	}

	outcomes := map[int]int{}
	tried := 0
	try := func(what, target string, headers ...string) {
		r := c.do("GET", target, headers...)
		tried++
		outcomes[r.status]++
		if bytes.Contains(r.body, []byte(bytesOfB)) {
			t.Errorf("%s: %s answered video b's bytes (%d)", what, redactURL(target), r.status)
		}
		if bytes.Contains(r.body, []byte(sessionToken)) || strings.Contains(r.header.Get("Location"), sessionToken) {
			t.Errorf("%s: %s answered the session token", what, redactURL(target))
		}
	}
	for _, climb := range climbs() {
		try("token path, cookie", "/vod/a/token/"+tok+"/"+climb, "Cookie: pv_session="+cookie)
		try("token path, avh", "/vod/a/token/"+tok+"/"+climb+"?"+avh)
		try("public path, avh", "/vod/a/"+climb+"?"+avh)
	}
	// Outside the prefix, or another spelling of it.
	for _, p := range []string{"/VOD/b/mp4/source.mp4", "/Vod/b/mp4/source.mp4", "/vod%2fb/mp4/source.mp4", `/vod\b\mp4\source.mp4`,
		"/vod/B/mp4/source.mp4", "/vod/%62/mp4/source.mp4", "/vod/a%2f..%2fb/mp4/source.mp4", `/vod/a\..\b/mp4/source.mp4`,
		"/vod/a;/../b/mp4/source.mp4", "/vod/a/..;/b/mp4/source.mp4", "/vod;/b/mp4/source.mp4", "/%76od/b/mp4/source.mp4",
		"/vod/A/mp4/source.mp4", "/vod/a%5c..%5cb/mp4/source.mp4", "//vod/b/mp4/source.mp4"} {
		try("absolute, avh", p+"?"+avh)
		try("absolute, cookie", p, "Cookie: pv_session="+cookie)
	}
	t.Logf("%d spellings tried; answers by status: %v", tried, outcomes)

	for _, got := range origin.requests() {
		if got.read != "" && !strings.HasPrefix(got.read, "/vod/a/") {
			t.Errorf("the origin received %s, which it reads as %s", redactURL(got.uri), got.read)
		}
		lower := strings.ToLower(got.uri)
		if strings.Contains(lower, "avh") || strings.Contains(lower, "token") || strings.Contains(lower, tok) ||
			strings.Contains(got.cookie, "pv_session") || strings.Contains(got.uri+got.cookie, sessionToken) {
			t.Errorf("the origin received a credential with %s", redactURL(got.uri))
		}
	}
	assertNoSecrets(t, e, tok)
}
