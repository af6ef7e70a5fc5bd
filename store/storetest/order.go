package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// outcomeOrder: when several outcomes apply to one call at once, every
// store answers the first of them in the order the Store documentation
// gives: ErrUnknown (an expired record says nothing more), then
// ErrWrongVideo (a token is told about only on its own video), then
// ErrRevoked, then ErrUsed. A refused call changes nothing: a wrong-video
// attempt by the redeemer within the grace is no re-entry.
func (s *suite) outcomeOrder(t *testing.T) {
	const short = 10 * time.Minute // a session that ends before the token's expiry
	ctx := context.Background()
	expired := s.at(tokenTTL + time.Second)
	sessionOver := s.at(sessionTTL + time.Second)

	// Each case sets up a token, then makes one call that several
	// outcomes apply to.
	cases := []struct {
		name  string
		setup func(t *testing.T, st store.Store, tok string)
		now   time.Time
		call  func(st store.Store, tok string, now time.Time) error
		want  error
	}{
		{
			name:  "Redeem/ExpiredRevoked",
			setup: s.revoked(0),
			now:   expired,
			call:  s.redeemBy("video-a", "c1"),
			want:  store.ErrUnknown,
		},
		{
			name: "Redeem/ExpiredWrongVideo",
			now:  expired,
			call: s.redeemBy("video-b", "c1"),
			want: store.ErrUnknown,
		},
		{
			name:  "Redeem/SessionOverUsedWrongVideo",
			setup: s.redeemedBy("c1", 0),
			now:   sessionOver,
			call:  s.redeemBy("video-b", "c2"),
			want:  store.ErrUnknown,
		},
		{
			name: "Redeem/SessionOverRevoked",
			setup: func(t *testing.T, st store.Store, tok string) {
				s.redeemedBy("c1", 0)(t, st, tok)
				s.revoked(time.Second)(t, st, tok)
			},
			now:  sessionOver,
			call: s.redeemBy("video-a", "c1"),
			want: store.ErrUnknown,
		},
		{
			name:  "Redeem/RevokedWrongVideo",
			setup: s.revoked(0),
			now:   s.at(time.Second),
			call:  s.redeemBy("video-b", "c1"),
			want:  store.ErrWrongVideo,
		},
		{
			name:  "Redeem/UsedWrongVideo",
			setup: s.redeemedBy("c1", 0),
			now:   s.at(time.Second),
			call:  s.redeemBy("video-b", "c2"),
			want:  store.ErrWrongVideo,
		},
		{
			name:  "Redeem/GraceWrongVideo",
			setup: s.redeemedBy("c1", 0),
			now:   s.at(time.Second),
			call:  s.redeemBy("video-b", "c1"),
			want:  store.ErrWrongVideo,
		},
		{
			name: "Redeem/RevokedUsedWrongVideo",
			setup: func(t *testing.T, st store.Store, tok string) {
				s.redeemedBy("c1", 0)(t, st, tok)
				s.revoked(time.Second)(t, st, tok)
			},
			now:  s.at(2 * time.Second),
			call: s.redeemBy("video-b", "c2"),
			want: store.ErrWrongVideo,
		},
		{
			name: "Redeem/RevokedUsed",
			setup: func(t *testing.T, st store.Store, tok string) {
				s.redeemedBy("c1", 0)(t, st, tok)
				s.revoked(time.Second)(t, st, tok)
			},
			now:  s.at(2 * time.Second),
			call: s.redeemBy("video-a", "c2"),
			want: store.ErrRevoked,
		},
		{
			name: "Redeem/RevokedWithinGraceAndRetry",
			setup: func(t *testing.T, st store.Store, tok string) {
				s.redeemedBy("c1", 0)(t, st, tok)
				s.revoked(time.Second)(t, st, tok)
			},
			now: s.at(2 * time.Second),
			call: func(st store.Store, tok string, now time.Time) error {
				_, err := st.Redeem(ctx, s.retryReq(tok, "c1", now))
				return err
			},
			want: store.ErrRevoked,
		},
		{
			name:  "Release/ExpiredRevoked",
			setup: s.revoked(0),
			now:   expired,
			call:  s.releaseBy("c1"),
			want:  store.ErrUnknown,
		},
		{
			name: "Release/SessionOverRevoked",
			setup: func(t *testing.T, st store.Store, tok string) {
				req := s.req(tok, "video-a", "c1", s.at(0))
				req.SessionTTL = short
				if _, err := st.Redeem(ctx, req); err != nil {
					t.Fatalf("Redeem: %v", err)
				}
				s.revoked(time.Second)(t, st, tok)
			},
			now:  s.at(short + time.Second),
			call: s.releaseBy("c1"),
			want: store.ErrUnknown,
		},
		{
			name: "Release/ExpiredConfirmed",
			setup: func(t *testing.T, st store.Store, tok string) {
				s.redeemedBy("c1", tokenTTL-2*time.Second)(t, st, tok)
				if err := st.Confirm(ctx, tok, s.at(tokenTTL-time.Second)); err != nil {
					t.Fatalf("Confirm: %v", err)
				}
			},
			now:  expired,
			call: s.releaseBy("c1"),
			want: store.ErrUnknown,
		},
		{
			name: "Release/RevokedOtherClient",
			setup: func(t *testing.T, st store.Store, tok string) {
				s.redeemedBy("c1", 0)(t, st, tok)
				s.revoked(time.Second)(t, st, tok)
			},
			now:  s.at(2 * time.Second),
			call: s.releaseBy("c2"),
			want: store.ErrRevoked,
		},
		{
			name:  "Confirm/ExpiredRevoked",
			setup: s.revoked(0),
			now:   expired,
			call:  func(st store.Store, tok string, now time.Time) error { return st.Confirm(ctx, tok, now) },
			want:  store.ErrUnknown,
		},
		{
			name:  "Revoke/ExpiredRevoked",
			setup: s.revoked(0),
			now:   expired,
			call:  func(st store.Store, tok string, now time.Time) error { return st.Revoke(ctx, tok, now) },
			want:  store.ErrUnknown,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := s.newStore(t)
			tok := s.issue(t, st, "video-a")
			if c.setup != nil {
				c.setup(t, st, tok)
			}
			// The record as of the call's time, before and after it.
			before, beforeErr := st.Lookup(ctx, tok, c.now)
			wantErr(t, c.name, c.call(st, tok, c.now), c.want)
			after, afterErr := st.Lookup(ctx, tok, c.now)
			if !sameRecord(before, after) || (beforeErr == nil) != (afterErr == nil) {
				t.Fatalf("%s changed the record: %+v, %v before; %+v, %v after", c.name, before, beforeErr, after, afterErr)
			}
		})
	}

	// The redeemer's wrong-video attempt within the grace granted nothing:
	// the redemption is still released.
	t.Run("GraceWrongVideoIsNoReentry", func(t *testing.T) {
		st := s.newStore(t)
		tok := s.issue(t, st, "video-a")
		red := s.redeemed(t, st, tok, "c1", s.at(0))
		_, err := st.Redeem(ctx, s.req(tok, "video-b", "c1", s.at(time.Second)))
		wantErr(t, "the redeemer on another video", err, store.ErrWrongVideo)
		if err := st.Release(ctx, s.rel(tok, "c1", red, s.at(2*time.Second))); err != nil {
			t.Fatalf("Release after the redeemer's wrong-video attempt: %v; it must not count as a re-entry", err)
		}
	})
}

// revoked returns a setup that revokes the token at d.
func (s *suite) revoked(d time.Duration) func(t *testing.T, st store.Store, tok string) {
	return func(t *testing.T, st store.Store, tok string) {
		t.Helper()
		if err := st.Revoke(context.Background(), tok, s.at(d)); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
	}
}

// redeemedBy returns a setup that redeems the token for client at d.
func (s *suite) redeemedBy(client string, d time.Duration) func(t *testing.T, st store.Store, tok string) {
	return func(t *testing.T, st store.Store, tok string) {
		t.Helper()
		s.redeemed(t, st, tok, client, s.at(d))
	}
}

// redeemBy returns a call that redeems the token on video for client.
func (s *suite) redeemBy(video, client string) func(st store.Store, tok string, now time.Time) error {
	return func(st store.Store, tok string, now time.Time) error {
		_, err := st.Redeem(context.Background(), s.req(tok, video, client, now))
		return err
	}
}

// releaseBy returns a call that releases the token's redemption, named by
// the time in its record (the suite's base when it has none), for client.
func (s *suite) releaseBy(client string) func(st store.Store, tok string, now time.Time) error {
	return func(st store.Store, tok string, now time.Time) error {
		at := s.at(0)
		if rec, err := st.Lookup(context.Background(), tok, s.at(0)); err == nil && !rec.RedeemedAt.IsZero() {
			at = rec.RedeemedAt
		}
		return st.Release(context.Background(), s.rel(tok, client, store.Redemption{RedeemedAt: at}, now))
	}
}

func sameRecord(a, b store.Record) bool {
	return a.VideoID == b.VideoID && a.State == b.State && sameTime(a.Expires, b.Expires) && sameTime(a.RedeemedAt, b.RedeemedAt)
}
