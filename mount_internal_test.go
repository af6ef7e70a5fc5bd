package privatevideo

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzMount: whatever the request line, the path a handler in front left,
// and the router's pattern and path value, reading the mount never panics,
// and a mount the middleware would build into URLs and cookie paths is in
// the asset grammar and is where the client really asked: the client's
// path (decoded) starts with it and the layout's prefix, and a routed part
// is in the path the middleware saw.
func FuzzMount(f *testing.F) {
	f.Add("/media/vod/v1/token/x/a.ts", "/vod/v1/token/x/a.ts", "", "")
	f.Add("/media/vod/v1/a.ts", "/media/vod/v1/a.ts", "/media/*", "vod/v1/a.ts")
	f.Add("/t/acme/vod/v1", "/t/acme/vod/v1", "GET /t/{tenant}/{rest...}", "acme")
	f.Add("http://h/app/vod/v1/a.ts?token=x", "/vod/v1/a.ts", "", "")
	f.Add("/a%2Fb/vod/v1/a.ts", "/vod/v1/a.ts", "", "")
	f.Add("/x/vod/v1", "/x/vod/v1", "/{x}/", "x")
	f.Add("*", "", "", "")
	l := DefaultLayout
	f.Fuzz(func(t *testing.T, uri, p, pattern, value string) {
		u, err := url.Parse(p)
		if err != nil || u.Path != p {
			return // the server hands handlers parsed paths
		}
		r := &http.Request{Method: http.MethodGet, URL: u, RequestURI: uri, Pattern: pattern}
		for _, name := range []string{"x", "tenant", "rest", "*"} {
			r.SetPathValue(name, value)
		}
		tg, ours, err := l.parseRequest(r)
		if !ours || err != nil {
			return
		}
		if !validMount(tg.mount) {
			t.Fatalf("mount %q is outside the grammar", tg.mount)
		}
		if !strings.HasPrefix(p, tg.inner) {
			t.Fatalf("routed mount %q is not in the path %q", tg.inner, p)
		}
		if tg.mount == tg.inner {
			return // nothing stripped: the path itself is the client's
		}
		asked, err := url.PathUnescape(requestPath(uri))
		if err != nil || !strings.HasPrefix(asked, tg.mount+l.Prefix) && asked != tg.mount+l.Prefix[:len(l.Prefix)-1] {
			t.Fatalf("mount %q: the client asked for %q (%v)", tg.mount, asked, err)
		}
	})
}
