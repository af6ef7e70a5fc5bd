package privatevideo

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// A redemption that failed against the store (a timeout, a lost connection)
// has an unknown outcome: a store that stalled may carry it out when it
// resumes, for a viewer who got 503 and holds nothing. Within the retry
// window that viewer's own retry gets in anyway (see confirm.go); a stall
// that outlasts it would burn the link. So the middleware watches such a
// redemption for a while in the background, and releases it if it turns up
// in the store: redeemed, by that client, at that very time, and never
// re-entered (Release refuses otherwise, so a session that did reach the
// viewer is never undone).

// Bounds of the watch.
const (
	lateWatch    = 5 * time.Minute // how long a failed redemption is watched
	lateFirst    = time.Second     // the first look, then doubling...
	lateMaxDelay = 20 * time.Second
	maxWatchers  = 4096 // failed redemptions watched at once, per process
)

// watchLate starts watching rel, a redemption that failed with a system
// error, unless too many are watched already.
func (m *Middleware) watchLate(rel store.ReleaseRequest, video string) {
	if m.watchers.Add(1) > maxWatchers {
		m.watchers.Add(-1)
		return
	}
	go func() {
		defer m.watchers.Add(-1)
		deadline := time.Now().Add(lateWatch)
		for delay := lateFirst; time.Now().Before(deadline); delay = min(2*delay, lateMaxDelay) {
			time.Sleep(delay)
			if done := m.lookLate(rel, video); done {
				return
			}
		}
	}()
}

// lookLate looks once; it reports whether the watch is over.
func (m *Middleware) lookLate(rel store.ReleaseRequest, video string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
	rec, err := m.store.Lookup(ctx, rel.Token, m.now())
	cancel()
	switch {
	case errors.Is(err, store.ErrUnknown):
		return true // expired, or never there
	case err != nil:
		return false // the store is still away: look again later
	case rec.State == store.Issued:
		return false // not run (yet): a stalled store may still run it
	case rec.State != store.Redeemed || !rec.RedeemedAt.Truncate(time.Millisecond).Equal(rel.RedeemedAt.Truncate(time.Millisecond)):
		return true // revoked, or someone's redemption at another time: not ours
	}
	m.release(rel, video, CauseLateRedemption)
	return true
}

// watchers counts the late redemptions being watched; it is a field of
// Middleware (see middleware.go).
type watchCount = atomic.Int64
