package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/privatevideo/privatevideo/store"
)

// DefaultVideosTable is the table of Videos built by Store.Videos, in the
// token table's schema.
const DefaultVideosTable = "privatevideo_videos"

// Videos is a store.Videos on PostgreSQL: one row per video in a table of
// its own. Build it with Store.Videos or NewVideos and create its table with
// its Migrate; it is safe for concurrent use. Public is one SELECT by
// primary key, every change one statement.
type Videos struct {
	pool  *pgxpool.Pool
	table string // as given, for messages
	sql   videoStatements
}

var _ store.Videos = (*Videos)(nil)

type videoStatements struct {
	schema []string
	lockID string
	public string
	set    string
	create string
	get    string
	list   string
}

// Videos returns the per-video state kept beside s's tokens, on the same
// pool, in the table DefaultVideosTable of the token table's schema. Call
// its Migrate once, as for the token table.
func (s *Store) Videos() *Videos {
	schema, _, _ := splitTable(s.table) // validated by New
	name := DefaultVideosTable
	if schema != "" {
		name = schema + "." + name
	}
	v, _ := NewVideos(s.pool, name) // a valid name
	return v
}

// NewVideos returns Videos keeping their rows in table of pool's database
// (DefaultVideosTable when table is ""; a name as WithTable takes it). The
// pool stays the caller's to close.
func NewVideos(pool *pgxpool.Pool, table string) (*Videos, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	if table == "" {
		table = DefaultVideosTable
	}
	schema, name, err := splitTable(table)
	if err != nil {
		return nil, err
	}
	return &Videos{pool: pool, table: table, sql: newVideoStatements(schema, name)}, nil
}

// Table returns the table in use.
func (v *Videos) Table() string { return v.table }

func newVideoStatements(schema, name string) videoStatements {
	ident := pgx.Identifier{name}
	if schema != "" {
		ident = pgx.Identifier{schema, name}
	}
	t := ident.Sanitize()
	var st videoStatements
	if schema != "" {
		st.schema = append(st.schema, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	}
	st.schema = append(st.schema, `CREATE TABLE IF NOT EXISTS `+t+` (
	id      text    PRIMARY KEY,
	title   text    NOT NULL DEFAULT '',
	public  boolean NOT NULL DEFAULT false
)`)
	st.lockID = "privatevideo/pgstore/migrate/" + t
	st.public = `SELECT public FROM ` + t + ` WHERE id = $1`
	st.set = `INSERT INTO ` + t + ` AS v (id, public) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET public = excluded.public
RETURNING title, public`
	// A conflict on an untitled row titles it; on a titled one it changes
	// nothing (the WHERE of DO UPDATE is false: the row is only locked), and
	// the row comes from "current". Under READ COMMITTED a conflicting row
	// inserted by a concurrent statement after this one's snapshot is not
	// visible to "current": then nothing returns, and Create reads the row
	// with a statement of its own.
	st.create = `WITH up AS (
	INSERT INTO ` + t + ` AS v (id, title) VALUES ($1, $2)
	ON CONFLICT (id) DO UPDATE SET title = excluded.title WHERE v.title = '' AND excluded.title <> ''
	RETURNING title, public
), current AS (
	SELECT title, public FROM ` + t + ` WHERE id = $1 AND NOT EXISTS (SELECT FROM up)
)
SELECT title, public FROM up UNION ALL SELECT title, public FROM current`
	st.get = `SELECT title, public FROM ` + t + ` WHERE id = $1`
	st.list = `SELECT id, title, public FROM ` + t + ` ORDER BY id COLLATE "C"`
	return st
}

// Migrate creates the table (and its schema, for a schema-qualified name) if
// it does not exist. It is idempotent and safe to run from every replica at
// once: an advisory lock serializes concurrent runs. The table:
//
//	id      text    PRIMARY KEY
//	title   text    NOT NULL DEFAULT ''
//	public  boolean NOT NULL DEFAULT false
func (v *Videos) Migrate(ctx context.Context) error {
	tx, err := v.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, v.sql.lockID); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	for _, stmt := range v.sql.schema {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("pgstore: migrate %s: %w", v.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// Public implements store.Videos with one SELECT by primary key.
func (v *Videos) Public(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, failure("video public", err)
	}
	var public bool
	err := v.pool.QueryRow(ctx, v.sql.public, id).Scan(&public)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, failure("video public", err)
	}
	return public, nil
}

// SetPublic implements store.Videos with one INSERT … ON CONFLICT DO
// UPDATE.
func (v *Videos) SetPublic(ctx context.Context, id string, public bool) (store.Video, error) {
	if err := ctx.Err(); err != nil {
		return store.Video{}, failure("video set", err)
	}
	out := store.Video{ID: id}
	if err := v.pool.QueryRow(ctx, v.sql.set, id, public).Scan(&out.Title, &out.Public); err != nil {
		return store.Video{}, failure("video set", err)
	}
	return out, nil
}

// Create implements store.Videos with one statement, and a second one only
// when a concurrent creation of the same video raced it.
func (v *Videos) Create(ctx context.Context, id, title string) (store.Video, error) {
	if err := ctx.Err(); err != nil {
		return store.Video{}, failure("video create", err)
	}
	out := store.Video{ID: id}
	err := v.pool.QueryRow(ctx, v.sql.create, id, title).Scan(&out.Title, &out.Public)
	if errors.Is(err, pgx.ErrNoRows) {
		// The row was committed by a concurrent statement after this one's
		// snapshot: a statement of its own sees it.
		err = v.pool.QueryRow(ctx, v.sql.get, id).Scan(&out.Title, &out.Public)
	}
	if err != nil {
		return store.Video{}, failure("video create", err)
	}
	return out, nil
}

// List implements store.Videos with one SELECT, sorted by ID byte by byte
// (COLLATE "C"), as Go sorts strings.
func (v *Videos) List(ctx context.Context) ([]store.Video, error) {
	if err := ctx.Err(); err != nil {
		return nil, failure("video list", err)
	}
	rows, err := v.pool.Query(ctx, v.sql.list)
	if err != nil {
		return nil, failure("video list", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Video, error) {
		var vid store.Video
		err := row.Scan(&vid.ID, &vid.Title, &vid.Public)
		return vid, err
	})
	if err != nil {
		return nil, failure("video list", err)
	}
	return out, nil
}
