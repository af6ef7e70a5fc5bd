package privatevideo

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
)

func FuzzParseToken(f *testing.F) {
	f.Add("0092d5ef-5750-471d-9e7e-48d0a7580238")
	f.Add("0092D5EF-5750-471D-9E7E-48D0A7580238")
	f.Add("{0092d5ef-5750-471d-9e7e-48d0a7580238}")
	f.Add("0092d5ef5750471d9e7e48d0a7580238")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			if tok != "" {
				t.Fatalf("ParseToken(%q) = %q with error %v", s, tok, err)
			}
			return
		}
		if !strings.EqualFold(tok, s) || strings.ToLower(tok) != tok || len(tok) != 36 {
			t.Fatalf("ParseToken(%q) = %q, want the lower-case form", s, tok)
		}
		if again, err := ParseToken(tok); err != nil || again != tok {
			t.Fatalf("ParseToken is not idempotent on %q: %q, %v", tok, again, err)
		}
		if r := RedactToken(tok); len(r) > 8+len("…") || !strings.HasPrefix(tok, strings.TrimSuffix(r, "…")) {
			t.Fatalf("RedactToken(%q) = %q", tok, r)
		}
	})
}

// FuzzLayoutParse checks the URL layout parser's promises on any URL: it
// never panics, and what it accepts is inside the video's folder.
func FuzzLayoutParse(f *testing.F) {
	tok := "0092d5ef-5750-471d-9e7e-48d0a7580238"
	for _, s := range []string{
		"/vod/v1", "/vod/v1?token=" + tok, "/vod/v1token=" + tok,
		"/vod/v1/token/" + tok + "/hls/manifest.m3u8?avh=abc&x=1",
		"/vod/v1/token/" + tok + "/session",
		"/vod/v1/token/" + tok + "/../../v2/x", "/vod/v1/%2E%2E/x", "/vod/v1/a%2Fb",
		"/x/../vod/v1/y", "/vod//v1", "/vod/v1//a//b/", "/other",
		"/vod/v1/x?token=a&token=b&avh=1&avh=2&avh=3",
	} {
		f.Add(s)
	}
	l := DefaultLayout
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		tg, ours, err := l.parse(u)
		if !ours || err != nil {
			return
		}
		if !ValidVideoID(tg.video) {
			t.Fatalf("%q: accepted video ID %q", raw, tg.video)
		}
		if tg.asset != "" {
			if tg.asset[0] != '/' || path.Clean(tg.asset) != tg.asset {
				t.Fatalf("%q: asset %q is not a clean rooted path", raw, tg.asset)
			}
			for seg := range strings.SplitSeq(tg.asset[1:], "/") {
				if seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00;%:?#") {
					t.Fatalf("%q: asset %q has a segment outside the grammar: %q", raw, tg.asset, seg)
				}
			}
		}
		if tg.token != "" {
			if _, err := ParseToken(tg.token); err != nil {
				t.Fatalf("%q: accepted token %q", raw, tg.token)
			}
		}
		q, err := url.ParseQuery(tg.query)
		if err == nil && (q.Has(l.TokenParam) || q.Has(l.SessionParam)) {
			t.Fatalf("%q: query %q still carries a token or session", raw, tg.query)
		}
		// The rewritten request is the public form, and parses back to the
		// same video and asset with no token.
		var pub url.URL
		r := requestFor(u)
		l.rewrite(r, &tg, &pub)
		if !strings.HasPrefix(r.URL.Path, l.Prefix+tg.video) {
			t.Fatalf("%q: handler would see %q, outside %s%s", raw, r.URL.Path, l.Prefix, tg.video)
		}
		back, ours, err := l.parse(r.URL)
		if !ours || err != nil || back.video != tg.video || back.asset != tg.asset || (tg.route != routeSession && back.token != "") {
			t.Fatalf("%q: public form %q parses to %+v, %v", raw, r.URL, back, err)
		}
	})
}

// FuzzSessionDecode feeds arbitrary session tokens to the codec: nothing
// panics and nothing but a real session token decodes.
func FuzzSessionDecode(f *testing.F) {
	c, err := newSessionCodec([]Key{{Hash: []byte(strings.Repeat("k", 32))}})
	if err != nil {
		f.Fatal(err)
	}
	real, err := c.encode(Session{VideoID: "v1", Token: "0092d5ef-5750-471d-9e7e-48d0a7580238", Expires: time.Unix(1900000000, 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add(real[:len(real)-1])
	f.Add(real[:10] + "\r\n" + real[10:])
	f.Add(real + "==")
	f.Add("")
	f.Add("MTc5NTgwOTEzOHx8")
	f.Fuzz(func(t *testing.T, s string) {
		sess, err := c.decode(s)
		if err != nil {
			return
		}
		if s != real {
			t.Fatalf("decode accepted %q as %+v", s, sess)
		}
	})
}

// FuzzSessionSerializer round-trips sessions through the binary form and
// feeds it garbage.
func FuzzSessionSerializer(f *testing.F) {
	f.Add([]byte{1}, "v1", int64(1900000000))
	f.Fuzz(func(t *testing.T, b []byte, video string, exp int64) {
		var s Session
		_ = sessionSerializer{}.Deserialize(b, &s)
		in := Session{VideoID: video, Token: "0092d5ef-5750-471d-9e7e-48d0a7580238", Expires: time.Unix(exp, 0)}
		enc, err := sessionSerializer{}.Serialize(&in)
		if err != nil {
			if ValidVideoID(video) {
				t.Fatalf("Serialize(%+v): %v", in, err)
			}
			return
		}
		var out Session
		if err := (sessionSerializer{}).Deserialize(enc, &out); err != nil || out != in {
			t.Fatalf("round trip of %+v gave %+v, %v", in, out, err)
		}
	})
}

func requestFor(u *url.URL) *http.Request {
	return &http.Request{Method: http.MethodGet, URL: u, RequestURI: u.RequestURI()}
}
