package privatevideo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// discardWriter is a reusable ResponseWriter, so that benchmarks measure the
// middleware and not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

var okBody = []byte("segment bytes")

// bareHandler stands for the media handler: the cost every row is compared to.
var bareHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Write(okBody)
})

func benchServe(b *testing.B, h http.Handler, r *http.Request, want int) {
	b.Helper()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = http.StatusOK
		h.ServeHTTP(w, r)
	}
	if w.code != want {
		b.Fatalf("status %d, want %d", w.code, want)
	}
}

func benchMiddleware(b *testing.B, opts ...privatevideo.Option) *privatevideo.Middleware {
	b.Helper()
	mw, err := privatevideo.New([]privatevideo.Key{newKey(b)}, append([]privatevideo.Option{privatevideo.WithStore(store.NewMemory(0))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return mw
}

// sessionFor redeems a fresh token of v1 and returns it with its session token.
func sessionFor(b *testing.B, h http.Handler, mw *privatevideo.Middleware) (tok, sess string) {
	b.Helper()
	tok, err := mw.Issue(context.Background(), "v1")
	if err != nil {
		b.Fatal(err)
	}
	rec := serve(h, tokenPath("v1", tok, "session"))
	if rec.Code != http.StatusOK {
		b.Fatalf("session endpoint: %d", rec.Code)
	}
	for _, c := range rec.Result().Cookies() {
		return tok, c.Value
	}
	b.Fatal("no session cookie")
	return "", ""
}

// BenchmarkRequest compares, in one run, the bare media handler with the
// middleware in front of it on each kind of request.
func BenchmarkRequest(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		benchServe(b, bareHandler, httptest.NewRequest(http.MethodGet, "/vod/v1/hls/720p/seg3.ts", nil), http.StatusOK)
	})
	b.Run("cookie-session", func(b *testing.B) {
		mw := benchMiddleware(b)
		h := mw.Handler(bareHandler)
		tok, sess := sessionFor(b, h, mw)
		r := httptest.NewRequest(http.MethodGet, tokenPath("v1", tok, "hls/720p/seg3.ts"), nil)
		r.Header.Set("Cookie", "_ga=GA1.1.123; pv_session="+sess)
		benchServe(b, h, r, http.StatusOK)
	})
	b.Run("avh-session", func(b *testing.B) {
		mw := benchMiddleware(b)
		h := mw.Handler(bareHandler)
		_, sess := sessionFor(b, h, mw)
		benchServe(b, h, httptest.NewRequest(http.MethodGet, "/vod/v1/hls/720p/seg3.ts?avh="+sess, nil), http.StatusOK)
	})
	b.Run("cookie-session-revocation-check", func(b *testing.B) {
		mw := benchMiddleware(b, privatevideo.WithRevocationCheck(privatevideo.KeepPlaying))
		h := mw.Handler(bareHandler)
		tok, sess := sessionFor(b, h, mw)
		r := httptest.NewRequest(http.MethodGet, tokenPath("v1", tok, "hls/720p/seg3.ts"), nil)
		r.Header.Set("Cookie", "pv_session="+sess)
		benchServe(b, h, r, http.StatusOK)
	})
	b.Run("first-redemption", func(b *testing.B) {
		mw := benchMiddleware(b)
		benchRedeem(b, mw, mw.Handler(bareHandler))
	})
	b.Run("denial-token-required", func(b *testing.B) {
		mw := benchMiddleware(b)
		benchServe(b, mw.Handler(bareHandler), httptest.NewRequest(http.MethodGet, "/vod/v1/hls/720p/seg3.ts", nil), http.StatusForbidden)
	})
	b.Run("denial-token-used", func(b *testing.B) {
		mw := benchMiddleware(b, privatevideo.WithGrace(0))
		h := mw.Handler(bareHandler)
		tok, _ := sessionFor(b, h, mw)
		benchServe(b, h, httptest.NewRequest(http.MethodGet, tokenPath("v1", tok, "hls/720p/seg3.ts"), nil), http.StatusForbidden)
	})
}

// benchRedeem measures first redemptions: tokens and their requests are
// made in batches with the timer stopped.
func benchRedeem(b *testing.B, mw *privatevideo.Middleware, h http.Handler) {
	const batch = 4096
	reqs := make([]*http.Request, batch)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			tok, err := mw.Issue(context.Background(), "v1")
			if err != nil {
				b.Fatal(err)
			}
			reqs[i] = newRequest(tokenPath("v1", tok, "hls/720p/seg3.ts"))
		}
		// Collect the batch's garbage now, so that the timed part pays only
		// for its own.
		runtime.GC()
		b.StartTimer()
		for _, r := range reqs[:n] {
			clear(w.h)
			w.code = http.StatusOK
			h.ServeHTTP(w, r)
		}
		done += n
	}
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

// newRequest is a server request as cheap to build as can be (httptest's
// allocates a 4 KB reader each).
func newRequest(target string) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		panic(err)
	}
	return &http.Request{
		Method: http.MethodGet, URL: u, RequestURI: target, Header: http.Header{},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: "192.0.2.1:1234", Host: "example.com",
	}
}

// BenchmarkRedeemLive measures a first redemption with 1K and 1M other live
// tokens in the memory store, for the cost's flatness.
func BenchmarkRedeemLive(b *testing.B) {
	for _, live := range []int{1_000, 1_000_000} {
		st := store.NewMemory(0)
		expires := time.Now().Add(time.Hour)
		for range live {
			if err := st.Issue(context.Background(), privatevideo.NewToken(), "other", expires); err != nil {
				b.Fatal(err)
			}
		}
		mw, err := privatevideo.New([]privatevideo.Key{newKey(b)}, privatevideo.WithStore(st))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(liveName(live), func(b *testing.B) { benchRedeem(b, mw, mw.Handler(bareHandler)) })
	}
}

func liveName(n int) string {
	if n >= 1_000_000 {
		return "live=1M"
	}
	return "live=1K"
}
