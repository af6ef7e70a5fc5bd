package redisstore_test

// From the review of issue 10: the Redis record's TTLs against the
// contract, and a real stall longer than the retry window. (The contract's
// corners are the conformance case ReleaseConfirmRetryEdges.)

import (
	"context"
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
	"github.com/privatevideo/privatevideo/store/storetest"
)

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
		tok := storetest.NewToken()
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

		tok2 := storetest.NewToken()
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
