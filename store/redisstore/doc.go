// Package redisstore keeps privatevideo's private tokens in Redis, so that
// several replicas of the middleware share them and each token is redeemed
// once across all of them.
//
// It is a module of its own, so that importing privatevideo never pulls in
// go-redis.
//
// # Construction
//
// New takes any go-redis v9 redis.UniversalClient: a single node
// (redis.NewClient), a Sentinel-backed failover client, a Cluster or a Ring.
// The client must honour context deadlines, so that the middleware's store
// timeout bounds every call:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	st, err := redisstore.New(rdb, redisstore.WithPrefix("myapp:pv:"))
//	…
//	pv, err := privatevideo.New(keys, privatevideo.WithStore(st))
//
// Open builds the client from a redis:// or rediss:// URL, with deadlines
// honoured, and Close closes it. Ping checks the server, for health checks.
//
// # Data layout
//
// One hash per token at {prefix}{token} (the prefix is "privatevideo:" by
// default; the token in canonical lower-case form), with short fields:
//
//	v  video ID
//	s  state: 1 issued, 2 redeemed, 3 revoked
//	e  expiry, Unix milliseconds: the token's while issued, the session's end once redeemed
//	r  redemption time, Unix milliseconds (once redeemed)
//	c  the redeeming client's identity, for the grace window (once redeemed)
//	x  the token's expiry, Unix milliseconds, which a release restores (once redeemed)
//	g  "1" once a re-entry was granted: the redemption is no longer released
//	u  "1" from a redemption until its session comes back (Confirm): the retry window admits its client
//
// A redeemed record without "u" (one written before the store knew Confirm)
// counts as confirmed: the retry window never admits it, and it is not
// released.
//
// A redeemed record takes about 200 bytes of Redis memory (MEMORY USAGE),
// its key included, and 16 more until it is confirmed.
//
// # Atomicity
//
// Every operation is one round trip touching one key. Issue, Redeem,
// Release, Confirm and Revoke are Lua scripts (EVALSHA, falling back to EVAL when the
// server has not cached them), which Redis runs whole, one at a time: of any
// number of concurrent redemptions from any number of machines, exactly one
// finds the record issued and marks it redeemed; the others find it
// redeemed. A release or a confirmation is decided the same way on the same
// key, so the server orders it among concurrent redemptions. Lookup is a
// single HMGET.
// With a single key per operation, a Redis Cluster needs no hash tags, and
// scripts are replicated by their effects.
//
// # Expiry
//
// Decisions compare the times the middleware passes in, never the server's
// clock. The server's own TTL only cleans up: each record is given a
// PEXPIREAT just after its expiry (the token's; once redeemed, the later of
// the token's and the session's end, so that a release can still restore
// it; the token's again once released; revoking keeps it), so no sweep is
// needed. Should the server's clock run ahead of the replicas', a record may
// vanish early; the token is then unknown and refused, never replayable.
//
// # Outages
//
// Any error other than the store package's denials is a system failure,
// wrapped: the middleware answers 503 store-unavailable with Retry-After,
// and sessions already open keep playing, as their check needs no store.
// go-redis reconnects by itself when the server returns. A refused call
// consumes nothing when the server was unreachable (down, refusing
// connections). A server that hangs and then resumes may still run a call it
// received before the deadline passed: that token is then redeemed for the
// very client that was refused, whose retry gets in as a re-entry, within
// the grace or, as long as the redemption is unconfirmed (no session of it
// came back), within the retry window (store.RedeemRequest.Retry).
//
// go-redis retries a call on a network error (MaxRetries). A redemption whose
// reply was lost and that is retried finds the token redeemed by the same
// client: a re-entry, or ErrUsed with the grace and retry windows off. A retried
// release whose first run went through finds the record issued and succeeds
// without changing it; if another client redeemed the token in between, it
// gets ErrUsed and leaves that redemption alone. A retried confirmation
// finds the record confirmed and changes nothing.
//
// # Durability
//
// The promise holds as long as Redis keeps what it acknowledged. A server
// that restarts empty forgets every token: unredeemed links are then refused
// as unknown (failing closed) while open sessions play on; enable the
// append-only file if links must outlive a restart. Replication is
// asynchronous: a failover can lose the last redemptions before they reach
// the replica, and those tokens could be redeemed once more. Lookup (the
// revocation check) is a read, which a client configured to route reads to
// replicas may answer from a slightly stale one; the scripts always run on
// the master.
package redisstore
