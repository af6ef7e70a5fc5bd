package fleettest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// Outage says how a test takes its store away and brings it back. The
// middleware is never restarted: service must resume by itself.
type Outage struct {
	// Cut makes the store unreachable: killed, hung or cut off.
	Cut func(t *testing.T)
	// Restore brings it back, with the data it held.
	Restore func(t *testing.T)
	// LateExecution says that a call which timed out during the outage may
	// still be carried out when the store returns: a hung server runs what
	// it had received before the client gave up. The token of a refused
	// redemption is then either still issued or redeemed by the very
	// client that was refused, whose retry the grace window admits. Without
	// it, the test requires every refused token to be still issued.
	LateExecution bool
}

// OutageStoreTimeout is the middleware's store timeout in the outage tests.
const OutageStoreTimeout = 250 * time.Millisecond

// answerBound is how long an answer may take during an outage: the store
// timeout and room for a loaded machine, below the 5 seconds (go-redis's
// read timeout) to forever (a stalled PostgreSQL connection) that a call
// would hang if the store ignored its deadline.
const answerBound = OutageStoreTimeout + 3*time.Second

// resumeBound is how long the store may take to serve again after Restore.
const resumeBound = 20 * time.Second

const outageVideo = "outage-video"

// outageGrace is RunOutage's grace window.
const outageGrace = 30 * time.Second

// RunOutage runs a middleware on st through an outage: before it, two
// viewers start playing (one with a cookie, one with avh) and three tokens
// are issued; during it, the playing viewers keep getting media, the new
// redemptions get 503 store-unavailable with Retry-After within the store
// timeout, and issuing fails the same way; after it, with no restart, the
// refused tokens redeem and new ones are issued and redeemed.
func RunOutage(t *testing.T, st store.Store, o Outage) {
	// The grace window is long so that a refused client's retry is a
	// re-entry even on a slow machine, should its call have run late.
	f := newFleet(t, 1, newKeys(), st, privatevideo.WithStoreTimeout(OutageStoreTimeout), privatevideo.WithGrace(outageGrace))
	mw, base := f.mws[0], f.srvs[0].URL
	ctx := context.Background()

	issue := func() string {
		t.Helper()
		tok, err := mw.Issue(ctx, outageVideo)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		return tok
	}

	// The viewers who play through the outage.
	cookieTok, avhTok := issue(), issue()
	jar, _ := cookiejar.New(nil)
	browser := newClient(8)
	browser.Jar = jar
	t.Cleanup(browser.CloseIdleConnections)
	browserURL := base + tokenPath(outageVideo, cookieTok, "hls/720p/seg0.ts")
	if res := do(browser, http.MethodGet, browserURL, "outage-browser"); !res.media() {
		t.Fatalf("browser before the outage: %v", res)
	}
	session, err := sessionToken(do(f.client, http.MethodPost, base+tokenPath(outageVideo, avhTok, "session"), "outage-player"))
	if err != nil {
		t.Fatal(err)
	}
	playerURL := base + "/vod/" + outageVideo + "/hls/720p/seg0.ts?avh=" + session

	waiting := []string{issue(), issue(), issue()}

	// Both viewers play on a loop from now until the end.
	var (
		plays, playsDuringOutage atomic.Int64
		down                     atomic.Bool
		stop                     = make(chan struct{})
		player                   sync.WaitGroup
		failMu                   sync.Mutex
		failures                 []string
	)
	player.Add(1)
	go func() {
		defer player.Done()
		for n := 0; n < 10000; n++ { // bounded; stop ends it long before
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, p := range []struct {
				c        *http.Client
				url, who string
			}{{browser, browserURL, "cookie"}, {f.client, playerURL, "avh"}} {
				res := do(p.c, http.MethodGet, p.url, "outage-"+p.who)
				plays.Add(1)
				if down.Load() {
					playsDuringOutage.Add(1)
				}
				if !res.media() {
					failMu.Lock()
					failures = append(failures, fmt.Sprintf("%s session: %v", p.who, res))
					failMu.Unlock()
				}
			}
		}
	}()
	defer func() {
		close(stop)
		player.Wait()
		if len(failures) > 0 {
			t.Errorf("playing sessions saw %d errors, want none; first: %s", len(failures), failures[0])
		}
		if plays.Load() == 0 || playsDuringOutage.Load() == 0 {
			t.Errorf("the viewers played %d times, %d during the outage; the check proved nothing", plays.Load(), playsDuringOutage.Load())
		}
	}()

	o.Cut(t)
	down.Store(true)

	for i, tok := range waiting {
		res := do(f.client, http.MethodGet, base+tokenPath(outageVideo, tok, "hls/manifest.m3u8"), waitingClient(i))
		if res.err != nil || res.status != http.StatusServiceUnavailable || res.reason != "store-unavailable" {
			t.Fatalf("redemption during the outage: %v, want 503 store-unavailable", res)
		}
		if res.header.Get("Retry-After") == "" {
			t.Fatal("store-unavailable without Retry-After")
		}
		if res.elapsed > answerBound {
			t.Fatalf("redemption during the outage answered after %v, beyond the store timeout %v", res.elapsed, OutageStoreTimeout)
		}
	}
	start := time.Now()
	_, err = mw.Issue(ctx, outageVideo)
	if err == nil || store.IsDenial(err) {
		t.Fatalf("Issue during the outage: %v, want a store failure", err)
	}
	if d := time.Since(start); d > answerBound {
		t.Fatalf("Issue during the outage returned after %v, beyond the store timeout %v", d, OutageStoreTimeout)
	}
	// Let the viewers play a few more times while the store is away.
	for deadline := time.Now().Add(resumeBound); playsDuringOutage.Load() < 6 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}

	o.Restore(t)
	down.Store(false)

	for i, tok := range waiting {
		rec, err := lookupWhenBack(st, tok)
		switch {
		case err != nil:
			t.Fatalf("Lookup after the outage: %v", err)
		case rec.State == store.Issued:
			// Nothing was consumed: the record is as it was issued.
		case o.LateExecution && rec.State == store.Redeemed:
			t.Logf("token %s refused during the outage was redeemed late, when the store returned", redact(tok))
		default:
			t.Fatalf("token refused during the outage is %v after it, want issued: a 503 consumed it", rec.State)
		}
		// The refused client tries again, as Retry-After tells it to.
		res := redeemWhenBack(f.client, base+tokenPath(outageVideo, tok, "hls/manifest.m3u8"), waitingClient(i))
		if !res.media() {
			t.Fatalf("token %s refused during the outage, after it: %v, want the media", redact(tok), res)
		}
		// And it is redeemed once only.
		res = do(f.client, http.MethodGet, base+tokenPath(outageVideo, tok, "hls/manifest.m3u8"), "outage-latecomer")
		if res.err != nil || res.status != http.StatusForbidden || res.reason != "token-used" {
			t.Fatalf("token %s replayed by another client after the outage: %v, want 403 token-used", redact(tok), res)
		}
	}
	fresh, err := mw.Issue(ctx, outageVideo)
	if err != nil {
		t.Fatalf("Issue after the outage: %v", err)
	}
	if res := do(f.client, http.MethodGet, base+tokenPath(outageVideo, fresh, "mp4/source.mp4"), "outage-new-viewer"); !res.media() {
		t.Fatalf("a token issued after the outage: %v, want the media", res)
	}
}

func waitingClient(i int) string { return fmt.Sprintf("outage-waiting/%d", i) }

// lookupWhenBack looks tok up, retrying while the store still fails.
func lookupWhenBack(st store.Store, tok string) (store.Record, error) {
	deadline := time.Now().Add(resumeBound)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), OutageStoreTimeout)
		rec, err := st.Lookup(ctx, tok, time.Now())
		cancel()
		if err == nil || store.IsDenial(err) || time.Now().After(deadline) {
			return rec, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// redeemWhenBack requests url until it answers something else than 503:
// the first requests after a restart may still meet a broken connection.
func redeemWhenBack(c *http.Client, url, ua string) response {
	deadline := time.Now().Add(resumeBound)
	for {
		res := do(c, http.MethodGet, url, ua)
		if res.err != nil || res.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return res
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RunRevocationOutage shows what WithRevocationCheck does while st is away:
// under KeepPlaying a playing session goes on, under StopPlaying it gets 503
// store-unavailable; both play again when the store returns, and both stop
// once the token is revoked.
func RunRevocationOutage(t *testing.T, st store.Store, o Outage) {
	for _, c := range []struct {
		name   string
		policy privatevideo.OutagePolicy
		want   int // status during the outage
	}{
		{"KeepPlaying", privatevideo.KeepPlaying, http.StatusOK},
		{"StopPlaying", privatevideo.StopPlaying, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFleet(t, 1, newKeys(), st, privatevideo.WithStoreTimeout(OutageStoreTimeout), privatevideo.WithRevocationCheck(c.policy))
			mw := f.mws[0]
			tok, err := mw.Issue(context.Background(), outageVideo)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			jar, _ := cookiejar.New(nil)
			browser := newClient(4)
			browser.Jar = jar
			t.Cleanup(browser.CloseIdleConnections)
			url := f.srvs[0].URL + tokenPath(outageVideo, tok, "hls/720p/seg0.ts")
			if res := do(browser, http.MethodGet, url, "revocation-browser"); !res.media() {
				t.Fatalf("before the outage: %v", res)
			}

			o.Cut(t)
			res := do(browser, http.MethodGet, url, "revocation-browser")
			switch {
			case res.err != nil || res.status != c.want:
				t.Fatalf("a playing session during the outage: %v, want status %d", res, c.want)
			case c.want == http.StatusOK && !res.media():
				t.Fatalf("a playing session during the outage: %v, want the media", res)
			case c.want != http.StatusOK && res.reason != "store-unavailable":
				t.Fatalf("a playing session during the outage: %v, want store-unavailable", res)
			case res.elapsed > answerBound:
				t.Fatalf("answered after %v, beyond the store timeout %v", res.elapsed, OutageStoreTimeout)
			}
			o.Restore(t)

			if res := redeemWhenBack(browser, url, "revocation-browser"); !res.media() {
				t.Fatalf("the session after the outage: %v, want the media", res)
			}
			if err := revokeWhenBack(mw, tok); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			res = do(browser, http.MethodGet, url, "revocation-browser")
			if res.err != nil || res.status != http.StatusForbidden || res.reason != "token-revoked" {
				t.Fatalf("the session after its token was revoked: %v, want 403 token-revoked", res)
			}
		})
	}
}

func revokeWhenBack(mw *privatevideo.Middleware, tok string) error {
	deadline := time.Now().Add(resumeBound)
	for {
		err := mw.Revoke(context.Background(), tok)
		if err == nil || errors.Is(err, store.ErrUnknown) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
