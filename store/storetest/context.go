package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// doneContext is a context that is done before the call starts, and the
// error a store's answer must wrap.
type doneContext struct {
	name string
	ctx  context.Context
	want error
}

// doneContexts returns a cancelled context and one past its deadline.
func doneContexts(t *testing.T) []doneContext {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)
	return []doneContext{
		{"Cancelled", cancelled, context.Canceled},
		{"DeadlineExceeded", expired, context.DeadlineExceeded},
	}
}

// wantDone checks that err is the system failure a done context gives:
// it wraps the context's error and is no denial.
func wantDone(t *testing.T, what string, err error, c doneContext) {
	t.Helper()
	if err == nil || !errors.Is(err, c.want) || store.IsDenial(err) {
		t.Fatalf("%s with a %s context: got %v; want a system failure wrapping %v", what, c.name, err, c.want)
	}
}

// doneContext: every operation called with a context already done, by
// cancellation or by its deadline, fails with an error wrapping the
// context's, before anything else (an unknown or malformed token, a token
// that exists), and changes nothing: the record reads the same after, and
// what Lookup does not show (the re-entry mark that stops a release, the
// confirmation that ends the retry window) is unchanged too.
func (s *suite) doneContext(t *testing.T) {
	for _, c := range doneContexts(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Run("Issue", func(t *testing.T) { s.doneIssue(t, c) })
			t.Run("Lookup", func(t *testing.T) { s.doneLookup(t, c) })
			t.Run("Redeem", func(t *testing.T) { s.doneRedeem(t, c) })
			t.Run("Release", func(t *testing.T) { s.doneRelease(t, c) })
			t.Run("Confirm", func(t *testing.T) { s.doneConfirm(t, c) })
			t.Run("Revoke", func(t *testing.T) { s.doneRevoke(t, c) })
		})
	}
}

func (s *suite) doneIssue(t *testing.T, c doneContext) {
	st := s.newStore(t)
	ctx := context.Background()
	tok := NewToken()
	wantDone(t, "Issue", st.Issue(c.ctx, tok, "video-a", s.at(tokenTTL)), c)
	_, err := st.Lookup(ctx, tok, s.at(0))
	wantErr(t, "Lookup after a failed Issue", err, store.ErrUnknown)
	if err := st.Issue(ctx, tok, "video-b", s.at(tokenTTL)); err != nil {
		t.Fatalf("Issue after a failed Issue: %v; the failed one must leave no record", err)
	}
	wantDone(t, "Issue of a token that exists", st.Issue(c.ctx, tok, "video-a", s.at(tokenTTL)), c)
	wantDone(t, "Issue of a malformed token", st.Issue(c.ctx, "not-a-token", "video-a", s.at(tokenTTL)), c)
	if rec, err := st.Lookup(ctx, tok, s.at(0)); err != nil || rec.State != store.Issued || rec.VideoID != "video-b" {
		t.Fatalf("after a failed Issue of a token that exists: Lookup = %+v, %v; want issued for video-b", rec, err)
	}
}

func (s *suite) doneLookup(t *testing.T, c doneContext) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	for what, tok := range map[string]string{"an issued token": tok, "an unknown token": NewToken(), "a malformed token": "not-a-token"} {
		_, err := st.Lookup(c.ctx, tok, s.at(0))
		wantDone(t, "Lookup of "+what, err, c)
	}
}

func (s *suite) doneRedeem(t *testing.T, c doneContext) {
	st := s.newStore(t)
	ctx := context.Background()

	issued := s.issue(t, st, "video-a")
	_, err := st.Redeem(c.ctx, s.retryReq(issued, "c1", s.at(0)))
	wantDone(t, "Redeem", err, c)
	s.wantIssued(t, st, "after a failed Redeem", issued, s.at(0))
	for what, tok := range map[string]string{"an unknown token": NewToken(), "a malformed token": "not-a-token"} {
		_, err := st.Redeem(c.ctx, s.req(tok, "video-a", "c1", s.at(0)))
		wantDone(t, "Redeem of "+what, err, c)
	}

	// A re-entry that fails leaves no mark: the redemption still releases.
	red := s.redeemed(t, st, issued, "c1", s.at(time.Second))
	_, err = st.Redeem(c.ctx, s.retryReq(issued, "c1", s.at(2*time.Second)))
	wantDone(t, "Redeem within the grace", err, c)
	_, err = st.Redeem(c.ctx, s.retryReq(issued, "c1", s.at(time.Second+grace+time.Second)))
	wantDone(t, "Redeem within the retry window", err, c)
	s.wantRedeemed(t, st, "after failed re-entries", issued, red, s.at(3*time.Second))
	if err := st.Release(ctx, s.rel(issued, "c1", red, s.at(4*time.Second))); err != nil {
		t.Fatalf("Release after failed re-entries: %v; they must not count as re-entries", err)
	}
}

func (s *suite) doneRelease(t *testing.T, c doneContext) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, tok, "c1", s.at(0))
	wantDone(t, "Release", st.Release(c.ctx, s.rel(tok, "c1", red, s.at(time.Second))), c)
	wantDone(t, "Release of a malformed token", st.Release(c.ctx, s.rel("not-a-token", "c1", red, s.at(time.Second))), c)
	s.wantRedeemed(t, st, "after a failed Release", tok, red, s.at(time.Second))
	// Still the same redemption, unconfirmed, never re-entered: it releases.
	if err := st.Release(context.Background(), s.rel(tok, "c1", red, s.at(2*time.Second))); err != nil {
		t.Fatalf("Release after a failed one: %v", err)
	}
}

func (s *suite) doneConfirm(t *testing.T, c doneContext) {
	st := s.newStore(t)
	tok := s.issue(t, st, "video-a")
	first := s.redeemed(t, st, tok, "c1", s.at(0))
	wantDone(t, "Confirm", st.Confirm(c.ctx, tok, s.at(time.Second)), c)
	wantDone(t, "Confirm of an unknown token", st.Confirm(c.ctx, NewToken(), s.at(time.Second)), c)
	wantDone(t, "Confirm of a malformed token", st.Confirm(c.ctx, "not-a-token", s.at(time.Second)), c)
	s.wantRedeemed(t, st, "after a failed Confirm", tok, first, s.at(time.Second))
	// Still unconfirmed: the retry window admits its client.
	s.wantReentry(t, st, "retry after a failed Confirm", s.retryReq(tok, "c1", s.at(grace+time.Second)), first)
}

func (s *suite) doneRevoke(t *testing.T, c doneContext) {
	st := s.newStore(t)
	issued := s.issue(t, st, "video-a")
	redeemed := s.issue(t, st, "video-a")
	red := s.redeemed(t, st, redeemed, "c1", s.at(0))
	wantDone(t, "Revoke of an issued token", st.Revoke(c.ctx, issued, s.at(time.Second)), c)
	wantDone(t, "Revoke of a redeemed token", st.Revoke(c.ctx, redeemed, s.at(time.Second)), c)
	wantDone(t, "Revoke of an unknown token", st.Revoke(c.ctx, NewToken(), s.at(time.Second)), c)
	wantDone(t, "Revoke of a malformed token", st.Revoke(c.ctx, "not-a-token", s.at(time.Second)), c)
	s.wantIssued(t, st, "after a failed Revoke", issued, s.at(time.Second))
	s.wantRedeemed(t, st, "after a failed Revoke", redeemed, red, s.at(time.Second))
	s.redeemed(t, st, issued, "c2", s.at(2*time.Second))
	s.wantReentry(t, st, "re-entry after a failed Revoke", s.req(redeemed, "video-a", "c1", s.at(2*time.Second)), red)
}
