package pgstore_test

// From the review of issue 10: Sweep against Release. (The contract's
// corners are the conformance case ReleaseConfirmRetryEdges.)

import (
	"context"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// HOLDS: Sweep never deletes a row that Release may still restore, nor a
// released row before its issue expiry; a revoked row whose session ended
// goes at its issue expiry at the latest.
func TestAttackPGSweepKeepsReleasableRowsHolds(t *testing.T) {
	pool := testPool(t)
	st := newStore(t, pool)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	req := func(tok string, at time.Time, session time.Duration) store.RedeemRequest {
		return store.RedeemRequest{Token: tok, VideoID: "v", Client: "A", Now: at, SessionTTL: session, Grace: time.Second, Retry: 30 * time.Second}
	}
	// Redeemed with a session shorter than the token's life: after the
	// session, before the issue expiry, the row must stay for a release.
	tok := privatevideo.NewToken()
	st.Issue(ctx, tok, "v", now.Add(time.Hour))
	r, _ := st.Redeem(ctx, req(tok, now, time.Minute))
	if _, err := st.Sweep(ctx, now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r.RedeemedAt, Now: now.Add(10 * time.Minute)}); err != nil {
		t.Fatalf("release after a sweep between the session's end and the issue expiry: %v", err)
	}
	if _, err := st.Sweep(ctx, now.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.Lookup(ctx, tok, now.Add(30*time.Minute)); err != nil || rec.State != store.Issued {
		t.Fatalf("released row after a sweep before its expiry: %+v %v", rec, err)
	}
	if _, err := st.Sweep(ctx, now.Add(61*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var n int
	pool.QueryRow(ctx, "SELECT count(*) FROM "+st.Table()).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows left after every expiry passed", n)
	}
}
