package privatevideo

import (
	"github.com/privatevideo/privatevideo/internal/uuid"
	"github.com/privatevideo/privatevideo/store"
)

// NewToken mints a private token: a random UUID version 4 in canonical,
// lower-case form, with 122 bits from crypto/rand. Most applications call
// Middleware.Issue instead, which also records the token in the store.
func NewToken() string { return uuid.New().String() }

// ParseToken checks that s is a private token: a version 4 UUID in canonical
// 8-4-4-4-12 form, in any letter case. It returns the token in lower case,
// the form stores keep, or an error wrapping ErrMalformed. It is
// store.ParseToken with the middleware's error: a store, which imports only
// package store, calls that one.
func ParseToken(s string) (string, error) {
	tok, err := store.ParseToken(s)
	if err != nil {
		return "", errMalformedToken
	}
	return tok, nil
}

// RedactToken returns the form of a token that may appear in logs: its first
// eight characters and an ellipsis. It never returns more than that, whatever
// s is.
func RedactToken(s string) string {
	const keep = 8
	if len(s) <= keep {
		return "…"
	}
	return s[:keep] + "…"
}

// ValidVideoID reports whether id is a well-formed video ID: 1 to 64 of
// A-Z, a-z, 0-9, '_' and '-'.
func ValidVideoID(id string) bool {
	if len(id) == 0 || len(id) > maxVideoID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const maxVideoID = 64

// redactTokens returns s, an error's text bound for a log, with everything
// that looks like a token (8-4-4-4-12 hexadecimal digits, any version, any
// case) redacted as RedactToken does: a store's error may quote its key,
// and its key may hold the token.
func redactTokens(s string) string {
	const n = 36
	if len(s) < 32 {
		return s
	}
	var b []byte
	last := 0
	for i := 0; i+32 <= len(s); i++ {
		k := 0
		switch {
		case i+n <= len(s) && looksLikeToken(s[i:i+n]):
			k = n
		case (i == 0 || !ishex(s[i-1])) && hexRun(s[i:]) == 32:
			k = 32 // a token's 16 bytes in hexadecimal, as a store may key them
		default:
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[last:i]...)
		b = append(b, RedactToken(s[i:i+k])...)
		last = i + k
		i += k - 1
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

func hexRun(s string) int {
	n := 0
	for n < len(s) && ishex(s[n]) {
		n++
	}
	return n
}

func looksLikeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !ishex(c) {
				return false
			}
		}
	}
	return true
}

// redactedError is an error whose text has its tokens redacted; errors.Is
// and errors.As still see the error itself.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redacted wraps a store's error so that its text, wherever it is printed,
// holds no whole token.
func redacted(err error) error {
	if err == nil {
		return nil
	}
	if text := err.Error(); redactTokens(text) != text {
		return &redactedError{err: err, text: redactTokens(text)}
	}
	return err
}
