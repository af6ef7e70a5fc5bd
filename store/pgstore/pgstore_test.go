package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	got := columns(t, pool, schema, "tokens")
	want := []string{
		"token uuid NO", "video text NO", "state smallint NO",
		"expires timestamp with time zone NO", "redeemed_at timestamp with time zone YES", "client bytea YES",
		"issue_expires timestamp with time zone YES", "reentered boolean NO", "unconfirmed boolean NO",
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

// columns lists the columns of schema.table: name, type, nullability.
func columns(t *testing.T, pool *pgxpool.Pool, schema, table string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	if err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ, nullable string
		if err := rows.Scan(&name, &typ, &nullable); err != nil {
			t.Fatalf("reading the schema: %v", err)
		}
		got = append(got, name+" "+typ+" "+nullable)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	return got
}

// The table as the first version of Migrate created it, before Release.
const firstSchema = `CREATE TABLE %[1]s (
	token       uuid        PRIMARY KEY,
	video       text        NOT NULL,
	state       smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
	expires     timestamptz NOT NULL,
	redeemed_at timestamptz,
	client      bytea
);
CREATE INDEX %[2]s ON %[1]s (expires)`

// Migrate brings a table of the first version up to date, from several
// replicas at once, keeping its rows: the issued ones redeem and release
// as new ones do; the ones redeemed before stay spent, their re-entry
// still works, and Sweep still deletes them once their session ends. The
// whole conformance suite then passes on the upgraded table.
func TestMigrateUpgrades(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	table := tableName()
	t.Cleanup(func() { dropTable(t, pool, table) })
	sql := fmt.Sprintf(firstSchema, pgx.Identifier{table}.Sanitize(), pgx.Identifier{table + "_expires"}.Sanitize())
	if _, err := pool.Exec(ctx, sql); err != nil {
		t.Fatalf("creating the first version's table: %v", err)
	}
	now := time.Now().Truncate(time.Millisecond)
	issued, redeemed, ended := storetest.NewToken(), storetest.NewToken(), storetest.NewToken()
	insert := "INSERT INTO " + pgx.Identifier{table}.Sanitize() + " (token, video, state, expires, redeemed_at, client) VALUES ($1, 'v', $2, $3, $4, $5)"
	for _, row := range []struct {
		tok        string
		state      int16
		expires    time.Time
		redeemedAt any
		client     any
	}{
		{issued, 1, now.Add(time.Hour), nil, nil},
		{redeemed, 2, now.Add(24 * time.Hour), now, []byte("c1")},
		{ended, 2, now.Add(-time.Minute), now.Add(-time.Hour), []byte("c1")},
	} {
		if _, err := pool.Exec(ctx, insert, row.tok, row.state, row.expires, row.redeemedAt, row.client); err != nil {
			t.Fatalf("inserting a first-version row: %v", err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := pgstore.New(pool, pgstore.WithTable(table))
			if err == nil {
				err = st.Migrate(ctx)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Migrate of a first-version table: %v", err)
		}
	}
	st, _ := pgstore.New(pool, pgstore.WithTable(table))
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	got := columns(t, pool, schema, table)
	if len(got) != 9 || got[6] != "issue_expires timestamp with time zone YES" || got[7] != "reentered boolean NO" || got[8] != "unconfirmed boolean NO" {
		t.Fatalf("columns after the upgrade: %v", got)
	}

	// The issued row: redeemed, released, redeemed by another client.
	red, err := st.Redeem(ctx, store.RedeemRequest{Token: issued, VideoID: "v", Client: "c1", Now: now, SessionTTL: 24 * time.Hour, Grace: 5 * time.Second})
	if err != nil || red.Reentry {
		t.Fatalf("Redeem of an older issued row: %+v, %v", red, err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: issued, Client: "c1", RedeemedAt: red.RedeemedAt, Now: now}); err != nil {
		t.Fatalf("Release of a redemption of an older issued row: %v", err)
	}
	if rec, err := st.Lookup(ctx, issued, now); err != nil || rec.State != store.Issued || !rec.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("after Release: %+v, %v; want issued until %v", rec, err, now.Add(time.Hour))
	}
	if _, err := st.Redeem(ctx, store.RedeemRequest{Token: issued, VideoID: "v", Client: "c2", Now: now, SessionTTL: 24 * time.Hour}); err != nil {
		t.Fatalf("Redeem after Release: %v", err)
	}

	// The row redeemed before the upgrade: no issue expiry kept, so it
	// stays spent; its client still re-enters.
	err = st.Release(ctx, store.ReleaseRequest{Token: redeemed, Client: "c1", RedeemedAt: now, Now: now.Add(time.Second)})
	if !errors.Is(err, store.ErrUsed) {
		t.Fatalf("Release of a row redeemed before the upgrade: %v, want ErrUsed", err)
	}
	if red, err := st.Redeem(ctx, store.RedeemRequest{Token: redeemed, VideoID: "v", Client: "c1", Now: now.Add(time.Second), SessionTTL: 24 * time.Hour, Grace: 5 * time.Second}); err != nil || !red.Reentry {
		t.Fatalf("re-entry into a row redeemed before the upgrade: %+v, %v", red, err)
	}
	if _, err := st.Redeem(ctx, store.RedeemRequest{Token: redeemed, VideoID: "v", Client: "c2", Now: now.Add(time.Second), SessionTTL: 24 * time.Hour}); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("another client on a row redeemed before the upgrade: %v, want ErrUsed", err)
	}
	err = st.Release(ctx, store.ReleaseRequest{Token: ended, Client: "c1", RedeemedAt: now.Add(-time.Hour), Now: now})
	if !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("Release of an older row whose session ended: %v, want ErrUnknown", err)
	}
	if n, err := st.Sweep(ctx, now); err != nil || n != 1 {
		t.Fatalf("Sweep of the upgraded table: %d, %v; want the ended row", n, err)
	}

	storetest.Run(t, func(*testing.T) store.Store { return st })
}

// The table as the second version of Migrate created it, with Release and
// before Confirm.
const secondSchema = `CREATE TABLE %[1]s (
	token         uuid        PRIMARY KEY,
	video         text        NOT NULL,
	state         smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
	expires       timestamptz NOT NULL,
	redeemed_at   timestamptz,
	client        bytea,
	issue_expires timestamptz,
	reentered     boolean     NOT NULL DEFAULT false
);
CREATE INDEX %[2]s ON %[1]s (expires)`

// Migrate brings a table of the second version up to date, from several
// replicas at once, keeping its rows: the issued ones redeem unconfirmed, so
// the retry window admits their client until Confirm; the ones redeemed
// before count as confirmed: the retry window never admits them and they are
// not released, while the grace still admits their client. The whole
// conformance suite then passes on the upgraded table.
func TestMigrateUpgradesFromRelease(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	table := tableName()
	t.Cleanup(func() { dropTable(t, pool, table) })
	sql := fmt.Sprintf(secondSchema, pgx.Identifier{table}.Sanitize(), pgx.Identifier{table + "_expires"}.Sanitize())
	if _, err := pool.Exec(ctx, sql); err != nil {
		t.Fatalf("creating the second version's table: %v", err)
	}
	now := time.Now().Truncate(time.Millisecond)
	issued, redeemed := storetest.NewToken(), storetest.NewToken()
	insert := "INSERT INTO " + pgx.Identifier{table}.Sanitize() + " (token, video, state, expires, redeemed_at, client, issue_expires) VALUES ($1, 'v', $2, $3, $4, $5, $6)"
	if _, err := pool.Exec(ctx, insert, issued, 1, now.Add(time.Hour), nil, nil, nil); err != nil {
		t.Fatalf("inserting a second-version row: %v", err)
	}
	if _, err := pool.Exec(ctx, insert, redeemed, 2, now.Add(24*time.Hour), now, []byte("c1"), now.Add(time.Hour)); err != nil {
		t.Fatalf("inserting a second-version row: %v", err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := pgstore.New(pool, pgstore.WithTable(table))
			if err == nil {
				err = st.Migrate(ctx)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Migrate of a second-version table: %v", err)
		}
	}
	st, _ := pgstore.New(pool, pgstore.WithTable(table))
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if got := columns(t, pool, schema, table); len(got) != 9 || got[8] != "unconfirmed boolean NO" {
		t.Fatalf("columns after the upgrade: %v", got)
	}

	req := func(tok, client string, at time.Duration) store.RedeemRequest {
		return store.RedeemRequest{Token: tok, VideoID: "v", Client: client, Now: now.Add(at), SessionTTL: 24 * time.Hour, Grace: 5 * time.Second, Retry: time.Minute}
	}
	// The issued row redeems unconfirmed: its client retries after the
	// grace, until Confirm.
	red, err := st.Redeem(ctx, req(issued, "c1", 0))
	if err != nil || red.Reentry {
		t.Fatalf("Redeem of an older issued row: %+v, %v", red, err)
	}
	if again, err := st.Redeem(ctx, req(issued, "c1", 10*time.Second)); err != nil || !again.Reentry {
		t.Fatalf("retry into a redemption of an older issued row: %+v, %v", again, err)
	}
	if err := st.Confirm(ctx, issued, now.Add(11*time.Second)); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if _, err := st.Redeem(ctx, req(issued, "c1", 12*time.Second)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("retry after Confirm: %v, want ErrUsed", err)
	}

	// The row redeemed before the upgrade counts as confirmed.
	if _, err := st.Redeem(ctx, req(redeemed, "c1", 10*time.Second)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("retry into a row redeemed before the upgrade: %v, want ErrUsed", err)
	}
	err = st.Release(ctx, store.ReleaseRequest{Token: redeemed, Client: "c1", RedeemedAt: now, Now: now.Add(time.Second)})
	if !errors.Is(err, store.ErrUsed) {
		t.Fatalf("Release of a row redeemed before the upgrade: %v, want ErrUsed", err)
	}
	if red, err := st.Redeem(ctx, req(redeemed, "c1", time.Second)); err != nil || !red.Reentry {
		t.Fatalf("grace re-entry into a row redeemed before the upgrade: %+v, %v", red, err)
	}
	if err := st.Confirm(ctx, redeemed, now.Add(2*time.Second)); err != nil {
		t.Fatalf("Confirm of a row redeemed before the upgrade: %v", err)
	}

	storetest.Run(t, func(*testing.T) store.Store { return st })
}

// The unconfirmed column is true from a redemption until Confirm, and only
// then: a release clears it with the rest of the redemption, and Confirm
// leaves a revoked row as it is.
func TestConfirmRow(t *testing.T) {
	pool := testPool(t)
	st := newStore(t, pool)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	unconfirmed := func(tok string) bool {
		t.Helper()
		var u bool
		if err := pool.QueryRow(ctx, "SELECT unconfirmed FROM "+pgx.Identifier{st.Table()}.Sanitize()+" WHERE token = $1", tok).Scan(&u); err != nil {
			t.Fatalf("reading the row: %v", err)
		}
		return u
	}
	redeem := func(tok string) store.Redemption {
		t.Helper()
		if err := st.Issue(ctx, tok, "v", now.Add(time.Hour)); err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if unconfirmed(tok) {
			t.Fatal("an issued row is unconfirmed")
		}
		red, err := st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "v", Client: "c1", Now: now, SessionTTL: time.Hour})
		if err != nil {
			t.Fatalf("Redeem: %v", err)
		}
		if !unconfirmed(tok) {
			t.Fatal("a fresh redemption is not unconfirmed")
		}
		return red
	}

	released := storetest.NewToken()
	red := redeem(released)
	if err := st.Release(ctx, store.ReleaseRequest{Token: released, Client: "c1", RedeemedAt: red.RedeemedAt, Now: now}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if unconfirmed(released) {
		t.Fatal("a released row is still unconfirmed")
	}

	confirmed := storetest.NewToken()
	redeem(confirmed)
	if err := st.Confirm(ctx, confirmed, now); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if unconfirmed(confirmed) {
		t.Fatal("a confirmed row is still unconfirmed")
	}

	revoked := storetest.NewToken()
	redeem(revoked)
	if err := st.Revoke(ctx, revoked, now); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if err := st.Confirm(ctx, revoked, now); err != nil {
		t.Fatalf("Confirm of a revoked row: %v", err)
	}
	if !unconfirmed(revoked) {
		t.Fatal("Confirm changed a revoked row")
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
	// And one whose session ended lives until its own expiry, for a
	// release.
	shortSession := live[len(live)-1]
	short, err := st.Redeem(ctx, store.RedeemRequest{Token: shortSession, VideoID: "v", Client: "c", Now: base.Add(-time.Hour), SessionTTL: time.Minute})
	if err != nil {
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
	for _, tok := range live[:len(live)-1] {
		if _, err := st.Lookup(ctx, tok, base); err != nil {
			t.Fatalf("Lookup of a live token after Sweep: %v", err)
		}
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: shortSession, Client: "c", RedeemedAt: short.RedeemedAt, Now: base}); err != nil {
		t.Fatalf("Release of an ended session's redemption after Sweep: %v", err)
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
