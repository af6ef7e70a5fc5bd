package pvcaddy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/edge"
)

// pool holds what must outlive one config: the opened stores and the
// session keys. A reload provisions the new config before it cleans up the
// old one, so an entry that both use is never closed in between.
var pool = caddy.NewUsagePool()

// shared is one pool entry.
type shared struct {
	stores *edge.Stores
	keys   []privatevideo.Key
	random bool // no hash_key: the keys were drawn at random for this process
}

// Destruct closes the stores when no config uses them any more.
func (s *shared) Destruct() error { return s.stores.Close() }

// poolKey names the entry of a store, its keys and the API key as given.
// Two blocks share an entry (and so their links, sessions and videos) only
// when all are the same: two sites with the defaults (memory, random keys)
// and their own api_key do not. It is a digest: the pool's keys may be
// listed, the secrets must not be.
func poolKey(spec edge.StoreSpec, hashHex, blockHex, apiKey string) string {
	d := sha256.Sum256([]byte(spec.Kind + "\x00" + spec.URL + "\x00" + hashHex + "\x00" + blockHex + "\x00" + apiKey))
	return "privatevideo:" + hex.EncodeToString(d[:])
}

// acquire returns the entry of spec and keys (nil keys: random ones),
// opening the stores on first use. The caller must release it with
// pool.Delete(key) once, in Cleanup.
func acquire(key string, spec edge.StoreSpec, keys []privatevideo.Key, timeout time.Duration, log *slog.Logger) (*shared, error) {
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		// The stores outlive the config that opens them: not its context.
		st, err := edge.OpenStores(context.Background(), spec, timeout, log)
		if err != nil {
			return nil, err
		}
		s := &shared{stores: st, keys: keys}
		if keys == nil {
			s.keys = []privatevideo.Key{{Hash: randomBytes(32), Block: randomBytes(32)}}
			s.random = true
		}
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*shared), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}
