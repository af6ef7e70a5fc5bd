package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/pgstore"
	"github.com/privatevideo/privatevideo/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// StoreSpec says which store to open: Kind is "memory", "redis" or
// "postgres", URL the redis:// or postgres:// URL (empty for memory). The
// URL may hold a password: String never shows it.
type StoreSpec struct {
	Kind string
	URL  string
}

// ParseStoreSpec reads a store as an operator writes it: memory,
// redis://… (or rediss://) or postgres://… (or postgresql://). Its error
// never holds the URL.
func ParseStoreSpec(raw string) (StoreSpec, error) {
	if raw == "memory" {
		return StoreSpec{Kind: "memory"}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return StoreSpec{}, errors.New("want memory, redis://… or postgres://… (the URL does not parse)")
	}
	switch u.Scheme {
	case "redis", "rediss":
		return StoreSpec{Kind: "redis", URL: raw}, nil
	case "postgres", "postgresql":
		return StoreSpec{Kind: "postgres", URL: raw}, nil
	}
	return StoreSpec{}, errors.New("want memory, redis://… or postgres://…")
}

// String is the store for logs: its kind and host, never its password.
func (s StoreSpec) String() string {
	if s.Kind == "memory" {
		return "memory"
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return s.Kind
	}
	return s.Kind + " at " + u.Host
}

// Stores are an opened token store and the video state beside it, in the
// same engine.
type Stores struct {
	Tokens store.Store
	Videos store.Videos // visibility, and the entries of an open catalogue
	close  func() error
}

// Close stops the stores' background work and releases their connections.
func (s *Stores) Close() error { return s.close() }

// Background work of the PostgreSQL store.
const (
	migrateRetry  = 2 * time.Second  // how often a failed migration is tried again
	sweepInterval = 10 * time.Minute // how often expired rows are deleted
)

// OpenStores opens the stores of spec: a memory store of
// store.DefaultMemoryCapacity tokens, Redis (go-redis's own log lines then
// go to log), or PostgreSQL, whose tables are created now or, when the
// database does not answer yet, in the background as soon as it does, and
// whose expired rows are swept every 10 minutes until Close.
//
// Every error is the configuration's: a URL its driver refuses, an unknown
// kind. A shared store that does not answer yet is not an error: it is
// logged (within timeout, for Redis), and calls fail until it answers, so a
// server can start and say 503 meanwhile.
func OpenStores(ctx context.Context, spec StoreSpec, timeout time.Duration, log *slog.Logger) (*Stores, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch spec.Kind {
	case "memory":
		return &Stores{Tokens: store.NewMemory(store.DefaultMemoryCapacity), Videos: store.NewMemoryVideos(), close: func() error { return nil }}, nil
	case "redis":
		return openRedis(ctx, spec, timeout, log)
	case "postgres":
		return openPostgres(ctx, spec, log)
	}
	return nil, fmt.Errorf("unknown store %q", spec.Kind)
}

func openRedis(ctx context.Context, spec StoreSpec, timeout time.Duration, log *slog.Logger) (*Stores, error) {
	// go-redis logs its connection troubles on its own; into ours, then.
	redis.SetLogger(redisLog{log})
	st, err := redisstore.Open(spec.URL)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := st.Ping(pctx); err != nil {
		log.Warn("the Redis store does not answer yet; links wait for it", "store", spec.String(), "cause", Scrub(err.Error()))
	}
	return &Stores{Tokens: st, Videos: st.Videos(), close: st.Close}, nil
}

// redisLog carries go-redis's log lines into the server's log.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.LogAttrs(ctx, slog.LevelWarn, "redis", slog.String("detail", Scrub(fmt.Sprintf(format, v...))))
}

// openPostgres opens the PostgreSQL store, creates its tables, the tokens'
// and the videos' (now, or in the background as soon as the database
// answers) and sweeps expired rows until the store is closed.
func openPostgres(ctx context.Context, spec StoreSpec, log *slog.Logger) (*Stores, error) {
	st, err := pgstore.Open(ctx, spec.URL)
	if err != nil {
		return nil, err
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
		log.Warn("the PostgreSQL store is not ready yet; links wait for it", "store", spec.String(), "cause", Scrub(err.Error()))
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
			log.Warn("sweeping expired tokens", "cause", Scrub(err.Error()))
		})
	})
	return &Stores{Tokens: st, Videos: videos, close: func() error {
		stop()
		wg.Wait()
		st.Close()
		return nil
	}}, nil
}
