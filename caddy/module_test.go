package pvcaddy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/privatevideo/privatevideo/edge"
)

const testHash = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

// Validate refuses each bad value by its subdirective's name, and never
// repeats a secret.
func TestValidate(t *testing.T) {
	neg := caddy.Duration(-time.Second)
	for _, c := range []struct {
		name string
		h    Handler
		want string // "" accepted
	}{
		{"nothing", Handler{}, ""},
		{"keys", Handler{HashKey: testHash, BlockKey: testHash, APIKey: "0123456789abcdef"}, ""},
		{"placeholders", Handler{HashKey: "{env.PV_HASH_KEY}", APIKey: "{env.PV_API_KEY}"}, ""},
		{"short hash key", Handler{HashKey: testHash[:62]}, "hash_key"},
		{"hash key not hex", Handler{HashKey: "secret-secret-secret"}, "hash_key"},
		{"block key without hash key", Handler{BlockKey: testHash}, "block_key"},
		{"long block key", Handler{HashKey: testHash, BlockKey: testHash + "00"}, "block_key"},
		{"short API key", Handler{APIKey: "secret"}, "api_key"},
		{"mode", Handler{Mode: "tab"}, "mode"},
		{"denial status", Handler{DenialStatus: 500}, "denial_status"},
		{"negative session TTL", Handler{SessionTTL: neg}, "session_ttl"},
		{"negative grace", Handler{Grace: &neg}, "grace"},
		{"public ID", Handler{Public: []string{"a/b"}}, "public"},
		{"CORS trailing slash", Handler{CORSOrigins: []string{"https://player.example.com/"}}, "cors_origins"},
		{"CORS star beside others", Handler{CORSOrigins: []string{"*", "https://a.example"}}, "cors_origins"},
		{"CORS upper case", Handler{CORSOrigins: []string{"https://Player.example.com"}}, "cors_origins"},
		{"proxies", Handler{TrustedProxies: []string{"10.0.0.0/8", "private_ranges", "nope"}}, "trusted_proxies"},
		{"public URL path", Handler{PublicURL: "https://m.example.com/media"}, "public_url"},
		{"public URL http without insecure cookies", Handler{PublicURL: "http://m.example.com"}, "insecure_cookies"},
		{"public URL http, insecure cookies", Handler{PublicURL: "http://m.example.com", InsecureCookies: true}, ""},
	} {
		err := c.h.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error about %s", c.name, err, c.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%s: the error repeats the secret: %v", c.name, err)
		}
	}
}

func TestParseProxies(t *testing.T) {
	p, err := parseProxies([]string{"private_ranges", "203.0.113.7"})
	if err != nil || len(p) != len(privateRanges)+1 || p[len(p)-1].String() != "203.0.113.7/32" {
		t.Fatalf("parseProxies = %v, %v", p, err)
	}
}

// The pool key names the store and the keys without holding them.
func TestPoolKeyHidesSecrets(t *testing.T) {
	a := poolKey(specOf(t, "redis://:hunter2@cache:6379/0"), testHash, "", "")
	if strings.Contains(a, "hunter2") || strings.Contains(a, testHash) {
		t.Fatalf("pool key %q holds a secret", a)
	}
	if b := poolKey(specOf(t, "redis://:hunter2@cache:6379/0"), testHash, "", ""); a != b {
		t.Error("the same store and keys give two pool keys: a reload would open a new store")
	}
	if b := poolKey(specOf(t, "redis://:hunter2@cache:6379/1"), testHash, "", ""); a == b {
		t.Error("two stores share a pool key")
	}
}

func specOf(t *testing.T, raw string) edge.StoreSpec {
	t.Helper()
	s, err := edge.ParseStoreSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every subdirective lands in its field; lists add up when repeated.
func TestCaddyfileEverySubdirective(t *testing.T) {
	d := caddyfile.NewTestDispenser(`privatevideo {
	hash_key 0011
	block_key 2233
	api_key k
	store redis://10.0.0.5:6379/0
	store_timeout 3s
	insecure_cookies
	session_ttl 2h
	mode page
	cors_origins https://a.example https://b.example
	cors_origins https://c.example
	trusted_proxies private_ranges
	denial_status 404
	public intro
	public_url https://media.example
	revocation_check
	grace 0s
	retry_window 10s
	first_byte_timeout 7s
}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	zero, ten := caddy.Duration(0), caddy.Duration(10*time.Second)
	want := Handler{
		HashKey: "0011", BlockKey: "2233", APIKey: "k", Store: "redis://10.0.0.5:6379/0",
		StoreTimeout: caddy.Duration(3 * time.Second), InsecureCookies: true, SessionTTL: caddy.Duration(2 * time.Hour),
		Mode: "page", CORSOrigins: []string{"https://a.example", "https://b.example", "https://c.example"},
		TrustedProxies: []string{"private_ranges"}, DenialStatus: 404, Public: []string{"intro"},
		PublicURL: "https://media.example", RevocationCheck: true, Grace: &zero, RetryWindow: &ten,
		FirstByteTimeout: caddy.Duration(7 * time.Second),
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", h, want)
	}
}
