package store

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"
	"unique"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// DefaultMemoryCapacity is the bound of the middleware's default store: about
// 160 MB when full. Past it the least recently used tokens are evicted.
const DefaultMemoryCapacity = 1 << 20

// Memory is a Store for a single process: a least-recently-used cache of
// token records, each with its own expiry.
//
// Bounded, it evicts the least recently used record when full, and an evicted
// token is unknown: it fails closed, refused rather than replayable. Size the
// bound above the number of tokens issued within their expiry, or some
// unredeemed links will stop working early.
//
// Expired records are dropped when they are next touched or evicted. An
// unbounded store keeps the untouched ones until Sweep runs, so call Sweep on
// a timer (or use a bound).
//
// A record costs under 200 bytes: tokens are kept as 16-byte keys and video
// IDs are interned.
type Memory struct {
	shards []memoryShard
	seed   maphash.Seed // hashes client identities for the grace window
}

var (
	_ Store       = (*Memory)(nil)
	_ NonBlocking = (*Memory)(nil)
)

// NeverBlocks reports true: a Memory answers from memory.
func (m *Memory) NeverBlocks() bool { return true }

// Sharding keeps lock contention low under parallel load; tokens are random,
// so their first byte spreads them evenly.
const memoryShards = 16

type memoryShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[tokenKey, memoryRecord]
}

type memoryRecord struct {
	video      unique.Handle[string]
	expires    int64 // unix nanoseconds
	redeemedAt int64 // unix nanoseconds; 0 while issued
	// issueExpires is the token's issue expiry while redeemed, which a
	// release restores; 0 while issued.
	issueExpires int64
	client       uint64
	state        State
	reentered    bool // a re-entry was granted on the redemption
	// unconfirmed: the redemption's session has not come back (Confirm),
	// so the retry window still admits its client.
	unconfirmed bool
}

// deadline is when the record becomes irrelevant: its expiry, or, while
// redeemed, the token's issue expiry if later, until which Release may still
// restore it.
func (r memoryRecord) deadline() int64 { return max(r.expires, r.issueExpires) }

// NewMemory returns a memory store holding at most capacity records, or any
// number when capacity is 0 or less.
func NewMemory(capacity int) *Memory {
	shards := memoryShards
	if capacity > 0 && capacity < memoryShards*64 {
		shards = 1 // a small bound stays exact
	}
	perShard := math.MaxInt
	if capacity > 0 {
		perShard = (capacity + shards - 1) / shards
	}
	m := &Memory{shards: make([]memoryShard, shards), seed: maphash.MakeSeed()}
	for i := range m.shards {
		// NewLRU fails only for a size below 1.
		m.shards[i].lru, _ = simplelru.NewLRU[tokenKey, memoryRecord](perShard, nil)
	}
	return m
}

func (m *Memory) shard(key tokenKey) *memoryShard {
	return &m.shards[int(key[0])%len(m.shards)]
}

// tokenKey is a token's 16 bytes, as TokenBytes returns them.
type tokenKey = [16]byte

// Issue implements Store.
func (m *Memory) Issue(ctx context.Context, token, videoID string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := TokenBytes(token)
	if err != nil {
		return err
	}
	rec := memoryRecord{video: unique.Make(videoID), expires: expires.UnixNano(), state: Issued}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lru.Contains(key) {
		return ErrExists
	}
	s.lru.Add(key, rec)
	return nil
}

// Redeem implements Store.
func (m *Memory) Redeem(ctx context.Context, req RedeemRequest) (Redemption, error) {
	if err := ctx.Err(); err != nil {
		return Redemption{}, err
	}
	key, err := TokenBytes(req.Token)
	if err != nil {
		return Redemption{}, err
	}
	now := req.Now.UnixNano()
	client := maphash.String(m.seed, req.Client)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Peek, not Get: only a successful redemption (the Add below) makes the
	// record recent. That touches the LRU list once, not twice, and a
	// refused attempt does not keep a used token from being evicted.
	rec, ok := s.lru.Peek(key)
	if !ok {
		return Redemption{}, ErrUnknown
	}
	if rec.expires <= now {
		if rec.deadline() <= now {
			s.lru.Remove(key)
		}
		return Redemption{}, ErrUnknown
	}
	if rec.video.Value() != req.VideoID {
		return Redemption{}, ErrWrongVideo
	}
	switch rec.state {
	case Revoked:
		return Redemption{}, ErrRevoked
	case Redeemed:
		if rec.client == client && (req.Grace > 0 && now < rec.redeemedAt+int64(req.Grace) ||
			rec.unconfirmed && req.Retry > 0 && now < rec.redeemedAt+int64(req.Retry)) {
			if !rec.reentered {
				rec.reentered = true
				s.lru.Add(key, rec)
			}
			return Redemption{
				RedeemedAt: time.Unix(0, rec.redeemedAt),
				Expires:    time.Unix(0, rec.expires),
				Reentry:    true,
			}, nil
		}
		return Redemption{}, ErrUsed
	}
	rec.state = Redeemed
	rec.redeemedAt = now
	rec.issueExpires = rec.expires
	rec.expires = now + int64(req.SessionTTL)
	rec.client = client
	rec.reentered = false
	rec.unconfirmed = true
	s.lru.Add(key, rec)
	return Redemption{RedeemedAt: time.Unix(0, now), Expires: time.Unix(0, rec.expires)}, nil
}

// Release implements Store.
func (m *Memory) Release(ctx context.Context, req ReleaseRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := TokenBytes(req.Token)
	if err != nil {
		return err
	}
	now := req.Now.UnixNano()
	client := maphash.String(m.seed, req.Client)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lru.Peek(key)
	switch {
	case !ok:
		return ErrUnknown
	case rec.state == Redeemed:
		if rec.issueExpires <= now {
			if rec.deadline() <= now {
				s.lru.Remove(key)
			}
			return ErrUnknown
		}
		if rec.client != client || rec.reentered || !rec.unconfirmed || time.Unix(0, rec.redeemedAt).UnixMilli() != req.RedeemedAt.UnixMilli() {
			return ErrUsed
		}
		// The record as Issue left it, with its original expiry.
		s.lru.Add(key, memoryRecord{video: rec.video, expires: rec.issueExpires, state: Issued})
		return nil
	case rec.expires <= now:
		s.lru.Remove(key)
		return ErrUnknown
	case rec.state == Revoked:
		return ErrRevoked
	}
	return nil
}

// Confirm implements Store.
func (m *Memory) Confirm(ctx context.Context, token string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := TokenBytes(token)
	if err != nil {
		return err
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lru.Peek(key)
	if !ok || rec.expires <= now.UnixNano() {
		return ErrUnknown
	}
	if rec.state == Redeemed && rec.unconfirmed {
		rec.unconfirmed = false
		s.lru.Add(key, rec)
	}
	return nil
}

// Lookup implements Store.
func (m *Memory) Lookup(ctx context.Context, token string, now time.Time) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	key, err := TokenBytes(token)
	if err != nil {
		return Record{}, err
	}
	s := m.shard(key)
	s.mu.Lock()
	rec, ok := s.lru.Peek(key)
	s.mu.Unlock()
	if !ok || rec.expires <= now.UnixNano() {
		return Record{}, ErrUnknown
	}
	r := Record{VideoID: rec.video.Value(), State: rec.state, Expires: time.Unix(0, rec.expires)}
	if rec.redeemedAt != 0 {
		r.RedeemedAt = time.Unix(0, rec.redeemedAt)
	}
	return r, nil
}

// Revoke implements Store.
func (m *Memory) Revoke(ctx context.Context, token string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := TokenBytes(token)
	if err != nil {
		return err
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lru.Peek(key)
	if !ok || rec.expires <= now.UnixNano() {
		return ErrUnknown
	}
	rec.state = Revoked
	rec.issueExpires = 0 // never restored: the record ends with its Expires
	s.lru.Add(key, rec)
	return nil
}

// Len returns the number of records held, expired ones included until they
// are dropped.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// Sweep drops the records expired at now and returns how many it dropped. It
// holds one shard's lock at a time, so the store stays usable meanwhile.
func (m *Memory) Sweep(now time.Time) int {
	t := now.UnixNano()
	dropped := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for _, key := range s.lru.Keys() {
			if rec, ok := s.lru.Peek(key); ok && rec.deadline() <= t {
				s.lru.Remove(key)
				dropped++
			}
		}
		s.mu.Unlock()
	}
	return dropped
}
