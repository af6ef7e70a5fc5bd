package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const (
	hashHex  = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	blockHex = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
)

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, envOf())
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.publicURL != "" || c.store.Kind != "memory" || c.origin != nil ||
		c.sessionTTL != 24*time.Hour || c.pageBound || c.revocationCheck || c.logFormat != "text" {
		t.Errorf("defaults: %+v", c)
	}
	if !c.apiKeyGenerated || len(c.apiKey) < 32 || !c.keysGenerated || len(c.keys) != 1 ||
		len(c.keys[0].Hash) != 32 || len(c.keys[0].Block) != 32 {
		t.Errorf("want a random API key and random session keys, got key %d chars, %d keys", len(c.apiKey), len(c.keys))
	}
	d, _ := parseConfig(nil, envOf())
	if d.apiKey == c.apiKey || string(d.keys[0].Hash) == string(c.keys[0].Hash) {
		t.Error("two runs drew the same random keys")
	}
}

func TestConfigEnvironmentAndFlags(t *testing.T) {
	env := envOf(
		"PRIVATEVIDEO_ADDR", "0.0.0.0:9000",
		"PRIVATEVIDEO_PUBLIC_URL", "https://media.example.com/",
		"PRIVATEVIDEO_API_KEY", "env-api-key-0123456789",
		"PRIVATEVIDEO_HASH_KEY", hashHex,
		"PRIVATEVIDEO_SESSION_TTL", "2h",
		"PRIVATEVIDEO_MODE", "page",
		"PRIVATEVIDEO_REVOCATION_CHECK", "true",
		"PRIVATEVIDEO_ORIGIN", "http://origin.internal:9000/media",
		"PRIVATEVIDEO_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1",
	)
	c, err := parseConfig([]string{"-addr", "127.0.0.1:7000", "-session-ttl", "30m"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:7000" || c.sessionTTL != 30*time.Minute {
		t.Errorf("flags must win over the environment: addr %s, session TTL %s", c.addr, c.sessionTTL)
	}
	if c.publicURL != "https://media.example.com" || c.apiKey != "env-api-key-0123456789" || c.apiKeyGenerated ||
		!c.pageBound || !c.revocationCheck || c.origin.String() != "http://origin.internal:9000/media" {
		t.Errorf("environment not applied: %+v", c)
	}
	if c.keysGenerated || len(c.keys[0].Hash) != 32 || c.keys[0].Block != nil {
		t.Errorf("a hash key alone: want it, unencrypted; got generated=%v block=%d bytes", c.keysGenerated, len(c.keys[0].Block))
	}
	if len(c.trustedProxies) != 2 || c.trustedProxies[0].String() != "10.0.0.0/8" || c.trustedProxies[1].String() != "192.168.1.1/32" {
		t.Errorf("trusted proxies %v", c.trustedProxies)
	}
	c, err = parseConfig([]string{"-hash-key", hashHex, "-block-key", blockHex}, envOf())
	if err != nil || len(c.keys[0].Block) != 32 || c.keys[0].Block[0] != 0x1f {
		t.Errorf("-block-key: %v, %+v", err, c.keys)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  []string
		want string // in the error
	}{
		{"bad addr", []string{"-addr", "8080"}, nil, "-addr"},
		{"public URL scheme", []string{"-public-url", "ftp://x"}, nil, "-public-url"},
		{"public URL path", []string{"-public-url", "https://x/media"}, nil, "no path"},
		{"public URL query", []string{"-public-url", "https://x/?a=b"}, nil, "-public-url"},
		{"public URL relative", []string{"-public-url", "media.example.com"}, nil, "-public-url"},
		{"short API key", []string{"-api-key", "short"}, nil, "-api-key"},
		{"API key with space", []string{"-api-key", "0123456789 abcdefgh"}, nil, "-api-key"},
		{"hash key not hex", []string{"-hash-key", "zz"}, nil, "-hash-key: not hexadecimal"},
		{"hash key short", []string{"-hash-key", hashHex[:62]}, nil, "at least 32 bytes"},
		{"block key short", []string{"-block-key", blockHex[:62]}, nil, "exactly 32 bytes"},
		{"block key not hex", []string{"-block-key", "xyz"}, nil, "-block-key"},
		{"store", []string{"-store", "mysql://db"}, nil, "-store"},
		{"origin", []string{"-origin", "origin.internal"}, nil, "-origin"},
		{"origin timeout", []string{"-origin-timeout", "0s"}, nil, "-origin-timeout"},
		{"session TTL", []string{"-session-ttl", "500ms"}, nil, "-session-ttl"},
		{"mode", []string{"-mode", "tab"}, nil, "-mode"},
		{"log format", []string{"-log-format", "xml"}, nil, "-log-format"},
		{"trusted proxies", []string{"-trusted-proxies", "10.0.0.0/8,nope"}, nil, "-trusted-proxies"},
		{"shutdown timeout", []string{"-shutdown-timeout", "-1s"}, nil, "-shutdown-timeout"},
		{"unknown flag", []string{"-colour"}, nil, "colour"},
		{"positional", []string{"serve"}, nil, "unexpected argument"},
		{"env duration", nil, []string{"PRIVATEVIDEO_SESSION_TTL", "a day"}, "PRIVATEVIDEO_SESSION_TTL"},
		{"env bool", nil, []string{"PRIVATEVIDEO_REVOCATION_CHECK", "maybe"}, "PRIVATEVIDEO_REVOCATION_CHECK"},
		{"env validated", nil, []string{"PRIVATEVIDEO_MODE", "tab"}, "-mode"},
	}
	for _, c := range cases {
		_, err := parseConfig(c.args, envOf(c.env...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one that says %q", c.name, err, c.want)
		}
	}
	if _, err := parseConfig([]string{"-help"}, envOf()); !errors.Is(err, errHelp) {
		t.Errorf("-help: %v", err)
	}
}

// Configuration errors never repeat a secret.
func TestConfigErrorsHideSecrets(t *testing.T) {
	const secret = "s3cr3t-but-too-short"
	for _, args := range [][]string{
		{"-api-key", "tiny key " + secret},
		{"-hash-key", secret},
		{"-block-key", secret},
		{"-store", "mysql://user:" + secret + "@db"},
		{"-origin", "ftp://user:" + secret + "@origin"},
	} {
		_, err := parseConfig(args, envOf())
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %v: want an error without the value", args[0], err)
		}
	}
}

func TestConfigMetricsAddr(t *testing.T) {
	if c, err := parseConfig(nil, envOf()); err != nil || c.metricsAddr != "" {
		t.Fatalf("default -metrics-addr %q, %v: want none", c.metricsAddr, err)
	}
	if c, err := parseConfig(nil, envOf("PRIVATEVIDEO_METRICS_ADDR", "127.0.0.1:9090")); err != nil || c.metricsAddr != "127.0.0.1:9090" {
		t.Fatalf("PRIVATEVIDEO_METRICS_ADDR: %q, %v", c.metricsAddr, err)
	}
	if _, err := parseConfig([]string{"-metrics-addr", "9090"}, envOf()); err == nil || !strings.Contains(err.Error(), "-metrics-addr") {
		t.Fatalf("-metrics-addr without a port: %v", err)
	}
}

func TestConfigStoreTimeout(t *testing.T) {
	if c, err := parseConfig(nil, envOf()); err != nil || c.storeTimeout != 2*time.Second {
		t.Fatalf("default -store-timeout %s, %v: want 2s", c.storeTimeout, err)
	}
	if c, err := parseConfig(nil, envOf("PRIVATEVIDEO_STORE_TIMEOUT", "250ms")); err != nil || c.storeTimeout != 250*time.Millisecond {
		t.Fatalf("PRIVATEVIDEO_STORE_TIMEOUT: %s, %v", c.storeTimeout, err)
	}
	for _, bad := range []string{"0s", "-1s", "2m"} {
		if _, err := parseConfig([]string{"-store-timeout", bad}, envOf()); err == nil || !strings.Contains(err.Error(), "-store-timeout") {
			t.Errorf("-store-timeout %s: %v", bad, err)
		}
	}
}
