// Package testclock is a settable clock for tests that move the middleware
// past an expiry or a grace window (privatevideo.WithClock) without sleeping.
// It is shared by the tests of several modules of this repository.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock that only moves when told. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock set to start.
func New(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time; pass it to privatevideo.WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
