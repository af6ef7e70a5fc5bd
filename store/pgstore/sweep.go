package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// sweepBatch is how many rows one DELETE of Sweep removes at most, so that
// no single statement holds many row locks or runs long.
const sweepBatch = 5000

// minSweepTimeout bounds a timed sweep when its interval is shorter: a
// sweep of many rows may take a while, and only a hung one should fail.
const minSweepTimeout = 10 * time.Second

// Sweep deletes the rows expired at now, in batches, and returns how many it
// deleted. Records are irrelevant once expired: the Store already treats
// them as unknown, so Sweep only reclaims space. Pass the clock the
// middleware uses (time.Now unless WithClock says otherwise).
func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, s.sql.sweep, now, sweepBatch)
		if err != nil {
			return total, fmt.Errorf("pgstore: sweep: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < sweepBatch {
			return total, nil
		}
	}
}

// SweepEvery runs Sweep at time.Now every interval until ctx is done, and
// then returns nil. Each sweep is bounded by the interval, or by
// minSweepTimeout if that is longer; a failed one (the database away, say) is
// reported to onError, if not nil, and the next tick tries again. A slow
// sweep delays the next; ticks never pile up. Run it in its own goroutine, on one replica or on all: sweeps
// running at once skip each other's rows.
func (s *Store) SweepEvery(ctx context.Context, interval time.Duration, onError func(error)) error {
	if interval <= 0 {
		return errors.New("pgstore: sweep interval must be positive")
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		sweepCtx, cancel := context.WithTimeout(ctx, max(interval, minSweepTimeout))
		_, err := s.Sweep(sweepCtx, time.Now())
		cancel()
		if err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
	}
}
