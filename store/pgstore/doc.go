// Package pgstore keeps privatevideo's private tokens in PostgreSQL, so
// that several replicas of the middleware share them and each token is
// redeemed once across all of them.
//
// It is a module of its own, so that importing privatevideo never pulls in
// pgx.
//
// # Construction
//
// New takes a pgx v5 *pgxpool.Pool; Migrate creates the table (idempotent,
// safe from every replica at start):
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db:5432/app")
//	…
//	st, err := pgstore.New(pool) // or pgstore.WithTable("media.tokens")
//	if err := st.Migrate(ctx); err != nil { … }
//	go st.SweepEvery(ctx, 10*time.Minute, func(err error) { log.Print(err) })
//	pv, err := privatevideo.New(keys, privatevideo.WithStore(st))
//
// Open builds the pool from a connection string and Close closes it. Ping
// checks the database, for health checks.
//
// # Schema
//
// One row per token in the table privatevideo_tokens (WithTable sets another
// name, optionally schema-qualified), with an index on expires:
//
//	token         uuid        PRIMARY KEY
//	video         text        NOT NULL
//	state         smallint    NOT NULL  -- 1 issued, 2 redeemed, 3 revoked
//	expires       timestamptz NOT NULL  -- the token's expiry, then the session's end
//	redeemed_at   timestamptz           -- once redeemed
//	client        bytea                 -- the redeeming client's identity, for the grace window
//	issue_expires timestamptz           -- once redeemed: the token's expiry, which a release restores
//	reentered     boolean     NOT NULL  -- a re-entry was granted: the redemption is not released
//	unconfirmed   boolean     NOT NULL  -- redeemed, its session not back yet (Confirm): the retry window admits its client
//
// The client identity is opaque bytes to the store, hence bytea rather than
// text, which would refuse bytes that are not UTF-8. Migrate adds the last
// three columns to a table that an earlier version created, without
// rewriting it; rows redeemed before that have no issue_expires, or are not
// unconfirmed: their redemptions are never released, and the retry window
// never admits them.
//
// # Atomicity
//
// Each operation is one statement in its own transaction, at the default
// READ COMMITTED level. A redemption is a single conditional UPDATE (issued,
// for this video, not expired → redeemed) whose losers, waiting on the
// row's lock, re-check the condition on the committed row and fail: exactly
// one of any number of concurrent redemptions wins, on any number of
// machines. The same statement reads the row back for the others, with a
// locking read when they lost a race so that they see the winner (and a
// grace re-entry of the winning client succeeds); see the comments on the
// SQL. A re-entry is the same UPDATE taking a redeemed row of the same
// client (within the grace, or the retry window while unconfirmed), and
// marks it. Release is one conditional UPDATE too (redeemed by this client
// at this time, never re-entered nor confirmed, before the token's expiry →
// issued), ordered by the row's lock against concurrent redemptions, and so
// is Confirm (redeemed, unconfirmed → confirmed). Issue
// is an INSERT … ON CONFLICT DO NOTHING, so it never resets a token; Revoke
// is an UPDATE that keeps the row's expiry; Lookup a SELECT.
//
// Keep synchronous_commit on, PostgreSQL's default, for this table: with it
// off, a redemption acknowledged just before a server crash can be lost, and
// its token redeemed a second time after recovery.
//
// # Expiry and sweeping
//
// Decisions compare the times the middleware passes in, never the
// database's clock: an expired row is unknown, whether or not it is still
// there. Rows expire at the token's expiry while issued and at the session's
// end once redeemed; Sweep keeps a redeemed row until the token's expiry if
// that is later, so that a release can still restore it. Sweep deletes the rows expired at a given time, in
// batches; SweepEvery runs it on a timer until its context ends. Sweeping
// only reclaims space, so any replica, or all of them, may run it.
//
// # Outages
//
// Any error other than the store package's denials is a system failure,
// wrapped: the middleware answers 503 store-unavailable with Retry-After,
// and sessions already open keep playing, as their check needs no store.
// pgx honours the context's deadline (a connection whose context ends is
// closed), and the pool opens new connections when the database returns,
// with no restart. A redemption that never reached the database consumes
// nothing. One that reached it but whose answer was lost (the connection cut
// or stalled after the statement was sent) may have redeemed the token for
// the very client that was refused; its retry gets in as a re-entry, within
// the grace or, as long as the redemption is unconfirmed (no session of it
// came back), within the retry window (store.RedeemRequest.Retry).
package pgstore
