package redisstore

import "github.com/redis/go-redis/v9"

// A record is a hash at prefix+token with these fields. Times are Unix
// milliseconds, written by Go as decimal strings: Lua only compares them
// (doubles hold integers exactly up to 2^53, far beyond any millisecond
// timestamp), so no number is ever formatted by Lua.
const (
	fieldVideo      = "v" // the video ID
	fieldState      = "s" // "1" issued, "2" redeemed, "3" revoked (store.State)
	fieldExpires    = "e" // the token's expiry while issued, the session's end once redeemed
	fieldRedeemedAt = "r" // set on redemption
	fieldClient     = "c" // the redeemer's client identity, for the grace window
)

// Script outcomes: a script's reply, or the first element of it.
const (
	outcomeUnknown    = 0
	outcomeIssued     = 1 // by issueScript; redeemScript's success shares the value
	outcomeRedeemed   = 1
	outcomeUsed       = 2
	outcomeWrongVideo = 3
	outcomeRevoked    = 4
	outcomeReentry    = 5
	outcomeExists     = 6
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
// server's TTL only cleans up.
//
// KEYS[1] record; ARGV: video, client, now ms, session end ms,
// PEXPIREAT ms, grace ms. Reply: {outcome} or, for a redemption or a
// re-entry, {outcome, redeemed-at ms, expires ms}.
var redeemScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'e', 'r', 'c')
if not r[1] then return {0} end
local now = tonumber(ARGV[3])
if tonumber(r[3]) <= now then return {0} end
if r[1] ~= ARGV[1] then return {3} end
if r[2] == '3' then return {4} end
if r[2] == '2' then
	local grace = tonumber(ARGV[6])
	if grace > 0 and r[5] == ARGV[2] and now < tonumber(r[4]) + grace then
		return {5, r[4], r[3]}
	end
	return {2}
end
redis.call('HSET', KEYS[1], 's', '2', 'r', ARGV[3], 'e', ARGV[4], 'c', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return {1, ARGV[3], ARGV[4]}
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
