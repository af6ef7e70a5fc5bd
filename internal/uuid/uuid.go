// Package uuid parses and formats the canonical text form of UUIDs, the
// shape of privatevideo's private tokens. It is internal so that the root
// package and the stores share one strict parser.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
)

// Len is the length of a UUID in canonical text form.
const Len = 36

// UUID is a UUID in binary form.
type UUID [16]byte

// New returns a random UUID version 4 (RFC 9562): 122 bits from crypto/rand.
func New() UUID {
	var u UUID
	rand.Read(u[:])         // never fails (Go 1.24+: it crashes the program instead)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10
	return u
}

// Parse reads a version 4 UUID in canonical form (8-4-4-4-12 hexadecimal
// digits, any letter case). It reports false for anything else: the braced,
// URN and hyphen-less forms that lenient parsers accept, and other versions
// or variants, which New never makes.
func Parse(s string) (u UUID, ok bool) {
	if len(s) != Len || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < Len; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, lo := hexValue[s[i]], hexValue[s[i+1]]
		if hi|lo == bad {
			return UUID{}, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	if u[6]>>4 != 4 || u[8]>>6 != 2 {
		return UUID{}, false
	}
	return u, true
}

// bad marks a byte that is not a hexadecimal digit in hexValue; any digit's
// value ORed with it stays bad, so one test covers both digits of a byte.
const bad = 0xff

// hexValue maps a byte to its value as a hexadecimal digit, or to bad.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = bad
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
		t[c-'a'+'A'] = c - 'a' + 10
	}
	return t
}()

// String returns the canonical, lower-case text form.
func (u UUID) String() string {
	var b [Len]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
