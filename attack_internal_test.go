package privatevideo

// Attacks that need to see inside the streamed playlist writer; see
// attack_test.go for the rest of the review.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// failingStore fails every redemption as a stalled store does, and holds
// every lookup until released.
type failingStore struct {
	store.Store
	hold chan struct{}
}

func (s *failingStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	return store.Redemption{}, errors.New("kv: i/o timeout")
}

func (s *failingStore) Lookup(ctx context.Context, tok string, now time.Time) (store.Record, error) {
	select {
	case <-s.hold:
	case <-ctx.Done():
		return store.Record{}, ctx.Err()
	}
	return s.Store.Lookup(ctx, tok, now)
}

// Many redemptions at once against a failing store, each of a random
// well-formed token (all an attacker with a video ID has): the watch of late
// redemptions stays bounded, and each ends once the store answers.
func TestAttackLateWatchIsBoundedHolds(t *testing.T) {
	st := &failingStore{Store: store.NewMemory(0), hold: make(chan struct{})}
	m, err := New([]Key{{Hash: make([]byte, 32)}}, WithStore(st), WithStoreTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.NotFoundHandler())
	for range 2 * maxWatchers {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/vod/v1/token/"+NewToken()+"/a.ts", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("a redemption against the failing store: %d, want 503", rec.Code)
		}
	}
	if n := m.late.len(); n > maxWatchers {
		t.Fatalf("%d late redemptions watched at once, want at most %d", n, maxWatchers)
	}
	close(st.hold) // the store answers: unknown tokens, nothing to watch
	deadline := time.Now().Add(10 * time.Second)
	for m.late.len() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := m.late.len(); n != 0 {
		t.Fatalf("%d watches still running after the store answered", n)
	}
}

// stallingStore fails redemptions while stalled, and runs the first of them
// late, when it resumes, as a store that had received it before it stalled.
// Lookups fail while it is stalled; those from the middleware are counted.
type stallingStore struct {
	store.Store
	stalled atomic.Bool
	resume  chan struct{}
	ranLate chan error
	first   sync.Once
	lookups atomic.Int64
}

func (s *stallingStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	if !s.stalled.Load() {
		return s.Store.Redeem(ctx, req)
	}
	s.first.Do(func() {
		go func() {
			<-s.resume
			_, err := s.Store.Redeem(context.Background(), req)
			s.ranLate <- err
		}()
	})
	return store.Redemption{}, errors.New("kv: i/o timeout")
}

func (s *stallingStore) Lookup(ctx context.Context, tok string, now time.Time) (store.Record, error) {
	s.lookups.Add(1)
	if s.stalled.Load() {
		return store.Record{}, errors.New("kv: i/o timeout")
	}
	return s.Store.Lookup(ctx, tok, now)
}

// A viewer retries many times during a stall, and the stall runs the first
// attempt late: one watch for the token, not one per attempt, looks it up a
// handful of times in all, and gives the link back. (A watch per attempt
// looked the store up once per failed attempt, the moment it came back: an
// outage that fed itself, TestStallLostLinks under load.)
func TestLateWatchIsPerToken(t *testing.T) {
	st := &stallingStore{Store: store.NewMemory(0), resume: make(chan struct{}), ranLate: make(chan error, 1)}
	m, err := New([]Key{{Hash: make([]byte, 32)}}, WithStore(st), WithStoreTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.NotFoundHandler())
	st.stalled.Store(true)
	const retries = 200
	for range retries {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/vod/v1/token/"+tok+"/a.ts", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("a redemption during the stall: %d, want 503", rec.Code)
		}
	}
	if n := m.late.len(); n != 1 {
		t.Fatalf("%d watches after %d failed attempts on one token, want 1", n, retries)
	}
	st.stalled.Store(false)
	close(st.resume)
	if err := <-st.ranLate; err != nil {
		t.Fatalf("the late redemption: %v", err)
	}
	// The watch finds it redeemed at the first attempt's time, and releases it.
	deadline := time.Now().Add(10 * time.Second)
	for m.late.len() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := m.late.len(); n != 0 {
		t.Fatalf("the watch still runs %v after the store resumed", 10*time.Second)
	}
	rec, err := st.Store.Lookup(context.Background(), tok, time.Now())
	if err != nil || rec.State != store.Issued {
		t.Fatalf("the token after the watch: %v %v, want it released to issued", rec.State, err)
	}
	if n := st.lookups.Load(); n > 3 {
		t.Fatalf("the watch looked the store up %d times for one token, want at most 3", n)
	}
}
