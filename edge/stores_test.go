package edge

import (
	"context"
	"errors"
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
