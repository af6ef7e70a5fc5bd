package store

import (
	"fmt"

	"github.com/privatevideo/privatevideo/internal/uuid"
)

// ErrMalformedToken is what ParseToken and TokenBytes return for a string
// that is not a private token. It is ErrUnknown to errors.Is, the answer
// the Store contract gives a malformed token, so a store returns it as it
// is.
var ErrMalformedToken = fmt.Errorf("%w: malformed token", ErrUnknown)

// ParseToken checks that s is a private token: a version 4 UUID in
// canonical 8-4-4-4-12 form, in any letter case. It returns the token in
// lower case, the one spelling a store keys it by, or ErrMalformedToken. A
// token already in that form is returned as it is, without allocating.
//
// A store calls it (or TokenBytes) on every token it is given, so that
// every spelling of a token is one record and a malformed one is unknown.
func ParseToken(s string) (string, error) {
	u, ok := uuid.Parse(s)
	if !ok {
		return "", ErrMalformedToken
	}
	if isLowerCanonical(s) {
		return s, nil // already canonical: no allocation on the hot path
	}
	return u.String(), nil
}

// TokenBytes is ParseToken for a store that keys its records in binary (a
// uuid column, a 16-byte key): it returns the token's 16 bytes, the same for
// every spelling, or ErrMalformedToken.
func TokenBytes(s string) ([16]byte, error) {
	u, ok := uuid.Parse(s)
	if !ok {
		return [16]byte{}, ErrMalformedToken
	}
	return u, nil
}

// isLowerCanonical reports whether s, a valid token, has no upper-case
// hexadecimal digit.
func isLowerCanonical(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			return false
		}
	}
	return true
}
