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
