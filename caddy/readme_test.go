package pvcaddy_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// Every Caddyfile of the README adapts with the module, and the issue's
// configures the handler as it says, its secrets left as placeholders.
func TestReadmeCaddyfilesAdapt(t *testing.T) {
	blocks := readmeBlocks(t)
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d caddyfile blocks, want the configuration and the log snippet", len(blocks))
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for i, b := range blocks {
		out, warnings, err := adapter.Adapt([]byte(b), nil)
		if err != nil {
			t.Fatalf("block %d does not adapt: %v\n%s", i, err, b)
		}
		for _, w := range warnings {
			if !strings.Contains(w.Message, "not formatted") {
				t.Errorf("block %d: warning %s", i, w.Message)
			}
		}
		if i > 0 {
			continue
		}
		var cfg struct {
			Apps struct {
				HTTP struct {
					Servers map[string]struct {
						Routes []json.RawMessage
					}
				}
			}
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatal(err)
		}
		js := string(out)
		for _, want := range []string{`"handler":"privatevideo"`, `"hash_key":"{env.PV_HASH_KEY}"`, `"api_key":"{env.PV_API_KEY}"`, `"store":"redis://10.0.0.5:6379/0"`, `"insecure_cookies":true`} {
			if !strings.Contains(js, want) {
				t.Errorf("the README's Caddyfile adapts without %s:\n%s", want, js)
			}
		}
		// The handler comes before file_server in the route.
		if p, f := strings.Index(js, `"handler":"privatevideo"`), strings.Index(js, `"handler":"file_server"`); p < 0 || f < 0 || p > f {
			t.Errorf("privatevideo does not precede file_server:\n%s", js)
		}
	}
}

// The root README's Caddy section shows the same Caddyfile.
func TestRootReadmeCaddyfile(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Caddy\n")
	_, block, ok := strings.Cut(section, "```caddyfile\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README.md's Caddy section has no caddyfile block")
	}
	if want := readmeBlocks(t)[0]; block != want {
		t.Errorf("README.md's Caddyfile differs from caddy/README.md's:\n%s\nwant:\n%s", block, want)
	}
}

// Bad values are refused when Caddy loads the config, by name, without the
// secret.
func TestCaddyfileRefuses(t *testing.T) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, c := range []struct{ block, want string }{
		{"privatevideo {\n\tmode tab\n}", ""},
		{"privatevideo {\n\tcolour blue\n}", "unknown subdirective"},
		{"privatevideo {\n\tgrace soon\n}", "grace"},
		{"privatevideo {\n\tdenial_status often\n}", "denial_status"},
		{"privatevideo {\n\tinsecure_cookies yes\n}", "wrong argument count"},
		{"privatevideo extra", "wrong argument count"},
	} {
		_, _, err := adapter.Adapt([]byte(":8080 {\n"+c.block+"\n}\n"), nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v; want it to adapt (Validate refuses it at load)", c.block, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v; want an error about %s", c.block, err, c.want)
		}
	}
}
