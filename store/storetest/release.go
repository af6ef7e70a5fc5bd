package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// The Release cases: a redemption whose answer never reached the viewer is
// undone, and nothing else ever is.

func (s *suite) rel(tok, client string, red store.Redemption, now time.Time) store.ReleaseRequest {
	return store.ReleaseRequest{Token: tok, Client: client, RedeemedAt: red.RedeemedAt, Now: now}
}

// redeemed redeems tok for client at now, and fails t unless that is a first
// redemption.
func (s *suite) redeemed(t *testing.T, st store.Store, tok, client string, now time.Time) store.Redemption {
	t.Helper()
	red, err := st.Redeem(context.Background(), s.req(tok, "video-a", client, now))
	if err != nil || red.Reentry {
		t.Fatalf("Redeem by %s: %+v, %v; want a first redemption", client, red, err)
	}
	return red
}

// wantIssued checks that tok is issued at now, with its original expiry.
func (s *suite) wantIssued(t *testing.T, st store.Store, what, tok string, now time.Time) {
	t.Helper()
	rec, err := st.Lookup(context.Background(), tok, now)
	if err != nil || rec.State != store.Issued || rec.VideoID != "video-a" || !sameTime(rec.Expires, s.at(tokenTTL)) || !rec.RedeemedAt.IsZero() {
		t.Fatalf("%s: Lookup = %+v, %v; want issued for video-a until %v, never redeemed", what, rec, err, s.at(tokenTTL))
	}
}

// wantRedeemed checks that tok is redeemed at now by the redemption red.
func (s *suite) wantRedeemed(t *testing.T, st store.Store, what, tok string, red store.Redemption, now time.Time) {
	t.Helper()
	rec, err := st.Lookup(context.Background(), tok, now)
	if err != nil || rec.State != store.Redeemed || !sameTime(rec.RedeemedAt, red.RedeemedAt) || !sameTime(rec.Expires, red.Expires) {
		t.Fatalf("%s: Lookup = %+v, %v; want redeemed at %v until %v", what, rec, err, red.RedeemedAt, red.Expires)
	}
}

// release: the record goes back to issued with its issue expiry; anyone may
// redeem it again, and the released redemption is gone for good.
func (s *suite) release(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(time.Minute))
	if err := st.Release(ctx, s.rel(tok, "c1", first, s.at(time.Minute+time.Second))); err != nil {
		t.Fatalf("Release: %v", err)
	}
	s.wantIssued(t, st, "after Release", tok, s.at(time.Minute+time.Second))

	second := s.redeemed(t, st, tok, "c2", s.at(time.Minute+2*time.Second))
	if !sameTime(second.RedeemedAt, s.at(time.Minute+2*time.Second)) || !sameTime(second.Expires, s.at(time.Minute+2*time.Second+sessionTTL)) {
		t.Fatalf("Redeem after Release = %+v, want a redemption of its own", second)
	}
	// Within the grace window of its released redemption, c1 has no claim.
	_, err := st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(time.Minute+3*time.Second)))
	wantErr(t, "the released redeemer, within its grace", err, store.ErrUsed)
	err = st.Release(ctx, s.rel(tok, "c1", first, s.at(time.Minute+3*time.Second)))
	wantErr(t, "the released redemption again, after another one", err, store.ErrUsed)
	s.wantRedeemed(t, st, "after a stale Release", tok, second, s.at(time.Minute+3*time.Second))

	if err := st.Release(ctx, s.rel(tok, "c2", second, s.at(time.Minute+4*time.Second))); err != nil {
		t.Fatalf("Release of the second redemption: %v", err)
	}
	s.wantIssued(t, st, "after the second Release", tok, s.at(time.Minute+4*time.Second))
}

// releaseRepeated: with nothing to release, Release succeeds and changes
// nothing.
func (s *suite) releaseRepeated(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	never := store.Redemption{RedeemedAt: s.at(0)}
	if err := st.Release(ctx, s.rel(tok, "c1", never, s.at(0))); err != nil {
		t.Fatalf("Release of a token never redeemed: %v", err)
	}
	s.wantIssued(t, st, "after a Release of nothing", tok, s.at(0))
	red := s.redeemed(t, st, tok, "c1", s.at(time.Second))
	for i := range 3 {
		if err := st.Release(ctx, s.rel(tok, "c1", red, s.at(2*time.Second))); err != nil {
			t.Fatalf("Release %d: %v", i+1, err)
		}
	}
	s.wantIssued(t, st, "after repeated Releases", tok, s.at(2*time.Second))
}

// releaseOnlyItsRedemption: a release names one redemption by its client
// and time; any other is left alone.
func (s *suite) releaseOnlyItsRedemption(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, tok, "c1", s.at(0))
	now := s.at(time.Second)
	err := st.Release(ctx, s.rel(tok, "c2", red, now))
	wantErr(t, "Release by another client", err, store.ErrUsed)
	for _, d := range []time.Duration{-time.Second, -precision, precision, time.Second} {
		other := red
		other.RedeemedAt = red.RedeemedAt.Add(d)
		err := st.Release(ctx, s.rel(tok, "c1", other, now))
		wantErr(t, fmt.Sprintf("Release of a redemption %v off", d), err, store.ErrUsed)
	}
	s.wantRedeemed(t, st, "after refused Releases", tok, red, now)
	_, err = st.Redeem(ctx, s.req(tok, "video-a", "c2", now))
	wantErr(t, "another client after refused Releases", err, store.ErrUsed)

	// The same instant in another zone, within the same millisecond: the
	// same redemption.
	same := red
	same.RedeemedAt = red.RedeemedAt.Add(precision / 4).In(time.FixedZone("elsewhere", -7*3600))
	if err := st.Release(ctx, s.rel(tok, "c1", same, now)); err != nil {
		t.Fatalf("Release of the redemption, same millisecond in another zone: %v", err)
	}
	s.wantIssued(t, st, "after Release", tok, now)
}

// releaseAfterReentry: a granted grace re-entry delivered a session through
// another response, so the redemption is no longer released; refused
// attempts grant nothing and leave it releasable.
func (s *suite) releaseAfterReentry(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()

	reentered := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, reentered, "c1", s.at(0))
	if again, err := st.Redeem(ctx, s.req(reentered, "video-a", "c1", s.at(time.Second))); err != nil || !again.Reentry {
		t.Fatalf("re-entry: %+v, %v", again, err)
	}
	err := st.Release(ctx, s.rel(reentered, "c1", red, s.at(2*time.Second)))
	wantErr(t, "Release of a re-entered redemption", err, store.ErrUsed)
	s.wantRedeemed(t, st, "after a refused Release", reentered, red, s.at(2*time.Second))
	_, err = st.Redeem(ctx, s.req(reentered, "video-a", "c2", s.at(3*time.Second)))
	wantErr(t, "another client after a refused Release", err, store.ErrUsed)

	refused := s.issue(t, st, "video-a")
	red = s.redeemed(t, st, refused, "c1", s.at(0))
	noGrace := s.req(refused, "video-a", "c1", s.at(time.Second))
	noGrace.Grace = 0
	_, err = st.Redeem(ctx, noGrace)
	wantErr(t, "same client, grace off", err, store.ErrUsed)
	_, err = st.Redeem(ctx, s.req(refused, "video-a", "c2", s.at(time.Second)))
	wantErr(t, "another client", err, store.ErrUsed)
	_, err = st.Redeem(ctx, s.req(refused, "video-a", "c1", s.at(grace+time.Second)))
	wantErr(t, "same client after grace", err, store.ErrUsed)
	if err := st.Release(ctx, s.rel(refused, "c1", red, s.at(grace+2*time.Second))); err != nil {
		t.Fatalf("Release after refused attempts only: %v", err)
	}
	s.wantIssued(t, st, "after Release", refused, s.at(grace+2*time.Second))
}

// releaseRevoked: a revoked token is never revived.
func (s *suite) releaseRevoked(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()

	issued := s.issue(t, st, "video-a")
	if err := st.Revoke(ctx, issued, s.at(0)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	err := st.Release(ctx, s.rel(issued, "c1", store.Redemption{RedeemedAt: s.at(0)}, s.at(time.Second)))
	wantErr(t, "Release of a revoked token", err, store.ErrRevoked)

	redeemed := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, redeemed, "c1", s.at(0))
	if err := st.Revoke(ctx, redeemed, s.at(time.Second)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	err = st.Release(ctx, s.rel(redeemed, "c1", red, s.at(2*time.Second)))
	wantErr(t, "Release of a revoked redemption", err, store.ErrRevoked)
	for _, tok := range []string{issued, redeemed} {
		if rec, err := st.Lookup(ctx, tok, s.at(2*time.Second)); err != nil || rec.State != store.Revoked {
			t.Fatalf("Lookup after a Release of a revoked token = %+v, %v; want revoked", rec, err)
		}
		_, err := st.Redeem(ctx, s.req(tok, "video-a", "c2", s.at(3*time.Second)))
		wantErr(t, "Redeem after a Release of a revoked token", err, store.ErrRevoked)
	}
}

// releaseUnknown: nothing to release is no success for a token never
// issued.
func (s *suite) releaseUnknown(t *testing.T) {
	st := s.newStore(t)
	err := st.Release(context.Background(), s.rel(NewToken(), "c1", store.Redemption{RedeemedAt: s.at(0)}, s.at(0)))
	wantErr(t, "Release of a token never issued", err, store.ErrUnknown)
}

// releaseExpired: the token's issue expiry bounds a release, which then
// restores that expiry, not the session's end; an expired token is never
// revived.
func (s *suite) releaseExpired(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	after := s.at(tokenTTL + time.Second)

	issued := s.issue(t, st, "video-a")
	err := st.Release(ctx, s.rel(issued, "c1", store.Redemption{RedeemedAt: s.at(0)}, after))
	wantErr(t, "Release of an expired issued token", err, store.ErrUnknown)

	late := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, late, "c1", s.at(tokenTTL-2*time.Second))
	err = st.Release(ctx, s.rel(late, "c1", red, after))
	wantErr(t, "Release after the issue expiry", err, store.ErrUnknown)
	s.wantRedeemed(t, st, "after a Release past the issue expiry", late, red, after)
	_, err = st.Redeem(ctx, s.req(late, "video-a", "c2", after))
	wantErr(t, "another client after a Release past the issue expiry", err, store.ErrUsed)

	inTime := s.issue(t, st, "video-a")
	red = s.redeemed(t, st, inTime, "c1", s.at(tokenTTL-2*time.Second))
	if err := st.Release(ctx, s.rel(inTime, "c1", red, s.at(tokenTTL-time.Second))); err != nil {
		t.Fatalf("Release a second before the issue expiry: %v", err)
	}
	s.wantIssued(t, st, "released a second before the issue expiry", inTime, s.at(tokenTTL-time.Second))
	_, err = st.Lookup(ctx, inTime, after)
	wantErr(t, "Lookup of a released token after its issue expiry", err, store.ErrUnknown)
	_, err = st.Redeem(ctx, s.req(inTime, "video-a", "c2", after))
	wantErr(t, "Redeem of a released token after its issue expiry", err, store.ErrUnknown)
}

// releaseAfterSessionEnd: a session shorter than the token's life ends, and
// still its redemption is released until the token's issue expiry: the
// store keeps the record until the later of the two.
func (s *suite) releaseAfterSessionEnd(t *testing.T) {
	const short = 10 * time.Minute
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	req := s.req(tok, "video-a", "c1", s.at(0))
	req.SessionTTL = short
	red, err := st.Redeem(ctx, req)
	if err != nil || !sameTime(red.Expires, s.at(short)) {
		t.Fatalf("Redeem with a short session: %+v, %v", red, err)
	}
	over := s.at(short + time.Minute)
	_, err = st.Lookup(ctx, tok, over)
	wantErr(t, "Lookup after the session ended", err, store.ErrUnknown)
	_, err = st.Redeem(ctx, s.req(tok, "video-a", "c2", over))
	wantErr(t, "Redeem after the session ended", err, store.ErrUnknown)
	if err := st.Release(ctx, s.rel(tok, "c1", red, over.Add(time.Second))); err != nil {
		t.Fatalf("Release after the session ended, before the issue expiry: %v", err)
	}
	s.wantIssued(t, st, "after Release", tok, over.Add(time.Second))
	s.redeemed(t, st, tok, "c2", over.Add(2*time.Second))
}

// raceRelease releases a redemption while 63 other clients race to redeem
// the token: the release always succeeds (nothing else can change a
// redeemed record), at most one racer gets in after it, and the record ends
// as the calls say.
func (s *suite) raceRelease(t *testing.T) {
	const rounds, racers = 50, 63
	st := s.newStore(t)
	ctx := context.Background()
	for range rounds {
		tok := s.issue(t, st, "video-a")
		first := s.redeemed(t, st, tok, "client-0", s.at(0))
		type win struct {
			client string
			red    store.Redemption
		}
		wins := make(chan win, racers)
		var released error
		var start, done sync.WaitGroup
		start.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			released = st.Release(ctx, s.rel(tok, "client-0", first, s.at(time.Second)))
		}()
		for i := 1; i <= racers; i++ {
			done.Add(1)
			go func() {
				defer done.Done()
				client := fmt.Sprint("client-", i)
				start.Wait()
				red, err := st.Redeem(ctx, s.req(tok, "video-a", client, s.at(time.Second+time.Duration(i)*precision)))
				switch {
				case err == nil && red.Reentry:
					t.Errorf("%s re-entered a redemption it never made: %+v", client, red)
				case err == nil:
					wins <- win{client, red}
				case !errors.Is(err, store.ErrUsed):
					t.Errorf("racing Redeem: %v", err)
				}
			}()
		}
		start.Done()
		done.Wait()
		close(wins)
		if released != nil {
			t.Fatalf("Release racing other clients' redemptions: %v; want nil, the record was that redemption", released)
		}
		if n := len(wins); n > 1 {
			t.Fatalf("a Release racing %d redemptions let %d of them in, want at most 1", racers, n)
		}
		now := s.at(2 * time.Second)
		w, won := <-wins
		if !won {
			s.wantIssued(t, st, "after a Release that no redemption followed", tok, now)
			continue
		}
		s.wantRedeemed(t, st, "after a Release and one redemption", tok, w.red, now)
		err := st.Release(ctx, s.rel(tok, "client-0", first, now))
		wantErr(t, "the first redemption released again", err, store.ErrUsed)
		if err := st.Release(ctx, s.rel(tok, w.client, w.red, now)); err != nil {
			t.Fatalf("Release of the winner's redemption: %v", err)
		}
	}
}

// raceReleaseReentry releases a redemption while its own client re-enters
// (a player's parallel requests, one of which failed) and other clients try
// the token. Either a re-entry wins and the release fails with ErrUsed, or the
// release wins and no request re-enters the redemption it undid (they make a
// fresh one, re-enter that, or are refused); never both, and at most one
// redemption stands.
func (s *suite) raceReleaseReentry(t *testing.T) {
	const rounds, same, others = 100, 4, 4
	st := s.newStore(t)
	ctx := context.Background()
	for range rounds {
		tok := s.issue(t, st, "video-a")
		first := s.redeemed(t, st, tok, "client-0", s.at(0))
		type result struct {
			client string
			red    store.Redemption
			err    error
		}
		results := make(chan result, same+others)
		var released error
		var start, done sync.WaitGroup
		start.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			released = st.Release(ctx, s.rel(tok, "client-0", first, s.at(time.Second)))
		}()
		for i := range same + others {
			done.Add(1)
			go func() {
				defer done.Done()
				client, now := "client-0", s.at(time.Second)
				if i >= same {
					client, now = fmt.Sprint("client-", i), s.at(time.Second+time.Duration(i)*precision)
				}
				start.Wait()
				red, err := st.Redeem(ctx, s.req(tok, "video-a", client, now))
				results <- result{client, red, err}
			}()
		}
		start.Done()
		done.Wait()
		close(results)

		var (
			reentriesOfFirst int
			fresh            []result
			reentries        []result
		)
		for r := range results {
			switch {
			case r.err != nil && !errors.Is(r.err, store.ErrUsed):
				t.Fatalf("racing Redeem by %s: %v", r.client, r.err)
			case r.err != nil:
			case !r.red.Reentry:
				fresh = append(fresh, r)
			case r.client != "client-0":
				t.Fatalf("%s re-entered a redemption it never made: %+v", r.client, r.red)
			case sameTime(r.red.RedeemedAt, first.RedeemedAt):
				reentriesOfFirst++
			default:
				reentries = append(reentries, r)
			}
		}
		switch {
		case released != nil && !errors.Is(released, store.ErrUsed):
			t.Fatalf("Release racing re-entries: %v; want nil or ErrUsed", released)
		case released == nil && reentriesOfFirst > 0:
			t.Fatalf("the Release and %d re-entries of the redemption it undid all succeeded", reentriesOfFirst)
		case released != nil && reentriesOfFirst == 0:
			t.Fatalf("the Release failed (%v) though no re-entry of the redemption succeeded", released)
		}
		standing := len(fresh)
		if released != nil {
			standing++
		}
		if standing > 1 {
			t.Fatalf("%d redemptions stand after the race (release: %v, fresh: %+v), want at most 1", standing, released, fresh)
		}
		now := s.at(2 * time.Second)
		switch {
		case released != nil:
			s.wantRedeemed(t, st, "after a refused Release", tok, first, now)
		case len(fresh) == 0:
			if len(reentries) > 0 {
				t.Fatalf("re-entries %+v of no standing redemption", reentries)
			}
			s.wantIssued(t, st, "after a Release that no redemption followed", tok, now)
		default:
			for _, r := range reentries {
				if r.client != fresh[0].client || !sameTime(r.red.RedeemedAt, fresh[0].red.RedeemedAt) {
					t.Fatalf("re-entry %+v of another redemption than the standing one, %+v", r, fresh[0])
				}
			}
			s.wantRedeemed(t, st, "after a Release and a fresh redemption", tok, fresh[0].red, now)
		}
	}
}
