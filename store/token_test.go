package store_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo/store"
)

func TestParseToken(t *testing.T) {
	const tok = "0092d5ef-5750-471d-9e7e-48d0a7580238"
	for _, s := range []string{tok, strings.ToUpper(tok), "0092D5ef-5750-471D-9e7E-48d0A7580238"} {
		got, err := store.ParseToken(s)
		if err != nil || got != tok {
			t.Errorf("ParseToken(%q) = %q, %v; want %q", s, got, err, tok)
		}
		b, err := store.TokenBytes(s)
		if want, _ := hex.DecodeString(strings.ReplaceAll(tok, "-", "")); err != nil || string(b[:]) != string(want) {
			t.Errorf("TokenBytes(%q) = %x, %v; want %x", s, b, err, want)
		}
	}
	for _, bad := range []string{
		"", "not-a-token", strings.Repeat("a", 36), tok + "x", tok[:35],
		"0092d5ef5750471d9e7e48d0a7580238",       // no hyphens
		"{0092d5ef-5750-471d-9e7e-48d0a7580238}", // braced
		"urn:uuid:0092d5ef-5750-471d-9e7e-48d0a7580238",
		"0092d5ef-5750-171d-9e7e-48d0a7580238", // version 1
		"0092d5ef-5750-471d-7e7e-48d0a7580238", // not the RFC variant
		"0092d5ef-5750-471d-9e7e-48d0a758023g",
	} {
		got, err := store.ParseToken(bad)
		if got != "" || !errors.Is(err, store.ErrMalformedToken) || !errors.Is(err, store.ErrUnknown) {
			t.Errorf("ParseToken(%q) = %q, %v; want ErrMalformedToken, which is ErrUnknown", bad, got, err)
		}
		if _, err := store.TokenBytes(bad); !errors.Is(err, store.ErrMalformedToken) {
			t.Errorf("TokenBytes(%q): %v; want ErrMalformedToken", bad, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = store.ParseToken(tok) }); n != 0 {
		t.Errorf("ParseToken of a canonical token: %v allocations, want 0", n)
	}
}

// ParseToken and TokenBytes agree on every input: both refuse it, or both
// read the one token whose canonical form ParseToken returns.
func FuzzParseToken(f *testing.F) {
	f.Add("0092d5ef-5750-471d-9e7e-48d0a7580238")
	f.Add("0092D5EF-5750-471D-9E7E-48D0A7580238")
	f.Add("0092d5ef5750471d9e7e48d0a7580238")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := store.ParseToken(s)
		b, berr := store.TokenBytes(s)
		if (err == nil) != (berr == nil) {
			t.Fatalf("ParseToken(%q): %v; TokenBytes: %v", s, err, berr)
		}
		if err != nil {
			if tok != "" || !errors.Is(err, store.ErrUnknown) {
				t.Fatalf("ParseToken(%q) = %q, %v; want \"\" and ErrMalformedToken", s, tok, err)
			}
			return
		}
		if !strings.EqualFold(tok, s) || strings.ToLower(tok) != tok || strings.ReplaceAll(tok, "-", "") != hex.EncodeToString(b[:]) {
			t.Fatalf("ParseToken(%q) = %q, TokenBytes = %x", s, tok, b)
		}
	})
}
