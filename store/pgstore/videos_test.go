package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/pgstore"
	"github.com/privatevideo/privatevideo/store/storetest"
)

// newVideos returns migrated Videos on a table of their own, dropped when
// the test ends.
func newVideos(tb testing.TB, pool *pgxpool.Pool, table string) *pgstore.Videos {
	tb.Helper()
	vs, err := pgstore.NewVideos(pool, table)
	if err != nil {
		tb.Fatalf("NewVideos: %v", err)
	}
	if err := vs.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table); err != nil {
			tb.Errorf("dropping %s: %v", table, err)
		}
	})
	return vs
}

func TestVideosConformance(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	storetest.RunVideos(t, func(t *testing.T) store.Videos { return newVideos(t, pool, tableName()) })
}

// Migrate is idempotent and safe from several replicas at once; two Videos on
// one table are one catalogue, as two replicas are.
func TestVideosMigrateShared(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	table := tableName()
	a := newVideos(t, pool, table)
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			b, err := pgstore.NewVideos(pool, table)
			if err == nil {
				err = b.Migrate(context.Background())
			}
			errc <- err
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	b, _ := pgstore.NewVideos(pool, table)
	ctx := context.Background()
	if _, err := a.Create(ctx, "v1", "One"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetPublic(ctx, "v1", true); err != nil {
		t.Fatal(err)
	}
	if pub, err := b.Public(ctx, "v1"); err != nil || !pub {
		t.Fatalf("Public on the second: %t, %v", pub, err)
	}
	if l, err := b.List(ctx); err != nil || len(l) != 1 || l[0] != (store.Video{ID: "v1", Title: "One", Public: true}) {
		t.Fatalf("List on the second: %+v, %v", l, err)
	}
}

// Store.Videos puts the table beside the token table, in its schema.
func TestStoreVideosTable(t *testing.T) {
	pool := testPool(t)
	for _, c := range []struct{ tokens, want string }{
		{"", pgstore.DefaultVideosTable},
		{"myschema.tokens", "myschema." + pgstore.DefaultVideosTable},
	} {
		var opts []pgstore.Option
		if c.tokens != "" {
			opts = append(opts, pgstore.WithTable(c.tokens))
		}
		st, err := pgstore.New(pool, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Videos().Table(); got != c.want {
			t.Errorf("tokens in %q: videos in %q, want %q", c.tokens, got, c.want)
		}
	}
	for _, bad := range []string{"Videos", "a.b.c", "1videos", "x-y"} {
		if _, err := pgstore.NewVideos(pool, bad); err == nil {
			t.Errorf("NewVideos(%q) accepted the name", bad)
		}
	}
	if _, err := pgstore.NewVideos(nil, ""); err == nil {
		t.Error("NewVideos accepted a nil pool")
	}
}

// A database that does not answer: every call fails within its context's
// deadline, and Public never answers true.
func TestVideosUnavailable(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	table := tableName()
	newVideos(t, pool, table)
	cfg := poolConfig(t)
	p := startProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = p.addr()
	cfg.ConnConfig.Fallbacks = nil
	vs, _ := pgstore.NewVideos(connect(t, cfg), table)
	if _, err := vs.SetPublic(context.Background(), "v1", true); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []proxyMode{proxyCut, proxyStalled} {
		p.set(mode)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		pub, err := vs.Public(ctx, "v1")
		cancel()
		if err == nil || pub {
			t.Errorf("mode %d: Public = %t, %v; want false and an error", mode, pub, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("mode %d: Public took %s past a 300ms deadline", mode, d)
		}
		p.set(proxyUp)
	}
}

// BenchmarkVideoPublic is the cost the edge server adds to every media
// request on PostgreSQL: one Public lookup, beside the token store's Lookup
// through the same pool.
func BenchmarkVideoPublic(b *testing.B) {
	pool := testPool(b)
	st := newStore(b, pool)
	vs := newVideos(b, pool, tableName())
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("video-%d", i)
		if _, err := vs.SetPublic(context.Background(), ids[i], i%2 == 0); err != nil {
			b.Fatal(err)
		}
	}
	live := storetest.Prefill(b, st, 1000)
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("op=video-public/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "lookups/s", func(ctx context.Context) error {
				_, err := vs.Public(ctx, ids[rand.IntN(len(ids))])
				return err
			})
		})
		b.Run(fmt.Sprintf("op=token-lookup/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "lookups/s", func(ctx context.Context) error {
				_, err := st.Lookup(ctx, live[rand.IntN(len(live))], time.Now())
				return err
			})
		})
	}
}
