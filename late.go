package privatevideo

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
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
//
// The watch is per token, not per attempt. During an outage every viewer
// retries a few times a second, and each retry is one more failed
// redemption; one watch each would call the store thousands of times when
// it comes back, and the store, busy with the watches, would fail the
// retries that made more of them: an outage that feeds itself. One watch per
// token holds the token's failed attempts and looks them all up at once,
// at jittered times so that the watches of one outage do not look together.
// It keeps a token's earliest attempts: the ones that can have run late are
// those the store had received before it stalled, and once it has stalled
// the later ones fail before they reach it.

// Bounds of the watch.
const (
	lateWatch       = 5 * time.Minute // how long a token is watched after its last failed attempt
	lateFirst       = time.Second     // the first look, then doubling...
	lateMaxDelay    = 20 * time.Second
	maxWatchers     = 4096 // tokens watched at once, per process
	maxLateAttempts = 64   // failed attempts watched per token: its earliest
)

// lateWatches holds the tokens being watched; it is a field of Middleware
// (see middleware.go).
type lateWatches struct {
	mu     sync.Mutex
	tokens map[string]*lateToken
}

// lateToken is the watch of one token.
type lateToken struct {
	attempts []lateAttempt // the earliest failed attempts, at most maxLateAttempts
	until    time.Time     // lateWatch after the last failed attempt
}

// lateAttempt is one failed redemption: what would release it, and the video
// it named (for the log).
type lateAttempt struct {
	rel   store.ReleaseRequest
	video string
}

// len reports how many tokens are watched.
func (l *lateWatches) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tokens)
}

// watchLate adds rel, a redemption that failed with a system error, to the
// watch of its token, which it starts unless too many tokens are watched
// already.
func (m *Middleware) watchLate(rel store.ReleaseRequest, video string) {
	l := &m.late
	l.mu.Lock()
	defer l.mu.Unlock()
	until := time.Now().Add(lateWatch)
	if w := l.tokens[rel.Token]; w != nil {
		if len(w.attempts) < maxLateAttempts {
			w.attempts = append(w.attempts, lateAttempt{rel, video})
		}
		w.until = until
		return
	}
	if len(l.tokens) >= maxWatchers {
		return
	}
	if l.tokens == nil {
		l.tokens = make(map[string]*lateToken)
	}
	w := &lateToken{attempts: []lateAttempt{{rel, video}}, until: until}
	l.tokens[rel.Token] = w
	go m.runLate(rel.Token, w)
}

// runLate watches one token until its watch is over.
func (m *Middleware) runLate(token string, w *lateToken) {
	l := &m.late
	for delay := lateFirst; ; delay = min(2*delay, lateMaxDelay) {
		time.Sleep(delay/2 + rand.N(delay)) // between half and one and a half
		l.mu.Lock()
		attempts := w.attempts[:len(w.attempts):len(w.attempts)]
		expired := time.Now().After(w.until)
		l.mu.Unlock()
		done := m.lookLate(token, attempts)
		l.mu.Lock()
		// Over when the look settled every attempt it saw and no other
		// came meanwhile, or when the token has been quiet for lateWatch.
		if (done && len(w.attempts) == len(attempts)) || expired {
			delete(l.tokens, token)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

// lookLate looks once at a token with failed attempts; it reports whether
// the look settled them all.
func (m *Middleware) lookLate(token string, attempts []lateAttempt) bool {
	ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
	rec, err := m.store.Lookup(ctx, token, m.now())
	cancel()
	switch {
	case errors.Is(err, store.ErrUnknown):
		return true // expired, or never there
	case err != nil:
		return false // the store is still away: look again later
	case rec.State == store.Issued:
		return false // not run (yet): a stalled store may still run them
	case rec.State != store.Redeemed:
		return true // revoked
	}
	at := rec.RedeemedAt.Truncate(time.Millisecond)
	for _, a := range attempts {
		if a.rel.RedeemedAt.Truncate(time.Millisecond).Equal(at) {
			// One of them ran late. Release checks that it is this
			// client's and was never re-entered.
			m.release(a.rel, a.video, CauseLateRedemption)
		}
	}
	return true // released, or someone's redemption at another time
}
