package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// statements is the SQL of one Store, built once for its table.
type statements struct {
	schema  []string // CREATE statements, in order
	upgrade upgrade  // columns that tables of earlier versions lack
	lockID  string   // names the migration's advisory lock
	issue   string
	redeem  string
	release string
	confirm string
	lookup  string
	revoke  string
	sweep   string
}

// upgrade brings a table created by an earlier version of the schema up to
// this one: missing, given table, says whether it lacks a column, and alter
// adds those it lacks.
type upgrade struct {
	table   string
	missing string
	alter   string
}

func newStatements(schema, name string) statements {
	tableIdent := pgx.Identifier{name}
	indexIdent := pgx.Identifier{name + "_expires"}
	if schema != "" {
		tableIdent = pgx.Identifier{schema, name}
	}
	t := tableIdent.Sanitize()
	var st statements
	if schema != "" {
		st.schema = append(st.schema, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	}
	st.schema = append(st.schema,
		`CREATE TABLE IF NOT EXISTS `+t+` (
	token         uuid        PRIMARY KEY,
	video         text        NOT NULL,
	state         smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
	expires       timestamptz NOT NULL,
	redeemed_at   timestamptz,
	client        bytea,
	issue_expires timestamptz,
	reentered     boolean     NOT NULL DEFAULT false,
	unconfirmed   boolean     NOT NULL DEFAULT false
)`,
		// Sweep finds expired rows by it.
		`CREATE INDEX IF NOT EXISTS `+indexIdent.Sanitize()+` ON `+t+` (expires)`,
	)
	// The first version of the table had neither issue_expires nor
	// reentered (they came with Release), the second no unconfirmed (it
	// came with Confirm). Its default, false, makes the rows redeemed before
	// confirmed: the retry window never admits them. The catalogue is read
	// first so that a migration of an up to date table takes no lock that
	// would stall redemptions; a constant default adds a column without
	// rewriting the table.
	st.upgrade = upgrade{
		table: t,
		missing: `SELECT count(*) < 3 FROM pg_attribute
WHERE attrelid = to_regclass($1) AND attname IN ('issue_expires', 'reentered', 'unconfirmed') AND NOT attisdropped`,
		alter: `ALTER TABLE ` + t + `
	ADD COLUMN IF NOT EXISTS issue_expires timestamptz,
	ADD COLUMN IF NOT EXISTS reentered boolean NOT NULL DEFAULT false,
	ADD COLUMN IF NOT EXISTS unconfirmed boolean NOT NULL DEFAULT false`,
	}
	st.lockID = "privatevideo/pgstore/migrate/" + t

	st.issue = `INSERT INTO ` + t + ` (token, video, state, expires) VALUES ($1, $2, $3, $4)
ON CONFLICT (token) DO NOTHING`

	// One statement decides a redemption.
	//
	// "taken" is the decision: it updates the row if it is issued for this
	// video and not expired (a redemption: the token's expiry moves to
	// issue_expires, for a release, and the row starts unconfirmed), or
	// redeemed by this client within the grace window, or within the retry
	// window while unconfirmed (a re-entry, which marks the row reentered
	// so that the redemption is no longer released). Under READ COMMITTED an UPDATE
	// that finds the row locked by a concurrent statement waits for it to
	// commit, then re-checks its WHERE, and computes its SET, on the
	// committed row: of any number of concurrent calls, exactly one takes an
	// issued row, the winner's own parallel calls then re-enter its
	// redemption, and a call that waited on a release redeems the row the
	// release left issued.
	//
	// When "taken" is empty, "seen" reads the row to tell why, from the
	// statement's snapshot. That is right unless the snapshot still shows
	// the row as "taken" wanted it: then a concurrent statement changed it
	// and committed while we waited (a winner of another client, a
	// revocation, a sweep), and the snapshot cannot see the change. Only then
	// "raced" reads the row again FOR SHARE: a locking read returns the
	// latest committed version, so a loser of a race sees the winner's
	// redemption. Taking that lock for the other denials would only cost a
	// write.
	//
	// A raced row that "taken" would take after all changed once more
	// after "taken" looked (a release, say): the redemption fails as a
	// system failure, with nothing consumed, and a retry decides afresh.
	//
	// "seen" and "raced" run only when needed: their EXISTS conditions are
	// one-time filters.
	const takeable = `(video = $2 AND expires > $3 AND (state = 1 OR
	state = 2 AND client = $5 AND ($6::bigint > 0 AND $3 < redeemed_at + $6::bigint * interval '1 microsecond' OR
		unconfirmed AND $7::bigint > 0 AND $3 < redeemed_at + $7::bigint * interval '1 microsecond')))`
	st.redeem = `WITH taken AS (
	UPDATE ` + t + ` SET
		state = 2,
		redeemed_at = CASE WHEN state = 1 THEN $3 ELSE redeemed_at END,
		expires = CASE WHEN state = 1 THEN $4 ELSE expires END,
		issue_expires = CASE WHEN state = 1 THEN expires ELSE issue_expires END,
		client = $5,
		reentered = state = 2,
		unconfirmed = CASE WHEN state = 1 THEN true ELSE unconfirmed END
	WHERE token = $1 AND ` + takeable + `
	RETURNING redeemed_at, expires, reentered
), seen AS (
	SELECT video, state, redeemed_at, expires, client, unconfirmed FROM ` + t + `
	WHERE token = $1 AND NOT EXISTS (SELECT FROM taken)
), raced AS (
	SELECT video, state, redeemed_at, expires, client, unconfirmed FROM ` + t + `
	WHERE token = $1 AND EXISTS (SELECT FROM seen WHERE ` + takeable + `)
	FOR SHARE
)
SELECT true, NULL::text, NULL::smallint, redeemed_at, expires, reentered FROM taken
UNION ALL
SELECT false, video, state, redeemed_at, expires, ` + takeable + ` IS TRUE FROM raced
UNION ALL
SELECT false, video, state, redeemed_at, expires, false FROM seen
WHERE ` + takeable + ` IS NOT TRUE`

	// One statement decides a release, the same way: "released" takes the
	// row back to issued, with the token's expiry, if it is still the
	// redemption named (client, and redeemed_at within the millisecond
	// [$3, $4)), never re-entered nor confirmed, before the token's expiry.
	// A row redeemed before issue_expires existed has none, and stays
	// spent; so does one redeemed before unconfirmed existed, which counts
	// as confirmed. "seen" and "raced" tell why not, as for a redemption.
	const releasable = `(state = 2 AND client = $2 AND redeemed_at >= $3 AND redeemed_at < $4
	AND NOT reentered AND unconfirmed AND issue_expires > $5)`
	st.release = `WITH released AS (
	UPDATE ` + t + ` SET state = 1, expires = issue_expires, redeemed_at = NULL, client = NULL, issue_expires = NULL,
		unconfirmed = false
	WHERE token = $1 AND ` + releasable + `
	RETURNING true
), seen AS (
	SELECT state, expires, issue_expires, client, redeemed_at, reentered, unconfirmed FROM ` + t + `
	WHERE token = $1 AND NOT EXISTS (SELECT FROM released)
), raced AS (
	SELECT state, expires, issue_expires FROM ` + t + `
	WHERE token = $1 AND EXISTS (SELECT FROM seen WHERE ` + releasable + `)
	FOR SHARE
)
SELECT true, NULL::smallint, NULL::timestamptz, NULL::timestamptz FROM released
UNION ALL
SELECT false, state, expires, issue_expires FROM raced
UNION ALL
SELECT false, state, expires, issue_expires FROM seen
WHERE ` + releasable + ` IS NOT TRUE`

	// One statement confirms: "confirmed" ends the retry window of a live
	// redeemed row; otherwise a live row of any state is left as it is, and
	// only a missing or expired one is unknown. A row that a concurrent
	// statement changes is re-checked by the UPDATE on its committed
	// version, as for a redemption: a re-entry that committed first is
	// still confirmed, a release that committed first leaves an issued row
	// with nothing to confirm.
	st.confirm = `WITH confirmed AS (
	UPDATE ` + t + ` SET unconfirmed = false
	WHERE token = $1 AND state = 2 AND expires > $2 AND unconfirmed
	RETURNING true
)
SELECT true FROM confirmed
UNION ALL
SELECT true FROM ` + t + ` WHERE token = $1 AND expires > $2 AND NOT EXISTS (SELECT FROM confirmed)`

	st.lookup = `SELECT video, state, expires, redeemed_at FROM ` + t + ` WHERE token = $1 AND expires > $2`
	st.revoke = `UPDATE ` + t + ` SET state = $3 WHERE token = $1 AND expires > $2`
	// A redeemed row lives until the later of its expiry (the session's
	// end) and the token's, until which a release may restore it. Batches
	// keep each delete short; SKIP LOCKED leaves rows being redeemed right
	// now to the next sweep.
	st.sweep = `DELETE FROM ` + t + ` WHERE token IN (
	SELECT token FROM ` + t + ` WHERE expires <= $1 AND (issue_expires IS NULL OR issue_expires <= $1)
	LIMIT $2 FOR UPDATE SKIP LOCKED)`
	return st
}

// Migrate creates the Store's table and its index if they do not exist (and
// its schema, for a schema-qualified table), and adds the columns that a
// table created by an earlier version lacks. It is idempotent and safe to
// run from every replica at once: an advisory lock serializes concurrent
// runs, which would otherwise race in PostgreSQL's catalogue. On a table
// that is up to date it only reads the catalogue, taking no lock that would
// stall redemptions.
//
// The table:
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
// with an index on expires for Sweep. issue_expires and reentered came
// with Release, unconfirmed with Confirm; Migrate adds them to an older
// table (without rewriting it), and the rows redeemed before that stay
// spent: they are never released, and the retry window never admits them.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.sql.lockID); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	for _, stmt := range s.sql.schema {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("pgstore: migrate %s: %w", s.table, err)
		}
	}
	var missing bool
	if err := tx.QueryRow(ctx, s.sql.upgrade.missing, s.sql.upgrade.table).Scan(&missing); err != nil {
		return fmt.Errorf("pgstore: migrate %s: %w", s.table, err)
	}
	if missing {
		if _, err := tx.Exec(ctx, s.sql.upgrade.alter); err != nil {
			return fmt.Errorf("pgstore: migrate %s: %w", s.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
