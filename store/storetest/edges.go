package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// contractEdges runs the corners of Release, Confirm and Retry that the
// other cases leave between them, at times near now (so that an engine's
// own expiry, a Redis TTL, is exercised as well): a retry re-entry blocks a
// release, a confirmed redemption neither re-enters by retry nor releases,
// a release makes the next redemption unconfirmed and a stale release of the
// old one does nothing, an issue expiry before the session's end wins, a
// revoked token is never released, re-entered or confirmed, and RedeemedAt
// matches below the millisecond. (From the review of issue 10.)
func (s *suite) contractEdges(t *testing.T) {
	st, now := s.newStore(t), s.base
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	req := func(tok, client string, t time.Time, session time.Duration) store.RedeemRequest {
		return store.RedeemRequest{Token: tok, VideoID: "v", Client: client, Now: t, SessionTTL: session, Grace: time.Second, Retry: 30 * time.Second}
	}
	issue := func(ttl time.Duration) string {
		tok := NewToken()
		if err := st.Issue(ctx, tok, "v", at(ttl)); err != nil {
			t.Fatalf("Issue: %v", err)
		}
		return tok
	}
	state := func(tok string, when time.Time) (store.State, error) {
		rec, err := st.Lookup(ctx, tok, when)
		return rec.State, err
	}

	// A retry re-entry (after the grace) stops the release, as a grace one does.
	tok := issue(time.Hour)
	r1, err := st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Redeem(ctx, req(tok, "A", at(5*time.Second), time.Hour)); err != nil || !got.Reentry {
		t.Fatalf("retry re-entry: %+v %v", got, err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(6 * time.Second)}); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("release after a retry re-entry: %v, want ErrUsed", err)
	}

	// Confirm, then: no retry re-entry, no release; the grace still admits.
	tok = issue(time.Hour)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err := st.Confirm(ctx, tok, at(100*time.Millisecond)); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if got, err := st.Redeem(ctx, req(tok, "A", at(500*time.Millisecond), time.Hour)); err != nil || !got.Reentry {
		t.Fatalf("grace re-entry after Confirm: %+v %v", got, err)
	}
	if _, err := st.Redeem(ctx, req(tok, "A", at(5*time.Second), time.Hour)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("retry after Confirm: %v, want ErrUsed", err)
	}

	// Release, then the next redemption starts unconfirmed: its own client's
	// retry re-enters, the first client is refused, a stale release of the
	// first redemption changes nothing.
	tok = issue(time.Hour)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(time.Second)}); err != nil {
		t.Fatalf("release: %v", err)
	}
	r2, err := st.Redeem(ctx, req(tok, "B", at(2*time.Second), time.Hour))
	if err != nil || r2.Reentry {
		t.Fatalf("after the release: %+v %v", r2, err)
	}
	if got, err := st.Redeem(ctx, req(tok, "B", at(20*time.Second), time.Hour)); err != nil || !got.Reentry {
		t.Fatalf("the new redemption is unconfirmed: %+v %v", got, err)
	}
	if _, err := st.Redeem(ctx, req(tok, "A", at(21*time.Second), time.Hour)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("the first client: %v", err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(22 * time.Second)}); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("stale release: %v", err)
	}

	// The issue expiry before the session's end: past it, Release refuses
	// (ErrUnknown) and the record still stands, redeemed, for its session.
	tok = issue(10 * time.Second)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(5*time.Second), time.Hour))
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(11 * time.Second)}); !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("release past the issue expiry: %v, want ErrUnknown", err)
	}
	if s, err := state(tok, at(12*time.Second)); err != nil || s != store.Redeemed {
		t.Fatalf("after a refused late release: %v %v", s, err)
	}
	if _, err := st.Redeem(ctx, req(tok, "B", at(12*time.Second), time.Hour)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("another client: %v", err)
	}

	// Revoked while redeemed: never released, never re-entered, Confirm is a no-op.
	tok = issue(time.Hour)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err := st.Revoke(ctx, tok, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(2 * time.Second)}); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("release of a revoked token: %v", err)
	}
	if err := st.Confirm(ctx, tok, at(2*time.Second)); err != nil {
		t.Fatalf("confirm of a revoked token: %v", err)
	}
	if _, err := st.Redeem(ctx, req(tok, "A", at(500*time.Millisecond), time.Hour)); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("re-entry of a revoked token: %v", err)
	}
	if s, _ := state(tok, at(3*time.Second)); s != store.Revoked {
		t.Fatalf("revoked token is %v", s)
	}

	// A redemption with sub-millisecond times, released by its returned
	// RedeemedAt and by the request's own time.
	for i, by := range []func(r store.Redemption, sent time.Time) time.Time{
		func(r store.Redemption, _ time.Time) time.Time { return r.RedeemedAt },
		func(_ store.Redemption, sent time.Time) time.Time { return sent },
	} {
		tok = issue(time.Hour)
		sent := at(999*time.Microsecond + 700*time.Nanosecond)
		r, err := st.Redeem(ctx, req(tok, "A", sent, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: by(r, sent), Now: at(time.Second)}); err != nil {
			t.Fatalf("sub-millisecond release %d: %v", i, err)
		}
	}
}
