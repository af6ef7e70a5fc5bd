package fleettest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// The shape of RunStall: the middleware's defaults halved (a store timeout
// of 1 s, not 2; a grace of 4 s, not 5) and a stall shorter than the two
// together, which should cost no link. Scaled down further, the run
// measures the machine rather than the middleware: on a loaded machine (CI
// runs the browser tests beside it) a store call through the proxy can take
// longer than a timeout of 250 ms, every redemption then fails, and the
// stall never ends for the viewers.
const (
	StallTokens       = 200                     // tokens opened during the stall, each by a client of its own
	StallStoreTimeout = time.Second             // the middleware's store timeout
	StallGrace        = 4 * time.Second         // the middleware's grace
	StallDuration     = 4800 * time.Millisecond // under StallStoreTimeout + StallGrace
)

// stallWarm is how many tokens are opened at once before the stall, so
// that the stall meets a store whose connections are in use, as in
// production: a cold PostgreSQL connection would first prepare its
// statement, a round trip the stall holds, and nothing would run late.
const stallWarm = 32

// stallRetryEvery is how often a refused viewer retries: between it and
// twice it, spread so that the viewers do not march in step.
const stallRetryEvery = 100 * time.Millisecond

// StallResult is what RunStall counted.
type StallResult struct {
	Tokens int // opened during the stall, each by a client of its own
	// Lost is how many tokens their own client never got after the store
	// returned: refused as used (its redemption ran late, when the store
	// resumed) or never served. The target is 0.
	Lost int
	// Late is how many tokens their own client got through a re-entry of
	// a redemption that ran while the client was refused: the store ran
	// it late, and the grace or the retry window let the client back in.
	Late int
	// Recovered is how many of the Lost came back to their own client
	// later: the middleware watches a redemption that failed against the
	// store, and releases it when it turns up having run late.
	Recovered int
	// TwoClients is how many tokens two clients got. It must be 0; RunStall
	// fails the test otherwise.
	TwoClients int
}

func (r StallResult) String() string {
	return fmt.Sprintf("%d tokens opened during a %v stall: %d lost to their own client when it came back (%d of them recovered by the watch of late redemptions), %d got by re-entering a redemption that ran late, %d got by two clients",
		r.Tokens, StallDuration, r.Lost, r.Recovered, r.Late, r.TwoClients)
}

// recoverBound is how long a refused viewer keeps reloading after the
// stall: the middleware's watch of a failed redemption looks after a second,
// then two more.
const recoverBound = 10 * time.Second

// lateStore is the store under test, watched: it counts the tokens that a
// re-entry let in, the sign that a redemption refused to its client ran
// late.
// It also counts the calls and their system failures, which say, when a run
// fails, whether the store was slow to come back or never did.
type lateStore struct {
	store.Store
	mu        sync.Mutex
	reentered map[string]bool
	redeems   storeCalls
	lookups   storeCalls
}

// storeCalls counts the calls of one method and its system failures.
type storeCalls struct{ calls, failed atomic.Int64 }

func (c *storeCalls) count(err error) {
	c.calls.Add(1)
	if err != nil && !store.IsDenial(err) {
		c.failed.Add(1)
	}
}

func (c *storeCalls) String() string {
	return fmt.Sprintf("%d (%d failed)", c.calls.Load(), c.failed.Load())
}

func (s *lateStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	red, err := s.Store.Redeem(ctx, req)
	s.redeems.count(err)
	if err == nil && red.Reentry {
		s.mu.Lock()
		s.reentered[req.Token] = true
		s.mu.Unlock()
	}
	return red, err
}

func (s *lateStore) Lookup(ctx context.Context, token string, now time.Time) (store.Record, error) {
	rec, err := s.Store.Lookup(ctx, token, now)
	s.lookups.count(err)
	return rec, err
}

// RunStall measures the links lost to a store stall. One middleware on st,
// with the store timeout StallStoreTimeout, the grace StallGrace and opts
// on top (the retry window), first opens stallWarm tokens at once. Then o
// cuts the store for StallDuration, during which StallTokens tokens are
// each opened by a client of their own, at moments spread over the stall;
// each client retries every 100 to 200 ms while it gets 503, until it gets
// the media, is refused otherwise, or the store has been back for
// resumeBound. A stall that lets the store run, when it resumes, what it
// received before the middleware gave up (o.LateExecution) redeems some of
// those tokens for clients that were refused; whether their retries get in
// is what this measures. Once every client is done, each winner plays with
// its session once more, and another client tries every token: it must be
// refused. The caller decides what Lost may be.
func RunStall(t *testing.T, st store.Store, o Outage, opts ...privatevideo.Option) StallResult {
	watched := &lateStore{Store: st, reentered: make(map[string]bool)}
	all := append([]privatevideo.Option{privatevideo.WithStoreTimeout(StallStoreTimeout), privatevideo.WithGrace(StallGrace)}, opts...)
	f := newFleet(t, 1, newKeys(), watched, all...)
	mw, base := f.mws[0], f.srvs[0].URL
	c := newClient(StallTokens + stallWarm)
	t.Cleanup(c.CloseIdleConnections)

	issue := func(n int) []string {
		t.Helper()
		toks := make([]string, n)
		for i := range toks {
			tok, err := mw.Issue(context.Background(), outageVideo)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			toks[i] = tok
		}
		return toks
	}
	manifest := func(tok string) string { return base + tokenPath(outageVideo, tok, "hls/manifest.m3u8") }

	// Warm: every connection of the store's pool in use once. A pool that
	// connects afresh may miss the store timeout at first: retry.
	var warm sync.WaitGroup
	for i, tok := range issue(stallWarm) {
		warm.Add(1)
		go func() {
			defer warm.Done()
			if res := redeemWhenBack(c, manifest(tok), fmt.Sprintf("stall-warm/%d", i)); !res.media() {
				t.Errorf("warm-up redemption before the stall: %v, want the media", res)
			}
		}()
	}
	warm.Wait()
	if t.Failed() {
		t.FailNow()
	}

	toks := issue(StallTokens)
	type outcome struct {
		res      response // the last answer
		attempts int
	}
	got := make([]outcome, len(toks))
	viewer := func(i int) string { return fmt.Sprintf("stall-viewer/%d", i) }

	o.Cut(t)
	cut := time.Now()
	var viewers sync.WaitGroup
	for i, tok := range toks {
		viewers.Add(1)
		go func() {
			defer viewers.Done()
			time.Sleep(time.Until(cut.Add(StallDuration * time.Duration(i) / time.Duration(len(toks)))))
			giveUp := cut.Add(StallDuration + resumeBound)
			for {
				res := do(c, http.MethodGet, manifest(tok), viewer(i))
				got[i].res, got[i].attempts = res, got[i].attempts+1
				if res.err != nil || res.status != http.StatusServiceUnavailable || time.Now().After(giveUp) {
					return
				}
				time.Sleep(stallRetryEvery + stallRetryEvery*time.Duration(i%10)/10)
			}
		}()
	}
	time.Sleep(time.Until(cut.Add(StallDuration)))
	o.Restore(t)
	viewers.Wait()

	r := StallResult{Tokens: len(toks)}
	for i, tok := range toks {
		res := got[i].res
		won := res.media()
		switch {
		case won:
		case res.err == nil && res.status == http.StatusForbidden && res.reason == "token-used":
			r.Lost++
		case res.err == nil && res.status == http.StatusServiceUnavailable:
			r.Lost++
			t.Errorf("token %s: its viewer still got 503 %v after the store returned", redact(tok), resumeBound)
		default:
			r.Lost++
			t.Errorf("token %s: its viewer got %v after %d attempts, want the media or token-used", redact(tok), res, got[i].attempts)
		}
		if !won && res.err == nil && res.reason == "token-used" {
			// A viewer reloads: the watch of late redemptions may give
			// the link back.
			for giveUp := time.Now().Add(recoverBound); time.Now().Before(giveUp); time.Sleep(250 * time.Millisecond) {
				if again := do(c, http.MethodGet, manifest(tok), viewer(i)); again.media() {
					res, won = again, true
					r.Recovered++
					break
				}
			}
		}
		if won {
			// The session plays: it comes back, which confirms the
			// redemption.
			again := do(c, http.MethodGet, base+tokenPath(outageVideo, tok, "hls/720p/seg0.ts"), viewer(i), "Cookie", privatevideo.DefaultCookieName+"="+res.sessionTok)
			if !again.media() {
				t.Errorf("token %s: its viewer's session after the stall: %v, want the media", redact(tok), again)
			}
		}
		switch other := redeemWhenBack(c, manifest(tok), "stall-other"); {
		case other.media() && won:
			r.TwoClients++
			t.Errorf("token %s: its viewer and another client both got it", redact(tok))
		case other.media():
			t.Errorf("token %s: another client got it after its viewer was refused (%v)", redact(tok), res)
		case other.err != nil || other.status != http.StatusForbidden || other.reason != "token-used":
			t.Errorf("token %s: another client after the stall: %v, want 403 token-used", redact(tok), other)
		}
		if won && watched.late(tok) {
			r.Late++
		}
	}
	t.Logf("%v (store timeout %v, grace %v; store calls: redemptions %v, lookups %v)", r, StallStoreTimeout, StallGrace, &watched.redeems, &watched.lookups)
	return r
}

func (s *lateStore) late(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reentered[tok]
}

// RunStalls runs RunStall on st twice: with the grace alone
// (WithRetryWindow(0)), and with the middleware's default retry window,
// which must lose no link: the stall is shorter than the store timeout and
// the grace together. When o says the store runs late what it received
// during the stall, the grace alone must lose some links (the viewers who
// opened theirs early in the stall come back after the grace), or the
// measurement proved nothing.
func RunStalls(t *testing.T, st store.Store, o Outage) {
	t.Run("GraceOnly", func(t *testing.T) {
		if r := RunStall(t, st, o, privatevideo.WithRetryWindow(0)); o.LateExecution && r.Lost == 0 {
			t.Errorf("the grace alone lost no link to a stall that runs redemptions late: no redemption ran late, and the measurement proves nothing")
		}
	})
	t.Run("RetryWindow", func(t *testing.T) {
		if r := RunStall(t, st, o); r.Lost > 0 {
			t.Errorf("%d of %d links lost to a %v stall, shorter than the store timeout and the grace together; want none", r.Lost, r.Tokens, StallDuration)
		}
	})
}
