package privatevideo

import (
	"github.com/privatevideo/privatevideo/internal/uuid"
)

// NewToken mints a private token: a random UUID version 4 in canonical,
// lower-case form, with 122 bits from crypto/rand. Most applications call
// Middleware.Issue instead, which also records the token in the store.
func NewToken() string { return uuid.New().String() }

// ParseToken checks that s is a private token: a version 4 UUID in canonical
// 8-4-4-4-12 form, in any letter case. It returns the token in lower case,
// the form stores keep, or an error wrapping ErrMalformed.
func ParseToken(s string) (string, error) {
	u, ok := uuid.Parse(s)
	if !ok {
		return "", errMalformedToken
	}
	if isLowerCanonical(s) {
		return s, nil // already canonical: no allocation on the hot path
	}
	return u.String(), nil
}

func isLowerCanonical(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			return false
		}
	}
	return true
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
