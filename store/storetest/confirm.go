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

// The Retry and Confirm cases: a redemption that timed out against the store
// may still run when the store resumes, so its own client's retry re-enters
// it within the retry window until its session comes back (Confirm); nobody
// else ever does.

// retry is the suite's retry window, much longer than its grace.
const retry = time.Minute

// retryReq is s.req with the retry window on.
func (s *suite) retryReq(tok, client string, now time.Time) store.RedeemRequest {
	req := s.req(tok, "video-a", client, now)
	req.Retry = retry
	return req
}

// wantReentry checks that req re-enters the redemption first.
func (s *suite) wantReentry(t *testing.T, st store.Store, what string, req store.RedeemRequest, first store.Redemption) {
	t.Helper()
	got, err := st.Redeem(context.Background(), req)
	if err != nil || !got.Reentry || !sameTime(got.RedeemedAt, first.RedeemedAt) || !sameTime(got.Expires, first.Expires) {
		t.Fatalf("%s: Redeem = %+v, %v; want a re-entry with the first redemption's times %+v", what, got, err, first)
	}
}

// retryReentry: after the grace, the same client re-enters an unconfirmed
// redemption until the retry window ends, exactly as within the grace;
// another client never does, and the re-entry stops the release.
func (s *suite) retryReentry(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(0))

	_, err := st.Redeem(ctx, s.retryReq(tok, "c2", s.at(grace+time.Second)))
	wantErr(t, "another client within the retry window", err, store.ErrUsed)
	s.wantReentry(t, st, "same client after the grace, within the retry window", s.retryReq(tok, "c1", s.at(grace+time.Second)), first)
	s.wantReentry(t, st, "same client just before the retry window ends", s.retryReq(tok, "c1", s.at(retry-time.Second)), first)
	_, err = st.Redeem(ctx, s.retryReq(tok, "c2", s.at(retry-time.Second)))
	wantErr(t, "another client after the same client's retries", err, store.ErrUsed)
	_, err = st.Redeem(ctx, s.retryReq(tok, "c1", s.at(retry+time.Second)))
	wantErr(t, "same client after the retry window", err, store.ErrUsed)
	s.wantRedeemed(t, st, "after retries", tok, first, s.at(retry+time.Second))

	// A re-entry through the retry window alone (no grace re-entry before
	// it) is one for Release too.
	only := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, only, "c1", s.at(0))
	s.wantReentry(t, st, "retry after the grace", s.retryReq(only, "c1", s.at(grace+time.Second)), red)
	err = st.Release(ctx, s.rel(only, "c1", red, s.at(grace+2*time.Second)))
	wantErr(t, "Release after a re-entry through the retry window", err, store.ErrUsed)
	s.wantRedeemed(t, st, "after a refused Release", only, red, s.at(grace+2*time.Second))
}

// retryWindowOff: a Retry of 0, or not longer than the grace, changes
// nothing: the grace alone decides, and a shorter Retry never shortens it.
func (s *suite) retryWindowOff(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	for _, r := range []time.Duration{0, grace / 5, grace, -time.Minute} {
		tok := s.issue(t, st, "video-a")
		first := s.redeemed(t, st, tok, "c1", s.at(0))
		req := s.req(tok, "video-a", "c1", s.at(grace-time.Second))
		req.Retry = r
		s.wantReentry(t, st, fmt.Sprintf("Retry %v, within the grace", r), req, first)
		req.Now = s.at(grace + time.Second)
		_, err := st.Redeem(ctx, req)
		wantErr(t, fmt.Sprintf("Retry %v, after the grace", r), err, store.ErrUsed)
	}
	// The retry window on, the grace off: only Retry admits.
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(0))
	req := s.retryReq(tok, "c1", s.at(time.Second))
	req.Grace = 0
	s.wantReentry(t, st, "grace off, within the retry window", req, first)
	req.Now = s.at(retry + time.Second)
	_, err := st.Redeem(ctx, req)
	wantErr(t, "grace off, after the retry window", err, store.ErrUsed)
}

// confirmEndsRetry: once confirmed, only the grace admits the same client;
// the confirmed redemption is never released.
func (s *suite) confirmEndsRetry(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(0))
	if err := st.Confirm(ctx, tok, s.at(time.Second)); err != nil {
		t.Fatalf("Confirm of a redemption: %v", err)
	}
	s.wantRedeemed(t, st, "after Confirm", tok, first, s.at(time.Second))
	s.wantReentry(t, st, "same client within the grace, after Confirm", s.retryReq(tok, "c1", s.at(grace-time.Second)), first)
	_, err := st.Redeem(ctx, s.retryReq(tok, "c1", s.at(grace+time.Second)))
	wantErr(t, "same client after the grace, after Confirm", err, store.ErrUsed)
	_, err = st.Redeem(ctx, s.retryReq(tok, "c2", s.at(grace+time.Second)))
	wantErr(t, "another client after Confirm", err, store.ErrUsed)

	confirmed := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, confirmed, "c1", s.at(0))
	if err := st.Confirm(ctx, confirmed, s.at(time.Second)); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	err = st.Release(ctx, s.rel(confirmed, "c1", red, s.at(2*time.Second)))
	wantErr(t, "Release of a confirmed redemption", err, store.ErrUsed)
	s.wantRedeemed(t, st, "after a refused Release", confirmed, red, s.at(2*time.Second))
	_, err = st.Redeem(ctx, s.retryReq(confirmed, "c2", s.at(3*time.Second)))
	wantErr(t, "another client after a refused Release", err, store.ErrUsed)
}

// confirmRepeated: confirming again changes nothing.
func (s *suite) confirmRepeated(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(0))
	for i := range 3 {
		if err := st.Confirm(ctx, tok, s.at(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatalf("Confirm %d: %v", i+1, err)
		}
		s.wantRedeemed(t, st, fmt.Sprintf("after Confirm %d", i+1), tok, first, s.at(4*time.Second))
	}
	_, err := st.Redeem(ctx, s.retryReq(tok, "c1", s.at(grace+time.Second)))
	wantErr(t, "same client after the grace, after repeated Confirms", err, store.ErrUsed)
	s.wantReentry(t, st, "same client within the grace, after repeated Confirms", s.retryReq(tok, "c1", s.at(grace-time.Second)), first)
}

// confirmNothing: an issued or revoked token has nothing to confirm, and
// stays as it is; a token never issued, or expired, is unknown.
func (s *suite) confirmNothing(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()

	// Issued: nothing changes, and the redemption after it starts
	// unconfirmed.
	issued := s.issue(t, st, "video-a")
	if err := st.Confirm(ctx, issued, s.at(0)); err != nil {
		t.Fatalf("Confirm of an issued token: %v", err)
	}
	s.wantIssued(t, st, "after Confirm of an issued token", issued, s.at(0))
	red := s.redeemed(t, st, issued, "c1", s.at(time.Second))
	s.wantReentry(t, st, "retry of a redemption after a Confirm of the issued token", s.retryReq(issued, "c1", s.at(grace+2*time.Second)), red)

	// Revoked, before or after a redemption: still revoked.
	revoked := s.issue(t, st, "video-a")
	if err := st.Revoke(ctx, revoked, s.at(0)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	revokedRedeemed := s.issue(t, st, "video-a")
	s.redeemed(t, st, revokedRedeemed, "c1", s.at(0))
	if err := st.Revoke(ctx, revokedRedeemed, s.at(time.Second)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	for _, tok := range []string{revoked, revokedRedeemed} {
		if err := st.Confirm(ctx, tok, s.at(2*time.Second)); err != nil {
			t.Fatalf("Confirm of a revoked token: %v", err)
		}
		if rec, err := st.Lookup(ctx, tok, s.at(2*time.Second)); err != nil || rec.State != store.Revoked {
			t.Fatalf("Lookup after a Confirm of a revoked token = %+v, %v; want revoked", rec, err)
		}
		_, err := st.Redeem(ctx, s.retryReq(tok, "c1", s.at(3*time.Second)))
		wantErr(t, "Redeem after a Confirm of a revoked token", err, store.ErrRevoked)
	}

	err := st.Confirm(ctx, NewToken(), s.at(0))
	wantErr(t, "Confirm of a token never issued", err, store.ErrUnknown)

	expired := s.issue(t, st, "video-a")
	err = st.Confirm(ctx, expired, s.at(tokenTTL+time.Second))
	wantErr(t, "Confirm of an expired issued token", err, store.ErrUnknown)
	err = st.Confirm(ctx, revoked, s.at(tokenTTL+time.Second))
	wantErr(t, "Confirm of an expired revoked token", err, store.ErrUnknown)

	ended := s.issue(t, st, "video-a")
	s.redeemed(t, st, ended, "c1", s.at(0))
	err = st.Confirm(ctx, ended, s.at(sessionTTL+time.Second))
	wantErr(t, "Confirm after the session ended", err, store.ErrUnknown)

	// A session shorter than the token's life ends before the record,
	// which the store keeps for Release: the session is over all the same.
	const short = 10 * time.Minute
	shortTok := s.issue(t, st, "video-a")
	req := s.req(shortTok, "video-a", "c1", s.at(0))
	req.SessionTTL = short
	if _, err := st.Redeem(ctx, req); err != nil {
		t.Fatalf("Redeem with a short session: %v", err)
	}
	err = st.Confirm(ctx, shortTok, s.at(short+time.Minute))
	wantErr(t, "Confirm after a short session ended", err, store.ErrUnknown)
}

// retryAfterRelease: a released token redeemed again starts unconfirmed, for
// its new redeemer only.
func (s *suite) retryAfterRelease(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(0))
	if err := st.Release(ctx, s.rel(tok, "c1", first, s.at(time.Second))); err != nil {
		t.Fatalf("Release: %v", err)
	}
	second := s.redeemed(t, st, tok, "c2", s.at(2*time.Second))
	s.wantReentry(t, st, "the new redeemer after the grace", s.retryReq(tok, "c2", s.at(2*time.Second+grace+time.Second)), second)
	_, err := st.Redeem(ctx, s.retryReq(tok, "c1", s.at(2*time.Second+grace+time.Second)))
	wantErr(t, "the released redeemer within its retry window", err, store.ErrUsed)
	if err := st.Confirm(ctx, tok, s.at(grace+4*time.Second)); err != nil {
		t.Fatalf("Confirm of the new redemption: %v", err)
	}
	_, err = st.Redeem(ctx, s.retryReq(tok, "c2", s.at(2*time.Second+grace+2*time.Second)))
	wantErr(t, "the new redeemer after Confirm", err, store.ErrUsed)
}

// raceConfirmRetry confirms a redemption while its client retries after the
// grace and other clients try the token: every other client is refused,
// the client's retries re-enter the redemption or are refused, and once the
// race is over the retry window is closed.
func (s *suite) raceConfirmRetry(t *testing.T) {
	const rounds, same, others = 50, 4, 4
	st := s.newStore(t)
	ctx := context.Background()
	for range rounds {
		tok := s.issue(t, st, "video-a")
		first := s.redeemed(t, st, tok, "client-0", s.at(0))
		now := s.at(grace + time.Second)
		type result struct {
			client string
			red    store.Redemption
			err    error
		}
		results := make(chan result, same+others)
		var confirmed error
		var start, done sync.WaitGroup
		start.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			confirmed = st.Confirm(ctx, tok, now)
		}()
		for i := range same + others {
			done.Add(1)
			go func() {
				defer done.Done()
				client := "client-0"
				if i >= same {
					client = fmt.Sprint("client-", i)
				}
				start.Wait()
				red, err := st.Redeem(ctx, s.retryReq(tok, client, now.Add(time.Duration(i)*precision)))
				results <- result{client, red, err}
			}()
		}
		start.Done()
		done.Wait()
		close(results)
		if confirmed != nil {
			t.Fatalf("Confirm racing retries: %v", confirmed)
		}
		for r := range results {
			switch {
			case r.err != nil && !errors.Is(r.err, store.ErrUsed):
				t.Fatalf("racing Redeem by %s: %v", r.client, r.err)
			case r.err != nil:
			case r.client != "client-0":
				t.Fatalf("%s got into a token client-0 redeemed: %+v", r.client, r.red)
			case !r.red.Reentry || !sameTime(r.red.RedeemedAt, first.RedeemedAt) || !sameTime(r.red.Expires, first.Expires):
				t.Fatalf("a retry racing Confirm = %+v; want a re-entry of %+v", r.red, first)
			}
		}
		s.wantRedeemed(t, st, "after the race", tok, first, now.Add(time.Second))
		_, err := st.Redeem(ctx, s.retryReq(tok, "client-0", now.Add(time.Second)))
		wantErr(t, "a retry after the race", err, store.ErrUsed)
	}
}

// raceConfirmRedeem races the first redemption of a token, grace off and
// the retry window on: several clients each send several requests at once
// (a player's parallel first requests) while the token is confirmed. One
// client gets in, once first and otherwise by re-entries of that
// redemption; no other client ever does.
func (s *suite) raceConfirmRedeem(t *testing.T) {
	const rounds, clients, perClient = 30, 4, 3
	st := s.newStore(t)
	ctx := context.Background()
	for range rounds {
		tok := s.issue(t, st, "video-a")
		type result struct {
			client int
			red    store.Redemption
			err    error
		}
		results := make(chan result, clients*perClient)
		var confirmed error
		var start, done sync.WaitGroup
		start.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			confirmed = st.Confirm(ctx, tok, s.at(0))
		}()
		for c := range clients {
			for range perClient {
				done.Add(1)
				go func() {
					defer done.Done()
					req := s.retryReq(tok, fmt.Sprint("client-", c), s.at(0))
					req.Grace = 0
					start.Wait()
					red, err := st.Redeem(ctx, req)
					results <- result{c, red, err}
				}()
			}
		}
		start.Done()
		done.Wait()
		close(results)
		if confirmed != nil {
			t.Fatalf("Confirm racing redemptions: %v", confirmed)
		}
		winner, firsts := -1, 0
		var times store.Redemption
		for r := range results {
			switch {
			case r.err != nil && !errors.Is(r.err, store.ErrUsed):
				t.Fatalf("racing Redeem: %v", r.err)
			case r.err != nil:
			case winner >= 0 && r.client != winner:
				t.Fatalf("clients %d and %d both got in", winner, r.client)
			case winner >= 0 && (!sameTime(r.red.RedeemedAt, times.RedeemedAt) || !sameTime(r.red.Expires, times.Expires)):
				t.Fatalf("the winner's requests got different times: %+v and %+v", r.red, times)
			default:
				winner, times = r.client, r.red
				if !r.red.Reentry {
					firsts++
				}
			}
		}
		if winner < 0 || firsts != 1 {
			t.Fatalf("%d clients racing an issued token: winner %d, %d first redemptions; want one winner, once first", clients, winner, firsts)
		}
		// Confirmed now, whichever came first in the race.
		if err := st.Confirm(ctx, tok, s.at(time.Second)); err != nil {
			t.Fatalf("Confirm after the race: %v", err)
		}
		req := s.retryReq(tok, fmt.Sprint("client-", winner), s.at(2*time.Second))
		req.Grace = 0
		_, err := st.Redeem(ctx, req)
		wantErr(t, "the winner's retry after Confirm", err, store.ErrUsed)
	}
}
