package privatevideo

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// A redemption that timed out against the store has an unknown outcome: the
// store may carry it out after the viewer got 503. So the same client may
// re-enter a redemption whose session it never used for the retry window
// (WithRetryWindow), not only the grace window. The first request that
// brings a session back confirms its redemption in the store, and from then
// on only the grace window applies: a second browser behind the same
// address and User-Agent cannot ride on the retry window of a session in
// use.

// confirmationsSize bounds the sessions a process remembers confirming.
const confirmationsSize = 16384

// confirm confirms sess's redemption in the store, once per process, when
// it is young enough for the retry window to matter. The store write runs
// off the request's path; a store that never blocks (the memory store)
// answers inline.
func (m *Middleware) confirm(sess Session, now time.Time) {
	if m.retryWindow == 0 {
		return
	}
	redeemedAt := sess.Expires.Add(-m.sessionTTL)
	if now.Sub(redeemedAt) > m.retryWindow+time.Second { // whole seconds in the session
		return // past the window: nothing left to close
	}
	if !m.confirmed.first(sess.Token) {
		return
	}
	if m.localStore {
		m.confirmNow(sess.Token, now)
		return
	}
	go m.confirmNow(sess.Token, now)
}

func (m *Middleware) confirmNow(token string, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
	err := m.store.Confirm(ctx, token, now)
	cancel()
	if err == nil || errors.Is(err, store.ErrUnknown) {
		return
	}
	// The redemption stays open to its own client's retry until this
	// process tries again, on the session's next request.
	m.confirmed.forget(token)
	if m.logger != nil {
		m.logger.LogAttrs(context.Background(), slog.LevelWarn, "privatevideo: confirming a redemption failed",
			slog.String("token", RedactToken(token)), slog.String("cause", redactTokens(err.Error())))
	}
}

// confirmations remembers the tokens whose redemption this process has
// confirmed, in two generations of at most size entries, like
// verifiedCache.
type confirmations struct {
	mu        sync.Mutex
	cur, prev map[string]struct{}
	size      int
}

func newConfirmations(size int) *confirmations {
	return &confirmations{cur: make(map[string]struct{}), size: size}
}

// first reports whether token is seen for the first time, and remembers it.
func (c *confirmations) first(token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[token]; ok {
		return false
	}
	if _, ok := c.prev[token]; ok {
		return false
	}
	if len(c.cur) >= c.size {
		c.prev, c.cur = c.cur, make(map[string]struct{}, c.size)
	}
	c.cur[token] = struct{}{}
	return true
}

// forget drops token, so that its confirmation is tried again.
func (c *confirmations) forget(token string) {
	c.mu.Lock()
	delete(c.cur, token)
	delete(c.prev, token)
	c.mu.Unlock()
}
