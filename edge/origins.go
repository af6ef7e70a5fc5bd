package edge

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// CheckOrigin accepts an origin for WithCORS only as a browser sends it in
// its Origin header: scheme://host[:port], http or https, the host in lower
// case (a Unicode name as its xn-- form), an IPv4 address in dotted decimal,
// an IPv6 one as the WHATWG URL standard writes it, and no default port,
// path, query, fragment or user. An origin written any other way would never
// match, and every player on it would be refused without a clue, so the
// error says how the browser writes it when that is known.
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return errors.New("want an origin, scheme://host[:port] with http or https, such as https://player.example.com")
	case u.User != nil:
		return errors.New("no user: an origin is scheme://host[:port]")
	case u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("no path, query or fragment, not even a trailing slash: a browser sends its origin as scheme://host[:port]")
	}
	host, err := browserHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
	if err != nil {
		return err
	}
	want := u.Scheme + "://" + host
	if port := u.Port(); port != "" { // "host:" has none, as browsers read it
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("the port must be a number from 1 to 65535")
		}
		if !(u.Scheme == "http" && n == 80 || u.Scheme == "https" && n == 443) {
			want += ":" + strconv.Itoa(n)
		}
	}
	if want != o {
		return fmt.Errorf("a browser sends this origin as %s: write it so", want)
	}
	return nil
}

// browserHost returns host as a browser serializes it in an origin.
func browserHost(host string, bracketed bool) (string, error) {
	if bracketed {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", errors.New("the host in brackets must be an IPv6 address, without a zone")
		}
		return "[" + whatwgIPv6(ip) + "]", nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", errors.New("the host must be an ASCII host name (a Unicode one as its xn-- form) or an IP address, without wildcards: list each origin")
		}
	}
	host = strings.ToLower(host)
	// A host whose last label is a number is an IPv4 address to a browser
	// (WHATWG "ends in a number"): 127.1, 2130706433, 0x7f.0.0.1, 1.2.3.4.
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if last := labels[len(labels)-1]; last != "" && (strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x")) {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is4() || ip.String() != host {
			return "", errors.New("a browser reads this host as an IPv4 address: write it in dotted decimal, four numbers from 0 to 255 without leading zeros")
		}
	}
	return host, nil
}

// whatwgIPv6 writes an IPv6 address as the WHATWG URL standard serializes
// it: eight groups of lower-case hex without leading zeros, the first
// longest run of two or more zero groups as "::", never a dotted IPv4 tail
// (so ::ffff:127.0.0.1 is ::ffff:7f00:1).
func whatwgIPv6(ip netip.Addr) string {
	b := ip.As16()
	var g [8]uint16
	for i := range g {
		g[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	start, length := -1, 0
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > length && j-i >= 2 {
			start, length = i, j-i
		}
		i = j
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if i == start {
			sb.WriteString("::")
			i += length - 1
			continue
		}
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), ":") {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(g[i]), 16))
	}
	return sb.String()
}
