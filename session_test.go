package privatevideo

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

var testSession = Session{VideoID: "a-typical-video-id", Token: "0092d5ef-5750-471d-9e7e-48d0a7580238", Expires: time.Unix(1900000000, 0)}

// The fast signer writes exactly what securecookie reads.
func TestSignerMatchesSecurecookie(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	codec := securecookie.New(key, nil).MaxAge(0).SetSerializer(sessionSerializer{})
	v, err := newSigner(key).sign(testSession, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(v, "=+/") {
		t.Fatalf("session token %q is not unpadded base64url", v)
	}
	var got Session
	if err := codec.Decode(sessionName, pad(v), &got); err != nil || got != testSession {
		t.Fatalf("securecookie decodes the signer's %q as %+v, %v", v, got, err)
	}
	other := securecookie.New([]byte(strings.Repeat("x", 32)), nil).MaxAge(0).SetSerializer(sessionSerializer{})
	if err := other.Decode(sessionName, pad(v), &got); err == nil {
		t.Fatal("a session decoded with another key")
	}
	// And securecookie's own output, trimmed, is what our decode reads.
	c, err := newSessionCodec([]Key{{Hash: key}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := codec.Encode(sessionName, &testSession)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.decode(strings.TrimRight(theirs, "=")); err != nil || got != testSession {
		t.Fatalf("decode of securecookie's own token: %+v, %v", got, err)
	}
}

func pad(v string) string {
	return v + strings.Repeat("=", (4-len(v)%4)%4)
}

func TestSessionCodecEncrypted(t *testing.T) {
	c, err := newSessionCodec([]Key{{Hash: []byte(strings.Repeat("h", 32)), Block: []byte(strings.Repeat("b", 32))}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.encode(testSession)
	if err != nil {
		t.Fatal(err)
	}
	c.verified.purge() // decode for real, not from the cache
	if got, err := c.decode(v); err != nil || got != testSession {
		t.Fatalf("encrypted round trip: %+v, %v", got, err)
	}
}

// BenchmarkSessionEncoding compares the compact binary serializer with gob
// and JSON, each through securecookie, and the pooled signer.
func BenchmarkSessionEncoding(b *testing.B) {
	key := []byte(strings.Repeat("k", 32))
	for _, c := range []struct {
		name string
		sz   securecookie.Serializer
	}{{"binary", sessionSerializer{}}, {"gob", securecookie.GobEncoder{}}, {"json", securecookie.JSONEncoder{}}} {
		codec := securecookie.New(key, nil).MaxAge(0).SetSerializer(c.sz)
		b.Run("securecookie-encode/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := codec.Encode(sessionName, &testSession); err != nil {
					b.Fatal(err)
				}
			}
		})
		v, _ := codec.Encode(sessionName, &testSession)
		b.Run("securecookie-decode/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var s Session
			for b.Loop() {
				if err := codec.Decode(sessionName, v, &s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(v)), "token-bytes")
		})
	}
	g := newSigner(key)
	b.Run("signer-encode/binary", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		for b.Loop() {
			if _, err := g.sign(testSession, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	c, _ := newSessionCodec([]Key{{Hash: key}})
	v, _ := c.encode(testSession)
	b.Run("codec-decode/cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.decode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
