package privatevideo_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/internal/testclock"
	"github.com/privatevideo/privatevideo/store"
)

// releaseFixture serves a media handler that fails as told on the first
// request of each path, and records the releases.
type releaseFixture struct {
	*fixture
	mu       sync.Mutex
	releases []privatevideo.Release
}

func newReleaseFixture(t *testing.T, h http.Handler, opts ...privatevideo.Option) *releaseFixture {
	t.Helper()
	return newReleaseFixtureServer(t, h, nil, nil, false, opts...)
}

// newReleaseFixtureServer is newReleaseFixture with a say in the server's
// configuration (timeouts, HTTP/2) and in the store underneath.
func newReleaseFixtureServer(t *testing.T, h http.Handler, under store.Store, configure func(*httptest.Server), tlsOn bool, opts ...privatevideo.Option) *releaseFixture {
	t.Helper()
	rf := &releaseFixture{}
	if under == nil {
		under = store.NewMemory(0)
	}
	f := &fixture{
		t:     t,
		store: &countingStore{Store: under},
		clock: testclock.New(time.Now()),
		keys:  []privatevideo.Key{newKey(t)},
	}
	all := append([]privatevideo.Option{
		privatevideo.WithStore(f.store), privatevideo.WithClock(f.clock.Now), privatevideo.WithInsecureCookies(),
		privatevideo.WithReleaseHook(func(r privatevideo.Release) {
			rf.mu.Lock()
			rf.releases = append(rf.releases, r)
			rf.mu.Unlock()
		}),
	}, opts...)
	mw, err := privatevideo.New(f.keys, all...)
	if err != nil {
		t.Fatal(err)
	}
	f.mw = mw
	f.srv = httptest.NewUnstartedServer(mw.Handler(h))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if configure != nil {
		configure(f.srv)
	}
	if tlsOn {
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	rf.fixture = f
	return rf
}

func (rf *releaseFixture) causes() []string {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	var out []string
	for _, r := range rf.releases {
		c := r.Cause
		if r.Err != nil {
			c += " (" + r.Err.Error() + ")"
		}
		out = append(out, c)
	}
	return out
}

// failFirst answers the first request with fail, and the later ones with
// the media handler.
func failFirst(fail func(w http.ResponseWriter, r *http.Request)) http.Handler {
	var once sync.Once
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			fail(w, r)
			return
		}
		mediaHandler().ServeHTTP(w, r)
	})
}

// When the handler's answer to a redemption is a failure, the session is not
// delivered and the token is redeemable again: the same viewer's retry after
// the grace window plays; another viewer is then refused.
func TestFailedAnswersReleaseTheRedemption(t *testing.T) {
	for _, c := range []struct {
		name  string
		fail  func(w http.ResponseWriter, r *http.Request)
		cause string
	}{
		{"502", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "origin down", http.StatusBadGateway)
		}, privatevideo.CauseHandlerError},
		{"500 from a playlist", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.WriteHeader(http.StatusInternalServerError)
		}, privatevideo.CauseHandlerError},
		{"panic", func(w http.ResponseWriter, r *http.Request) {
			panic("the handler broke")
		}, privatevideo.CausePanic},
		{"abort", func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}, privatevideo.CausePanic},
	} {
		t.Run(c.name, func(t *testing.T) {
			rf := newReleaseFixture(t, failFirst(c.fail), privatevideo.WithGrace(0))
			tok := rf.issue("v1")
			b := rf.browser("viewer")
			req, _ := http.NewRequest(http.MethodGet, rf.srv.URL+tokenPath("v1", tok, "hls/manifest.m3u8"), nil)
			resp, err := b.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 500 || resp.Header.Get("Set-Cookie") != "" {
					t.Fatalf("first answer: %d Set-Cookie %q, want a 5xx without the session", resp.StatusCode, resp.Header.Get("Set-Cookie"))
				}
			}
			if s := rf.state(tok); s != store.Issued {
				t.Fatalf("after the failure the token is %v, want issued", s)
			}
			if got := rf.causes(); len(got) != 1 || got[0] != c.cause {
				t.Fatalf("releases %v, want one %s", got, c.cause)
			}
			wantOK(t, "the viewer's retry", rf.get(b, tokenPath("v1", tok, "hls/manifest.m3u8")))
			wantOK(t, "the viewer's refresh", rf.get(b, tokenPath("v1", tok, "hls/manifest.m3u8")))
			wantDenied(t, "another viewer", rf.get(rf.browser("other"), tokenPath("v1", tok, "hls/manifest.m3u8")), http.StatusForbidden, "token-used")
		})
	}
}

// A client that gives up before the first byte leaves the token redeemable.
func TestClientGoneBeforeFirstByteReleases(t *testing.T) {
	started := make(chan struct{})
	h := failFirst(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // an origin that has not answered yet
	})
	rf := newReleaseFixture(t, h)
	tok := rf.issue("v1")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rf.srv.URL+tokenPath("v1", tok, "mp4/source.mp4"), nil)
	errc := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	<-started
	cancel()
	<-errc
	// The release runs on the server's side once it sees the client gone:
	// the store first, then the hook.
	deadline := time.Now().Add(5 * time.Second)
	for (rf.state(tok) != store.Issued || len(rf.causes()) == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := rf.state(tok); s != store.Issued {
		t.Fatalf("after the client gave up the token is %v, want issued", s)
	}
	if got := rf.causes(); len(got) != 1 || got[0] != privatevideo.CauseClientGone {
		t.Fatalf("releases %v, want one %s", got, privatevideo.CauseClientGone)
	}
}

// An answer that has not started within the first-byte timeout is a 504, its
// handler's context is cancelled, and the redemption is released; that
// includes a playlist held back for rewriting while its origin trickles.
func TestFirstByteTimeout(t *testing.T) {
	for _, c := range []struct {
		name string
		fail func(w http.ResponseWriter, r *http.Request)
	}{
		{"hang", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{"ignores its context", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(600 * time.Millisecond)
			w.Write([]byte("too late"))
		}},
		{"trickled playlist", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.Write([]byte("#EXTM3U\n"))
			for i := 0; r.Context().Err() == nil && i < 100; i++ {
				if _, err := w.Write([]byte("#EXTINF:2,\nseg.ts\n")); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rf := newReleaseFixture(t, failFirst(c.fail), privatevideo.WithFirstByteTimeout(200*time.Millisecond))
			tok := rf.issue("v1")
			res := rf.get(rf.player("ffmpeg"), tokenPath("v1", tok, "hls/manifest.m3u8"))
			if res.status != http.StatusGatewayTimeout || res.header.Get("Set-Cookie") != "" || strings.Contains(res.body, "too late") {
				t.Fatalf("%d %q Set-Cookie %q, want 504 without the session", res.status, res.body, res.header.Get("Set-Cookie"))
			}
			if s := rf.state(tok); s != store.Issued {
				t.Fatalf("after the timeout the token is %v, want issued", s)
			}
			if got := rf.causes(); len(got) != 1 || got[0] != privatevideo.CauseFirstByteTimeout {
				t.Fatalf("releases %v, want one %s", got, privatevideo.CauseFirstByteTimeout)
			}
			wantOK(t, "the retry", rf.get(rf.player("ffmpeg"), tokenPath("v1", tok, "hls/manifest.m3u8")))
		})
	}
}

// Answers that did reach the viewer are not released: a 404 delivers the
// session as a 200 does. And a failure after a grace re-entry, which carried
// the session to the same client already, is not released either.
func TestDeliveredAnswersStayRedeemed(t *testing.T) {
	rf := newReleaseFixture(t, failFirst(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	tok := rf.issue("v1")
	b := rf.browser("viewer")
	if res := rf.get(b, tokenPath("v1", tok, "nothing-here.ts")); res.status != http.StatusNotFound {
		t.Fatalf("%d, want the handler's 404", res.status)
	}
	if s := rf.state(tok); s != store.Redeemed {
		t.Fatalf("after a 404 the token is %v, want redeemed", s)
	}
	wantOK(t, "the session plays", rf.get(b, tokenPath("v1", tok, "other.ts")))
	if got := rf.causes(); len(got) != 0 {
		t.Fatalf("releases %v, want none", got)
	}

	// Grace: the parallel second request gets the session; the first then
	// fails: its release is refused and the token stays spent.
	gate := make(chan struct{})
	var n sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow.ts") {
			<-gate
			http.Error(w, "broke", http.StatusBadGateway)
			return
		}
		mediaHandler().ServeHTTP(w, r)
	})
	rf2 := newReleaseFixture(t, h)
	tok2 := rf2.issue("v1")
	p := rf2.player("same")
	n.Add(1)
	go func() {
		defer n.Done()
		rf2.get(p, tokenPath("v1", tok2, "slow.ts"))
	}()
	for rf2.state(tok2) != store.Redeemed {
		time.Sleep(5 * time.Millisecond)
	}
	wantOK(t, "grace re-entry", rf2.get(p, tokenPath("v1", tok2, "fast.ts")))
	close(gate)
	n.Wait()
	if s := rf2.state(tok2); s != store.Redeemed {
		t.Fatalf("after a re-entry and a failure the token is %v, want redeemed", s)
	}
	if got := rf2.causes(); len(got) != 1 || !strings.HasPrefix(got[0], privatevideo.CauseHandlerError+" (") {
		t.Fatalf("releases %v, want one refused %s", got, privatevideo.CauseHandlerError)
	}
}
