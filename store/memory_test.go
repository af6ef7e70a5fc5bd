package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	t.Run("Unbounded", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) store.Store { return store.NewMemory(0) })
	})
	t.Run("Bounded", func(t *testing.T) {
		// Large enough for the suite's biggest case (10,000 tokens), and
		// shared by every subtest so that eviction runs under the suite.
		st := store.NewMemory(12000)
		storetest.Run(t, func(*testing.T) store.Store { return st })
	})
}

func TestMemoryEvictionFailsClosed(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	st := store.NewMemory(2)
	first := storetest.NewToken()
	for _, tok := range []string{first, storetest.NewToken(), storetest.NewToken()} {
		if err := st.Issue(ctx, tok, "v", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Len(); n != 2 {
		t.Fatalf("Len = %d, want the bound, 2", n)
	}
	_, err := st.Redeem(ctx, store.RedeemRequest{Token: first, VideoID: "v", Client: "c", Now: now, SessionTTL: time.Hour})
	if !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("Redeem of an evicted token: %v, want ErrUnknown", err)
	}
	// Re-issuing the evicted token is the only way back, and it is the
	// application's decision, not an attacker's.
}

func TestMemorySweep(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	st := store.NewMemory(0)
	for i := range 100 {
		if err := st.Issue(ctx, storetest.NewToken(), "v", now.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.Sweep(now.Add(30*time.Minute + time.Second)); got != 30 {
		t.Fatalf("Sweep dropped %d records, want 30", got)
	}
	if got := st.Len(); got != 70 {
		t.Fatalf("Len after Sweep = %d, want 70", got)
	}
}

func TestMemoryRejectsMalformedToken(t *testing.T) {
	st := store.NewMemory(0)
	err := st.Issue(context.Background(), "not-a-token", "v", time.Now().Add(time.Hour))
	if err == nil {
		t.Fatal("Issue accepted a malformed token")
	}
}

var liveSizes = []int{1_000, 1_000_000}

func BenchmarkMemory(b *testing.B) {
	for _, live := range liveSizes {
		// Bounded at twice the live population: the tokens the benchmarks
		// add evict old ones, so the population stays between live and
		// twice that, and no shard (tokens spread over 16 at random) evicts
		// a prefilled token before the lookups have run.
		st := store.NewMemory(2*live + 8192)
		toks := storetest.Prefill(b, st, live)
		name := fmt.Sprintf("live=%d", live)
		b.Run("LookupParallel/"+name, func(b *testing.B) { storetest.BenchmarkLookupParallel(b, st, toks) })
		b.Run("Redeem/"+name, func(b *testing.B) { storetest.BenchmarkRedeem(b, st) })
		b.Run("IssueParallel/"+name, func(b *testing.B) { storetest.BenchmarkIssueParallel(b, st) })
		b.Run("IssueRedeemParallel/"+name, func(b *testing.B) { storetest.BenchmarkIssueRedeemParallel(b, st) })
		b.Run("RedeemReleaseParallel/"+name, func(b *testing.B) {
			storetest.BenchmarkRedeemReleaseClients(b, st, runtime.GOMAXPROCS(0))
		})
	}
}

// BenchmarkMemoryBytesPerToken reports the heap cost of one live record at
// 1M records, measured as the heap growth while filling the store.
func BenchmarkMemoryBytesPerToken(b *testing.B) {
	const n = 1_000_000
	toks := make([]string, n)
	for i := range toks {
		toks[i] = storetest.NewToken()
	}
	expires := time.Now().Add(time.Hour)
	ctx := context.Background()
	var perToken float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		st := store.NewMemory(0)
		for _, tok := range toks {
			if err := st.Issue(ctx, tok, "video-with-a-typical-id", expires); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perToken = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(st)
	}
	b.ReportMetric(perToken, "bytes/token")
}
