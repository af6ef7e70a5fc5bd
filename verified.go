package privatevideo

import "sync"

// verifiedCache remembers session tokens that passed full verification, so
// that a player's next requests skip it. It holds two generations of at most
// size entries each: lookups read both under a shared lock, insertions go to
// the current one, and when it is full it becomes the previous one and the
// oldest generation is dropped. An entry thus lives for at least size
// insertions, and a hit in the previous generation moves it forward.
//
// It is cheaper than an LRU list on the paths that matter: a lookup takes
// only a read lock, and an insertion allocates nothing but, once per
// generation, the generation's map.
type verifiedCache struct {
	mu   sync.RWMutex
	cur  map[string]Session
	prev map[string]Session
	size int
}

func newVerifiedCache(size int) *verifiedCache {
	return &verifiedCache{cur: make(map[string]Session, size), size: size}
}

func (c *verifiedCache) get(k string) (Session, bool) {
	c.mu.RLock()
	s, ok := c.cur[k]
	if ok {
		c.mu.RUnlock()
		return s, true
	}
	s, ok = c.prev[k]
	c.mu.RUnlock()
	if ok {
		c.add(k, s) // still in use: carry it into the current generation
	}
	return s, ok
}

// add inserts k, which must not be a slice of a larger string that the cache
// should not keep alive.
func (c *verifiedCache) add(k string, s Session) {
	c.mu.Lock()
	if len(c.cur) >= c.size {
		c.prev, c.cur = c.cur, make(map[string]Session, c.size)
	}
	c.cur[k] = s
	c.mu.Unlock()
}

func (c *verifiedCache) purge() {
	c.mu.Lock()
	c.cur, c.prev = make(map[string]Session, c.size), nil
	c.mu.Unlock()
}
