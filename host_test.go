package privatevideo

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
)

// hostCases are URIs a playlist may hold, and whether the session token may
// go on them: to the playlist's own host (media.example.com) or the allowed
// CDN (cdn.example.com:8443) only, as a WHATWG parser resolves them.
var hostCases = []struct {
	uri  string
	ours bool
}{
	{"seg1.ts", true},
	{"../key.bin", true},
	{"/vod/v1/x.ts", true},
	{"?a=1", true},
	{"a\\b.ts", true},
	{"\\vod\\v1\\x.ts", true},
	{"https://media.example.com/x", true},
	{"HTTPS://MEDIA.EXAMPLE.COM/x", true},
	{"http://media.example.com/x", true},
	{"//media.example.com/x", true},
	{"//cdn.example.com:8443/x", true},
	{"https:\\\\media.example.com\\x", true},
	{"\\\\evil.example/x.ts", false},
	{"/\\evil.example/x.ts", false},
	{"\\/evil.example/x.ts", false},
	{"//evil.example/x.ts", false},
	{"///evil.example/x.ts", false},
	{"https:evil.example/x.ts", false},
	{"http:evil.example/x.ts", false},
	{"https:/evil.example/x.ts", false},
	{"https:\\\\evil.example/x", false},
	{"https:///evil.example/x", false},
	{"https://media.example.com@evil.example/x", false},
	{"https://evil.example\\@media.example.com/x", false},
	{"https://evil.example#@media.example.com/x", false},
	{"https://evil.example?@media.example.com/x", false},
	{"https://media.example.com.evil.example/x", false},
	{"https://%65vil.example/x", false},
	{"https://media%2eexample.com/x", false},
	{"https://evil.example%2f@media.example.com/x", false},
	{"https://cdn.example.com/x", false}, // the CDN is allowed on its port only
	{"\thttps://evil.example/x", false},
	{"ht\ttps://evil.example/x", false},
	{"https://evil.exa\tmple/x", false},
	{"/\t/evil.example/x", false},
	{"\x01//evil.example/x", false},
	{"https://ｅvil.example/x", false},
	{"skd://key", false},
	{"data:text/plain,x", false},
	{"javascript:alert(1)", false},
	{"a:b/c", false},
	{"dir/a:b", true},
}

func TestRewriterHostDecisions(t *testing.T) {
	p := testRewriter()
	for _, c := range hostCases {
		if got := p.ours([]byte(c.uri)); got != c.ours {
			t.Errorf("ours(%q) = %t, want %t", c.uri, got, c.ours)
		}
	}
}

// The same table against a real WHATWG parser, Node's URL, when node is
// here: whatever we give the session token to must resolve to an allowed
// host there.
func TestRewriterHostsAgainstNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("PRIVATEVIDEO_REQUIRE_TOOLS") != "" {
			t.Fatalf("node is required (PRIVATEVIDEO_REQUIRE_TOOLS is set) but not found: %v", err)
		}
		t.Skip("node not found: the WHATWG cross-check needs it")
	}
	const base = "https://media.example.com/vod/v1/hls/index.m3u8"
	script := `const rl = require("readline").createInterface({input: process.stdin});
rl.on("line", (l) => { const u = JSON.parse(l); let host = "";
  try { const r = new URL(u, ` + "`" + base + "`" + `); host = r.protocol === "http:" || r.protocol === "https:" ? r.host : "(" + r.protocol + ")"; } catch (e) { host = "(invalid)"; }
  console.log(JSON.stringify(host)); });`
	cmd := exec.Command(node, "-e", script)
	var in strings.Builder
	for _, c := range hostCases {
		b, _ := json.Marshal(c.uri)
		in.Write(append(b, '\n'))
	}
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	p := testRewriter()
	for _, c := range hostCases {
		if !sc.Scan() {
			t.Fatal("node answered fewer lines than asked")
		}
		var host string
		json.Unmarshal(sc.Bytes(), &host)
		allowed := host == "media.example.com" || host == "cdn.example.com:8443"
		if p.ours([]byte(c.uri)) && !allowed {
			t.Errorf("%q: the session token would go to %q", c.uri, host)
		}
		if allowed != c.ours {
			t.Logf("%q: WHATWG host %q; we give the token: %t (refusing an allowed host only costs playback)", c.uri, host, c.ours)
		}
	}
}

// whatwgResolve is a second, simpler reading of a URI against the playlist's
// URL, for the fuzzer: tabs and newlines dropped, backslashes as slashes,
// then Go's resolution. It returns the host, or "" when it cannot tell.
func whatwgResolve(uri string) string {
	s := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.Trim(uri, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
	s = strings.ReplaceAll(s, "\\", "/")
	if i := strings.Index(s, ":"); i > 0 && (strings.EqualFold(s[:i], "http") || strings.EqualFold(s[:i], "https")) {
		s = s[:i+1] + "//" + strings.TrimLeft(s[i+1:], "/")
	} else if strings.HasPrefix(s, "//") {
		s = "//" + strings.TrimLeft(s, "/")
	}
	ref, err := url.Parse(s)
	if err != nil {
		return ""
	}
	base, _ := url.Parse("https://media.example.com/vod/v1/hls/index.m3u8")
	return strings.ToLower(base.ResolveReference(ref).Host)
}

// FuzzRewriterHost: a URI the rewriter gives the session token to resolves,
// by a second reading, to an allowed host.
func FuzzRewriterHost(f *testing.F) {
	for _, c := range hostCases {
		f.Add(c.uri)
	}
	p := testRewriter()
	f.Fuzz(func(t *testing.T, uri string) {
		if !p.ours([]byte(uri)) {
			return
		}
		if h := whatwgResolve(uri); h != "" && h != "media.example.com" && h != "cdn.example.com:8443" {
			t.Fatalf("%q gets the session token but resolves to %q", uri, h)
		}
	})
}

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
