package edge

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Key sizes, as privatevideo.New checks them; checked here for a message
// that names the setting.
const (
	MinHashKeyBytes = 32 // a session signing key has at least this many bytes
	BlockKeyBytes   = 32 // a session encryption key has exactly this many
)

// DecodeHashKey decodes a session signing key written in hex (surrounding
// space ignored): at least MinHashKeyBytes. The error never holds the key.
func DecodeHashKey(hexKey string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil {
		return nil, errors.New("not hexadecimal")
	}
	if len(b) < MinHashKeyBytes {
		return nil, fmt.Errorf("want at least %d bytes (%d hex digits), got %d bytes", MinHashKeyBytes, 2*MinHashKeyBytes, len(b))
	}
	return b, nil
}

// DecodeBlockKey decodes a session encryption key written in hex: exactly
// BlockKeyBytes. The error never holds the key.
func DecodeBlockKey(hexKey string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil {
		return nil, errors.New("not hexadecimal")
	}
	if len(b) != BlockKeyBytes {
		return nil, fmt.Errorf("want exactly %d bytes (%d hex digits), got %d bytes", BlockKeyBytes, 2*BlockKeyBytes, len(b))
	}
	return b, nil
}

// ParseProxy reads one trusted proxy: a CIDR prefix (masked) or an IP
// address (a prefix of its full length), as privatevideo.WithTrustedProxies
// takes them.
func ParseProxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}
