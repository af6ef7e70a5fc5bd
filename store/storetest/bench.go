package storetest

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
// at most 1024 records to the live population.
func BenchmarkRedeem(b *testing.B, st store.Store) {
	const batch = 1024
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

// BenchmarkRedeemClients measures redemptions of fresh tokens by exactly
// clients concurrent callers, and reports them as redemptions/s. The tokens
// are issued first, with the timer stopped, so only Redeem is timed. Read it
// beside RunClients of a plain round trip of the same engine client.
func BenchmarkRedeemClients(b *testing.B, st store.Store, clients int) {
	b.StopTimer()
	toks := make([]string, b.N)
	expires := time.Now().Add(time.Hour)
	var next atomic.Int64
	runClients(clients, func() bool {
		i := int(next.Add(1)) - 1
		if i >= len(toks) {
			return false
		}
		toks[i] = NewToken()
		if err := st.Issue(context.Background(), toks[i], "bench", expires); err != nil {
			b.Errorf("Issue: %v", err)
			return false
		}
		return true
	})
	if b.Failed() {
		return
	}
	next.Store(0)
	now := time.Now()
	RunClients(b, clients, "redemptions/s", func(ctx context.Context) error {
		i := int(next.Add(1)) - 1
		_, err := st.Redeem(ctx, benchRequest(toks[i], now))
		return err
	})
}

// BenchmarkRedeemReleaseClients measures a redemption and its release, the
// pair a failed first request costs, made by exactly clients concurrent
// callers on tokens of their own, and reports the pairs as
// redeem+release/s. Subtract BenchmarkRedeemClients for the release alone.
func BenchmarkRedeemReleaseClients(b *testing.B, st store.Store, clients int) {
	toks := make(chan string, clients)
	expires := time.Now().Add(time.Hour)
	for range clients {
		tok := NewToken()
		if err := st.Issue(context.Background(), tok, "bench", expires); err != nil {
			b.Fatalf("Issue: %v", err)
		}
		toks <- tok
	}
	RunClients(b, clients, "redeem+release/s", func(ctx context.Context) error {
		tok := <-toks
		defer func() { toks <- tok }()
		now := time.Now()
		red, err := st.Redeem(ctx, benchRequest(tok, now))
		if err != nil {
			return err
		}
		return st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "bench-client", RedeemedAt: red.RedeemedAt, Now: now})
	})
}

// RunClients times b.N calls of op made by exactly clients concurrent
// goroutines, and reports their rate in unit (such as "round-trips/s"). The
// first error stops the benchmark.
func RunClients(b *testing.B, clients int, unit string, op func(ctx context.Context) error) {
	if clients < 1 {
		b.Fatalf("RunClients: %d clients", clients)
	}
	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Bool
	b.ReportAllocs()
	b.ResetTimer()
	b.StartTimer()
	runClients(clients, func() bool {
		if next.Add(1) > int64(b.N) || failed.Load() {
			return false
		}
		if err := op(ctx); err != nil {
			if failed.CompareAndSwap(false, true) {
				b.Errorf("%s: %v", unit, err)
			}
			return false
		}
		return true
	})
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, unit)
	}
}

// runClients calls step from n goroutines until it returns false in each.
func runClients(n int, step func() bool) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step() {
			}
		}()
	}
	wg.Wait()
}
