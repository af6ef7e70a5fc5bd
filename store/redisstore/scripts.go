package redisstore

import "github.com/redis/go-redis/v9"

// A record is a hash at prefix+token with these fields. Times are Unix
// milliseconds, written by Go as decimal strings: Lua only compares them
// (doubles hold integers exactly up to 2^53, far beyond any millisecond
// timestamp), and formats one number only: a released record's death, its
// issue expiry plus one, which Redis writes as the exact integer it is.
const (
	fieldVideo        = "v" // the video ID
	fieldState        = "s" // "1" issued, "2" redeemed, "3" revoked (store.State)
	fieldExpires      = "e" // the token's expiry while issued, the session's end once redeemed
	fieldRedeemedAt   = "r" // set on redemption
	fieldClient       = "c" // the redeemer's client identity, for the grace window
	fieldIssueExpires = "x" // set on redemption: the token's expiry, which a release restores
	fieldReentered    = "g" // "1" once a re-entry was granted: the redemption is not released
	fieldUnconfirmed  = "u" // "1" from a redemption until Confirm: the retry window admits its client; absent, confirmed
)

// Script outcomes: a script's reply, or the first element of it.
const (
	outcomeUnknown    = 0
	outcomeIssued     = 1 // by issueScript; redeemScript's and releaseScript's successes share the value
	outcomeRedeemed   = 1
	outcomeReleased   = 1
	outcomeUsed       = 2
	outcomeWrongVideo = 3
	outcomeRevoked    = 4
	outcomeReentry    = 5
	outcomeExists     = 6
	outcomeUnredeemed = 7 // by releaseScript: issued already, nothing to release
	outcomeConfirmed  = 8 // by confirmScript: a live record, confirmed if redeemed
)

// issueScript creates a record unless the key exists, in whatever state:
// issuing never resets a token. The key dies at ARGV[3] by the server's clock.
//
// KEYS[1] record; ARGV: video, expires ms, PEXPIREAT ms.
var issueScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 6 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', '1', 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`)

// redeemScript is the whole redemption decision, run atomically by the
// server: of any number of concurrent calls only one finds state "1" and
// moves it to "2". Expiry is decided by the caller's clock (ARGV[3]); the
// server's TTL only cleans up. The token's expiry moves to "x", for a
// release; the TTL, set by the issue (or a release) to it, is extended to
// the session's end if that is later, so the record lives until the later
// of the two. A redemption starts unconfirmed ("u"); its client re-enters
// within the grace, or within the retry window while "u" is there. A
// granted re-entry marks the record "g".
//
// KEYS[1] record; ARGV: video, client, now ms, session end ms,
// PEXPIREAT ms, grace ms, retry ms. Reply: {outcome} or, for a redemption
// or a re-entry, {outcome, redeemed-at ms, expires ms}.
var redeemScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'e', 'r', 'c', 'g', 'u')
if not r[1] then return {0} end
local now = tonumber(ARGV[3])
if tonumber(r[3]) <= now then return {0} end
if r[1] ~= ARGV[1] then return {3} end
if r[2] == '3' then return {4} end
if r[2] == '2' then
	local grace, retry = tonumber(ARGV[6]), tonumber(ARGV[7])
	if r[5] == ARGV[2] and (grace > 0 and now < tonumber(r[4]) + grace or
		r[7] and retry > 0 and now < tonumber(r[4]) + retry) then
		if not r[6] then redis.call('HSET', KEYS[1], 'g', '1') end
		return {5, r[4], r[3]}
	end
	return {2}
end
redis.call('HSET', KEYS[1], 's', '2', 'r', ARGV[3], 'e', ARGV[4], 'c', ARGV[2], 'x', r[3], 'u', '1')
if tonumber(ARGV[4]) > tonumber(r[3]) then redis.call('PEXPIREAT', KEYS[1], ARGV[5]) end
return {1, ARGV[3], ARGV[4]}
`)

// releaseScript undoes one redemption: a record redeemed by the client at
// the time given, never re-entered nor confirmed, before the token's expiry
// "x", returns to issued with that expiry and the TTL just after it. A
// record without "x" was redeemed before releases existed and stays spent;
// one without "u" counts as confirmed and stays spent too.
//
// KEYS[1] record; ARGV: client, redeemed-at ms, now ms.
var releaseScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'e', 'r', 'c', 'x', 'g', 'u')
if not r[1] then return 0 end
local now = tonumber(ARGV[3])
if r[1] == '2' then
	if tonumber(r[5] or r[2]) <= now then return 0 end
	if not r[5] or r[6] or not r[7] or r[4] ~= ARGV[1] or r[3] ~= ARGV[2] then return 2 end
	redis.call('HSET', KEYS[1], 's', '1', 'e', r[5])
	redis.call('HDEL', KEYS[1], 'r', 'c', 'x', 'u')
	redis.call('PEXPIREAT', KEYS[1], tonumber(r[5]) + 1)
	return 1
end
if tonumber(r[2]) <= now then return 0 end
if r[1] == '3' then return 4 end
return 7
`)

// confirmScript ends the retry window of a live redeemed record by
// deleting "u"; any other live record is left as it is.
//
// KEYS[1] record; ARGV: now ms.
var confirmScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'e', 'u')
if not r[1] or tonumber(r[2]) <= tonumber(ARGV[1]) then return 0 end
if r[1] == '2' and r[3] then redis.call('HDEL', KEYS[1], 'u') end
return 8
`)

// revokeScript marks a live record revoked, keeping its expiry and TTL.
//
// KEYS[1] record; ARGV: now ms.
var revokeScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'e')
if not r[1] or tonumber(r[2]) <= tonumber(ARGV[1]) then return 0 end
if r[1] ~= '3' then redis.call('HSET', KEYS[1], 's', '3') end
return 4
`)
