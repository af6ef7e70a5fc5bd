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

// The shape of Run's fleet and load.
const (
	Replicas = 4    // middleware instances, each behind its own server
	Tokens   = 2000 // tokens raced
	Racers   = 8    // distinct clients opening each token at the same moment
	InFlight = 32   // tokens raced at once, so that no pool is exhausted
)

// fleetStoreTimeout is long on purpose: the replicas queue 256 requests on
// the store's connection pool of a loaded CI machine, and a timeout here
// would be a 503 counted as a failure. The outage tests cover short ones.
const fleetStoreTimeout = 20 * time.Second

const fleetVideo = "fleet-video"

// Run proves exactly-once redemption across replicas sharing st: Replicas
// middleware instances with the same keys, each behind its own HTTP server,
// the grace window off. Each of Tokens tokens is opened at the same moment by
// Racers distinct clients (distinct User-Agents, no cookies) spread over the
// servers: exactly one must get the media and every other token-used. A
// session issued by one replica must play on the others.
func Run(t *testing.T, st store.Store) {
	keys := newKeys()
	f := newFleet(t, Replicas, keys, st, privatevideo.WithGrace(0), privatevideo.WithStoreTimeout(fleetStoreTimeout))
	t.Run("ExactlyOnce", func(t *testing.T) { f.exactlyOnce(t) })
	t.Run("SessionPlaysOnEveryReplica", func(t *testing.T) { f.sessionOnEveryReplica(t, st) })
}

// tally is what the racers of one token got.
type tally struct {
	wins, used int
	other      []string // unexpected outcomes
	session    string   // the winner's session token, from its cookie
	winner     int      // the winning racer
}

func (f *fleet) exactlyOnce(t *testing.T) {
	var (
		next, bad, checkedSessions atomic.Int64
		reported                   atomic.Int64
		workers                    sync.WaitGroup
	)
	for range InFlight {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= Tokens {
					return
				}
				// Issued by one replica, raced on all of them.
				tok, err := f.mws[i%Replicas].Issue(context.Background(), fleetVideo)
				if err != nil {
					t.Errorf("Issue on replica %d: %v", i%Replicas, err)
					return
				}
				got := f.race(i, tok)
				if got.wins != 1 || got.used != Racers-1 || len(got.other) > 0 {
					bad.Add(1)
					if reported.Add(1) <= 10 {
						t.Errorf("token %d (%s): %d got the media, %d token-used, others %v; want 1 and %d",
							i, redact(tok), got.wins, got.used, got.other, Racers-1)
					}
					continue
				}
				// Every 50th winner's session plays on the other replicas.
				if i%50 == 0 {
					if err := f.playElsewhere(i, got.winner, tok, got.session); err != nil {
						bad.Add(1)
						t.Errorf("token %d: %v", i, err)
					}
					checkedSessions.Add(1)
				}
			}
		}()
	}
	workers.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d tokens were not redeemed exactly once across %d replicas", n, Tokens, Replicas)
	}
	if checkedSessions.Load() == 0 {
		t.Fatal("no winner's session was played on another replica")
	}
}

// race opens tok from Racers clients at once, racer j on server (i+j) mod
// Replicas, and counts what they got.
func (f *fleet) race(i int, tok string) tally {
	results := make([]response, Racers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for j := range Racers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			url := f.srvs[(i+j)%Replicas].URL + tokenPath(fleetVideo, tok, "hls/720p/seg0.ts")
			ua := fmt.Sprintf("fleettest-racer/%d", j)
			ready.Done()
			<-start
			results[j] = do(f.client, http.MethodGet, url, ua)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	var got tally
	for j, res := range results {
		switch {
		case res.media():
			got.wins++
			got.session, got.winner = res.sessionTok, j
		case res.err == nil && res.status == http.StatusForbidden && res.reason == "token-used":
			got.used++
		default:
			got.other = append(got.other, res.String())
		}
	}
	return got
}

// playElsewhere plays the winner's session, from its cookie, through the avh
// parameter on every replica but the one that issued it.
func (f *fleet) playElsewhere(i, winner int, tok, session string) error {
	if session == "" {
		return fmt.Errorf("the winner got no session cookie")
	}
	home := (i + winner) % Replicas
	for r, srv := range f.srvs {
		if r == home {
			continue
		}
		res := do(f.client, http.MethodGet, srv.URL+tokenPath(fleetVideo, tok, "hls/720p/seg1.ts")+"?avh="+session, "fleettest-elsewhere")
		if !res.media() {
			return fmt.Errorf("session from replica %d on replica %d: %v, want the media", home, r, res)
		}
	}
	return nil
}

// sessionOnEveryReplica takes a session from one replica's session endpoint
// and plays it on the others, as avh and as a cookie; a replica with other
// keys refuses it, so the check is not vacuous.
func (f *fleet) sessionOnEveryReplica(t *testing.T, st store.Store) {
	tok, err := f.mws[2].Issue(context.Background(), fleetVideo)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	const home = 1
	res := do(f.client, http.MethodPost, f.srvs[home].URL+tokenPath(fleetVideo, tok, "session"), "fleettest-native-player")
	session, err := sessionToken(res)
	if err != nil {
		t.Fatal(err)
	}
	for r, srv := range f.srvs {
		if r == home {
			continue
		}
		for _, c := range []struct {
			what, path string
			header     []string
		}{
			{"avh on the token's path", tokenPath(fleetVideo, tok, "hls/manifest.m3u8") + "?avh=" + session, nil},
			{"avh on the public path", "/vod/" + fleetVideo + "/thumbnail.jpg?avh=" + session, nil},
			{"cookie", tokenPath(fleetVideo, tok, "mp4/source.mp4"), []string{"Cookie", privatevideo.DefaultCookieName + "=" + session}},
		} {
			res := do(f.client, http.MethodGet, srv.URL+c.path, "fleettest-other-device", c.header...)
			if !res.media() {
				t.Fatalf("session from replica %d, %s, on replica %d: %v, want the media", home, c.what, r, res)
			}
		}
		// The token itself stays used on every replica.
		res := do(f.client, http.MethodGet, srv.URL+tokenPath(fleetVideo, tok, "hls/manifest.m3u8"), "fleettest-late-client")
		if res.err != nil || res.status != http.StatusForbidden || res.reason != "token-used" {
			t.Fatalf("token replayed on replica %d by another client: %v, want 403 token-used", r, res)
		}
	}
	stranger := newFleet(t, 1, newKeys(), st)
	res = do(f.client, http.MethodGet, stranger.srvs[0].URL+tokenPath(fleetVideo, tok, "hls/manifest.m3u8")+"?avh="+session, "fleettest-other-device")
	if res.media() {
		t.Fatal("a replica with other keys accepted the session")
	}
}
