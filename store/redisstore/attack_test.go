package redisstore_test

// Round 10 review of the Redis store's Release/Confirm/Retry scripts
// against the store.Store contract, and of a real stall. TestAttack…Finding
// fail on the code they were written against (47b915c); …Holds document
// what held.

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

func attackToken(t *testing.T) string {
	t.Helper()
	return privatevideo.NewToken()
}

// contractEdges runs the corners of Release, Confirm and Retry that the
// conformance suite leaves between its cases, on any store, at times near
// now (so that an engine's own expiry, a Redis TTL, is exercised as well).
func contractEdges(t *testing.T, st store.Store, now time.Time) {
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	req := func(tok, client string, t time.Time, session time.Duration) store.RedeemRequest {
		return store.RedeemRequest{Token: tok, VideoID: "v", Client: client, Now: t, SessionTTL: session, Grace: time.Second, Retry: 30 * time.Second}
	}
	issue := func(ttl time.Duration) string {
		tok := attackToken(t)
		if err := st.Issue(ctx, tok, "v", at(ttl)); err != nil {
			t.Fatalf("Issue: %v", err)
		}
		return tok
	}
	state := func(tok string, when time.Time) (store.State, error) {
		rec, err := st.Lookup(ctx, tok, when)
		return rec.State, err
	}

	// A retry re-entry (after the grace) stops the release, as a grace one does.
	tok := issue(time.Hour)
	r1, err := st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Redeem(ctx, req(tok, "A", at(5*time.Second), time.Hour)); err != nil || !got.Reentry {
		t.Fatalf("retry re-entry: %+v %v", got, err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(6 * time.Second)}); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("release after a retry re-entry: %v, want ErrUsed", err)
	}

	// Confirm, then: no retry re-entry, no release; the grace still admits.
	tok = issue(time.Hour)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err := st.Confirm(ctx, tok, at(100*time.Millisecond)); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if got, err := st.Redeem(ctx, req(tok, "A", at(500*time.Millisecond), time.Hour)); err != nil || !got.Reentry {
		t.Fatalf("grace re-entry after Confirm: %+v %v", got, err)
	}
	if _, err := st.Redeem(ctx, req(tok, "A", at(5*time.Second), time.Hour)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("retry after Confirm: %v, want ErrUsed", err)
	}

	// Release, then the next redemption starts unconfirmed: its own client's
	// retry re-enters, the first client is refused, a stale release of the
	// first redemption changes nothing.
	tok = issue(time.Hour)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(time.Second)}); err != nil {
		t.Fatalf("release: %v", err)
	}
	r2, err := st.Redeem(ctx, req(tok, "B", at(2*time.Second), time.Hour))
	if err != nil || r2.Reentry {
		t.Fatalf("after the release: %+v %v", r2, err)
	}
	if got, err := st.Redeem(ctx, req(tok, "B", at(20*time.Second), time.Hour)); err != nil || !got.Reentry {
		t.Fatalf("the new redemption is unconfirmed: %+v %v", got, err)
	}
	if _, err := st.Redeem(ctx, req(tok, "A", at(21*time.Second), time.Hour)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("the first client: %v", err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(22 * time.Second)}); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("stale release: %v", err)
	}

	// The issue expiry before the session's end: past it, Release refuses
	// (ErrUnknown) and the record still stands, redeemed, for its session.
	tok = issue(10 * time.Second)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(5*time.Second), time.Hour))
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(11 * time.Second)}); !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("release past the issue expiry: %v, want ErrUnknown", err)
	}
	if s, err := state(tok, at(12*time.Second)); err != nil || s != store.Redeemed {
		t.Fatalf("after a refused late release: %v %v", s, err)
	}
	if _, err := st.Redeem(ctx, req(tok, "B", at(12*time.Second), time.Hour)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("another client: %v", err)
	}

	// Revoked while redeemed: never released, never re-entered, Confirm is a no-op.
	tok = issue(time.Hour)
	r1, _ = st.Redeem(ctx, req(tok, "A", at(0), time.Hour))
	if err := st.Revoke(ctx, tok, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: r1.RedeemedAt, Now: at(2 * time.Second)}); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("release of a revoked token: %v", err)
	}
	if err := st.Confirm(ctx, tok, at(2*time.Second)); err != nil {
		t.Fatalf("confirm of a revoked token: %v", err)
	}
	if _, err := st.Redeem(ctx, req(tok, "A", at(500*time.Millisecond), time.Hour)); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("re-entry of a revoked token: %v", err)
	}
	if s, _ := state(tok, at(3*time.Second)); s != store.Revoked {
		t.Fatalf("revoked token is %v", s)
	}

	// A redemption with sub-millisecond times, released by its returned
	// RedeemedAt and by the request's own time.
	for i, by := range []func(r store.Redemption, sent time.Time) time.Time{
		func(r store.Redemption, _ time.Time) time.Time { return r.RedeemedAt },
		func(_ store.Redemption, sent time.Time) time.Time { return sent },
	} {
		tok = issue(time.Hour)
		sent := at(999*time.Microsecond + 700*time.Nanosecond)
		r, err := st.Redeem(ctx, req(tok, "A", sent, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Release(ctx, store.ReleaseRequest{Token: tok, Client: "A", RedeemedAt: by(r, sent), Now: at(time.Second)}); err != nil {
			t.Fatalf("sub-millisecond release %d: %v", i, err)
		}
	}
}

// HOLDS: the corners of the contract, on Redis.
func TestAttackRedisContractEdgesHolds(t *testing.T) {
	contractEdges(t, newStore(t, testClient(t)), time.Now().Truncate(time.Millisecond))
}

// HOLDS: the record lives at least until the later of the issue expiry and
// the session's end, by the server's TTL, through redemption, re-entry,
// confirmation and release; a released record dies just after its issue
// expiry again.
func TestAttackRedisTTLFollowsTheContractHolds(t *testing.T) {
	rc := testClient(t)
	st := newStore(t, rc)
	ctx := context.Background()
	now := time.Now()
	pttl := func(tok string) time.Duration {
		d, err := rc.PTTL(ctx, st.Prefix()+tok).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-5*time.Second || got > want+5*time.Second {
			t.Fatalf("%s: PTTL %v, want about %v", what, got, want)
		}
	}
	req := func(tok string, session time.Duration, at time.Time) store.RedeemRequest {
		return store.RedeemRequest{Token: tok, VideoID: "v", Client: "A", Now: at, SessionTTL: session, Grace: time.Second, Retry: 30 * time.Second}
	}
	for _, c := range []struct {
		name           string
		issue, session time.Duration
	}{{"session ends first", 2 * time.Hour, time.Hour}, {"issue expires first", time.Hour, 3 * time.Hour}} {
		tok := attackToken(t)
		st.Issue(ctx, tok, "v", now.Add(c.issue))
		near(c.name+": issued", pttl(tok), c.issue)
		r, err := st.Redeem(ctx, req(tok, c.session, now))
		if err != nil {
			t.Fatal(err)
		}
		near(c.name+": redeemed", pttl(tok), max(c.issue, c.session))
		st.Redeem(ctx, req(tok, c.session, now.Add(2*time.Second))) // retry re-entry
		st.Confirm(ctx, tok, now.Add(3*time.Second))
		near(c.name+": confirmed", pttl(tok), max(c.issue, c.session))

		tok2 := attackToken(t)
		st.Issue(ctx, tok2, "v", now.Add(c.issue))
		r, _ = st.Redeem(ctx, req(tok2, c.session, now))
		if err := st.Release(ctx, store.ReleaseRequest{Token: tok2, Client: "A", RedeemedAt: r.RedeemedAt, Now: now.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		near(c.name+": released", pttl(tok2), c.issue)
		fields, _ := rc.HGetAll(ctx, st.Prefix()+tok2).Result()
		for _, f := range []string{"r", "c", "x", "u", "g"} {
			if _, ok := fields[f]; ok {
				t.Fatalf("%s: released record keeps field %q: %v", c.name, f, fields)
			}
		}
	}
}

// FINDING (a link lost although nobody watched; "a store stall ending just
// after the retry window"), on a real Redis. The middleware's Redeem is
// sent, the server hangs (SIGSTOP), the viewer gets 503 after the store
// timeout; the server resumes after the retry window and runs the script
// with the request's own time, so the record is stamped as redeemed when
// the request was sent and redeemScript's "now < r + retry" is already
// false: the same viewer's retry gets token-used at once. With the default
// 30 s window, any stall over 30 s does this to every viewer who opened a
// link early in it; a stall of S seconds leaves them 30 - S. The test
// scales the window to 1 s (WithRetryWindow) and stalls 1.5 s.
//
// Fix: on a system failure of Redeem, the middleware queues a Release of
// exactly that redemption (token, client, RedeemedAt = the request's now)
// and retries it in the background until the store answers; an unused late
// redemption is then undone however long the stall.
func TestAttackRedisStallPastRetryWindowFinding(t *testing.T) {
	srv := startRedis(t, false)
	st := newStore(t, srv.client(t))
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: []byte("0123456789abcdef0123456789abcdef")}},
		privatevideo.WithStore(st), privatevideo.WithInsecureCookies(),
		privatevideo.WithStoreTimeout(200*time.Millisecond), privatevideo.WithGrace(300*time.Millisecond),
		privatevideo.WithRetryWindow(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "media "+r.URL.Path)
	})))
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	defer hs.Close()
	tok, err := mw.Issue(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	viewer := &http.Client{Jar: jar}
	u := hs.URL + "/vod/v1/token/" + tok + "/hls/manifest.m3u8"
	get := func() (int, string) {
		resp, err := viewer.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Privatevideo-Reason")
	}

	// A warm server: a pooled connection, the script loaded (as in any
	// running fleet).
	warm, _ := mw.Issue(context.Background(), "v1")
	if _, err := st.Redeem(context.Background(), store.RedeemRequest{Token: warm, VideoID: "v1", Client: "w", Now: time.Now(), SessionTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	srv.signal(t, syscall.SIGSTOP)
	start := time.Now()
	status, reason := get()
	if status != http.StatusServiceUnavailable {
		srv.signal(t, syscall.SIGCONT)
		t.Fatalf("during the stall: %d %s, want 503", status, reason)
	}
	time.Sleep(1500*time.Millisecond - time.Since(start))
	srv.signal(t, syscall.SIGCONT)
	// The server runs what it had received.
	var rec store.Record
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rec, err = st.Lookup(context.Background(), tok, time.Now()); err == nil && rec.State == store.Redeemed {
			break
		}
	}
	// The viewer retries for a while, as a viewer does.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if status, reason = get(); status == http.StatusOK {
			return
		}
	}
	t.Fatalf("a 1.5 s stall with a 1 s retry window: the viewer got 503, the late script left the token %v "+
		"(redeemed at %v, %v before it ran); the viewer's retry gets %d %s: lost, nobody watched",
		rec.State, rec.RedeemedAt.Format(time.StampMilli), time.Since(rec.RedeemedAt).Round(time.Millisecond), status, reason)
}
