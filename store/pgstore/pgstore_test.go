package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/privatevideo/privatevideo/internal/fleettest"
	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/pgstore"
	"github.com/privatevideo/privatevideo/store/storetest"
)

// poolConfig reads DATABASE_URL, or skips the test when it is unset.
func poolConfig(tb testing.TB) *pgxpool.Config {
	tb.Helper()
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		tb.Skip("DATABASE_URL is not set: set it (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to test the PostgreSQL store")
	}
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		tb.Fatalf("DATABASE_URL: %v", err)
	}
	cfg.MaxConns = 8 // more makes two cores slower: the backends contend; races still meet in the database
	// The tests race tens of thousands of commits on two cores; flushing
	// the WAL for each would make them slow, not more telling: atomicity
	// and isolation are the same either way. Only a server crash tells the
	// difference, and none happens here. (Production keeps it on: see the
	// package documentation.) The benchmarks use the server's setting.
	if _, bench := tb.(*testing.B); !bench {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	return cfg
}

// connect opens a pool on cfg; once DATABASE_URL is set, a database that does
// not answer fails the test.
func connect(tb testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("pgxpool: %v", err)
	}
	tb.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		tb.Fatalf("DATABASE_URL is set but PostgreSQL does not answer: %v", err)
	}
	return pool
}

func testPool(tb testing.TB) *pgxpool.Pool { return connect(tb, poolConfig(tb)) }

// tableName returns a fresh table name, so that runs never collide.
func tableName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "pvtest_" + hex.EncodeToString(b)
}

// newStore returns a migrated store on a table of its own, dropped when the
// test ends.
func newStore(tb testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	table := tableName()
	st, err := pgstore.New(pool, append([]pgstore.Option{pgstore.WithTable(table)}, opts...)...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	tb.Cleanup(func() { dropTable(tb, pool, st.Table()) })
	return st
}

func dropTable(tb testing.TB, pool *pgxpool.Pool, table string) {
	ident := pgx.Identifier(strings.Split(table, "."))
	if _, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+ident.Sanitize()); err != nil {
		tb.Errorf("dropping %s: %v", table, err)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel() // beside TestFleet: both mostly wait on round trips
	st := newStore(t, testPool(t))
	storetest.Run(t, func(*testing.T) store.Store { return st })
}

func TestFleet(t *testing.T) {
	t.Parallel()
	fleettest.Run(t, newStore(t, testPool(t)))
}

func TestNewValidates(t *testing.T) {
	// pgxpool connects lazily: no database is needed here.
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	defer pool.Close()
	if _, err := pgstore.New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	for _, bad := range []string{"", "Tokens", "1tokens", "a.b.c", "a..b", ".a", "a.", "tok-ens", `tok"ens`, "tok ens", strings.Repeat("a", 49), "a;drop table x"} {
		if _, err := pgstore.New(pool, pgstore.WithTable(bad)); err == nil {
			t.Errorf("WithTable(%q) accepted", bad)
		}
	}
	for _, good := range []string{"tokens", "_t", "pv.tokens", "a1_b2." + strings.Repeat("a", 48)} {
		st, err := pgstore.New(pool, pgstore.WithTable(good))
		if err != nil {
			t.Errorf("WithTable(%q): %v", good, err)
		} else if st.Table() != good {
			t.Errorf("Table() = %q, want %q", st.Table(), good)
		}
	}
	if st, _ := pgstore.New(pool); st.Table() != pgstore.DefaultTable {
		t.Fatalf("default table %q, want %q", st.Table(), pgstore.DefaultTable)
	}
}

func TestOpenKeepsPasswordsOutOfErrors(t *testing.T) {
	for _, raw := range []string{"postgres://user:hunter2-secret@127.0.0.1:notaport/db", "postgres://user:hunter2-secret@127.0.0.1/db?sslmode=bogus"} {
		_, err := pgstore.Open(context.Background(), raw)
		if err == nil {
			t.Fatalf("Open accepted a bad connection string")
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("Open error %q shows the password", err)
		}
	}
	st, err := pgstore.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none", pgstore.WithTable("t"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	st.Close()
}

// Replicas starting together all migrate; the table comes out once, with
// the documented columns, and migrating again changes nothing.
func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	pool := testPool(t)
	schema := tableName()
	table := schema + ".tokens"
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema: %v", err)
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := pgstore.New(pool, pgstore.WithTable(table))
			if err == nil {
				err = st.Migrate(context.Background())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	st, _ := pgstore.New(pool, pgstore.WithTable(table))
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	rows, err := pool.Query(context.Background(), `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'tokens' ORDER BY ordinal_position`, schema)
	if err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	var got []string
	for rows.Next() {
		var name, typ, nullable string
		if err := rows.Scan(&name, &typ, &nullable); err != nil {
			t.Fatalf("reading the schema: %v", err)
		}
		got = append(got, name+" "+typ+" "+nullable)
	}
	want := []string{
		"token uuid NO", "video text NO", "state smallint NO",
		"expires timestamp with time zone NO", "redeemed_at timestamp with time zone YES", "client bytea YES",
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("columns %v, want %v", got, want)
	}
	// The store works on it.
	tok := storetest.NewToken()
	if err := st.Issue(context.Background(), tok, "v", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Issue: %v", err)
	}
}

// Sweep deletes what has expired at the time it is given and nothing else,
// and SweepEvery does it on a timer until its context ends.
func TestSweep(t *testing.T) {
	pool := testPool(t)
	st := newStore(t, pool)
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond)
	var live, dead []string
	for i := range 30 {
		tok := storetest.NewToken()
		expires := base.Add(time.Duration(i-10) * time.Minute) // ten already expired at base
		if err := st.Issue(ctx, tok, "v", expires); err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if i <= 10 {
			dead = append(dead, tok) // expired at base, i == 10 exactly at it
		} else {
			live = append(live, tok)
		}
	}
	// A redeemed token lives until its session ends, past its own expiry.
	redeemed := live[0]
	if _, err := st.Redeem(ctx, store.RedeemRequest{Token: redeemed, VideoID: "v", Client: "c", Now: base.Add(-time.Hour), SessionTTL: 3 * time.Hour}); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	n, err := st.Sweep(ctx, base)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != int64(len(dead)) {
		t.Fatalf("Sweep deleted %d rows, want %d", n, len(dead))
	}
	if rows := countRows(t, pool, st.Table()); rows != len(live) {
		t.Fatalf("%d rows after Sweep, want %d", rows, len(live))
	}
	for _, tok := range live {
		if _, err := st.Lookup(ctx, tok, base); err != nil {
			t.Fatalf("Lookup of a live token after Sweep: %v", err)
		}
	}
	if n, err := st.Sweep(ctx, base); err != nil || n != 0 {
		t.Fatalf("second Sweep: %d, %v; want 0", n, err)
	}

	// On a timer: everything is expired an hour from now but the session.
	sweepCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	if err := st.SweepEvery(sweepCtx, 0, nil); err == nil {
		t.Fatal("SweepEvery accepted a zero interval")
	}
	if _, err := pool.Exec(ctx, "UPDATE "+pgx.Identifier{st.Table()}.Sanitize()+" SET expires = now() - interval '1 second' WHERE state = 1"); err != nil {
		t.Fatalf("ageing the rows: %v", err)
	}
	go func() {
		done <- st.SweepEvery(sweepCtx, 20*time.Millisecond, func(err error) { t.Errorf("sweep: %v", err) })
	}()
	for deadline := time.Now().Add(10 * time.Second); countRows(t, pool, st.Table()) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("SweepEvery left %d rows, want only the redeemed one", countRows(t, pool, st.Table()))
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SweepEvery: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SweepEvery did not return when its context ended")
	}
	if rec, err := st.Lookup(ctx, redeemed, base); err != nil || rec.State != store.Redeemed {
		t.Fatalf("the redeemed token after sweeps: %+v, %v", rec, err)
	}
}

func countRows(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatalf("counting rows: %v", err)
	}
	return n
}
