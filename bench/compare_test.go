package bench

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/sessions"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// The request every contender answers: a segment of a private video.
const (
	video   = "v1"
	segment = "hls/720p/seg3.ts"
)

var segmentBody = []byte("segment bytes")

// bare is the media handler every row wraps: the cost all are compared to.
var bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(segmentBody) })

// discard is a reusable ResponseWriter, so that the benchmarks measure the
// handlers, not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

func newKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// newRequest builds a server request as cheaply as possible.
func newRequest(target string) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		panic(err)
	}
	return &http.Request{
		Method: http.MethodGet, URL: u, RequestURI: target, Header: http.Header{},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: "192.0.2.1:1234", Host: "media.example",
	}
}

// run serves r with h, each time as a fresh shallow copy, as a server hands
// every request over new: gorilla/sessions keeps its registry in the
// request, and would otherwise answer from it after the first iteration.
// The copy costs every contender, bare included, the same one allocation.
func run(b *testing.B, h http.Handler, r *http.Request, want int) {
	b.Helper()
	w := &discard{h: http.Header{}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = http.StatusOK
		h.ServeHTTP(w, r.WithContext(ctx))
	}
	if w.code != want {
		b.Fatalf("status %d, want %d", w.code, want)
	}
}

// privatevideoSetup returns a middleware around bare and a redeemed token
// with its session token.
func privatevideoSetup(tb testing.TB, opts ...privatevideo.Option) (*privatevideo.Middleware, http.Handler, string, string) {
	tb.Helper()
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: newKey()}}, append([]privatevideo.Option{privatevideo.WithStore(store.NewMemory(0))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	h := mw.Handler(bare)
	tok, err := mw.Issue(context.Background(), video)
	if err != nil {
		tb.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(tokenPath(tok, "session")))
	if rec.Code != http.StatusOK {
		tb.Fatalf("session endpoint: %d", rec.Code)
	}
	for _, c := range rec.Result().Cookies() {
		return mw, h, tok, c.Value
	}
	tb.Fatal("no session cookie")
	return nil, nil, "", ""
}

func tokenPath(tok, asset string) string { return "/vod/" + video + "/token/" + tok + "/" + asset }

// BenchmarkCompare runs, in one go and on the same request, the bare handler,
// privatevideo on each kind of request, the session checks of
// gorilla/sessions and scs, and the floor: a hand-written check of one
// HMAC-SHA256 over the cookie with a reused key state.
func BenchmarkCompare(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		run(b, bare, newRequest("/vod/"+video+"/"+segment), http.StatusOK)
	})
	b.Run("floor", func(b *testing.B) {
		h, cookie := floorSetup()
		r := newRequest(tokenPath(privatevideo.NewToken(), segment))
		r.Header.Set("Cookie", "pv_session="+cookie)
		run(b, h, r, http.StatusOK)
	})
	b.Run("privatevideo/cookie-session", func(b *testing.B) {
		_, h, tok, sess := privatevideoSetup(b)
		r := newRequest(tokenPath(tok, segment))
		r.Header.Set("Cookie", "pv_session="+sess)
		run(b, h, r, http.StatusOK)
	})
	b.Run("privatevideo/avh-session", func(b *testing.B) {
		_, h, _, sess := privatevideoSetup(b)
		run(b, h, newRequest("/vod/"+video+"/"+segment+"?avh="+sess), http.StatusOK)
	})
	b.Run("privatevideo/first-redemption", func(b *testing.B) {
		mw, h, _, _ := privatevideoSetup(b)
		redeem(b, mw, h)
	})
	b.Run("privatevideo/denial", func(b *testing.B) {
		_, h, tok, _ := privatevideoSetup(b, privatevideo.WithGrace(0), privatevideo.WithRetryWindow(0))
		run(b, h, newRequest(tokenPath(tok, segment)), http.StatusForbidden) // token-used
	})
	b.Run("gorilla-sessions/read", func(b *testing.B) {
		h, cookie := gorillaSetup(b)
		r := newRequest(tokenPath(privatevideo.NewToken(), segment))
		r.Header.Set("Cookie", cookie)
		run(b, h, r, http.StatusOK)
	})
	b.Run("scs/load-and-save", func(b *testing.B) {
		h, cookie := scsSetup(b)
		r := newRequest(tokenPath(privatevideo.NewToken(), segment))
		r.Header.Set("Cookie", cookie)
		run(b, h, r, http.StatusOK)
	})
}

// redeem measures first redemptions: tokens and their requests are made in
// batches with the timer stopped, and their garbage collected before the
// timer starts again.
func redeem(b *testing.B, mw *privatevideo.Middleware, h http.Handler) {
	const batch = 4096
	reqs := make([]*http.Request, batch)
	w := &discard{h: http.Header{}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			tok, err := mw.Issue(context.Background(), video)
			if err != nil {
				b.Fatal(err)
			}
			reqs[i] = newRequest(tokenPath(tok, segment))
		}
		runtime.GC()
		b.StartTimer()
		for _, r := range reqs[:n] {
			clear(w.h)
			w.code = http.StatusOK
			h.ServeHTTP(w, r.WithContext(ctx)) // as run does
		}
		done += n
	}
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

// floorCheck is the least a signed cookie costs: find it in the header and
// compare one HMAC-SHA256 of its payload, computed with a reused key state,
// with its tag. It does no more (no expiry, no binding, no context).
type floorCheck struct {
	next http.Handler
	pool sync.Pool
}

func floorSetup() (http.Handler, string) {
	key := newKey()
	f := &floorCheck{next: bare, pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
	payload := base64.RawURLEncoding.EncodeToString([]byte("MTc5NTgwOTEzOHxBYlkzc1VncEdFYlNzcmtpZGctMzFwc0FBQUFBYXdz"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return f, payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (f *floorCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			v, ok := strings.CutPrefix(strings.TrimSpace(part), "pv_session=")
			if !ok {
				continue
			}
			dot := strings.LastIndexByte(v, '.')
			if dot < 0 {
				continue
			}
			var tag, sum [sha256.Size]byte
			if n, err := base64.RawURLEncoding.Decode(tag[:], []byte(v[dot+1:])); err != nil || n != len(tag) {
				continue
			}
			h := f.pool.Get().(hash.Hash)
			h.Reset()
			h.Write([]byte(v[:dot]))
			h.Sum(sum[:0])
			f.pool.Put(h)
			if hmac.Equal(sum[:], tag[:]) {
				f.next.ServeHTTP(w, r)
				return
			}
		}
	}
	w.WriteHeader(http.StatusForbidden)
}

// gorillaSetup returns a handler that reads a gorilla/sessions CookieStore
// session holding what a privatevideo session holds, and the Cookie header
// that opens it.
func gorillaSetup(tb testing.TB) (http.Handler, string) {
	tb.Helper()
	cs := sessions.NewCookieStore(newKey())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := cs.Get(r, "pv_session")
		if err != nil || s.Values["video"] != video {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		bare.ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	r := newRequest("/")
	s, _ := cs.New(r, "pv_session")
	s.Values["video"] = video
	s.Values["token"] = privatevideo.NewToken()
	s.Values["expires"] = time.Now().Add(24 * time.Hour).Unix()
	if err := s.Save(r, rec); err != nil {
		tb.Fatal(err)
	}
	return h, cookieHeader(tb, rec)
}

// scsSetup returns scs's LoadAndSave with its memory store around a handler
// that reads the session, and the Cookie header of a stored session.
func scsSetup(tb testing.TB) (http.Handler, string) {
	tb.Helper()
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sm.GetString(r.Context(), "video") != video {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		bare.ServeHTTP(w, r)
	}))
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "video", video)
		sm.Put(r.Context(), "token", privatevideo.NewToken())
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, newRequest("/"))
	return h, cookieHeader(tb, rec)
}

func cookieHeader(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	cs := rec.Result().Cookies()
	if len(cs) == 0 {
		tb.Fatal("no cookie set")
	}
	return cs[0].Name + "=" + cs[0].Value
}
