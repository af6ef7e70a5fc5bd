package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/pgstore"
	"github.com/privatevideo/privatevideo/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// openedStore is the token store of a run, the video state beside it and
// how to release them.
type openedStore struct {
	store.Store
	videos store.Videos // visibility and the catalogue of the API
	close  func() error
}

// Background work of the PostgreSQL store.
const (
	migrateRetry  = 2 * time.Second  // how often a failed migration is tried again
	sweepInterval = 10 * time.Minute // how often expired rows are deleted
)

// openStore opens the store of spec. A URL its driver refuses is a
// usageError. A shared store that does not answer yet is not an error: the
// server starts, says so in the log, /healthz answers 503 and links are
// refused with 503 store-unavailable until the store answers.
func openStore(ctx context.Context, spec storeSpec, timeout time.Duration, log *slog.Logger) (openedStore, error) {
	switch spec.kind {
	case "memory":
		return openedStore{Store: store.NewMemory(store.DefaultMemoryCapacity), videos: store.NewMemoryVideos(), close: func() error { return nil }}, nil
	case "redis":
		return openRedis(ctx, spec, timeout, log)
	case "postgres":
		return openPostgres(ctx, spec, log)
	}
	return openedStore{}, &usageError{fmt.Errorf("-store: unknown store %q", spec.kind)}
}

func openRedis(ctx context.Context, spec storeSpec, timeout time.Duration, log *slog.Logger) (openedStore, error) {
	// go-redis logs its connection troubles on its own; into ours, then.
	redis.SetLogger(redisLog{log})
	st, err := redisstore.Open(spec.url)
	if err != nil {
		return openedStore{}, &usageError{fmt.Errorf("-store: %w", err)}
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := st.Ping(pctx); err != nil {
		log.Warn("the Redis store does not answer yet; links wait for it", "store", spec.String(), "cause", scrub(err.Error()))
	}
	return openedStore{Store: st, videos: st.Videos(), close: st.Close}, nil
}

// redisLog carries go-redis's log lines into the server's log.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.LogAttrs(ctx, slog.LevelWarn, "redis", slog.String("detail", scrub(fmt.Sprintf(format, v...))))
}

// openPostgres opens the PostgreSQL store, creates its tables, the tokens'
// and the videos' (now, or in the background as soon as the database
// answers) and sweeps expired rows until the store is closed.
func openPostgres(ctx context.Context, spec storeSpec, log *slog.Logger) (openedStore, error) {
	st, err := pgstore.Open(ctx, spec.url)
	if err != nil {
		return openedStore{}, &usageError{fmt.Errorf("-store: %w", err)}
	}
	videos := st.Videos()
	bg, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	migrate := func() error {
		mctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		if err := st.Migrate(mctx); err != nil {
			return err
		}
		return videos.Migrate(mctx)
	}
	if err := migrate(); err != nil {
		log.Warn("the PostgreSQL store is not ready yet; links wait for it", "store", spec.String(), "cause", scrub(err.Error()))
		wg.Go(func() {
			tick := time.NewTicker(migrateRetry)
			defer tick.Stop()
			for {
				select {
				case <-bg.Done():
					return
				case <-tick.C:
				}
				if migrate() == nil {
					log.Info("the PostgreSQL store is ready", "store", spec.String())
					return
				}
			}
		})
	}
	wg.Go(func() {
		st.SweepEvery(bg, sweepInterval, func(err error) {
			log.Warn("sweeping expired tokens", "cause", scrub(err.Error()))
		})
	})
	return openedStore{Store: st, videos: videos, close: func() error {
		stop()
		wg.Wait()
		st.Close()
		return nil
	}}, nil
}
