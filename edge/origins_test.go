package edge

import (
	"strings"
	"testing"
)

func TestCheckOrigin(t *testing.T) {
	for _, o := range []string{
		"https://player.example", "http://127.0.0.1:8080", "http://[::1]:8080", "https://xn--bcher-kva.example",
		"http://[::ffff:7f00:1]", "http://[2001:db8::1]", "http://[2001:db8:0:1::1]", "http://[1:0:2::3:0:4]", "http://10.0.0.1",
	} {
		if err := CheckOrigin(o); err != nil {
			t.Errorf("CheckOrigin(%q) = %v, want nil: a browser sends it so", o, err)
		}
	}
	for o, want := range map[string]string{
		"https://player.example/":       "trailing slash",
		"https://player.example:443":    "https://player.example",
		"https://Player.example":        "https://player.example",
		"http://127.1:8080":             "IPv4",
		"http://2130706433":             "IPv4",
		"http://0x7f.0.0.1":             "IPv4",
		"http://1.2.3.4.":               "IPv4",
		"http://010.0.0.1":              "IPv4",
		"http://[::ffff:127.0.0.1]":     "http://[::ffff:7f00:1]",
		"http://[0:0::1]":               "http://[::1]",
		"http://[2001:DB8::1]":          "http://[2001:db8::1]",
		"http://[2001:db8:0:1:0:0:0:1]": "http://[2001:db8:0:1::1]",
		"http://[fe80::1%25eth0]":       "zone",
		"https://*.example":             "wildcards",
		"null":                          "want an origin",
	} {
		err := CheckOrigin(o)
		if err == nil {
			t.Errorf("CheckOrigin(%q) = nil, want a refusal", o)
			continue
		}
		if w := strings.TrimPrefix(want, "trailing slash"); want != "trailing slash" && !strings.Contains(err.Error(), w) {
			t.Errorf("CheckOrigin(%q) = %v, want it to say %q", o, err, want)
		}
	}
}
