// Package fleettest drives privatevideo middleware fleets over real HTTP
// against a real store, for the tests of the shared stores (Redis,
// PostgreSQL): exactly-once redemption across replicas, sessions that play on
// every replica, behaviour during store outages, and the links a store stall
// costs.
//
// It lives in the root module, internal so that only privatevideo's own
// modules use it; the store modules import it because their import paths
// share the root's prefix. It uses the standard library only.
package fleettest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// fleet is a set of middleware replicas sharing keys and a store, each
// behind its own HTTP server.
type fleet struct {
	t      testing.TB
	mws    []*privatevideo.Middleware
	srvs   []*httptest.Server
	client *http.Client
}

// newKeys returns one fresh signing key.
func newKeys() []privatevideo.Key {
	k := privatevideo.Key{Hash: make([]byte, 32)}
	rand.Read(k.Hash)
	return []privatevideo.Key{k}
}

// newFleet starts n replicas with keys and st, configured by opts on top of
// insecure cookies (httptest serves plain HTTP).
func newFleet(t testing.TB, n int, keys []privatevideo.Key, st store.Store, opts ...privatevideo.Option) *fleet {
	t.Helper()
	f := &fleet{t: t, client: newClient(n * 64)}
	t.Cleanup(f.client.CloseIdleConnections)
	all := append([]privatevideo.Option{privatevideo.WithStore(st), privatevideo.WithInsecureCookies()}, opts...)
	for range n {
		mw, err := privatevideo.New(keys, all...)
		if err != nil {
			t.Fatalf("privatevideo.New: %v", err)
		}
		srv := httptest.NewServer(mw.Handler(media()))
		t.Cleanup(srv.Close)
		f.mws = append(f.mws, mw)
		f.srvs = append(f.srvs, srv)
	}
	return f
}

// newClient returns a client that keeps no cookies, follows no redirects
// and keeps enough idle connections for the fleet's parallel requests, so
// that the test does not churn through ephemeral ports.
func newClient(idle int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        idle,
			MaxIdleConnsPerHost: idle,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second, // a hung request fails the test instead of the run
	}
}

// mediaPrefix starts every body of the media handler, so that a response
// from it is told apart from a denial.
const mediaPrefix = "media:"

// media stands for the media handler: it answers with the public path it was
// given.
func media() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		io.WriteString(w, mediaPrefix+r.URL.Path)
	})
}

// response is a response, read.
type response struct {
	status     int
	reason     string // the problem's reason, for denials
	body       string
	header     http.Header
	err        error
	elapsed    time.Duration
	sessionTok string // the session cookie's value, if one was set
}

func (r response) media() bool {
	return r.err == nil && r.status == http.StatusOK && strings.HasPrefix(r.body, mediaPrefix)
}

func (r response) String() string {
	if r.err != nil {
		return "error " + r.err.Error()
	}
	return fmt.Sprintf("%d %q", r.status, r.reason)
}

// do sends one request as the client named ua (its User-Agent), with the
// extra headers given in pairs.
func do(c *http.Client, method, url, ua string, header ...string) response {
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		return response{err: err}
	}
	req.Header.Set("User-Agent", ua)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return response{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	res := response{status: resp.StatusCode, body: string(body), header: resp.Header, err: err, elapsed: time.Since(start)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		var p struct{ Reason string }
		if json.Unmarshal(body, &p) == nil {
			res.reason = p.Reason
		}
	}
	for _, c := range resp.Cookies() {
		if c.Name == privatevideo.DefaultCookieName {
			res.sessionTok = c.Value
		}
	}
	return res
}

// sessionToken reads the session endpoint's JSON answer.
func sessionToken(res response) (string, error) {
	if res.err != nil || res.status != http.StatusOK {
		return "", fmt.Errorf("session endpoint answered %v", res)
	}
	var answer struct {
		SessionToken string `json:"session_token"`
	}
	if err := json.Unmarshal([]byte(res.body), &answer); err != nil || answer.SessionToken == "" {
		return "", fmt.Errorf("session endpoint body %q: no session token", res.body)
	}
	return answer.SessionToken, nil
}

func tokenPath(video, tok, asset string) string {
	return "/vod/" + video + "/token/" + tok + "/" + asset
}

// redact keeps tokens out of test logs, as the project keeps them out of all
// logs.
func redact(tok string) string { return privatevideo.RedactToken(tok) }
