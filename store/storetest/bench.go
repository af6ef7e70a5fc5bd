package storetest

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// Prefill issues n tokens for the video "bench", valid for an hour, and
// returns them: the live population the benchmarks below run against.
func Prefill(tb testing.TB, st store.Store, n int) []string {
	tb.Helper()
	toks := make([]string, n)
	expires := time.Now().Add(time.Hour)
	for i := range toks {
		toks[i] = NewToken()
		if err := st.Issue(context.Background(), toks[i], "bench", expires); err != nil {
			tb.Fatalf("Issue: %v", err)
		}
	}
	return toks
}

func benchRequest(tok string, now time.Time) store.RedeemRequest {
	return store.RedeemRequest{Token: tok, VideoID: "bench", Client: "bench-client", Now: now, SessionTTL: sessionTTL}
}

// BenchmarkRedeem measures one Redeem of a fresh token in a store already
// holding live tokens (prefill them with Prefill). Tokens to redeem are issued
// in batches with the timer stopped, so only Redeem is timed; each batch adds
// at most 8192 records to the live population.
func BenchmarkRedeem(b *testing.B, st store.Store) {
	const batch = 8192
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	toks := make([]string, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			toks[i] = NewToken()
			if err := st.Issue(ctx, toks[i], "bench", expires); err != nil {
				b.Fatalf("Issue: %v", err)
			}
		}
		now := time.Now()
		runtime.GC() // the batch's garbage is not the timed part's
		b.StartTimer()
		for _, tok := range toks[:n] {
			if _, err := st.Redeem(ctx, benchRequest(tok, now)); err != nil {
				b.Fatalf("Redeem: %v", err)
			}
		}
		done += n
	}
}

// BenchmarkIssueParallel measures Issue from parallel goroutines: the
// baseline that BenchmarkIssueRedeemParallel is read against.
func BenchmarkIssueParallel(b *testing.B, st store.Store) {
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := st.Issue(ctx, NewToken(), "bench", expires); err != nil {
				b.Errorf("Issue: %v", err)
				return
			}
		}
	})
}

// BenchmarkIssueRedeemParallel measures, from parallel goroutines, the issue
// and then the redemption of a fresh token. Subtract BenchmarkIssueParallel
// for the cost of Redeem alone under contention.
func BenchmarkIssueRedeemParallel(b *testing.B, st store.Store) {
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := NewToken()
			if err := st.Issue(ctx, tok, "bench", expires); err != nil {
				b.Errorf("Issue: %v", err)
				return
			}
			if _, err := st.Redeem(ctx, benchRequest(tok, time.Now())); err != nil {
				b.Errorf("Redeem: %v", err)
				return
			}
		}
	})
}

// BenchmarkLookupParallel measures Lookup of random tokens among live ones
// from parallel goroutines.
func BenchmarkLookupParallel(b *testing.B, st store.Store, live []string) {
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.Lookup(ctx, live[rand.IntN(len(live))], now); err != nil {
				b.Errorf("Lookup: %v", err)
				return
			}
		}
	})
}
