package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/privatevideo/privatevideo/store"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix of a Store built without WithPrefix.
const DefaultPrefix = "privatevideo:"

// maxPrefix bounds the key prefix; keys stay short, and a prefix that long is
// a mistake.
const maxPrefix = 128

// Store is a store.Store on Redis. It is safe for concurrent use; build it
// with New or Open.
type Store struct {
	client redis.UniversalClient
	prefix string
	owned  bool // opened by Open: Close closes the client
}

var _ store.Store = (*Store)(nil)

// An Option configures a Store.
type Option func(*config)

type config struct {
	prefix          string
	ignoreDeadlines bool
}

// WithPrefix sets the prefix of every key, DefaultPrefix by default. Give
// each deployment sharing one Redis its own prefix. The prefix may hold a
// Redis Cluster hash tag ("{pv}:") to keep every record on one shard, but
// nothing here needs it: every operation touches a single key.
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithoutContextDeadlines accepts a client built without
// ContextTimeoutEnabled. Such a client bounds each call by its own read and
// write timeouts instead of the caller's deadline, so a hung server holds a
// redemption longer than the middleware's store timeout. Prefer enabling
// the option in the client.
func WithoutContextDeadlines() Option { return func(c *config) { c.ignoreDeadlines = true } }

// New returns a Store keeping its records in client: a single node, a
// Sentinel-backed failover client, a Cluster or a Ring. The client stays the
// caller's to close.
//
// The client must honour context deadlines (ContextTimeoutEnabled in its
// options), so that a hung server answers within the middleware's store
// timeout; New refuses a *redis.Client, *redis.ClusterClient or *redis.Ring
// without it, unless WithoutContextDeadlines says otherwise.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if isNil(client) {
		return nil, errors.New("redisstore: nil client")
	}
	c := config{prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(&c)
	}
	switch {
	case c.prefix == "":
		return nil, errors.New("redisstore: empty key prefix: give the records a namespace of their own")
	case len(c.prefix) > maxPrefix:
		return nil, fmt.Errorf("redisstore: key prefix longer than %d bytes", maxPrefix)
	}
	if !c.ignoreDeadlines && !honoursDeadlines(client) {
		return nil, errors.New("redisstore: the client ignores context deadlines: set ContextTimeoutEnabled in its options " +
			"so that the store timeout bounds every call (or pass WithoutContextDeadlines)")
	}
	return &Store{client: client, prefix: c.prefix}, nil
}

// isNil reports whether client is nil, or a nil pointer of a go-redis type.
func isNil(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c == nil
	case *redis.ClusterClient:
		return c == nil
	case *redis.Ring:
		return c == nil
	}
	return client == nil
}

// honoursDeadlines reports whether client bounds its socket reads and writes
// by the context's deadline. Clients of other types are trusted.
func honoursDeadlines(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db
// or rediss:// for TLS, with go-redis's query parameters) with context
// deadlines enabled, and returns a Store that owns the client: Close closes
// it. It checks nothing on the network; call Ping for that.
func Open(rawURL string, opts ...Option) (*Store, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// The URL may hold a password: report the reason only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redisstore: invalid Redis URL: %v", err)
	}
	o.ContextTimeoutEnabled = true
	client := redis.NewClient(o)
	s, err := New(client, opts...)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close closes the client if Open created it, and does nothing otherwise.
func (s *Store) Close() error {
	if s.owned {
		return s.client.Close()
	}
	return nil
}

// Ping checks that the server answers, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.prefix }

// key returns the record's key: the prefix and the token in canonical,
// lower-case form, so that every spelling of a token is one record.
func (s *Store) key(token string) (string, error) {
	tok, err := store.ParseToken(token)
	if err != nil {
		return "", err
	}
	return s.prefix + tok, nil
}

// millis returns t in Unix milliseconds, the precision of every record.
func millis(t time.Time) int64 { return t.UnixMilli() }

// deathMillis is when the server may delete a record that must live until
// expires: the next millisecond, so that truncation never shortens a
// record's life.
func deathMillis(expires time.Time) int64 { return expires.UnixMilli() + 1 }

func ms(v int64) string { return strconv.FormatInt(v, 10) }

// failure wraps a system failure: anything but a denial.
func failure(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// Issue implements store.Store.
func (s *Store) Issue(ctx context.Context, token, videoID string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return failure("issue", err)
	}
	key, err := s.key(token)
	if err != nil {
		return err
	}
	n, err := issueScript.Run(ctx, s.client, []string{key}, videoID, ms(millis(expires)), ms(deathMillis(expires))).Int64()
	switch {
	case err != nil:
		return failure("issue", err)
	case n == outcomeExists:
		return store.ErrExists
	case n != outcomeIssued:
		return failure("issue", fmt.Errorf("unexpected script reply %d", n))
	}
	return nil
}

// Redeem implements store.Store, in one script run by the server.
func (s *Store) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	if err := ctx.Err(); err != nil {
		return store.Redemption{}, failure("redeem", err)
	}
	key, err := s.key(req.Token)
	if err != nil {
		return store.Redemption{}, err
	}
	now := millis(req.Now)
	end := req.Now.Add(req.SessionTTL)
	reply, err := redeemScript.Run(ctx, s.client, []string{key},
		req.VideoID, req.Client, ms(now), ms(millis(end)), ms(deathMillis(end)), ms(req.Grace.Milliseconds()), ms(req.Retry.Milliseconds())).Slice()
	if err != nil {
		return store.Redemption{}, failure("redeem", err)
	}
	outcome, ok := replyInt(reply, 0)
	if !ok {
		return store.Redemption{}, failure("redeem", errors.New("malformed script reply"))
	}
	switch outcome {
	case outcomeUnknown:
		return store.Redemption{}, store.ErrUnknown
	case outcomeUsed:
		return store.Redemption{}, store.ErrUsed
	case outcomeWrongVideo:
		return store.Redemption{}, store.ErrWrongVideo
	case outcomeRevoked:
		return store.Redemption{}, store.ErrRevoked
	case outcomeRedeemed, outcomeReentry:
		redeemedAt, ok1 := replyInt(reply, 1)
		expires, ok2 := replyInt(reply, 2)
		if !ok1 || !ok2 {
			return store.Redemption{}, failure("redeem", errors.New("malformed script reply"))
		}
		return store.Redemption{
			RedeemedAt: time.UnixMilli(redeemedAt),
			Expires:    time.UnixMilli(expires),
			Reentry:    outcome == outcomeReentry,
		}, nil
	}
	return store.Redemption{}, failure("redeem", fmt.Errorf("unexpected script reply %d", outcome))
}

// Release implements store.Store, in one script run by the server.
func (s *Store) Release(ctx context.Context, req store.ReleaseRequest) error {
	if err := ctx.Err(); err != nil {
		return failure("release", err)
	}
	key, err := s.key(req.Token)
	if err != nil {
		return err
	}
	n, err := releaseScript.Run(ctx, s.client, []string{key},
		req.Client, ms(millis(req.RedeemedAt)), ms(millis(req.Now))).Int64()
	switch {
	case err != nil:
		return failure("release", err)
	case n == outcomeReleased, n == outcomeUnredeemed:
		return nil
	case n == outcomeUnknown:
		return store.ErrUnknown
	case n == outcomeUsed:
		return store.ErrUsed
	case n == outcomeRevoked:
		return store.ErrRevoked
	}
	return failure("release", fmt.Errorf("unexpected script reply %d", n))
}

// Confirm implements store.Store, in one script run by the server.
func (s *Store) Confirm(ctx context.Context, token string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return failure("confirm", err)
	}
	key, err := s.key(token)
	if err != nil {
		return err
	}
	n, err := confirmScript.Run(ctx, s.client, []string{key}, ms(millis(now))).Int64()
	switch {
	case err != nil:
		return failure("confirm", err)
	case n == outcomeUnknown:
		return store.ErrUnknown
	case n != outcomeConfirmed:
		return failure("confirm", fmt.Errorf("unexpected script reply %d", n))
	}
	return nil
}

// replyInt reads element i of a script's reply, an integer or a decimal
// string.
func replyInt(reply []any, i int) (int64, bool) {
	if i >= len(reply) {
		return 0, false
	}
	switch v := reply[i].(type) {
	case int64:
		return v, true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// Lookup implements store.Store with a single HMGET.
func (s *Store) Lookup(ctx context.Context, token string, now time.Time) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, failure("lookup", err)
	}
	key, err := s.key(token)
	if err != nil {
		return store.Record{}, err
	}
	vals, err := s.client.HMGet(ctx, key, fieldVideo, fieldState, fieldExpires, fieldRedeemedAt).Result()
	if err != nil {
		return store.Record{}, failure("lookup", err)
	}
	if len(vals) != 4 || vals[0] == nil {
		return store.Record{}, store.ErrUnknown
	}
	video, _ := vals[0].(string)
	state, okState := parseState(vals[1])
	expires, okExpires := replyInt(vals, 2)
	if !okState || !okExpires {
		return store.Record{}, failure("lookup", errors.New("malformed record"))
	}
	if expires <= millis(now) {
		return store.Record{}, store.ErrUnknown
	}
	rec := store.Record{VideoID: video, State: state, Expires: time.UnixMilli(expires)}
	if redeemedAt, ok := replyInt(vals, 3); ok {
		rec.RedeemedAt = time.UnixMilli(redeemedAt)
	}
	return rec, nil
}

func parseState(v any) (store.State, bool) {
	s, _ := v.(string)
	switch s {
	case "1":
		return store.Issued, true
	case "2":
		return store.Redeemed, true
	case "3":
		return store.Revoked, true
	}
	return 0, false
}

// Revoke implements store.Store.
func (s *Store) Revoke(ctx context.Context, token string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return failure("revoke", err)
	}
	key, err := s.key(token)
	if err != nil {
		return err
	}
	n, err := revokeScript.Run(ctx, s.client, []string{key}, ms(millis(now))).Int64()
	switch {
	case err != nil:
		return failure("revoke", err)
	case n == outcomeUnknown:
		return store.ErrUnknown
	case n != outcomeRevoked:
		return failure("revoke", fmt.Errorf("unexpected script reply %d", n))
	}
	return nil
}
