package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/internal/fleettest"
	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/redisstore"
	"github.com/privatevideo/privatevideo/store/storetest"
	"github.com/redis/go-redis/v9"
)

// testClient connects to the Redis at REDIS_URL, or skips the test when the
// variable is unset. Once it is set, an unreachable server fails the test.
func testClient(tb testing.TB) *redis.Client {
	tb.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		tb.Skip("REDIS_URL is not set: set it (e.g. redis://127.0.0.1:6379/0) to test the Redis store")
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		tb.Fatalf("REDIS_URL: %v", err)
	}
	o.ContextTimeoutEnabled = true
	o.PoolSize = 64 // the fleet test races 256 requests at once
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("REDIS_URL is set but Redis does not answer: %v", err)
	}
	return c
}

// newStore returns a store under a random prefix of its own, whose keys are
// deleted when the test ends.
func newStore(tb testing.TB, c redis.UniversalClient) *redisstore.Store {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "pvtest:" + hex.EncodeToString(b) + ":"
	st, err := redisstore.New(c, redisstore.WithPrefix(prefix))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { deletePrefix(tb, c, prefix) })
	return st
}

// deletePrefix deletes every key under prefix, on each master of a cluster.
// Keys go one UNLINK each, pipelined: keys of different cluster slots cannot
// share a command.
func deletePrefix(tb testing.TB, c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	clean := func(ctx context.Context, node redis.UniversalClient) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		pipe := node.Pipeline()
		for iter.Next(ctx) {
			pipe.Unlink(ctx, iter.Val())
			if pipe.Len() == 1000 {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return clean(ctx, node) })
	} else {
		err = clean(ctx, c)
	}
	if err != nil {
		tb.Errorf("cleaning up %s*: %v", prefix, err)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel() // beside TestFleet and TestCluster: all mostly wait on round trips
	st := newStore(t, testClient(t))
	storetest.Run(t, func(*testing.T) store.Store { return st })
}

func TestFleet(t *testing.T) {
	t.Parallel()
	fleettest.Run(t, newStore(t, testClient(t)))
}

func TestNewValidates(t *testing.T) {
	good := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer good.Close()
	blind := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer blind.Close()
	for _, c := range []struct {
		name    string
		client  redis.UniversalClient
		opts    []redisstore.Option
		wantErr string
	}{
		{"nil client", nil, nil, "nil client"},
		{"nil *redis.Client", (*redis.Client)(nil), nil, "nil client"},
		{"nil *redis.ClusterClient", (*redis.ClusterClient)(nil), nil, "nil client"},
		{"empty prefix", good, []redisstore.Option{redisstore.WithPrefix("")}, "empty key prefix"},
		{"long prefix", good, []redisstore.Option{redisstore.WithPrefix(strings.Repeat("p", 129))}, "longer than"},
		{"deadlines ignored", blind, nil, "ContextTimeoutEnabled"},
		{"deadlines ignored, accepted", blind, []redisstore.Option{redisstore.WithoutContextDeadlines()}, ""},
		{"defaults", good, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := redisstore.New(c.client, c.opts...)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("New: %v, want an error about %q", err, c.wantErr)
			case err == nil && st == nil:
				t.Fatal("New returned neither a store nor an error")
			}
		})
	}
	if st, _ := redisstore.New(good); st.Prefix() != redisstore.DefaultPrefix {
		t.Fatalf("default prefix %q, want %q", st.Prefix(), redisstore.DefaultPrefix)
	}
}

func TestOpenKeepsPasswordsOutOfErrors(t *testing.T) {
	for _, raw := range []string{"redis://user:hunter2-secret@127.0.0.1:port/0", "redis://:hunter2-secret@127.0.0.1:6379/notanumber", "http://:hunter2-secret@x"} {
		_, err := redisstore.Open(raw)
		if err == nil {
			t.Fatalf("Open accepted a bad URL")
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("Open error %q shows the password", err)
		}
	}
	st, err := redisstore.Open("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// The record is one hash holding what the issue asked for, and the server
// deletes it no earlier than the expiry it was given.
func TestRecordLayoutAndTTL(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	tok := storetest.NewToken()
	key := st.Prefix() + tok
	// Sub-millisecond parts must not shorten a record's life.
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(700 * time.Microsecond)
	if err := st.Issue(ctx, tok, "video-a", expires); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	fields, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatalf("HGETALL: %v", err)
	}
	if fields["v"] != "video-a" || fields["s"] != "1" || fields["e"] != strconv.FormatInt(expires.UnixMilli(), 10) || len(fields) != 3 {
		t.Fatalf("issued record %v", fields)
	}
	wantDeath(t, c, key, expires)

	now := time.Now().Truncate(time.Millisecond)
	red, err := st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-1", Now: now, SessionTTL: 2 * time.Hour})
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if !red.Expires.Equal(now.Add(2 * time.Hour)) {
		t.Fatalf("Redeem expires %v, want %v", red.Expires, now.Add(2*time.Hour))
	}
	fields, _ = c.HGetAll(ctx, key).Result()
	if fields["s"] != "2" || fields["c"] != "client-1" || fields["r"] != strconv.FormatInt(now.UnixMilli(), 10) {
		t.Fatalf("redeemed record %v", fields)
	}
	wantDeath(t, c, key, now.Add(2*time.Hour))

	// Revoking keeps the record's life.
	if err := st.Revoke(ctx, tok, now); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	wantDeath(t, c, key, now.Add(2*time.Hour))
}

// A redemption keeps the token's expiry beside the session's end, and the
// record until the later of the two; a release restores the issued record as
// Issue wrote it, with its TTL.
func TestReleaseRecordAndTTL(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	tok := storetest.NewToken()
	key := st.Prefix() + tok
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(700 * time.Microsecond)
	if err := st.Issue(ctx, tok, "video-a", expires); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	issued, _ := c.HGetAll(ctx, key).Result()

	// A session shorter than the token's life: the TTL stays the token's.
	now := time.Now().Truncate(time.Millisecond)
	red, err := st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-1", Now: now, SessionTTL: 10 * time.Minute})
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	fields, _ := c.HGetAll(ctx, key).Result()
	if fields["x"] != strconv.FormatInt(expires.UnixMilli(), 10) || fields["e"] != strconv.FormatInt(now.Add(10*time.Minute).UnixMilli(), 10) {
		t.Fatalf("redeemed record %v, want the issue expiry in x and the session's end in e", fields)
	}
	wantDeath(t, c, key, expires)

	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "client-1", RedeemedAt: red.RedeemedAt, Now: now}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if fields, _ := c.HGetAll(ctx, key).Result(); !maps.Equal(fields, issued) {
		t.Fatalf("released record %v, want the issued one %v", fields, issued)
	}
	wantDeath(t, c, key, expires)

	// A session longer than the token's life: the TTL follows the session,
	// and comes back to the token's on release.
	red, err = st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-2", Now: now, SessionTTL: 2 * time.Hour})
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	wantDeath(t, c, key, now.Add(2*time.Hour))
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "client-2", RedeemedAt: red.RedeemedAt, Now: now}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantDeath(t, c, key, expires)

	// A granted re-entry marks the record, and the release is refused.
	req := store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-3", Now: now, SessionTTL: 2 * time.Hour, Grace: time.Second}
	red, err = st.Redeem(ctx, req)
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if again, err := st.Redeem(ctx, req); err != nil || !again.Reentry {
		t.Fatalf("re-entry: %+v, %v", again, err)
	}
	if g, _ := c.HGet(ctx, key, "g").Result(); g != "1" {
		t.Fatalf("re-entered record without its mark: g = %q", g)
	}
	err = st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "client-3", RedeemedAt: red.RedeemedAt, Now: now})
	if !errors.Is(err, store.ErrUsed) {
		t.Fatalf("Release of a re-entered redemption: %v, want ErrUsed", err)
	}
}

// A record redeemed before the store knew releases has no issue expiry: it
// stays spent, and its grace re-entry still works.
func TestReleaseOfAnOlderRecord(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	tok := storetest.NewToken()
	key := st.Prefix() + tok
	now := time.Now().Truncate(time.Millisecond)
	old := map[string]any{"v": "video-a", "s": "2", "e": strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10),
		"r": strconv.FormatInt(now.UnixMilli(), 10), "c": "client-1"}
	if err := c.HSet(ctx, key, old).Err(); err != nil {
		t.Fatalf("HSET: %v", err)
	}
	err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "client-1", RedeemedAt: now, Now: now.Add(time.Second)})
	if !errors.Is(err, store.ErrUsed) {
		t.Fatalf("Release of an older redeemed record: %v, want ErrUsed", err)
	}
	red, err := st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-1", Now: now.Add(time.Second), SessionTTL: time.Hour, Grace: 5 * time.Second})
	if err != nil || !red.Reentry {
		t.Fatalf("re-entry into an older record: %+v, %v", red, err)
	}
	err = st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "client-1", RedeemedAt: now, Now: now.Add(2 * time.Hour)})
	if !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("Release of an older record past its end: %v, want ErrUnknown", err)
	}
}

// A redemption starts unconfirmed ("u"); Confirm deletes the mark and
// nothing else, and keeps the record's life. A revoked record is left as it
// is.
func TestConfirmRecord(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	tok := storetest.NewToken()
	key := st.Prefix() + tok
	if err := st.Issue(ctx, tok, "video-a", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	now := time.Now().Truncate(time.Millisecond)
	if _, err := st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-1", Now: now, SessionTTL: 2 * time.Hour}); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	redeemed, _ := c.HGetAll(ctx, key).Result()
	if redeemed["u"] != "1" {
		t.Fatalf("redeemed record %v, want it unconfirmed: u = 1", redeemed)
	}
	for range 2 {
		if err := st.Confirm(ctx, tok, now); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		confirmed, _ := c.HGetAll(ctx, key).Result()
		want := maps.Clone(redeemed)
		delete(want, "u")
		if !maps.Equal(confirmed, want) {
			t.Fatalf("confirmed record %v, want %v", confirmed, want)
		}
		wantDeath(t, c, key, now.Add(2*time.Hour))
	}

	revoked := storetest.NewToken()
	if err := st.Issue(ctx, revoked, "video-a", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if _, err := st.Redeem(ctx, store.RedeemRequest{Token: revoked, VideoID: "video-a", Client: "client-1", Now: now, SessionTTL: 2 * time.Hour}); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if err := st.Revoke(ctx, revoked, now); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	before, _ := c.HGetAll(ctx, st.Prefix()+revoked).Result()
	if err := st.Confirm(ctx, revoked, now); err != nil {
		t.Fatalf("Confirm of a revoked record: %v", err)
	}
	if after, _ := c.HGetAll(ctx, st.Prefix()+revoked).Result(); !maps.Equal(after, before) {
		t.Fatalf("revoked record after Confirm %v, want it unchanged %v", after, before)
	}
}

// A record redeemed before the store knew Confirm has no "u": it counts as
// confirmed, so the retry window never admits it and it is never released;
// the grace still admits its client, and Confirm leaves it as it is.
func TestRetryOfAnOlderRecord(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	tok := storetest.NewToken()
	key := st.Prefix() + tok
	now := time.Now().Truncate(time.Millisecond)
	// As the store with Release wrote it: the issue expiry kept, no "u".
	old := map[string]string{"v": "video-a", "s": "2", "e": strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10),
		"r": strconv.FormatInt(now.UnixMilli(), 10), "c": "client-1", "x": strconv.FormatInt(now.Add(30*time.Minute).UnixMilli(), 10)}
	if err := c.HSet(ctx, key, old).Err(); err != nil {
		t.Fatalf("HSET: %v", err)
	}
	req := store.RedeemRequest{Token: tok, VideoID: "video-a", Client: "client-1", Now: now.Add(10 * time.Second), SessionTTL: time.Hour, Grace: 5 * time.Second, Retry: time.Minute}
	if _, err := st.Redeem(ctx, req); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("retry into an older record after the grace: %v, want ErrUsed", err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "client-1", RedeemedAt: now, Now: now.Add(time.Second)}); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("Release of an older record: %v, want ErrUsed", err)
	}
	if err := st.Confirm(ctx, tok, now.Add(time.Second)); err != nil {
		t.Fatalf("Confirm of an older record: %v", err)
	}
	if fields, _ := c.HGetAll(ctx, key).Result(); !maps.Equal(fields, old) {
		t.Fatalf("older record after Confirm %v, want it unchanged %v", fields, old)
	}
	req.Now = now.Add(time.Second)
	if red, err := st.Redeem(ctx, req); err != nil || !red.Reentry {
		t.Fatalf("grace re-entry into an older record: %+v, %v", red, err)
	}
}

// wantDeath checks that the server will delete key just after expires: not
// before it, and not a second later.
func wantDeath(t *testing.T, c *redis.Client, key string, expires time.Time) {
	t.Helper()
	at, err := c.PExpireTime(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PEXPIRETIME: %v", err)
	}
	death := time.UnixMilli(at.Milliseconds())
	if death.Before(expires) || death.Sub(expires) > time.Second {
		t.Fatalf("the server deletes the record at %v, want just after %v", death, expires)
	}
}

// Something else under a record's key is a system failure, never a denial
// nor a success.
func TestForeignKeyIsAFailure(t *testing.T) {
	c := testClient(t)
	st := newStore(t, c)
	ctx := context.Background()
	tok := storetest.NewToken()
	if err := c.Set(ctx, st.Prefix()+tok, "not a record", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	_, err := st.Redeem(ctx, store.RedeemRequest{Token: tok, VideoID: "video-a", Now: time.Now(), SessionTTL: time.Hour})
	if err == nil || store.IsDenial(err) {
		t.Fatalf("Redeem of a foreign key: %v, want a system failure", err)
	}
	if _, err := st.Lookup(ctx, tok, time.Now()); err == nil || store.IsDenial(err) {
		t.Fatalf("Lookup of a foreign key: %v, want a system failure", err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "c", RedeemedAt: time.Now(), Now: time.Now()}); err == nil || store.IsDenial(err) {
		t.Fatalf("Release of a foreign key: %v, want a system failure", err)
	}
	if err := st.Confirm(ctx, tok, time.Now()); err == nil || store.IsDenial(err) {
		t.Fatalf("Confirm of a foreign key: %v, want a system failure", err)
	}
}
