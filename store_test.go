package privatevideo_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// The middleware and its store: what a store failure means for each request.
// (The stores themselves are proven by store/storetest; the fleet and real
// outages of Redis and PostgreSQL are in their modules.)

// outageStore is the real memory store behind a switch that makes it hang
// until the caller's deadline, as a store does when its server is gone.
type outageStore struct {
	store.Store
	down atomic.Bool
}

func (s *outageStore) wait(ctx context.Context) error {
	if !s.down.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *outageStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	if err := s.wait(ctx); err != nil {
		return store.Redemption{}, err
	}
	return s.Store.Redeem(ctx, req)
}

func (s *outageStore) Lookup(ctx context.Context, tok string, now time.Time) (store.Record, error) {
	if err := s.wait(ctx); err != nil {
		return store.Record{}, err
	}
	return s.Store.Lookup(ctx, tok, now)
}

func TestStoreUnavailable(t *testing.T) {
	st := &outageStore{Store: store.NewMemory(0)}
	f := newFixture(t, privatevideo.WithStoreTimeout(50*time.Millisecond), privatevideo.WithStore(st))
	playing, waiting := f.issue("v1"), f.issue("v1")
	b := f.browser("b")
	wantOK(t, "open before the outage", f.get(b, tokenPath("v1", playing, "x")))

	st.down.Store(true)
	res := f.get(f.browser("c"), tokenPath("v1", waiting, "x"))
	wantDenied(t, "redemption during the outage", res, http.StatusServiceUnavailable, "store-unavailable")
	if res.header.Get("Retry-After") == "" {
		t.Fatal("store-unavailable without Retry-After")
	}
	wantOK(t, "a valid session during the outage", f.get(b, tokenPath("v1", playing, "x")))

	st.down.Store(false)
	wantOK(t, "the waiting token after the outage", f.get(f.browser("c"), tokenPath("v1", waiting, "x")))
}

func TestRevocationCheckDuringOutage(t *testing.T) {
	for _, c := range []struct {
		policy privatevideo.OutagePolicy
		want   int
		reason string // the decision's
	}{{privatevideo.KeepPlaying, http.StatusOK, "session-unchecked"}, {privatevideo.StopPlaying, http.StatusServiceUnavailable, "store-unavailable"}} {
		st := &outageStore{Store: store.NewMemory(0)}
		f := newFixture(t, privatevideo.WithStore(st), privatevideo.WithStoreTimeout(50*time.Millisecond), privatevideo.WithRevocationCheck(c.policy))
		tok := f.issue("v1")
		b := f.browser("b")
		wantOK(t, "open", f.get(b, tokenPath("v1", tok, "x")))
		st.down.Store(true)
		if res := f.get(b, tokenPath("v1", tok, "x")); res.status != c.want {
			t.Fatalf("policy %d during an outage: status %d, want %d", c.policy, res.status, c.want)
		}
		f.mu.Lock()
		last := f.decisions[len(f.decisions)-1]
		f.mu.Unlock()
		if last.Reason != c.reason {
			t.Fatalf("policy %d during an outage: decision %+v, want reason %s", c.policy, last, c.reason)
		}
	}
}
