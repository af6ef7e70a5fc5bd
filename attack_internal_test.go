package privatevideo

// Attacks that need to see inside the streamed playlist writer; see
// attack_test.go for the rest of the review.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
	if n := m.watchers.Load(); n > maxWatchers {
		t.Fatalf("%d late redemptions watched at once, want at most %d", n, maxWatchers)
	}
	close(st.hold) // the store answers: unknown tokens, nothing to watch
	deadline := time.Now().Add(10 * time.Second)
	for m.watchers.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := m.watchers.Load(); n != 0 {
		t.Fatalf("%d watches still running after the store answered", n)
	}
}
