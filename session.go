package privatevideo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/privatevideo/privatevideo/internal/uuid"
)

// Session is what a redemption opens: one video, through one token, until an
// expiry. It travels as a session token, signed (and optionally encrypted)
// with the middleware's keys, as a cookie or as the avh query parameter.
type Session struct {
	VideoID string
	Token   string    // the private token that was redeemed, canonical
	Expires time.Time // whole seconds; not sliding
}

// Key is one key set for session tokens. The first Key given to New signs new
// sessions; every Key verifies, so a rotation adds the new key first and keeps
// the old one until the sessions it signed have expired.
type Key struct {
	// Hash is the HMAC-SHA256 key: at least 32 bytes, random.
	Hash []byte
	// Block, when set, encrypts sessions with AES-256 (exactly 32 bytes), so
	// that the video ID and token inside a session token are not readable.
	Block []byte
}

const (
	minHashKey = 32
	blockKey   = 32
	// sessionName is bound into every session token's MAC, so a value signed
	// by the same keys for another purpose never passes as a session.
	sessionName = "privatevideo-session"
	// maxSessionToken caps a session token, from any carrier, before any
	// work; real ones are under 300 characters.
	maxSessionToken = 512
	// verifiedCacheSize bounds the cache of verified session tokens.
	verifiedCacheSize = 16384
)

// sessionCodec turns sessions into session tokens and back.
//
// Decoding a session token through securecookie costs a base64 pass, a new
// HMAC state and a dozen allocations on every call; a player presents the
// same token on every segment request. So verified tokens are kept in a
// bounded cache (verifiedCache) keyed by the exact token string. Only tokens that
// passed full verification enter it, the key is the whole token (so a
// tampered token never hits), and a cached session is still checked for
// expiry and binding on every request by the middleware.
type sessionCodec struct {
	codecs   []securecookie.Codec
	signer   *signer // signs new sessions, unless the first key encrypts
	verified *verifiedCache
}

func newSessionCodec(keys []Key) (*sessionCodec, error) {
	if len(keys) == 0 {
		return nil, errors.New("privatevideo: at least one session key is required")
	}
	c := &sessionCodec{codecs: make([]securecookie.Codec, len(keys))}
	for i, k := range keys {
		if len(k.Hash) < minHashKey {
			return nil, fmt.Errorf("privatevideo: session key %d: hash key has %d bytes, want at least %d", i, len(k.Hash), minHashKey)
		}
		var block []byte // securecookie wants nil, not empty, for "no encryption"
		if len(k.Block) > 0 {
			if len(k.Block) != blockKey {
				return nil, fmt.Errorf("privatevideo: session key %d: block key has %d bytes, want %d (AES-256) or none", i, len(k.Block), blockKey)
			}
			block = append([]byte(nil), k.Block...)
		}
		hash := append([]byte(nil), k.Hash...)
		c.codecs[i] = securecookie.New(hash, block).
			MaxAge(0). // the session's own, signed expiry decides
			MaxLength(maxSessionToken + 3).
			SetSerializer(sessionSerializer{})
	}
	if len(keys[0].Block) == 0 {
		c.signer = newSigner(keys[0].Hash)
	}
	c.verified = newVerifiedCache(verifiedCacheSize)
	return c, nil
}

// encode returns the session token of s. The token is URL-safe: base64url
// without padding, so it needs no escaping in a query string or a cookie.
func (c *sessionCodec) encode(s Session) (string, error) {
	var v string
	var err error
	if c.signer != nil {
		v, err = c.signer.sign(s, time.Now())
	} else {
		sc := s // only this copy escapes to securecookie
		v, err = securecookie.EncodeMulti(sessionName, &sc, c.codecs...)
		v = strings.TrimRight(v, "=")
	}
	if err != nil {
		return "", fmt.Errorf("privatevideo: encoding session: %w", err)
	}
	c.verified.add(v, s)
	return v, nil
}

var errSessionToken = errors.New("privatevideo: session token not valid")

// decode verifies a session token and returns its session, expired or not.
// Any failure (tampered, unknown key, malformed, too long) is errSessionToken.
func (c *sessionCodec) decode(v string) (Session, error) {
	if !canonicalSessionToken(v) {
		return Session{}, errSessionToken
	}
	if s, ok := c.verified.get(v); ok {
		return s, nil
	}
	padded := v
	switch len(v) % 4 {
	case 2:
		padded = v + "=="
	case 3:
		padded = v + "="
	}
	var s Session
	if err := securecookie.DecodeMulti(sessionName, padded, &s, c.codecs...); err != nil {
		return Session{}, errSessionToken
	}
	// v may be a slice of a large header; the cache must not pin it.
	c.verified.add(strings.Clone(v), s)
	return s, nil
}

// canonicalSessionToken reports whether v is spelled exactly as encode
// writes session tokens: 1 to maxSessionToken characters of the base64url
// alphabet, no padding, a length that unpadded base64 can have, and zero
// bits where the last character has bits to spare. Go's base64 decoder is
// looser (it skips CR and LF, and ignores those spare bits), so without this
// one session would have many spellings: each verified and cached on its
// own, and copied into playlists as it came. It runs before any MAC work.
func canonicalSessionToken(v string) bool {
	if len(v) == 0 || len(v) > maxSessionToken || len(v)%4 == 1 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if base64URLValue[v[i]] < 0 {
			return false
		}
	}
	last := base64URLValue[v[len(v)-1]]
	switch len(v) % 4 {
	case 2: // the last character carries 2 bits of the final byte
		return last&0x0f == 0
	case 3: // 4 bits
		return last&0x03 == 0
	}
	return true
}

// base64URLValue maps a byte to its value in the base64url alphabet, or -1.
var base64URLValue = func() (t [256]int8) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// signer writes securecookie's signed format, exactly as
// securecookie.Encode does without a block key, with a pooled HMAC state and
// a fixed number of allocations: Encode builds a new HMAC and formats
// through fmt on every call, which is most of a redemption's cost. Decoding
// still goes through securecookie, which proves the two agree (see
// TestSignerMatchesSecurecookie).
//
// The format: base64url(date "|" base64url(value) "|" mac), where mac is
// HMAC-SHA256 of name "|" date "|" base64url(value), date is Unix seconds in
// decimal, and both base64 encodings are padded. Session tokens then drop the
// outer padding, as they do for securecookie's own output.
type signer struct {
	pool sync.Pool // of hash.Hash, keyed
}

func newSigner(key []byte) *signer {
	key = append([]byte(nil), key...)
	return &signer{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// maxSigned bounds the signed form: the value (at most 26+64 bytes) in
// base64, a date, separators and a MAC.
const maxSigned = 2*(1+16+8+1+maxVideoID) + 32 + 32

func (g *signer) sign(s Session, now time.Time) (string, error) {
	var raw [1 + 16 + 8 + 1 + maxVideoID]byte
	value, err := appendSession(raw[:0], &s)
	if err != nil {
		return "", err
	}
	var buf [len(sessionName) + 1 + maxSigned]byte
	b := append(buf[:0], sessionName...)
	b = append(b, '|')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '|')
	b = base64.URLEncoding.AppendEncode(b, value)
	h := g.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(b)
	b = h.Sum(append(b, '|'))
	g.pool.Put(h)
	signed := b[len(sessionName)+1:] // the name is signed, not sent
	var out [(len(sessionName) + 1 + maxSigned + 2) / 3 * 4]byte
	n := base64.RawURLEncoding.EncodedLen(len(signed))
	base64.RawURLEncoding.Encode(out[:n], signed)
	return string(out[:n]), nil
}

// sessionSerializer is the compact binary form of a session inside a session
// token: version, 16 token bytes, expiry in Unix seconds, then the video ID.
// It is about a tenth of gob's cost and a third of its size (see
// BenchmarkSessionEncoding).
type sessionSerializer struct{}

const sessionFormat = 1

func (sessionSerializer) Serialize(src any) ([]byte, error) {
	s, ok := src.(*Session)
	if !ok {
		return nil, fmt.Errorf("privatevideo: cannot serialize %T as a session", src)
	}
	return appendSession(make([]byte, 0, 1+16+8+1+len(s.VideoID)), s)
}

func appendSession(b []byte, s *Session) ([]byte, error) {
	tok, ok := uuid.Parse(s.Token)
	if !ok || !ValidVideoID(s.VideoID) {
		return nil, errors.New("privatevideo: session has a malformed token or video ID")
	}
	b = append(b, sessionFormat)
	b = append(b, tok[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Expires.Unix()))
	b = append(b, byte(len(s.VideoID)))
	b = append(b, s.VideoID...)
	return b, nil
}

func (sessionSerializer) Deserialize(b []byte, dst any) error {
	s, ok := dst.(*Session)
	if !ok {
		return fmt.Errorf("privatevideo: cannot deserialize a session into %T", dst)
	}
	const fixed = 1 + 16 + 8 + 1
	if len(b) < fixed || b[0] != sessionFormat || int(b[fixed-1]) != len(b)-fixed {
		return errSessionToken
	}
	var tok uuid.UUID
	copy(tok[:], b[1:17])
	video := string(b[fixed:])
	if !ValidVideoID(video) {
		return errSessionToken
	}
	*s = Session{
		VideoID: video,
		Token:   tok.String(),
		Expires: time.Unix(int64(binary.BigEndian.Uint64(b[17:25])), 0),
	}
	return nil
}

// Carriers. A session travels in the session cookie (cookie mode) or in the
// avh parameter (page-bound mode, and players without cookies); the
// middleware reads both, and writes the cookie.

// session verdicts, ordered: a better one wins when several carriers come.
type verdict uint8

const (
	sessionNone    verdict = iota // no session, or one bound to another token
	sessionInvalid                // tampered, unknown key, malformed, another video
	sessionExpired
	sessionValid       // from the avh parameter
	sessionValidCookie // from a cookie: the client keeps cookies
)

// maxCookieCarriers bounds how many session cookies one request may make us
// verify.
const maxCookieCarriers = 4

// findSession looks for a valid session for t among the avh parameters and
// the session cookies, and otherwise reports the best failure it saw. A valid
// session from a cookie is reported as sessionValidCookie.
func (m *Middleware) findSession(r *http.Request, t *target, now time.Time) (Session, string, verdict) {
	best := sessionNone
	for _, v := range t.carriers {
		if v == "" {
			break
		}
		s, got := m.checkSession(v, t, now)
		if got == sessionValid {
			return s, v, got
		}
		best = max(best, got)
	}
	tried := 0
	for _, line := range r.Header["Cookie"] {
		for line != "" && tried < maxCookieCarriers {
			var part string
			part, line, _ = cutByte(line, ';')
			name, v, ok := cutByte(textproto.TrimString(part), '=')
			if !ok || name != m.cookie.name {
				continue
			}
			tried++
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			s, got := m.checkSession(v, t, now)
			if got == sessionValid {
				return s, v, sessionValidCookie
			}
			best = max(best, got)
		}
	}
	return Session{}, "", best
}

func cutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (m *Middleware) checkSession(v string, t *target, now time.Time) (Session, verdict) {
	s, err := m.sessions.decode(v)
	switch {
	case err != nil || s.VideoID != t.video:
		return s, sessionInvalid
	case t.token != "" && s.Token != t.token:
		return s, sessionNone
	case !now.Before(s.Expires):
		return s, sessionExpired
	}
	return s, sessionValid
}

// setCookie delivers a new session as a cookie scoped to the token's
// subtree. The header is written directly: every part of it is checked
// already (the name and domain by New, the value is base64url, the path is a
// video ID and a token), and http.SetCookie would check them all again.
func (m *Middleware) setCookie(w http.ResponseWriter, t *target, raw string, expires, now time.Time) string {
	var buf [512]byte
	c := append(buf[:0], m.cookie.name...)
	c = append(append(c, '='), raw...)
	c = append(c, "; Path="...)
	c = m.layout.appendPrivatePath(c, t.mount, t.video, t.token)
	if m.cookie.domain != "" {
		c = append(append(c, "; Domain="...), m.cookie.domain...)
	}
	c = strconv.AppendInt(append(c, "; Max-Age="...), int64(max(1, expires.Sub(now)/time.Second)), 10)
	switch {
	case m.cookie.crossSite:
		c = append(c, "; HttpOnly; Secure; SameSite=None; Partitioned"...)
	case m.cookie.insecure:
		c = append(c, "; HttpOnly; SameSite=Lax"...)
	default:
		c = append(c, "; HttpOnly; Secure; SameSite=Lax"...)
	}
	line := string(c)
	h := w.Header()
	h["Set-Cookie"] = append(h["Set-Cookie"], line)
	return line
}
