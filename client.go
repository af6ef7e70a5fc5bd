package privatevideo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultPreviewAgents are User-Agent fragments of link-preview bots and
// scanners that open links pasted into chats and mail. Their requests never
// redeem a token. Matching ignores case.
var DefaultPreviewAgents = []string{
	"Slackbot", "Slack-ImgProxy",
	"Twitterbot",
	"facebookexternalhit", "Facebot", "meta-externalagent", // also iMessage's previews
	"WhatsApp",
	"TelegramBot",
	"Discordbot",
	"LinkedInBot",
	"SkypeUriPreview", // Skype and Microsoft Teams
	"BingPreview", "MicrosoftPreview", "Microsoft Outlook", "ms-office",
	"Iframely", "Embedly",
}

// nonRedeeming reports whether r must not redeem a token: HEAD (the other
// methods that are not GET, or POST to the session endpoint, never get this
// far), speculative loads, and preview agents.
func (m *Middleware) nonRedeeming(r *http.Request) bool {
	if r.Method == http.MethodHead {
		return true
	}
	h := r.Header
	if containsFold(h.Get("Sec-Purpose"), "prefetch") || containsFold(h.Get("Purpose"), "prefetch") ||
		containsFold(h.Get("X-Purpose"), "preview") || containsFold(h.Get("X-Moz"), "prefetch") {
		return true
	}
	ua := r.UserAgent()
	for _, agent := range m.previewAgents {
		if containsFold(ua, agent) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains sub, ignoring ASCII case, without
// allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// clientID identifies the client of r for the grace window: by default its
// address and User-Agent, else the key of WithClientKey, hashed so that the
// store keeps neither. A forwarded hop that cannot be read as an address
// goes into the default hash as it was written, so that two clients behind
// a trusted proxy never become one.
func (m *Middleware) clientID(r *http.Request) string {
	addr, unread := m.clientIP(r)
	var buf [16 + 256]byte
	var b []byte
	if m.clientKey != nil {
		key := m.clientKey(r, addr)
		if key == "" {
			// A client like no other: 16 random bytes match nobody.
			rand.Read(buf[:16])
			return base64.RawURLEncoding.EncodeToString(buf[:16])
		}
		// "k" sets these hashes apart from the default ones.
		b = append(append(buf[:0], 'k', 0), key...)
	} else {
		ip := addr.As16()
		b = append(append(buf[:0], ip[:]...), r.UserAgent()...)
		if unread != "" {
			b = append(append(b, 0), unread...)
		}
	}
	sum := sha256.Sum256(b)
	var out [22]byte // 16 bytes in unpadded base64
	base64.RawURLEncoding.Encode(out[:], sum[:16])
	return string(out[:])
}

// clientIP returns the address of r's client: the connection's peer, or,
// when that peer is a trusted proxy, the nearest address in X-Forwarded-For
// that is not one. Forwarded headers from anyone else are ignored: a client
// could write them. A hop may carry a port ("203.0.113.7:5555",
// "[2001:db8::1]:443"); a hop that is no address at all stops the walk, and
// is returned as unread, for clientID to tell clients apart by.
func (m *Middleware) clientIP(r *http.Request) (ip netip.Addr, unread string) {
	ip = remoteAddr(r.RemoteAddr)
	if !m.trusted(ip) {
		return ip, ""
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		list := xff[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				hop, list = list[j+1:], list[:j]
			} else {
				hop, list = list, ""
			}
			hop = strings.TrimSpace(hop)
			a := remoteAddr(hop)
			if !a.IsValid() {
				return ip, hop // garbage: stop at the last address we could trust
			}
			ip = a
			if !m.trusted(ip) {
				return ip, ""
			}
		}
	}
	return ip, ""
}

func (m *Middleware) trusted(ip netip.Addr) bool {
	for _, p := range m.trustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		a, _ = netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	}
	return a.Unmap()
}
