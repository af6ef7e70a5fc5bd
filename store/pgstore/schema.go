package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// statements is the SQL of one Store, built once for its table.
type statements struct {
	schema []string // CREATE statements, in order
	lockID string   // names the migration's advisory lock
	issue  string
	redeem string
	lookup string
	revoke string
	sweep  string
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
	token       uuid        PRIMARY KEY,
	video       text        NOT NULL,
	state       smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
	expires     timestamptz NOT NULL,
	redeemed_at timestamptz,
	client      bytea
)`,
		// Sweep finds expired rows by it.
		`CREATE INDEX IF NOT EXISTS `+indexIdent.Sanitize()+` ON `+t+` (expires)`,
	)
	st.lockID = "privatevideo/pgstore/migrate/" + t

	st.issue = `INSERT INTO ` + t + ` (token, video, state, expires) VALUES ($1, $2, $3, $4)
ON CONFLICT (token) DO NOTHING`

	// One statement decides a redemption.
	//
	// "won" takes the row from issued to redeemed if it is issued for this
	// video and not expired. Under READ COMMITTED an UPDATE that finds the
	// row locked by a concurrent redemption waits for it to commit, then
	// re-checks its WHERE on the committed row, which is no longer issued:
	// of any number of concurrent calls, exactly one updates.
	//
	// When "won" is empty, "seen" reads the row to tell why, from the
	// statement's snapshot. That is right unless the snapshot still shows
	// the row as "won" wanted it: then a concurrent statement changed it
	// and committed while we waited (a winner, a revocation, a sweep), and
	// the snapshot cannot see the change. Only then "raced" reads the row
	// again FOR SHARE: a locking read returns the latest committed version,
	// so a loser of a race sees the winner's redemption and may be its
	// grace re-entry. Taking that lock for the other denials would only
	// cost a write.
	//
	// "seen" and "raced" run only when needed: their EXISTS conditions are
	// one-time filters.
	st.redeem = `WITH won AS (
	UPDATE ` + t + ` SET state = 2, redeemed_at = $3, expires = $4, client = $5
	WHERE token = $1 AND state = 1 AND video = $2 AND expires > $3
	RETURNING redeemed_at, expires
), seen AS (
	SELECT video, state, redeemed_at, expires, client FROM ` + t + `
	WHERE token = $1 AND NOT EXISTS (SELECT FROM won)
), raced AS (
	SELECT video, state, redeemed_at, expires, client FROM ` + t + `
	WHERE token = $1 AND EXISTS (SELECT FROM seen WHERE state = 1 AND video = $2 AND expires > $3)
	FOR SHARE
)
SELECT true, NULL::text, NULL::smallint, redeemed_at, expires, NULL::bytea FROM won
UNION ALL
SELECT false, video, state, redeemed_at, expires, client FROM raced
UNION ALL
SELECT false, video, state, redeemed_at, expires, client FROM seen
WHERE NOT (state = 1 AND video = $2 AND expires > $3)`

	st.lookup = `SELECT video, state, expires, redeemed_at FROM ` + t + ` WHERE token = $1 AND expires > $2`
	st.revoke = `UPDATE ` + t + ` SET state = $3 WHERE token = $1 AND expires > $2`
	// Batches keep each delete short; SKIP LOCKED leaves rows being
	// redeemed right now to the next sweep.
	st.sweep = `DELETE FROM ` + t + ` WHERE token IN (
	SELECT token FROM ` + t + ` WHERE expires <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	return st
}

// Migrate creates the Store's table and its index if they do not exist (and
// its schema, for a schema-qualified table). It is idempotent and safe to
// run from every replica at once: an advisory lock serializes concurrent
// runs, which would otherwise race in PostgreSQL's catalogue.
//
// The table:
//
//	token       uuid        PRIMARY KEY
//	video       text        NOT NULL
//	state       smallint    NOT NULL  -- 1 issued, 2 redeemed, 3 revoked
//	expires     timestamptz NOT NULL  -- the token's expiry, then the session's end
//	redeemed_at timestamptz           -- once redeemed
//	client      bytea                 -- the redeeming client's identity, for the grace window
//
// with an index on expires for Sweep.
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
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
