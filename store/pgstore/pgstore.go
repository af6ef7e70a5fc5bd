package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/privatevideo/privatevideo/store"
)

// DefaultTable is the table of a Store built without WithTable.
const DefaultTable = "privatevideo_tokens"

// maxName bounds each part of a table name: PostgreSQL truncates identifiers
// at 63 bytes, and the expiry index's name adds a suffix to the table's.
const maxName = 48

// The states as stored, store.State's values.
const (
	stateIssued   = int16(store.Issued)
	stateRedeemed = int16(store.Redeemed)
	stateRevoked  = int16(store.Revoked)
)

// Store is a store.Store on PostgreSQL. It is safe for concurrent use; build
// it with New or Open, and create its table with Migrate.
type Store struct {
	pool  *pgxpool.Pool
	table string // as given, for messages
	sql   statements
	owned bool // opened by Open: Close closes the pool
}

var _ store.Store = (*Store)(nil)

// An Option configures a Store.
type Option func(*config)

type config struct {
	table string
}

// WithTable sets the table, DefaultTable by default: a lower-case name, or
// schema.name, each part of letters a-z, digits and underscores, starting
// with a letter or an underscore, at most 48 bytes.
func WithTable(name string) Option { return func(c *config) { c.table = name } }

// New returns a Store keeping its records in pool's database. The pool stays
// the caller's to close. New does not touch the database: call Migrate once
// (every replica may call it at start; it is idempotent).
func New(pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	c := config{table: DefaultTable}
	for _, opt := range opts {
		opt(&c)
	}
	schema, name, err := splitTable(c.table)
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, table: c.table, sql: newStatements(schema, name)}, nil
}

// splitTable validates a table name and splits off its schema.
func splitTable(table string) (schema, name string, err error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return "", "", fmt.Errorf("pgstore: table %q: want name or schema.name", table)
	}
	for _, p := range parts {
		if !validName(p) {
			return "", "", fmt.Errorf("pgstore: table %q: each part must be 1 to %d of a-z 0-9 _, not starting with a digit", table, maxName)
		}
	}
	if len(parts) == 2 {
		return parts[0], parts[1], nil
	}
	return "", parts[0], nil
}

func validName(s string) bool {
	if s == "" || len(s) > maxName || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Open connects a pool to the database at connString (a postgres:// URL or
// key=value pairs, as pgxpool.New takes them) and returns a Store that owns
// it: Close closes it. It neither connects nor migrates; call Ping and
// Migrate.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx leaves passwords out of its parse errors.
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := New(pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close closes the pool if Open created it, and does nothing otherwise.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

// Ping checks that the database answers, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

// Table returns the table in use, as configured.
func (s *Store) Table() string { return s.table }

// tokenParam parses a token into the uuid parameter of a statement.
func tokenParam(token string) (pgtype.UUID, error) {
	b, err := store.TokenBytes(token)
	if err != nil {
		return pgtype.UUID{}, err
	}
	return pgtype.UUID{Bytes: b, Valid: true}, nil
}

// failure wraps a system failure: anything but a denial.
func failure(op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// Issue implements store.Store with one INSERT that does nothing when the
// token has a row, in whatever state.
func (s *Store) Issue(ctx context.Context, token, videoID string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return failure("issue", err)
	}
	tok, err := tokenParam(token)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql.issue, tok, videoID, stateIssued, expires)
	switch {
	case err != nil:
		return failure("issue", err)
	case tag.RowsAffected() == 0:
		return store.ErrExists
	}
	return nil
}

// Redeem implements store.Store with one statement: see the package
// documentation for why exactly one of concurrent calls wins.
func (s *Store) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	if err := ctx.Err(); err != nil {
		return store.Redemption{}, failure("redeem", err)
	}
	tok, err := tokenParam(req.Token)
	if err != nil {
		return store.Redemption{}, err
	}
	var (
		won        bool
		video      pgtype.Text
		state      pgtype.Int2
		redeemedAt pgtype.Timestamptz
		expires    time.Time
		flag       bool // taken: a re-entry; raced: takeable after all
	)
	err = s.pool.QueryRow(ctx, s.sql.redeem, tok, req.VideoID, req.Now, req.Now.Add(req.SessionTTL), []byte(req.Client), req.Grace.Microseconds(), req.Retry.Microseconds()).
		Scan(&won, &video, &state, &redeemedAt, &expires, &flag)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Redemption{}, store.ErrUnknown
	case err != nil:
		return store.Redemption{}, failure("redeem", err)
	case won:
		return store.Redemption{RedeemedAt: redeemedAt.Time, Expires: expires, Reentry: flag}, nil
	case flag:
		// Changed once more while the statement ran; nothing was consumed.
		return store.Redemption{}, failure("redeem", errors.New("the row changed during the redemption"))
	}
	// Not taken: the row as it stands after any concurrent statement
	// committed, so a loser of a race sees the winner.
	switch {
	case !expires.After(req.Now):
		return store.Redemption{}, store.ErrUnknown
	case video.String != req.VideoID:
		return store.Redemption{}, store.ErrWrongVideo
	case state.Int16 == stateRevoked:
		return store.Redemption{}, store.ErrRevoked
	case state.Int16 == stateRedeemed:
		return store.Redemption{}, store.ErrUsed
	}
	// An issued row the update did not take: only a row that changed in
	// a way the statement cannot see could do that. Fail closed; nothing
	// was consumed.
	return store.Redemption{}, failure("redeem", fmt.Errorf("row in state %d was not redeemed", state.Int16))
}

// Release implements store.Store with one statement: see the comments on its
// SQL.
func (s *Store) Release(ctx context.Context, req store.ReleaseRequest) error {
	if err := ctx.Err(); err != nil {
		return failure("release", err)
	}
	tok, err := tokenParam(req.Token)
	if err != nil {
		return err
	}
	// The redemption is named to the millisecond: the store's precision.
	from := req.RedeemedAt.Truncate(time.Millisecond)
	var (
		released     bool
		state        pgtype.Int2
		expires      pgtype.Timestamptz
		issueExpires pgtype.Timestamptz
	)
	err = s.pool.QueryRow(ctx, s.sql.release, tok, []byte(req.Client), from, from.Add(time.Millisecond), req.Now).
		Scan(&released, &state, &expires, &issueExpires)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrUnknown
	case err != nil:
		return failure("release", err)
	case released:
		return nil
	}
	switch state.Int16 {
	case stateRedeemed:
		// A row redeemed before issue_expires existed ends with its
		// session.
		until := issueExpires
		if !until.Valid {
			until = expires
		}
		if !until.Time.After(req.Now) {
			return store.ErrUnknown
		}
		return store.ErrUsed
	case stateIssued, stateRevoked:
		if !expires.Time.After(req.Now) {
			return store.ErrUnknown
		}
		if state.Int16 == stateRevoked {
			return store.ErrRevoked
		}
		return nil
	}
	return failure("release", fmt.Errorf("row in unknown state %d", state.Int16))
}

// Confirm implements store.Store with one statement: see the comments on
// its SQL.
func (s *Store) Confirm(ctx context.Context, token string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return failure("confirm", err)
	}
	tok, err := tokenParam(token)
	if err != nil {
		return err
	}
	var live bool
	err = s.pool.QueryRow(ctx, s.sql.confirm, tok, now).Scan(&live)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrUnknown
	case err != nil:
		return failure("confirm", err)
	}
	return nil
}

// Lookup implements store.Store with one SELECT.
func (s *Store) Lookup(ctx context.Context, token string, now time.Time) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, failure("lookup", err)
	}
	tok, err := tokenParam(token)
	if err != nil {
		return store.Record{}, err
	}
	var (
		rec        store.Record
		state      int16
		redeemedAt pgtype.Timestamptz
	)
	err = s.pool.QueryRow(ctx, s.sql.lookup, tok, now).Scan(&rec.VideoID, &state, &rec.Expires, &redeemedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Record{}, store.ErrUnknown
	case err != nil:
		return store.Record{}, failure("lookup", err)
	case state < stateIssued || state > stateRevoked:
		return store.Record{}, failure("lookup", fmt.Errorf("row in unknown state %d", state))
	}
	rec.State = store.State(state)
	if redeemedAt.Valid {
		rec.RedeemedAt = redeemedAt.Time
	}
	return rec, nil
}

// Revoke implements store.Store with one UPDATE that keeps the row's
// expiry.
func (s *Store) Revoke(ctx context.Context, token string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return failure("revoke", err)
	}
	tok, err := tokenParam(token)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql.revoke, tok, now, stateRevoked)
	switch {
	case err != nil:
		return failure("revoke", err)
	case tag.RowsAffected() == 0:
		return store.ErrUnknown
	}
	return nil
}
