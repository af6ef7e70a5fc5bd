package manifest

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
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

// testHosts serves media.example.com, and the CDN on its port.
var testHosts = Hosts{Host: "media.example.com", Allowed: []string{"cdn.example.com:8443"}}

// ours is what the rewriters decide: the session token goes on u.
func ours(u string) bool { return testHosts.Classify([]byte(u)) != Foreign }

func TestClassify(t *testing.T) {
	for _, c := range hostCases {
		if got := ours(c.uri); got != c.ours {
			t.Errorf("Classify(%q) = %d: ours %t, want %t", c.uri, testHosts.Classify([]byte(c.uri)), got, c.ours)
		}
	}
	for u, want := range map[string]Kind{"seg.ts": Relative, "/a/b": Relative, "//media.example.com/x": Ours, "https://cdn.example.com:8443/x": Ours, "https://evil.example/x": Foreign} {
		if got := testHosts.Classify([]byte(u)); got != want {
			t.Errorf("Classify(%q) = %d, want %d", u, got, want)
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
	for _, c := range hostCases {
		if !sc.Scan() {
			t.Fatal("node answered fewer lines than asked")
		}
		var host string
		json.Unmarshal(sc.Bytes(), &host)
		allowed := host == "media.example.com" || host == "cdn.example.com:8443"
		if ours(c.uri) && !allowed {
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
	f.Fuzz(func(t *testing.T, uri string) {
		if !ours(uri) {
			return
		}
		if h := whatwgResolve(uri); h != "" && h != "media.example.com" && h != "cdn.example.com:8443" {
			t.Fatalf("%q gets the session token but resolves to %q", uri, h)
		}
	})
}
