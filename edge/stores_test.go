package edge

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

func TestStoreSpecHidesPassword(t *testing.T) {
	s, err := ParseStoreSpec("redis://:hunter2@cache.internal:6379/0")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); strings.Contains(got, "hunter2") || !strings.Contains(got, "cache.internal") {
		t.Errorf("String() = %q", got)
	}
}

func TestParseStoreSpec(t *testing.T) {
	for raw, kind := range map[string]string{
		"memory":                    "memory",
		"redis://127.0.0.1:6379/0":  "redis",
		"rediss://cache:6380/1":     "redis",
		"postgres://u@db/pv":        "postgres",
		"postgresql://u@db/pv":      "postgres",
		"mysql://u:secret@db/pv":    "",
		"Memory":                    "",
		"":                          "",
		"redis://u:secret@%zz:6379": "",
	} {
		s, err := ParseStoreSpec(raw)
		switch {
		case kind == "" && err == nil:
			t.Errorf("%q: accepted as %+v", raw, s)
		case kind == "" && strings.Contains(err.Error(), "secret"):
			t.Errorf("%q: the error shows the password: %v", raw, err)
		case kind != "" && (err != nil || s.Kind != kind):
			t.Errorf("%q: %+v, %v; want kind %s", raw, s, err, kind)
		}
	}
}

// The memory store opens, holds tokens and video state, and closes.
func TestOpenStoresMemory(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStores(ctx, StoreSpec{Kind: "memory"}, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok := privatevideo.NewToken()
	if err := st.Tokens.Issue(ctx, tok, "demo", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.Tokens.Lookup(ctx, tok, time.Now()); err != nil || rec.VideoID != "demo" {
		t.Fatalf("Lookup = %+v, %v", rec, err)
	}
	if _, err := st.Videos.SetPublic(ctx, "demo", true); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStores(ctx, StoreSpec{Kind: "etcd"}, time.Second, nil); err == nil {
		t.Error("an unknown kind opened")
	}
	if _, err := st.Tokens.Lookup(ctx, privatevideo.NewToken(), time.Now()); !errors.Is(err, store.ErrUnknown) {
		t.Errorf("a fresh token: %v, want ErrUnknown", err)
	}
}

func TestScrub(t *testing.T) {
	tok := privatevideo.NewToken()
	got := Scrub(`redis: EVALSHA on privatevideo:` + strings.ToUpper(tok) + ` failed`)
	if strings.Contains(strings.ToLower(got), tok) || !strings.Contains(got, "…") {
		t.Errorf("Scrub left the token: %q", got)
	}
}

func TestDecodeKeys(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	if b, err := DecodeHashKey(" " + hex64 + strings.Repeat("cd", 8) + "\n"); err != nil || len(b) != 40 {
		t.Errorf("a 40-byte hash key: %d bytes, %v", len(b), err)
	}
	if b, err := DecodeBlockKey(hex64); err != nil || len(b) != 32 {
		t.Errorf("a 32-byte block key: %d bytes, %v", len(b), err)
	}
	for _, bad := range []string{"", "zz" + hex64[2:], hex64[:62]} {
		if _, err := DecodeHashKey(bad); err == nil {
			t.Errorf("hash key %q accepted", bad)
		}
	}
	for _, bad := range []string{hex64 + "ab", hex64[:62], "xyz"} {
		if _, err := DecodeBlockKey(bad); err == nil {
			t.Errorf("block key %q accepted", bad)
		}
	}
	if _, err := DecodeHashKey("secretsecret"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the key: %v", err)
	}
}

func TestParseProxy(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3/8": "10.0.0.0/8",
		"10.1.2.3":   "10.1.2.3/32",
		"::1":        "::1/128",
		"fd00::/8":   "fd00::/8",
	} {
		if p, err := ParseProxy(in); err != nil || p.String() != want {
			t.Errorf("ParseProxy(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	if _, err := ParseProxy("nope"); err == nil {
		t.Error("nope accepted")
	}
}

// The shared stores open from their URLs, hold tokens and video state, and
// close; their refusals never show the password.
func TestOpenStoresShared(t *testing.T) {
	for _, c := range []struct{ env, bad string }{
		{"REDIS_URL", "redis://:secret@host:6379/notadb"},
		{"DATABASE_URL", "postgres://u:secret@host:5432/db?sslmode=bogus"},
	} {
		t.Run(c.env, func(t *testing.T) {
			ctx := context.Background()
			if _, err := OpenStores(ctx, mustSpec(t, c.bad), time.Second, nil); err == nil || strings.Contains(err.Error(), "secret") {
				t.Errorf("a bad URL: %v; want an error without the password", err)
			}
			raw := os.Getenv(c.env)
			if raw == "" {
				t.Skipf("%s is not set: set it to open that store", c.env)
			}
			st, err := OpenStores(ctx, mustSpec(t, raw), 2*time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tok := privatevideo.NewToken()
			// PostgreSQL's tables may still be on their way: retry briefly.
			deadline := time.Now().Add(10 * time.Second)
			for err = st.Tokens.Issue(ctx, tok, "edge-test", time.Now().Add(time.Minute)); err != nil && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				err = st.Tokens.Issue(ctx, tok, "edge-test", time.Now().Add(time.Minute))
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec, err := st.Tokens.Lookup(ctx, tok, time.Now()); err != nil || rec.VideoID != "edge-test" {
				t.Fatalf("Lookup = %+v, %v", rec, err)
			}
			if _, err := st.Videos.SetPublic(ctx, "edge-test-video", false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustSpec(t *testing.T, raw string) StoreSpec {
	t.Helper()
	s, err := ParseStoreSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
