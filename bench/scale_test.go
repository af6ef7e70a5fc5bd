package bench

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// liveSizes are the store populations of BenchmarkScale.
var liveSizes = []int{1_000, 100_000, 1_000_000}

// BenchmarkScale measures a first redemption and a request with a valid
// session while the memory store holds 1K, 100K and 1M other live tokens,
// and reports the heap cost of one live token at each size.
func BenchmarkScale(b *testing.B) {
	for _, live := range liveSizes {
		st, perToken := filledStore(b, live)
		runtime.GC() // the filling's garbage is not the benchmarks' to collect
		mw, err := privatevideo.New([]privatevideo.Key{{Hash: newKey()}}, privatevideo.WithStore(st))
		if err != nil {
			b.Fatal(err)
		}
		h := mw.Handler(bare)
		name := fmt.Sprintf("live=%s", short(live))
		b.Run(name+"/redeem", func(b *testing.B) {
			redeem(b, mw, h)
			b.ReportMetric(perToken, "bytes/live-token")
		})
		b.Run(name+"/session", func(b *testing.B) {
			tok, err := mw.Issue(context.Background(), video)
			if err != nil {
				b.Fatal(err)
			}
			w := &discard{h: http.Header{}}
			h.ServeHTTP(w, newRequest(tokenPath(tok, "session")))
			sess := sessionCookie(b, w.h)
			r := newRequest(tokenPath(tok, segment))
			r.Header.Set("Cookie", "pv_session="+sess)
			run(b, h, r, http.StatusOK)
		})
		runtime.KeepAlive(st)
	}
}

// filledStore returns a memory store holding live issued tokens and the
// heap growth per token that filling it cost.
func filledStore(b *testing.B, live int) (*store.Memory, float64) {
	b.Helper()
	toks := make([]string, live)
	for i := range toks {
		toks[i] = privatevideo.NewToken()
	}
	expires := time.Now().Add(time.Hour)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st := store.NewMemory(0)
	for _, tok := range toks {
		if err := st.Issue(context.Background(), tok, "a-typical-video-id", expires); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The token strings are garbage once issued (the store keeps 16 bytes
	// each); keep them alive, or their freeing hides the store's growth.
	runtime.KeepAlive(toks)
	return st, float64(after.HeapAlloc-before.HeapAlloc) / float64(live)
}

func sessionCookie(tb testing.TB, h http.Header) string {
	tb.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		return c.Value
	}
	tb.Fatal("no session cookie")
	return ""
}

func short(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dK", n/1_000)
	}
	return fmt.Sprint(n)
}
