package privatevideo

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// originReadings are how other servers read a request path (see
// boundary_test.go): Tomcat's ";params", a second decoding, backslashes and
// case.
var originReadings = map[string]func(string) string{
	"tomcat": func(raw string) string {
		segs := strings.Split(raw, "/")
		for i, s := range segs {
			s, _, _ = strings.Cut(s, ";")
			segs[i] = lenientUnescape(s)
		}
		return path.Clean(strings.Join(segs, "/"))
	},
	"double-decode": func(raw string) string { return path.Clean(lenientUnescape(lenientUnescape(raw))) },
	"backslash": func(raw string) string {
		return strings.ToLower(path.Clean(strings.ReplaceAll(lenientUnescape(raw), `\`, "/")))
	},
	"windows": func(raw string) string { // NTFS streams and trailing dots and spaces dropped
		segs := strings.Split(strings.ReplaceAll(lenientUnescape(raw), `\`, "/"), "/")
		for i, s := range segs {
			s, _, _ = strings.Cut(s, ":")
			if t := strings.TrimRight(s, ". "); t != "" || s == "" {
				segs[i] = t
			} else {
				segs[i] = ".."
			}
		}
		return strings.ToLower(path.Clean(strings.Join(segs, "/")))
	},
	"fullwidth": func(raw string) string { // an NFKC-normalizing server
		s := strings.Map(func(r rune) rune {
			if r >= 0xff01 && r <= 0xff5e {
				return r - 0xfee0
			}
			return r
		}, lenientUnescape(raw))
		return strings.ToLower(path.Clean(strings.ReplaceAll(s, `\`, "/")))
	},
}

// FuzzAssetGrammar: whatever the layout accepts, the public path the
// handler receives reads, to every origin reading, as a path inside the same
// video; and what it refuses as "not ours" reads outside the prefix too.
func FuzzAssetGrammar(f *testing.F) {
	tok := "0092d5ef-5750-471d-9e7e-48d0a7580238"
	for _, s := range []string{
		"/vod/v1/token/" + tok + "/hls/a.ts", "/vod/v1/..;/v2/x", "/vod/v1/%252e%252e/v2", "/vod/v1/a\\..\\..\\v2",
		"/VOD/v2/x", "/x/..;/vod/v2", "/vod/v1/seg(1).ts", "/vod/v1/a%2fb", "/vod/v1/%c0%ae%c0%ae/x",
		"/vod./v2/x", "/vod::$INDEX_ALLOCATION/v2", "/vod/v1/.../v2/x", "/%ef%bd%96od/v2", "/x/%ef%bc%8e%ef%bc%8e/vod/v2",
	} {
		f.Add(s)
	}
	l := DefaultLayout
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil || u.Opaque != "" {
			return
		}
		tg, ours, err := l.parse(u)
		if !ours {
			for name, read := range originReadings {
				for _, p := range []string{u.EscapedPath(), u.Path} {
					if got := read(p); strings.HasPrefix(strings.ToLower(got)+"/", l.Prefix) {
						t.Fatalf("%q passes as not ours, but %s reads %q as %q", raw, name, p, got)
					}
				}
			}
			return
		}
		if err != nil {
			return
		}
		r := requestFor(u)
		var pub url.URL
		l.rewrite(r, &tg, &pub)
		wire, _, _ := strings.Cut(r.RequestURI, "?")
		want := strings.ToLower(l.Prefix + tg.video)
		for name, read := range originReadings {
			got := strings.ToLower(read(wire))
			if got != want && !strings.HasPrefix(got, want+"/") {
				t.Fatalf("%q: the handler gets %q, which %s reads as %q, outside %s", raw, wire, name, got, want)
			}
			if strings.Contains(got[len(want):], "/"+strings.ToLower(l.TokenSegment)+"/") && tg.asset != "" &&
				strings.HasPrefix(strings.ToLower(tg.asset), "/"+l.TokenSegment+"/") {
				t.Fatalf("%q: a public path reads as a token path to %s: %q", raw, name, got)
			}
		}
	})
}

func TestRedactTokens(t *testing.T) {
	tok := "0092d5ef-5750-471d-9e7e-48d0a7580238"
	for in, want := range map[string]string{
		"kv: GET pv:" + tok + ": i/o timeout":                    "kv: GET pv:0092d5ef…: i/o timeout",
		strings.ToUpper(tok) + " and " + tok:                     "0092D5EF… and 0092d5ef…",
		"key 0092d5ef5750471d9e7e48d0a7580238 gone":              "key 0092d5ef… gone",
		"a 33-digit run 0092d5ef5750471d9e7e48d0a75802381 stays": "a 33-digit run 0092d5ef5750471d9e7e48d0a75802381 stays",
		"nothing here": "nothing here",
	} {
		if got := redactTokens(in); got != want {
			t.Errorf("redactTokens(%q) = %q, want %q", in, got, want)
		}
	}
}
