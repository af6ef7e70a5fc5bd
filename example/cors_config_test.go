package main

import (
	"slices"
	"strings"
	"testing"
)

// -cors-origins takes origins exactly as browsers send them, from the flag
// or PRIVATEVIDEO_CORS_ORIGINS, the flag winning.
func TestConfigCORSOrigins(t *testing.T) {
	if c, err := parseConfig(nil, envOf()); err != nil || c.corsOrigins != nil {
		t.Fatalf("default: %q, %v; want no CORS origin", c.corsOrigins, err)
	}
	for _, c := range []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"-cors-origins", "https://player.example.com"}, nil, []string{"https://player.example.com"}},
		{[]string{"-cors-origins", " https://a.example , http://127.0.0.1:8081,,https://a.example,http://[::1]:9000 "}, nil,
			[]string{"https://a.example", "http://127.0.0.1:8081", "http://[::1]:9000"}},
		{nil, []string{"PRIVATEVIDEO_CORS_ORIGINS", "https://env.example,https://xn--bcher-kva.example"},
			[]string{"https://env.example", "https://xn--bcher-kva.example"}},
		{[]string{"-cors-origins", "https://flag.example"}, []string{"PRIVATEVIDEO_CORS_ORIGINS", "https://env.example"},
			[]string{"https://flag.example"}},
		{[]string{"-cors-origins", "*"}, nil, []string{"*"}},
		{[]string{"-cors-origins", ""}, []string{"PRIVATEVIDEO_CORS_ORIGINS", "https://env.example"}, nil},
	} {
		got, err := parseConfig(c.args, envOf(c.env...))
		if err != nil || !slices.Equal(got.corsOrigins, c.want) {
			t.Errorf("%q %q: %q, %v; want %q", c.args, c.env, got.corsOrigins, err, c.want)
		}
	}
}

// A value that no browser would ever send as its Origin is refused loudly,
// naming the flag and, where there is one, the spelling browsers use: an
// origin the middleware could never match would refuse the player with no
// clue why.
func TestConfigCORSOriginsErrors(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"https://player.example/", "not even a trailing slash"},
		{"https://player.example/embed", "no path"},
		{"https://player.example?x=1", "no path, query"},
		{"https://player.example#top", "no path, query"},
		{"https://Player.Example", "a browser sends this origin as https://player.example"},
		{"HTTPS://player.example", "a browser sends this origin as https://player.example"},
		{"https://player.example:443", "a browser sends this origin as https://player.example"},
		{"http://player.example:80", "a browser sends this origin as http://player.example"},
		{"http://player.example:", "a browser sends this origin as http://player.example"},
		{"http://player.example:08080", "a browser sends this origin as http://player.example:8080"},
		{"http://[0:0::1]:8080", "a browser sends this origin as http://[::1]:8080"},
		{"http://player.example:99999", "port"},
		{"https://bücher.example", "ASCII host"},
		{"https://*.example.com", "without wildcards"},
		{"https://user@player.example", "no user"},
		{"player.example", "want an origin"},
		{"ftp://player.example", "want an origin"},
		{"null", "want an origin"},
		{"*,https://player.example", `"*" (any origin, without credentials) stands alone`},
	} {
		_, err := parseConfig([]string{"-cors-origins", c.value}, envOf())
		if err == nil || !strings.Contains(err.Error(), "-cors-origins") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-cors-origins %q: %v; want an error that says %q", c.value, err, c.want)
		}
		_, err = parseConfig(nil, envOf("PRIVATEVIDEO_CORS_ORIGINS", c.value))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PRIVATEVIDEO_CORS_ORIGINS=%q: %v; want an error that says %q", c.value, err, c.want)
		}
	}
}

func TestUsageShowsCORSOrigins(t *testing.T) {
	u := usage()
	if !strings.Contains(u, "-cors-origins origins") || !strings.Contains(u, "$PRIVATEVIDEO_CORS_ORIGINS") {
		t.Fatalf("-help does not show -cors-origins and its variable:\n%s", u)
	}
}
