package privatevideo

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
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
// in the store: redeemed, by that client, at that very millisecond, and
// never re-entered (Release refuses otherwise, so a session that did reach
// the viewer is never undone).
//
// The watch is per token, not per attempt. During an outage every viewer
// retries a few times a second, and each retry is one more failed
// redemption; one watch each would call the store thousands of times when
// it comes back, and the store, busy with the watches, would fail the
// retries that made more of them: an outage that feeds itself. One watch per
// token holds the token's failed attempts and looks them all up at once,
// at jittered times so that the watches of one outage do not look together.
// It keeps a token's earliest attempts (those the store had received when
// it stalled) and its latest (a later stall may have received those), each
// as a client and a millisecond.
//
// The memory store answers at once or not at all, so nothing it failed can
// run late; neither can a redemption whose request had ended before the
// store was called. Neither is watched.

// Bounds of the watch.
const (
	lateWatch    = 5 * time.Minute // how long a token is watched after its last failed attempt
	lateFirst    = time.Second     // the first look, then doubling...
	lateMaxDelay = 20 * time.Second
	maxWatchers  = 4096 // tokens watched at once, per process
	lateKeep     = 16   // failed attempts kept per token: its 16 earliest, and its 16 latest
)

// lateWatches holds the tokens being watched; it is a field of Middleware
// (see middleware.go).
type lateWatches struct {
	mu     sync.Mutex
	tokens map[string]*lateToken
}

// lateToken is the watch of one token.
type lateToken struct {
	earliest []lateAttempt // the first lateKeep failed attempts
	latest   []lateAttempt // the latest lateKeep after those, oldest first
	added    int           // attempts ever added (kept or not)
	until    time.Time     // lateWatch after the last failed attempt
}

// lateAttempt is one failed redemption: its client, and its RedeemedAt in
// Unix milliseconds, the precision at which stores compare it.
type lateAttempt struct {
	client string
	at     int64
}

// add keeps a, unless it is kept already.
func (w *lateToken) add(a lateAttempt) {
	w.added++
	if slices.Contains(w.earliest, a) || slices.Contains(w.latest, a) {
		return
	}
	switch {
	case len(w.earliest) < lateKeep:
		w.earliest = append(w.earliest, a)
	case len(w.latest) == lateKeep:
		w.latest = append(w.latest[:0], w.latest[1:]...)
		fallthrough
	default:
		w.latest = append(w.latest, a)
	}
}

// forget drops a: it succeeded after all (see forgetLate).
func (w *lateToken) forget(a lateAttempt) {
	same := func(b lateAttempt) bool { return b == a }
	w.earliest = slices.DeleteFunc(w.earliest, same)
	w.latest = slices.DeleteFunc(w.latest, same)
}

// attempts returns a copy of the kept attempts.
func (w *lateToken) attempts() []lateAttempt {
	return slices.Concat(w.earliest, w.latest)
}

// len reports how many tokens are watched.
func (l *lateWatches) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tokens)
}

// watchLate adds the redemption of token by client at at, which failed with
// a system error, to the watch of its token, which it starts unless too many
// tokens are watched already.
func (m *Middleware) watchLate(token, client string, at time.Time) {
	l := &m.late
	l.mu.Lock()
	defer l.mu.Unlock()
	a := lateAttempt{client: strings.Clone(client), at: at.UnixMilli()}
	until := time.Now().Add(lateWatch)
	if w := l.tokens[token]; w != nil {
		w.add(a)
		w.until = until
		return
	}
	if len(l.tokens) >= maxWatchers {
		return
	}
	if l.tokens == nil {
		l.tokens = make(map[string]*lateToken)
	}
	// A copy: the token is a piece of the request's path, and would keep
	// the whole request line.
	token = strings.Clone(token)
	w := &lateToken{until: until}
	w.add(a)
	l.tokens[token] = w
	go m.runLate(token, w)
}

// forgetLate drops a watched attempt of token by client at at: a redemption
// of the same client in the same millisecond has just succeeded, and the
// store could not tell the two apart; releasing one would undo the other,
// which reached its viewer.
func (m *Middleware) forgetLate(token, client string, at time.Time) {
	l := &m.late
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.tokens[token]; w != nil {
		w.forget(lateAttempt{client: client, at: at.UnixMilli()})
	}
}

// runLate watches one token until its watch is over.
func (m *Middleware) runLate(token string, w *lateToken) {
	l := &m.late
	for delay := lateFirst; ; delay = min(2*delay, lateMaxDelay) {
		time.Sleep(delay/2 + rand.N(delay)) // between half and one and a half
		l.mu.Lock()
		attempts, added := w.attempts(), w.added
		l.mu.Unlock()
		done := m.lookLate(token, attempts)
		l.mu.Lock()
		// Over when the look settled every attempt and none came
		// meanwhile, or when the token has been quiet for lateWatch
		// (checked after the look, which an attempt may have extended).
		if (done && w.added == added) || time.Now().After(w.until) {
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
	at := rec.RedeemedAt.UnixMilli()
	for _, a := range attempts {
		if a.at == at {
			// One of them ran late. Release checks that it is this
			// client's, never re-entered and never confirmed.
			rel := store.ReleaseRequest{Token: token, Client: a.client, RedeemedAt: time.UnixMilli(a.at)}
			m.release(rel, rec.VideoID, CauseLateRedemption)
		}
	}
	return true // released, or someone's redemption at another time
}
