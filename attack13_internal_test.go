package privatevideo

// Round 13: the per-token watch of late redemptions (late.go, 207b4cc)
// attacked behind fault-injecting wrappers of the memory store (the watch
// sees the store only through the store.Store contract, which every store
// passes in store/storetest; the wrappers hide that the memory store never
// blocks). Tests named …Finding failed on 207b4cc, and say what was wrong
// and how it was fixed; tests named …Holds pin attacks that held.

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// a13Store wraps a real store. While stalled, every redemption fails with a
// system error before the caller learns anything, and the ones late picks
// (by their rank among the failed ones, from 1) were received by the store:
// they are held, and run late, stamped with their own request's time, when
// the test says so (runHeld). Lookups fail while stalled, after onLook.
type a13Store struct {
	store.Store
	stalled atomic.Bool
	lookups atomic.Int64
	late    func(n int, req store.RedeemRequest) bool
	onLook  func()

	mu     sync.Mutex
	failed int
	held   []store.RedeemRequest
}

func (s *a13Store) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	if !s.stalled.Load() {
		return s.Store.Redeem(ctx, req)
	}
	s.mu.Lock()
	s.failed++
	if s.late != nil && s.late(s.failed, req) {
		s.held = append(s.held, req)
	}
	s.mu.Unlock()
	return store.Redemption{}, errors.New("kv: i/o timeout")
}

func (s *a13Store) Lookup(ctx context.Context, tok string, now time.Time) (store.Record, error) {
	s.lookups.Add(1)
	if s.stalled.Load() {
		if s.onLook != nil {
			s.onLook()
		}
		return store.Record{}, errors.New("kv: i/o timeout")
	}
	return s.Store.Lookup(ctx, tok, now)
}

// runHeld runs the held redemptions (all of them when which is nil) as the
// resumed store does, and fails the test if one is refused.
func (s *a13Store) runHeld(t *testing.T, which func(i int) bool) {
	t.Helper()
	s.mu.Lock()
	held := append([]store.RedeemRequest(nil), s.held...)
	s.mu.Unlock()
	for i, req := range held {
		if which != nil && !which(i) {
			continue
		}
		if _, err := s.Store.Redeem(context.Background(), req); err != nil && !store.IsDenial(err) {
			t.Fatalf("running held redemption %d late: %v", i, err)
		}
	}
}

func a13New(t *testing.T, opts ...Option) (*Middleware, http.Handler) {
	t.Helper()
	m, err := New([]Key{{Hash: make([]byte, 32)}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("media")) })
	return m, m.Handler(ok)
}

// The clients of these tests: an address and a User-Agent each.
const (
	a13Viewer   = "198.51.100.1:1000"
	a13Attacker = "203.0.113.9:2000"
)

// a13Get asks for an asset of tok's video v1 as client; ctx, when not nil,
// is the request's context.
func a13Get(h http.Handler, tok, asset, client string, cookie *http.Cookie, ctx context.Context) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/vod/v1/token/"+tok+"/"+asset, nil)
	if ctx != nil {
		r = r.WithContext(ctx)
	}
	r.RemoteAddr = client
	r.Header.Set("User-Agent", "player/"+client)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func a13Cookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == DefaultCookieName {
			return c
		}
	}
	t.Fatalf("no session cookie in a %d answer", rec.Code)
	return nil
}

// a13Quiet waits until no token is watched, or fails the test after d.
func a13Quiet(t *testing.T, m *Middleware, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); m.late.len() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d tokens still watched %v on", m.late.len(), d)
		}
	}
}

func a13State(t *testing.T, st store.Store, tok string) store.State {
	t.Helper()
	if w, ok := st.(*a13Store); ok {
		st = w.Store // not counted, never stalled
	}
	rec, err := st.Lookup(context.Background(), tok, time.Now())
	if err != nil {
		t.Fatalf("looking the token up: %v", err)
	}
	return rec.State
}

// FINDING (a late redemption the old code gave back is now lost: the
// 64-attempt cap). watchLate keeps a token's first 64 failed attempts and
// silently drops the rest, while still extending the watch. Its premise,
// "the later ones fail before they reach the store", does not hold across
// one watch: the watch lives 5 minutes after the last attempt, so a viewer
// who retried through a store that refused fast (a restart, a failover, a
// pool that could not connect) fills the 64 slots, and the attempt that a
// later stall does receive and run late is not among them. The look finds
// the token redeemed at a time it does not know, calls it someone else's,
// and ends: the link is spent and nobody had it. Before 207b4cc that
// attempt had a watch of its own and was released.
//
// Fixed: the watch keeps a token's 16 earliest attempts and its 16 latest,
// each as a client and a millisecond, without duplicates.
func TestAttack13AttemptPastCapNeverWatchedFinding(t *testing.T) {
	t.Parallel()
	const attempts = 3 * lateKeep // more than the earliest and the latest kept
	st := &a13Store{Store: store.NewMemory(0), late: func(n int, _ store.RedeemRequest) bool { return n == attempts }}
	m, h := a13New(t, WithStore(st), WithStoreTimeout(200*time.Millisecond))
	tok, err := m.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	st.stalled.Store(true)
	for i := range attempts {
		time.Sleep(2 * time.Millisecond) // each retry in a millisecond of its own
		if rec := a13Get(h, tok, "a.ts", a13Viewer, nil, nil); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d during the outage: %d, want 503", i+1, rec.Code)
		}
	}
	st.stalled.Store(false)
	st.runHeld(t, nil) // the store resumes and runs the last attempt, which it had received
	a13Quiet(t, m, 8*time.Second)
	if s := a13State(t, st, tok); s != store.Issued {
		t.Fatalf("the store ran the viewer's last failed attempt (of %d) late; the watch ended and the token is %v: "+
			"the link is lost (the attempt was never watched)", attempts, s)
	}
}

// FINDING (a late redemption lost to an attempt that comes during the
// watch's last look). runLate decides whether the watch has expired before
// its look, and deletes the watch after it whatever happened meanwhile. An
// attempt that fails while that look is in flight (during an outage a look
// takes up to the store timeout, 2 s) is appended to the watch, which
// extends until, and is then thrown away with it: the store runs it late and
// nobody releases it. Before 207b4cc it had a watch of its own. (The test
// moves the watch's until into the past instead of waiting 5 minutes.)
//
// Fixed: the watch decides whether it has expired after the look, under
// the lock.
func TestAttack13AttemptDuringLastLookDroppedFinding(t *testing.T) {
	t.Parallel()
	looking, proceed := make(chan struct{}, 1), make(chan struct{})
	st := &a13Store{
		Store: store.NewMemory(0),
		late:  func(n int, _ store.RedeemRequest) bool { return n == 2 },
		onLook: func() {
			select {
			case looking <- struct{}{}:
			default:
			}
			<-proceed
		},
	}
	m, h := a13New(t, WithStore(st), WithStoreTimeout(200*time.Millisecond))
	tok, err := m.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	st.stalled.Store(true)
	if rec := a13Get(h, tok, "a.ts", a13Viewer, nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("the first attempt: %d, want 503", rec.Code)
	}
	m.late.mu.Lock()
	m.late.tokens[tok].until = time.Now().Add(-time.Second) // quiet for 5 minutes
	m.late.mu.Unlock()
	select {
	case <-looking:
	case <-time.After(3 * time.Second):
		t.Fatal("the watch never looked")
	}
	// The viewer comes back while the last look waits on the store; the
	// store receives this attempt, and will run it.
	if rec := a13Get(h, tok, "a.ts", a13Viewer, nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("the second attempt: %d, want 503", rec.Code)
	}
	close(proceed)
	time.Sleep(50 * time.Millisecond)
	st.stalled.Store(false)
	st.runHeld(t, nil)
	for deadline := time.Now().Add(4500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if a13State(t, st, tok) == store.Issued {
			return
		}
	}
	t.Fatalf("an attempt that failed during the watch's last look ran late; %d tokens watched, the token is %v: "+
		"the link is lost", m.late.len(), a13State(t, st, tok))
}

// FINDING (the watch releases a redemption that reached the viewer, and the
// token goes to two clients; as before 207b4cc, but still there). The watch
// matches a failed attempt to the record by client and millisecond only. Two
// requests of one player in the same millisecond, one failing with a system
// error and the other redeeming, look the same to Release: the watch
// releases the delivered redemption unless its session came back first
// (the first look is 0.5 to 1.5 s on). With the default memory store the
// failing twin is only a request whose client hung up before the store call
// (an aborted HTTP/2 stream): Memory answers the done context, a system
// error, and a watch starts although Memory can never run anything late.
// The link holder keeps a working session and the link redeems again for
// anyone: single use is gone. (The frozen clock stands for the same
// millisecond.)
//
// Fixed: a redemption that cannot run late (its request had ended before
// the store was called, or the store never blocks) is not watched, and a
// fresh redemption drops the watched attempts of its token, client and
// millisecond (the second half of this test).
func TestAttack13SameMillisecondTwinReleasesDeliveredFinding(t *testing.T) {
	t.Parallel()
	t.Run("ClientGone", func(t *testing.T) {
		t.Parallel()
		mem := store.NewMemory(0)
		a13Twin(t, mem, mem, func(h http.Handler, tok string) {
			gone, cancel := context.WithCancel(context.Background())
			cancel()
			a13Get(h, tok, "a.ts", a13Viewer, nil, gone) // the twin whose client hung up
		})
	})
	t.Run("SystemError", func(t *testing.T) {
		t.Parallel()
		st := &a13Store{Store: store.NewMemory(0)}
		a13Twin(t, st, st.Store, func(h http.Handler, tok string) {
			st.stalled.Store(true)
			a13Get(h, tok, "a.ts", a13Viewer, nil, nil) // the twin that failed, never run
			st.stalled.Store(false)
		})
	})
}

// a13Twin redeems a token for the viewer in the millisecond of a failed
// twin (twin makes it), waits for any watch to end, and checks that the
// link stays the viewer's.
func a13Twin(t *testing.T, st, inner store.Store, twin func(h http.Handler, tok string)) {
	clock := testclock.New(time.Now())
	m, h := a13New(t, WithStore(st), WithClock(clock.Now), WithStoreTimeout(200*time.Millisecond))
	tok, err := m.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	twin(h, tok)
	rec := a13Get(h, tok, "b.ts", a13Viewer, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("the redemption: %d, want 200", rec.Code)
	}
	cookie := a13Cookie(t, rec)
	time.Sleep(100 * time.Millisecond)
	a13Quiet(t, m, 3*time.Second) // the twin's watch, if any, has looked
	after := a13State(t, inner, tok)
	other := a13Get(h, tok, "a.ts", a13Attacker, nil, nil)
	mine := a13Get(h, tok, "c.ts", a13Viewer, cookie, nil)
	if other.Code == http.StatusOK && mine.Code == http.StatusOK {
		t.Fatalf("the watch released the redemption the viewer got (token then %v): another client redeems the link (%d) "+
			"while the first session still plays (%d)", after, other.Code, mine.Code)
	}
	if other.Code != http.StatusForbidden {
		t.Fatalf("another client on the used link: %d, want 403", other.Code)
	}
}

// FINDING (memory: an attacker with a video ID pins ~1.6 GB). Each watched
// attempt keeps rel.Token and the video ID, and both are substrings of the
// request's path, which net/http cut from the request line: every watched
// attempt pins its whole request line, up to maxPath+maxQuery (6 KB) or
// more with an escaped path. 207b4cc raised the bound from 4,096 attempts to
// 4,096 tokens x 64 attempts: during an outage, random tokens on a known
// video with a 4 KB query pin 4096 x 64 x 6 KB, about 1.6 GB (24 MB before).
//
// Fixed: the watch copies the token once, keeps a client and a millisecond
// per attempt (the video comes from the store's record), and at most 32
// attempts per token.
func TestAttack13WatchPinsRequestLinesFinding(t *testing.T) {
	st := &failingStore{Store: store.NewMemory(0), hold: make(chan struct{})}
	m, h := a13New(t, WithStore(st), WithStoreTimeout(50*time.Millisecond))
	const tokens, attempts = 32, 4 * lateKeep
	query := "?x=" + strings.Repeat("a", maxQuery-8)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range tokens {
		tok := NewToken()
		for range attempts {
			if rec := a13Get(h, tok, "a.ts"+query, a13Attacker, nil, nil); rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("an attempt during the outage: %d, want 503", rec.Code)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	watched := m.late.len()
	close(st.hold)
	perToken := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / tokens
	t.Logf("%d tokens watched, %d bytes kept per watched token", watched, perToken)
	if watched != tokens {
		t.Fatalf("%d tokens watched, want %d", watched, tokens)
	}
	// A request line is 6 KB here: a watch that kept one would cross this.
	if perToken > 4096 {
		t.Fatalf("each watched token keeps %d bytes: %d tokens pin %.1f MB", perToken, maxWatchers, float64(maxWatchers*perToken)/(1<<20))
	}
	a13Quiet(t, m, 5*time.Second)
}

// HOLDS (no leak, no race, no two winners, lookups per token not per
// attempt): twelve loops of attempts on 30 tokens from three clients during
// a stall, while looks run; the store had received one attempt of most
// tokens (whoever's) and runs it when it resumes; then the viewer asks for
// every token, and again once the watches are over. Every watch ends, no
// goroutine is left, the store was looked up a few times per token
// (thousands of attempts), the late redemptions the viewer did not re-enter
// are released, and no redemption the viewer got is: another client is
// refused on every one.
func TestAttack13ConcurrentWatchesEndHolds(t *testing.T) {
	t.Parallel()
	first := map[string]bool{}
	st := &a13Store{Store: store.NewMemory(0), late: func(_ int, req store.RedeemRequest) bool {
		if first[req.Token] || rand.N(3) == 0 {
			return false
		}
		first[req.Token] = true // the store had received this one
		return true
	}}
	var released atomic.Int64
	m, h := a13New(t, WithStore(st), WithStoreTimeout(100*time.Millisecond),
		WithReleaseHook(func(r Release) {
			if r.Err == nil {
				released.Add(1)
			}
		}))
	const tokens = 30
	toks := make([]string, tokens)
	for i := range toks {
		var err error
		if toks[i], err = m.Issue(context.Background(), "v1"); err != nil {
			t.Fatal(err)
		}
	}
	baseline := runtime.NumGoroutine()
	clients := []string{a13Viewer, a13Attacker, "192.0.2.77:3000"}
	st.stalled.Store(true)
	var wg sync.WaitGroup
	var attempts atomic.Int64
	stop := time.Now().Add(600 * time.Millisecond)
	for range 12 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				tok, client := toks[rand.N(tokens)], clients[rand.N(len(clients))]
				if rec := a13Get(h, tok, "a.ts", client, nil, nil); rec.Code != http.StatusServiceUnavailable {
					t.Errorf("an attempt during the stall: %d, want 503", rec.Code)
					return
				}
				attempts.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if n := m.late.len(); n > tokens {
		t.Fatalf("%d watches for %d tokens", n, tokens)
	}
	st.stalled.Store(false)
	st.runHeld(t, nil)
	got := map[string]bool{}
	for _, tok := range toks {
		if rec := a13Get(h, tok, "a.ts", a13Viewer, nil, nil); rec.Code == http.StatusOK {
			got[tok] = true
		}
	}
	a13Quiet(t, m, 9*time.Second)
	for _, tok := range toks {
		if !got[tok] {
			if rec := a13Get(h, tok, "a.ts", a13Viewer, nil, nil); rec.Code != http.StatusOK {
				t.Errorf("token %s… after the watch: %d for the viewer, want the late redemption of another client released", tok[:8], rec.Code)
			}
		}
		if rec := a13Get(h, tok, "b.ts", "192.0.2.200:4000", nil, nil); rec.Code != http.StatusForbidden {
			t.Errorf("the viewer got token %s…, and a fourth client gets %d, want 403", tok[:8], rec.Code)
		}
	}
	lookups := st.lookups.Load()
	t.Logf("%d attempts, %d lookups, %d releases, viewer in on %d of %d", attempts.Load(), lookups, released.Load(), len(got), tokens)
	if lookups > tokens*6 {
		t.Errorf("%d lookups for %d tokens (%d attempts): the looks multiply with attempts", lookups, tokens, attempts.Load())
	}
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > baseline+2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the watches ended, %d before", runtime.NumGoroutine(), baseline)
		}
	}
}

// HOLDS (two clients on one token during an outage, a re-entry). The viewer
// and an attacker with the stolen link both fail against a stalled
// PostgreSQL. On the first token the store ran the viewer's attempt late and
// the viewer's retry re-entered it: the watch's release is refused
// (store.ErrUsed), the viewer plays, the attacker is refused. On the second
// it ran the attacker's late: the watch releases the attacker's (nobody got
// it) and the viewer then redeems; the attacker's session never existed.
func TestAttack13TwoClientsAndReentryHolds(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var results []error
	pg := store.NewMemory(0)
	var toks [2]string
	// The attempts come viewer on each token, then the attacker on each, and
	// so on: the store received the viewer's first on the first token and
	// the attacker's first on the second.
	st := &a13Store{Store: pg, late: func(n int, _ store.RedeemRequest) bool { return n == 1 || n == 4 }}
	m, h := a13New(t, WithStore(st), WithStoreTimeout(200*time.Millisecond), WithReleaseHook(func(r Release) {
		mu.Lock()
		results = append(results, r.Err)
		mu.Unlock()
	}))
	for i := range toks {
		var err error
		if toks[i], err = m.Issue(context.Background(), "v1"); err != nil {
			t.Fatal(err)
		}
	}
	st.stalled.Store(true)
	for i := range 6 {
		for _, tok := range toks {
			client := a13Viewer
			if i%2 == 1 {
				client = a13Attacker
			}
			if rec := a13Get(h, tok, "a.ts", client, nil, nil); rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("an attempt during the stall: %d, want 503", rec.Code)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	st.stalled.Store(false)
	st.runHeld(t, nil)
	reentry := a13Get(h, toks[0], "a.ts", a13Viewer, nil, nil)
	if reentry.Code != http.StatusOK {
		t.Fatalf("the viewer's retry on the redemption that ran late: %d, want 200", reentry.Code)
	}
	a13Quiet(t, m, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	var refused, ok int
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrUsed):
			refused++
		}
	}
	if refused != 1 || ok != 1 {
		t.Fatalf("late releases: %d done, %d refused (%v); want the attacker's done and the re-entered one refused", ok, refused, results)
	}
	if rec := a13Get(h, toks[0], "b.ts", a13Attacker, nil, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("the attacker on the viewer's token: %d, want 403", rec.Code)
	}
	if rec := a13Get(h, toks[0], "c.ts", a13Viewer, a13Cookie(t, reentry), nil); rec.Code != http.StatusOK {
		t.Fatalf("the viewer's session: %d, want 200", rec.Code)
	}
	if s := a13State(t, pg, toks[1]); s != store.Issued {
		t.Fatalf("the attacker's late redemption nobody got: %v, want released", s)
	}
	if rec := a13Get(h, toks[1], "a.ts", a13Viewer, nil, nil); rec.Code != http.StatusOK {
		t.Fatalf("the viewer on the released token: %d, want 200", rec.Code)
	}
}

// HOLDS (a used link during an outage). An attacker floods a link the viewer
// already redeemed with 200 attempts while the store is away: the watch
// holds one token and at most 32 attempts, looks a few times, ends at its first look
// once the store answers, and releases nothing: the viewer's redemption
// stands and the attacker is refused.
func TestAttack13UsedLinkFloodHolds(t *testing.T) {
	t.Parallel()
	st := &a13Store{Store: store.NewMemory(0)}
	var releases atomic.Int64
	m, h := a13New(t, WithStore(st), WithStoreTimeout(100*time.Millisecond),
		WithReleaseHook(func(r Release) {
			if r.Err == nil {
				releases.Add(1)
			}
		}))
	tok, err := m.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	rec := a13Get(h, tok, "a.ts", a13Viewer, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("the viewer: %d", rec.Code)
	}
	cookie := a13Cookie(t, rec)
	st.stalled.Store(true)
	for range 200 {
		if rec := a13Get(h, tok, "a.ts", a13Attacker, nil, nil); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("the attacker during the outage: %d, want 503", rec.Code)
		}
	}
	m.late.mu.Lock()
	n, held := len(m.late.tokens), len(m.late.tokens[tok].attempts())
	m.late.mu.Unlock()
	if n != 1 || held < 1 || held > 2*lateKeep {
		t.Fatalf("%d watches holding %d attempts, want 1 and 1 to %d", n, held, 2*lateKeep)
	}
	time.Sleep(300 * time.Millisecond)
	st.stalled.Store(false)
	a13Quiet(t, m, 5*time.Second)
	if r := releases.Load(); r != 0 {
		t.Fatalf("%d releases on a link the viewer holds", r)
	}
	if n := st.lookups.Load(); n > 3 {
		t.Fatalf("%d lookups for one token", n)
	}
	if rec := a13Get(h, tok, "a.ts", a13Attacker, nil, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("the attacker after the outage: %d, want 403", rec.Code)
	}
	if rec := a13Get(h, tok, "b.ts", a13Viewer, cookie, nil); rec.Code != http.StatusOK {
		t.Fatalf("the viewer's session: %d, want 200", rec.Code)
	}
}

// HOLDS (other spellings and methods during an outage). With a stalled
// store, one token sent in every spelling the middleware accepts (upper
// case, mixed case, a percent-encoded hyphen) is one watch, not one per
// spelling; spellings it refuses (no hyphens, braces, a urn, line breaks,
// a trailing dot) and every method but GET never reach the store, so they
// start nothing.
func TestAttack13SpellingsAndMethodsDuringOutageHolds(t *testing.T) {
	t.Parallel()
	st := &a13Store{Store: store.NewMemory(0)}
	m, h := a13New(t, WithStore(st), WithStoreTimeout(100*time.Millisecond))
	tok, err := m.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	st.stalled.Store(true)
	accepted := []string{tok, strings.ToUpper(tok), strings.ToUpper(tok[:8]) + tok[8:], tok[:8] + "%2D" + tok[9:]}
	for _, spelling := range accepted {
		if rec := a13Get(h, spelling, "a.ts", a13Viewer, nil, nil); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s during the outage: %d, want 503", spelling, rec.Code)
		}
	}
	if n := m.late.len(); n != 1 {
		t.Fatalf("%d watches for one token in %d spellings, want 1", n, len(accepted))
	}
	st.mu.Lock()
	reached := st.failed
	st.mu.Unlock()
	refused := []string{
		strings.ReplaceAll(tok, "-", ""), "{" + tok + "}", "urn:uuid:" + tok,
		tok + ".", tok[:8] + "%0A" + tok[9:], tok[:8] + "%0D%0A" + tok[9:],
	}
	for _, spelling := range refused {
		r := httptest.NewRequest(http.MethodGet, "/vod/v1/token/x/a.ts", nil)
		r.URL.Path, r.URL.RawPath = "", ""
		r.RequestURI = "/vod/v1/token/" + spelling + "/a.ts"
		if u, err := r.URL.Parse(r.RequestURI); err == nil {
			r.URL = u
		}
		r.RemoteAddr = a13Viewer
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK || rec.Code == http.StatusServiceUnavailable {
			t.Errorf("%q during the outage: %d, want a refusal that never asks the store", spelling, rec.Code)
		}
	}
	for _, method := range []string{http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
		r := httptest.NewRequest(method, "/vod/v1/token/"+NewToken()+"/a.ts", nil)
		r.RemoteAddr = a13Viewer
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			t.Errorf("%s during the outage: 200", method)
		}
	}
	st.mu.Lock()
	after := st.failed
	st.mu.Unlock()
	if after != reached {
		t.Errorf("%d redemptions reached the store for refused spellings and other methods, want none", after-reached)
	}
	if n := m.late.len(); n != 1 {
		t.Errorf("%d watches after refused spellings and other methods, want still 1", n)
	}
	// The watch ends at its next look once the token is revoked.
	st.stalled.Store(false)
	if err := m.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	a13Quiet(t, m, 5*time.Second)
}
