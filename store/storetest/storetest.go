// Package storetest is the conformance suite for privatevideo stores. A store,
// ours or a third party's, proves its contract by calling Run from a test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mystore.New(...) })
//	}
//
// The suite drives time itself: every call carries a time derived from a
// fixed base, so expiry is tested without sleeping, and a store that reads
// its own clock instead of the one it is given fails. Beside each method's
// contract it checks a context done before the call (cancelled, and past
// its deadline) on every method, the outcome when several apply at once (the
// order written on store.Store), and races on one token and on many. It uses
// the standard library only.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/internal/uuid"
	"github.com/privatevideo/privatevideo/store"
)

// NewStore returns the store under test. It may return the same store to
// every caller: the suite's tokens are random and never collide.
type NewStore func(t *testing.T) store.Store

const (
	tokenTTL   = time.Hour
	sessionTTL = 24 * time.Hour
	grace      = 5 * time.Second
	// precision is what the contract asks stores to keep of times.
	precision = time.Millisecond
)

// suite holds one run's clock and store factory.
type suite struct {
	newStore NewStore
	base     time.Time // the suite's "now": real time, so engines' own TTLs agree
}

// Run runs every conformance test against stores from newStore, each as a
// subtest.
func Run(t *testing.T, newStore NewStore) {
	s := &suite{newStore: newStore, base: time.Now().Truncate(precision)}
	t.Run("IssueThenLookup", s.issueThenLookup)
	t.Run("IssueTwice", s.issueTwice)
	t.Run("Redeem", s.redeem)
	t.Run("RedeemTwice", s.redeemTwice)
	t.Run("GraceReentry", s.graceReentry)
	t.Run("Unknown", s.unknown)
	t.Run("WrongVideo", s.wrongVideo)
	t.Run("Revoke", s.revoke)
	t.Run("ExpiryUnredeemed", s.expiryUnredeemed)
	t.Run("ExpiryRedeemed", s.expiryRedeemed)
	t.Run("Release", s.release)
	t.Run("ReleaseRepeated", s.releaseRepeated)
	t.Run("ReleaseOnlyItsRedemption", s.releaseOnlyItsRedemption)
	t.Run("ReleaseAfterReentry", s.releaseAfterReentry)
	t.Run("ReleaseRevoked", s.releaseRevoked)
	t.Run("ReleaseUnknown", s.releaseUnknown)
	t.Run("ReleaseExpired", s.releaseExpired)
	t.Run("ReleaseAfterSessionEnd", s.releaseAfterSessionEnd)
	t.Run("RetryReentry", s.retryReentry)
	t.Run("RetryWindowOff", s.retryWindowOff)
	t.Run("ConfirmEndsRetry", s.confirmEndsRetry)
	t.Run("ConfirmRepeated", s.confirmRepeated)
	t.Run("ConfirmNothing", s.confirmNothing)
	t.Run("RetryAfterRelease", s.retryAfterRelease)
	t.Run("ReleaseConfirmRetryEdges", s.contractEdges)
	t.Run("DoneContext", s.doneContext)
	t.Run("OutcomeOrder", s.outcomeOrder)
	t.Run("TokenSpelling", s.tokenSpelling)
	t.Run("OpaqueClient", s.opaqueClient)
	t.Run("RaceOneToken", s.raceOneToken)
	t.Run("RaceManyTokens", s.raceManyTokens)
	t.Run("RaceWithGrace", s.raceWithGrace)
	t.Run("RaceRelease", s.raceRelease)
	t.Run("RaceReleaseReentry", s.raceReleaseReentry)
	t.Run("RaceConfirmRetry", s.raceConfirmRetry)
	t.Run("RaceConfirmRedeem", s.raceConfirmRedeem)
}

// NewToken returns a fresh private token in canonical form.
func NewToken() string { return uuid.New().String() }

func (s *suite) at(d time.Duration) time.Time { return s.base.Add(d) }

func (s *suite) issue(t *testing.T, st store.Store, video string) string {
	t.Helper()
	tok := NewToken()
	if err := st.Issue(context.Background(), tok, video, s.at(tokenTTL)); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

func (s *suite) req(tok, video, client string, now time.Time) store.RedeemRequest {
	return store.RedeemRequest{Token: tok, VideoID: video, Client: client, Now: now, SessionTTL: sessionTTL, Grace: grace}
}

func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -precision && d < precision
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func (s *suite) issueThenLookup(t *testing.T) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	rec, err := st.Lookup(context.Background(), tok, s.at(0))
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if rec.VideoID != "video-a" || rec.State != store.Issued || !sameTime(rec.Expires, s.at(tokenTTL)) || !rec.RedeemedAt.IsZero() {
		t.Fatalf("Lookup = %+v, want issued for video-a expiring at %v", rec, s.at(tokenTTL))
	}
}

func (s *suite) issueTwice(t *testing.T) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	err := st.Issue(context.Background(), tok, "video-b", s.at(tokenTTL))
	wantErr(t, "second Issue", err, store.ErrExists)
	if _, err := st.Redeem(context.Background(), s.req(tok, "video-a", "c1", s.at(0))); err != nil {
		t.Fatalf("Redeem after refused re-issue: %v", err)
	}
	err = st.Issue(context.Background(), tok, "video-a", s.at(tokenTTL))
	wantErr(t, "Issue of a redeemed token", err, store.ErrExists)
	_, err = st.Redeem(context.Background(), s.req(tok, "video-a", "c2", s.at(time.Minute)))
	wantErr(t, "Redeem after re-issue", err, store.ErrUsed)
}

func (s *suite) redeem(t *testing.T) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	now := s.at(time.Minute)
	got, err := st.Redeem(context.Background(), s.req(tok, "video-a", "c1", now))
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if !sameTime(got.RedeemedAt, now) || !sameTime(got.Expires, now.Add(sessionTTL)) || got.Reentry {
		t.Fatalf("Redeem = %+v, want redeemed at %v until %v, no re-entry", got, now, now.Add(sessionTTL))
	}
	rec, err := st.Lookup(context.Background(), tok, now)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if rec.State != store.Redeemed || rec.VideoID != "video-a" || !sameTime(rec.RedeemedAt, now) || !sameTime(rec.Expires, now.Add(sessionTTL)) {
		t.Fatalf("Lookup after Redeem = %+v", rec)
	}
}

func (s *suite) redeemTwice(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	if _, err := st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(0))); err != nil {
		t.Fatalf("first Redeem: %v", err)
	}
	_, err := st.Redeem(ctx, s.req(tok, "video-a", "c2", s.at(time.Second)))
	wantErr(t, "another client", err, store.ErrUsed)

	noGrace := s.req(tok, "video-a", "c1", s.at(time.Second))
	noGrace.Grace = 0
	_, err = st.Redeem(ctx, noGrace)
	wantErr(t, "same client, grace off", err, store.ErrUsed)
}

func (s *suite) graceReentry(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	first, err := st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(0)))
	if err != nil {
		t.Fatalf("first Redeem: %v", err)
	}
	again, err := st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(grace-time.Second)))
	if err != nil {
		t.Fatalf("same client within grace: %v", err)
	}
	if !again.Reentry || !sameTime(again.Expires, first.Expires) || !sameTime(again.RedeemedAt, first.RedeemedAt) {
		t.Fatalf("re-entry = %+v, want Reentry with the first redemption's times %+v", again, first)
	}
	_, err = st.Redeem(ctx, s.req(tok, "video-a", "c2", s.at(time.Second)))
	wantErr(t, "another client within grace", err, store.ErrUsed)
	_, err = st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(grace+time.Second)))
	wantErr(t, "same client after grace", err, store.ErrUsed)
}

func (s *suite) unknown(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := NewToken()
	_, err := st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(0)))
	wantErr(t, "Redeem", err, store.ErrUnknown)
	_, err = st.Lookup(ctx, tok, s.at(0))
	wantErr(t, "Lookup", err, store.ErrUnknown)
	wantErr(t, "Revoke", st.Revoke(ctx, tok, s.at(0)), store.ErrUnknown)
}

func (s *suite) wrongVideo(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	_, err := st.Redeem(ctx, s.req(tok, "video-b", "c1", s.at(0)))
	wantErr(t, "Redeem on another video", err, store.ErrWrongVideo)
	rec, err := st.Lookup(ctx, tok, s.at(0))
	if err != nil || rec.State != store.Issued {
		t.Fatalf("after a wrong-video attempt Lookup = %+v, %v; want still issued", rec, err)
	}
	if _, err := st.Redeem(ctx, s.req(tok, "video-a", "c2", s.at(time.Second))); err != nil {
		t.Fatalf("Redeem on its own video after a wrong-video attempt: %v", err)
	}
	_, err = st.Redeem(ctx, s.req(tok, "video-b", "c2", s.at(2*time.Second)))
	wantErr(t, "redeemed token on another video", err, store.ErrWrongVideo)
}

func (s *suite) revoke(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()

	issued := s.issue(t, st, "video-a")
	if err := st.Revoke(ctx, issued, s.at(0)); err != nil {
		t.Fatalf("Revoke issued: %v", err)
	}
	_, err := st.Redeem(ctx, s.req(issued, "video-a", "c1", s.at(time.Second)))
	wantErr(t, "Redeem revoked", err, store.ErrRevoked)
	if rec, err := st.Lookup(ctx, issued, s.at(time.Second)); err != nil || rec.State != store.Revoked {
		t.Fatalf("Lookup revoked = %+v, %v; want revoked", rec, err)
	}
	if err := st.Revoke(ctx, issued, s.at(time.Second)); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}

	redeemed := s.issue(t, st, "video-a")
	if _, err := st.Redeem(ctx, s.req(redeemed, "video-a", "c1", s.at(0))); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if err := st.Revoke(ctx, redeemed, s.at(time.Second)); err != nil {
		t.Fatalf("Revoke redeemed: %v", err)
	}
	if rec, err := st.Lookup(ctx, redeemed, s.at(time.Hour)); err != nil || rec.State != store.Revoked {
		t.Fatalf("Lookup of a revoked session = %+v, %v; want revoked", rec, err)
	}
	_, err = st.Redeem(ctx, s.req(redeemed, "video-a", "c1", s.at(2*time.Second)))
	wantErr(t, "grace re-entry of a revoked token", err, store.ErrRevoked)
}

func (s *suite) expiryUnredeemed(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	late := s.issue(t, st, "video-a")
	justInTime := s.issue(t, st, "video-a")

	if _, err := st.Redeem(ctx, s.req(justInTime, "video-a", "c1", s.at(tokenTTL-time.Second))); err != nil {
		t.Fatalf("Redeem a second before expiry: %v", err)
	}
	after := s.at(tokenTTL + time.Second)
	_, err := st.Lookup(ctx, late, after)
	wantErr(t, "Lookup after expiry", err, store.ErrUnknown)
	_, err = st.Redeem(ctx, s.req(late, "video-a", "c1", after))
	wantErr(t, "Redeem after expiry", err, store.ErrUnknown)
	wantErr(t, "Revoke after expiry", st.Revoke(ctx, late, after), store.ErrUnknown)
	// The session outlives the token's own expiry.
	if rec, err := st.Lookup(ctx, justInTime, after); err != nil || rec.State != store.Redeemed {
		t.Fatalf("redeemed token after the issue expiry: %+v, %v; want redeemed", rec, err)
	}
}

func (s *suite) expiryRedeemed(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := s.issue(t, st, "video-a")
	if _, err := st.Redeem(ctx, s.req(tok, "video-a", "c1", s.at(0))); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if _, err := st.Lookup(ctx, tok, s.at(sessionTTL-time.Second)); err != nil {
		t.Fatalf("Lookup before the session ends: %v", err)
	}
	after := s.at(sessionTTL + time.Second)
	_, err := st.Lookup(ctx, tok, after)
	wantErr(t, "Lookup after the session ended", err, store.ErrUnknown)
	_, err = st.Redeem(ctx, s.req(tok, "video-a", "c2", after))
	wantErr(t, "Redeem after the session ended", err, store.ErrUnknown)
}

// A token reaches the store in any letter case and is one record; a
// malformed one is unknown, not a failure.
func (s *suite) tokenSpelling(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := NewToken()
	if err := st.Issue(ctx, strings.ToUpper(tok), "video-a", s.at(tokenTTL)); err != nil {
		t.Fatalf("Issue in upper case: %v", err)
	}
	if rec, err := st.Lookup(ctx, tok, s.at(0)); err != nil || rec.State != store.Issued {
		t.Fatalf("Lookup in lower case: %+v, %v", rec, err)
	}
	red := s.redeemed(t, st, tok, "c1", s.at(0))
	if err := st.Release(ctx, s.rel(strings.ToUpper(tok), "c1", red, s.at(time.Second))); err != nil {
		t.Fatalf("Release in upper case: %v", err)
	}
	s.wantIssued(t, st, "after Release in upper case", tok, s.at(time.Second))
	s.redeemed(t, st, tok, "c1", s.at(2*time.Second))
	if err := st.Confirm(ctx, strings.ToUpper(tok), s.at(3*time.Second)); err != nil {
		t.Fatalf("Confirm in upper case: %v", err)
	}
	_, err := st.Redeem(ctx, s.retryReq(tok, "c1", s.at(2*time.Second+grace+time.Second)))
	wantErr(t, "retry after Confirm in upper case", err, store.ErrUsed)
	for _, bad := range []string{"", "not-a-token", strings.Repeat("a", 36), tok + "x"} {
		_, err := st.Redeem(ctx, s.req(bad, "video-a", "c1", s.at(0)))
		wantErr(t, fmt.Sprintf("Redeem(%q)", bad), err, store.ErrUnknown)
		_, err = st.Lookup(ctx, bad, s.at(0))
		wantErr(t, fmt.Sprintf("Lookup(%q)", bad), err, store.ErrUnknown)
		wantErr(t, fmt.Sprintf("Revoke(%q)", bad), st.Revoke(ctx, bad, s.at(0)), store.ErrUnknown)
		wantErr(t, fmt.Sprintf("Release(%q)", bad), st.Release(ctx, s.rel(bad, "c1", red, s.at(0))), store.ErrUnknown)
		wantErr(t, fmt.Sprintf("Confirm(%q)", bad), st.Confirm(ctx, bad, s.at(0)), store.ErrUnknown)
		wantErr(t, fmt.Sprintf("Issue(%q)", bad), st.Issue(ctx, bad, "video-a", s.at(tokenTTL)), store.ErrUnknown)
	}
}

// Any client identity, bytes that are not UTF-8 included, works for the
// grace and retry windows: the store keeps it opaque.
func (s *suite) opaqueClient(t *testing.T) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	req := s.req(tok, "video-a", "\xff\x00\xfe binary", s.at(0))
	if _, err := st.Redeem(context.Background(), req); err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if red, err := st.Redeem(context.Background(), req); err != nil || !red.Reentry {
		t.Fatalf("re-entry of the same client: %+v, %v", red, err)
	}
	req.Client = "\xff\x00\xfe binarY"
	_, err := st.Redeem(context.Background(), req)
	wantErr(t, "another client", err, store.ErrUsed)

	// A release names its client by the same bytes.
	tok = s.issue(t, st, "video-a")
	red := s.redeemed(t, st, tok, "\xff\x00\xfe binary", s.at(0))
	err = st.Release(context.Background(), s.rel(tok, "\xff\x00\xfe binarY", red, s.at(time.Second)))
	wantErr(t, "Release by another client", err, store.ErrUsed)
	err = st.Release(context.Background(), s.rel(tok, "\xff\x00\xfe binary\x00", red, s.at(time.Second)))
	wantErr(t, "Release by a longer client", err, store.ErrUsed)
	if err := st.Release(context.Background(), s.rel(tok, "\xff\x00\xfe binary", red, s.at(time.Second))); err != nil {
		t.Fatalf("Release by the redeemer: %v", err)
	}

	// So does a retry after the grace.
	red = s.redeemed(t, st, tok, "\xff\x00\xfe binary", s.at(2*time.Second))
	for _, other := range []string{"\xff\x00\xfe binarY", "\xff\x00\xfe binary\x00", "\xff\x00\xfe binar"} {
		_, err = st.Redeem(context.Background(), s.retryReq(tok, other, s.at(2*time.Second+grace+time.Second)))
		wantErr(t, fmt.Sprintf("retry by another client %q", other), err, store.ErrUsed)
	}
	s.wantReentry(t, st, "retry by the redeemer", s.retryReq(tok, "\xff\x00\xfe binary", s.at(2*time.Second+grace+time.Second)), red)
}

// race redeems tok from n goroutines at once, each a distinct client, and
// returns how many succeeded. Any outcome but success or ErrUsed fails t.
func (s *suite) race(t *testing.T, st store.Store, tok string, n int) int {
	var wins atomic.Int32
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			_, err := st.Redeem(context.Background(), s.req(tok, "video-a", fmt.Sprint("client-", i), s.at(0)))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrUsed):
				t.Errorf("racing Redeem: %v", err)
			}
		}()
	}
	start.Done()
	done.Wait()
	return int(wins.Load())
}

func (s *suite) raceOneToken(t *testing.T) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	if wins := s.race(t, st, tok, 64); wins != 1 {
		t.Fatalf("64 goroutines racing one token: %d winners, want 1", wins)
	}
}

func (s *suite) raceManyTokens(t *testing.T) {
	const tokens, racers, parallel = 10000, 8, 32
	st := s.newStore(t)
	toks := make([]string, tokens)
	for i := range toks {
		toks[i] = s.issue(t, st, "video-a")
	}
	var next atomic.Int64
	var badTokens atomic.Int64
	var workers sync.WaitGroup
	for range parallel {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= tokens || t.Failed() {
					return
				}
				if wins := s.race(t, st, toks[i], racers); wins != 1 {
					badTokens.Add(1)
					t.Errorf("token %d: %d winners among %d racers, want 1", i, wins, racers)
				}
			}
		}()
	}
	workers.Wait()
	if n := badTokens.Load(); n > 0 {
		t.Fatalf("%d of %d tokens were not redeemed exactly once", n, tokens)
	}
}

// raceWithGrace races one token from several clients, each sending several
// requests at once, the grace window on: a player's parallel first requests
// meeting another browser. Exactly one client must get in, with all its
// requests (one redemption, the rest re-entries with the same times); every
// other request gets ErrUsed.
func (s *suite) raceWithGrace(t *testing.T) {
	const clients, perClient = 8, 4
	st := s.newStore(t)
	for range 20 {
		tok := s.issue(t, st, "video-a")
		type result struct {
			client int
			red    store.Redemption
			err    error
		}
		results := make(chan result, clients*perClient)
		var start, done sync.WaitGroup
		start.Add(1)
		for c := range clients {
			for range perClient {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					red, err := st.Redeem(context.Background(), s.req(tok, "video-a", fmt.Sprint("client-", c), s.at(0)))
					results <- result{c, red, err}
				}()
			}
		}
		start.Done()
		done.Wait()
		close(results)
		winner, firsts, wins := -1, 0, 0
		var times store.Redemption
		for r := range results {
			switch {
			case r.err == nil:
				if winner >= 0 && r.client != winner {
					t.Fatalf("clients %d and %d both got in", winner, r.client)
				}
				if winner >= 0 && (!sameTime(r.red.RedeemedAt, times.RedeemedAt) || !sameTime(r.red.Expires, times.Expires)) {
					t.Fatalf("the winner's requests got different times: %+v and %+v", r.red, times)
				}
				winner, times = r.client, r.red
				wins++
				if !r.red.Reentry {
					firsts++
				}
			case !errors.Is(r.err, store.ErrUsed):
				t.Fatalf("racing Redeem: %v", r.err)
			}
		}
		if winner < 0 || firsts != 1 || wins != perClient {
			t.Fatalf("%d clients racing one token with grace: winner %d got in %d times of %d, %d of them first redemptions; want one winner, in every time, once first",
				clients, winner, wins, perClient, firsts)
		}
	}
}
