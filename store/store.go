// Package store defines where privatevideo keeps its private tokens, and
// provides the in-memory store that the middleware uses by default.
//
// A store holds one record per issued token: issued, redeemed at most once,
// or revoked; a redemption whose answer never reached the viewer is
// released, and the token is issued again; one whose session came back is
// confirmed. The middleware drives it; an
// application only picks one (memory for one process, Redis or PostgreSQL
// for several replicas) and never calls it directly.
//
// A store, ours or a third party's, needs this package and nothing of the
// middleware's: the Store interface, whose doc comments are the whole
// contract (times, errors, contexts, the order of outcomes), the sentinel
// errors, and ParseToken (or TokenBytes), which gives a token's one
// spelling and answers ErrUnknown for a malformed one. It proves itself by
// passing the conformance suite in package storetest with one call.
package store

import (
	"context"
	"errors"
	"time"
)

// Store keeps private tokens and redeems each of them at most once.
//
// Tokens reach a store from the middleware in canonical form (lower-case
// UUID, 36 characters) and video IDs already validated. A store still accepts
// a token in any letter case as the same token, and answers ErrUnknown for a
// malformed one, never a system failure: ParseToken (or TokenBytes, for a
// binary key) does both, and its error may be returned as it is.
//
// Times: every call carries the caller's clock (now, or an expiry computed
// from it). A store decides expiry by comparing the times it was given, never
// its own clock, so a fleet agrees with its middleware and the conformance
// suite can move time. A store may also let its engine delete records once
// they are irrelevant (a Redis TTL, a sweep), as long as it keeps them at
// least until the expiry it was given. Stores keep times to at least
// millisecond precision.
//
// Errors: the outcomes that deny a request are the sentinel errors of this
// package (ErrUnknown, ErrUsed, ErrWrongVideo, ErrRevoked, ErrExists), returned
// as they are or wrapped. Anything else is a system failure (connection lost,
// timeout, context cancelled): the middleware answers 503 and nothing is
// consumed.
//
// Contexts: a store honours ctx's cancellation and deadline. A call whose
// ctx is already done when it starts fails before anything else (before
// looking at the token) with a system failure that wraps ctx.Err(), so
// that errors.Is(err, context.Canceled) or errors.Is(err,
// context.DeadlineExceeded) holds, and it changes nothing (storetest checks
// both on every method). A call whose ctx ends while it runs returns by the
// deadline; if it fails (wrapping ctx.Err() when the store can tell), its
// effect is unknown: the engine may have applied it, which is why
// RedeemRequest.Retry exists.
//
// Outcome order: when several outcomes apply to one call at once, the
// first of these is the answer, in every store:
//  1. a system failure, a done context first of all;
//  2. ErrUnknown: a malformed token, no record, or one expired at the
//     call's time (by the rules of each method below). An expired record
//     says nothing more, because the engine may already have deleted it:
//     an expired revoked token is unknown;
//  3. ErrWrongVideo (Redeem): a token answers about its state only on its
//     own video, as the request table checks a link against its video
//     before its state: a revoked or used token asked for on another video
//     is ErrWrongVideo;
//  4. ErrRevoked: revocation is final, whoever asks: a revoked token is
//     neither used nor re-entered, even by its redeemer within the grace;
//  5. ErrUsed, or ErrExists (Issue);
//  6. success, a re-entry included.
//
// Release keeps its own order, written on it, in the same spirit. A call
// refused for any of these reasons changes nothing: a wrong-video attempt
// of the redeemer within the grace is no re-entry. The middleware answers
// requests that do not redeem (their reason comes from Lookup) in the same
// order.
type Store interface {
	// Issue records token as issued for videoID and redeemable until
	// expires. It returns ErrExists when the store still holds a record of
	// the token, in whatever state: issuing never resets a token.
	Issue(ctx context.Context, token, videoID string, expires time.Time) error

	// Redeem moves a token from issued to redeemed, atomically: of any number
	// of concurrent calls, on any number of machines, at most one succeeds.
	// On success the record lives until the session ends, at
	// req.Now + req.SessionTTL, and the result tells when that is. The
	// store keeps the token's issue expiry beside it, for Release, and
	// keeps the record until the later of the two.
	//
	// A redeemed token is redeemed again only by the same client
	// (req.Client equal to the winner's), within req.Grace of the first
	// redemption, or within req.Retry of it while the redemption is not
	// confirmed (see Confirm); that call succeeds with the first call's
	// RedeemedAt and Expires, and Reentry set. The re-entry marks the
	// redemption as delivered more than once, so that Release no longer
	// undoes it. Everything else fails, checked in this order (see Outcome
	// order above):
	//   - ErrUnknown: never issued, expired unredeemed (not after
	//     expires), expired redeemed (session over), or evicted;
	//   - ErrWrongVideo: issued for another video; the token is not
	//     consumed and still redeems on its own video;
	//   - ErrRevoked: revoked;
	//   - ErrUsed: already redeemed by another client, or by the same
	//     client after the grace (and after the retry window, or once
	//     confirmed).
	Redeem(ctx context.Context, req RedeemRequest) (Redemption, error)

	// Confirm records that the current redemption of token is in use: its
	// session came back in a request. From then on only Grace admits
	// re-entries (Retry no longer applies), and Release no longer undoes
	// it.
	//
	// A token redeemed and not expired at now (by its Expires, as Lookup)
	// is marked confirmed, and Confirm returns nil; confirming it again
	// changes nothing and returns nil too. An issued or revoked token is
	// left as it is and Confirm returns nil: there is nothing to confirm,
	// and a later redemption starts unconfirmed, as does one after a
	// release. No record, or one expired at now: ErrUnknown.
	//
	// Confirm is atomic with respect to Redeem and Release: once it has
	// returned, no redemption re-enters beyond the grace and no release
	// undoes the redemption it confirmed. A store that keeps redemptions
	// made before it knew Confirm counts them as confirmed: Retry never
	// admits them.
	Confirm(ctx context.Context, token string, now time.Time) error

	// Release undoes one redemption whose answer never reached the viewer
	// (the wrapped handler failed, or the request ended before its response
	// began), so that the link is not lost to a failure that is not the
	// viewer's. req names the redemption by its client and its RedeemedAt,
	// as Redeem returned them; stores compare RedeemedAt at millisecond
	// precision.
	//
	// While the record is that redemption (redeemed by req.Client at
	// req.RedeemedAt, no re-entry granted on it, not confirmed) and the
	// token's issue expiry has not passed at req.Now, Release returns the
	// record to issued with that original expiry, atomically, and any
	// client may redeem it again. Otherwise it changes nothing and returns,
	// checked in this order:
	//   - ErrUnknown: no record, or expired at req.Now: a redeemed record by
	//     the token's issue expiry (a release never revives an expired
	//     token), any other by its Expires, as Lookup;
	//   - ErrRevoked: revoked; a revoked token is never revived;
	//   - nil: issued already, so there is nothing to release (a repeated
	//     release, or one that lost to no one);
	//   - ErrUsed: redeemed by another client or at another time (a newer
	//     redemption: a release never undoes another one), re-entered
	//     (another response carried a session to the client) or confirmed
	//     (the session came back): the token stays spent. A store that
	//     finds no issue expiry kept beside a redeemed record (one written
	//     before it knew Release) answers this too.
	//
	// Release and Redeem are atomic with respect to each other: of a release
	// and any number of concurrent redemptions, at most one redemption is
	// left standing, and a release that succeeds never also lets a
	// concurrent re-entry of the redemption it undid succeed.
	Release(ctx context.Context, req ReleaseRequest) error

	// Lookup returns the record of a token without changing it, or
	// ErrUnknown when there is none or it has expired at now.
	Lookup(ctx context.Context, token string, now time.Time) (Record, error)

	// Revoke marks a token revoked: it never redeems again, and a Lookup
	// reports it revoked until the record expires. Revoking a revoked token
	// succeeds; an unknown or expired one returns ErrUnknown.
	Revoke(ctx context.Context, token string, now time.Time) error
}

// NonBlocking is implemented by stores that answer from memory, never
// waiting on I/O, such as Memory: the middleware then spares their calls
// the deadline timer it puts on every other store's. A wrapper (metrics,
// tracing) passes it on by answering what its inner store answers.
type NonBlocking interface {
	NeverBlocks() bool
}

// RedeemRequest is one attempt to redeem a token.
type RedeemRequest struct {
	Token   string // canonical private token
	VideoID string // the video the request is for
	// Client identifies the requesting client (the middleware derives it
	// from the client's address and User-Agent), for the grace window. It is
	// opaque to the store and at most 64 bytes.
	Client     string
	Now        time.Time
	SessionTTL time.Duration // how long the session, and so the record, lives
	Grace      time.Duration // same-client re-entry window; 0 turns it off
	// Retry is the same client's re-entry window for a redemption not
	// confirmed yet. A redemption that timed out against the store has an
	// unknown outcome: the store may still run it when it resumes, and its
	// client, which got an error, retries. Within Retry of the first
	// redemption, and until Confirm, the same client re-enters exactly as
	// within Grace (success, Reentry set, the first call's RedeemedAt and
	// Expires; a re-entry for Release, which then refuses). 0 turns it off;
	// a Retry not longer than Grace changes nothing.
	Retry time.Duration
}

// ReleaseRequest names the redemption that Release undoes.
type ReleaseRequest struct {
	Token      string    // canonical private token
	Client     string    // the redeemer's client, as in RedeemRequest
	RedeemedAt time.Time // the Redemption's RedeemedAt
	Now        time.Time
}

// Redemption is the result of a successful Redeem.
type Redemption struct {
	RedeemedAt time.Time // when the token was first redeemed
	Expires    time.Time // when the session ends: RedeemedAt + SessionTTL
	Reentry    bool      // a re-entry of the first redeemer, within Grace or Retry
}

// State is where a token stands.
type State uint8

// The states of a token. A token starts Issued; Redeem moves it to Redeemed
// and Revoke to Revoked. Release moves a Redeemed token back to Issued when
// its redemption never reached the viewer; nothing leaves Revoked.
const (
	Issued State = iota + 1
	Redeemed
	Revoked
)

// String is the state's name as logs and the video API write it.
func (s State) String() string {
	switch s {
	case Issued:
		return "issued"
	case Redeemed:
		return "redeemed"
	case Revoked:
		return "revoked"
	}
	return "invalid"
}

// Record is what a store knows of one token.
type Record struct {
	VideoID    string
	State      State
	Expires    time.Time // the token's expiry while issued, the session's end once redeemed
	RedeemedAt time.Time // zero unless redeemed
}

// The outcomes that deny a redemption. Stores return these (possibly wrapped);
// any other error is a system failure.
var (
	ErrUnknown    = errors.New("store: token unknown or expired")
	ErrUsed       = errors.New("store: token already redeemed")
	ErrWrongVideo = errors.New("store: token belongs to another video")
	ErrRevoked    = errors.New("store: token revoked")
	ErrExists     = errors.New("store: token already issued")
)

// IsDenial reports whether err is one of the outcomes above rather than a
// system failure.
func IsDenial(err error) bool {
	return errors.Is(err, ErrUnknown) || errors.Is(err, ErrUsed) ||
		errors.Is(err, ErrWrongVideo) || errors.Is(err, ErrRevoked) ||
		errors.Is(err, ErrExists)
}
