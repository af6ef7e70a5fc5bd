//go:build unix

package main

// A link is never lost to a failure that is not the viewer's: the built
// server in proxy mode, in front of an origin that fails a video's first
// request, and players that give up before the first byte.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
)

// firstFailOrigin serves the demo media under every video ID, and fails
// the first request of each video in the way the video ID's first word
// says:
//
//	bad-…      502 Bad Gateway, with an error page of its own
//	trickle-…  a playlist that starts at once and never ends: its status
//	           line and first bytes come in time, then a comment line
//	           every 200 ms, so it is never whole
//	hang-…,    no answer at all until the request ends
//	gone-…
//	slow-…     the MP4's status line and its first 64 KiB at once, then
//	           nothing: the edge passes the status line on
//	stall-…    the MP4's status line and its first KiB, then nothing: the
//	           edge's connection buffer holds them
//
// Every later request of the video gets the media.
type firstFailOrigin struct {
	*httptest.Server
	mu       sync.Mutex
	seen     map[string]int           // GET requests per video
	arrived  map[string]chan struct{} // closed when a video's first request arrives
	stopping chan struct{}            // closed at cleanup: held requests end
}

func newFirstFailOrigin(t *testing.T) *firstFailOrigin {
	o := &firstFailOrigin{seen: make(map[string]int), arrived: make(map[string]chan struct{}), stopping: make(chan struct{})}
	mp4 := readFile(t, "media/demo/mp4/source.mp4")
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		video := videoOf(r.URL.Path)
		first := false
		if r.Method == http.MethodGet {
			o.mu.Lock()
			o.seen[video]++
			if first = o.seen[video] == 1; first {
				close(o.arrivalLocked(video))
			}
			o.mu.Unlock()
		}
		mode, _, _ := strings.Cut(video, "-")
		if !first {
			mode = ""
		}
		hold := func() {
			select {
			case <-r.Context().Done():
			case <-o.stopping:
			}
		}
		switch mode {
		case "bad":
			http.Error(w, "upstream database at 10.0.0.7 is down", http.StatusBadGateway)
		case "trickle":
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "#EXTM3U\n")
			http.NewResponseController(w).Flush()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					if _, err := io.WriteString(w, "# still packaging\n"); err != nil {
						return
					}
					http.NewResponseController(w).Flush()
				case <-r.Context().Done():
					return
				case <-o.stopping:
					return
				}
			}
		case "hang", "gone":
			hold()
		case "slow", "stall":
			n := 64 << 10
			if mode == "stall" {
				n = 1 << 10
			}
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Content-Length", strconv.Itoa(len(mp4)))
			w.WriteHeader(http.StatusOK)
			w.Write(mp4[:n])
			http.NewResponseController(w).Flush()
			hold()
		default:
			serveDemo(w, r)
		}
	}))
	t.Cleanup(func() {
		close(o.stopping)
		o.Close()
	})
	return o
}

// arrivalLocked is the channel of video, made on first use; o.mu is held.
func (o *firstFailOrigin) arrivalLocked(video string) chan struct{} {
	c, ok := o.arrived[video]
	if !ok {
		c = make(chan struct{})
		o.arrived[video] = c
	}
	return c
}

// arrival is closed once the first request of video has reached the
// origin.
func (o *firstFailOrigin) arrival(video string) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.arrivalLocked(video)
}

// graceAndFirstByte returns the server arguments that shorten the grace
// window and the first-byte timeout where the built server has flags for
// them, and the values in effect.
func graceAndFirstByte(t *testing.T) (args []string, grace, firstByte time.Duration) {
	grace, firstByte = privatevideo.DefaultGrace, privatevideo.DefaultFirstByteTimeout
	flags := edgeFlags(t)
	if flags["grace"] {
		grace = time.Second
		args = append(args, "-grace", grace.String())
	}
	if flags["first-byte-timeout"] {
		firstByte = 5 * time.Second
		args = append(args, "-first-byte-timeout", firstByte.String())
	}
	return args, grace, firstByte
}

// noRetryTransport opens a connection per request: net/http's client
// silently sends a GET again when a reused connection closes without an
// answer, which would hide what the edge answered.
func noRetryTransport(t *testing.T) *http.Transport {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// concurrently runs body for every name at once and then reports each as
// a subtest: the cases mostly wait (grace windows, timeouts), and the
// package's parallel tests run two at a time.
func concurrently(t *testing.T, names []string, body func(name string) error) {
	t.Helper()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = body(name) })
	}
	wg.Wait()
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
		})
	}
}

// An origin that fails a viewer's first request (502, a playlist that
// never ends, no answer within -origin-timeout) costs that viewer nothing:
// the failed answer carries no session, the redemption is released, and
// the same player's retry after the grace window plays; a second player
// is still refused. The edge's log names the origin's failure and the
// release.
//
// An MP4 whose status line reached the player and whose body then stalls
// is a delivered answer: the session went with its status line (a player
// can seek or reload from it), nothing is released, the same player's
// retry plays (by its cookie, or, cookie-less, by the retry window) and a
// second player is refused. A playlist is different: the middleware holds
// it for rewriting until it is whole, so a trickled playlist has sent
// nothing when the first-byte bound passes.
//
// Each case has a video of its own, whose first request is the one the
// origin fails. Cookie-less players (ffmpeg, AVPlayer, ExoPlayer) open the
// master playlist (or the MP4) first and follow its avh URIs; browser-like
// players load the player page, keep a cookie jar and play by cookie
// alone.
func TestOriginFailsFirstRequest(t *testing.T) {
	t.Parallel()
	origin := newFirstFailOrigin(t)
	extra, grace, firstByte := graceAndFirstByte(t)
	// Below the first-byte timeout, so that a hang is the origin's
	// timeout; and room for a loaded machine, where the retry's healthy
	// answer once took more than a second.
	originTimeout := firstByte / 2
	e := startEdge(t, nil, append([]string{"-origin", origin.URL, "-origin-timeout", originTimeout.String()}, extra...)...)
	t.Logf("grace window %s, first-byte timeout %s, origin timeout %s", grace, firstByte, originTimeout)
	transport := noRetryTransport(t)

	type failCase struct {
		jar      bool
		mp4First bool   // the first request is the MP4 (a browser's Range probe), not the HLS master
		status   int    // of the failed first answer; 200 for a delivered one
		ptype    string // its problem type
		within   time.Duration
		released string // the release's cause; "" for a delivered answer
		origin   string // the cause of the edge's "origin unavailable" line; "" for none
	}
	const (
		unavailable = "urn:privatevideo:origin-unavailable"
		gateway     = "urn:privatevideo:first-byte-timeout"
	)
	cases := map[string]failCase{
		"bad-ffmpeg":      {status: 502, ptype: unavailable, within: 3 * time.Second, released: privatevideo.CauseHandlerError, origin: "origin answered 502"},
		"bad-browser":     {jar: true, mp4First: true, status: 502, ptype: unavailable, within: 3 * time.Second, released: privatevideo.CauseHandlerError, origin: "origin answered 502"},
		"trickle-ffmpeg":  {status: 504, ptype: gateway, within: firstByte + 3*time.Second, released: privatevideo.CauseFirstByteTimeout},
		"trickle-browser": {jar: true, status: 504, ptype: gateway, within: firstByte + 3*time.Second, released: privatevideo.CauseFirstByteTimeout},
		"hang-ffmpeg":     {status: 502, ptype: unavailable, within: originTimeout + 3*time.Second, released: privatevideo.CauseHandlerError, origin: "timeout"},
		"hang-browser":    {jar: true, status: 502, ptype: unavailable, within: originTimeout + 3*time.Second, released: privatevideo.CauseHandlerError, origin: "timeout"},
		"slow-ffmpeg":     {mp4First: true, status: 200},
		"slow-browser":    {jar: true, mp4First: true, status: 200},
	}
	names := []string{"bad-ffmpeg", "bad-browser", "trickle-ffmpeg", "trickle-browser", "hang-ffmpeg", "hang-browser", "slow-ffmpeg", "slow-browser"}
	videos := make(map[string]videoJSON)
	var tokens []string
	for _, name := range names {
		v := e.video(name)
		videos[name] = v
		tokens = append(tokens, v.Token)
	}
	mp4 := string(readFile(t, "media/demo/mp4/source.mp4"))
	seg0 := string(readFile(t, "media/demo/hls/360p/seg0.m4s"))

	// What the first request of each trickled playlist got, for the check
	// of the first-byte timeout's answer below.
	type firstAnswer struct {
		a   answer
		err error
	}
	var (
		mu       sync.Mutex
		trickled = make(map[string]firstAnswer)
	)

	t.Run("players", func(t *testing.T) {
		concurrently(t, names, func(name string) error {
			c, v, ctx := cases[name], videos[name], context.Background()
			one := newMediaClient("player-one/"+name, c.jar, transport)
			first, header := v.Assets.HLS, []string(nil)
			if c.mp4First {
				first = v.Assets.MP4
				if c.jar {
					header = []string{"Range", "bytes=0-1"} // Safari's probe
				}
			}
			if c.jar {
				// The player page is a shell: it redeems nothing.
				a, err := one.get(ctx, v.Assets.Player)
				if err != nil || a.status != http.StatusOK || one.hasSession(first) {
					return fmt.Errorf("player page: %v, %v, session %t; want 200 and no session", a, err, one.hasSession(first))
				}
			}

			// The first request, which the origin fails.
			if c.status == http.StatusOK {
				// The status line and the first 64 KiB, then a stall:
				// the player has its answer and gives up on the body.
				rctx, cancel := context.WithCancel(ctx)
				req, _ := http.NewRequestWithContext(rctx, "GET", first, nil)
				req.Header.Set("User-Agent", one.ua)
				resp, err := one.c.Do(req)
				if err != nil {
					cancel()
					return fmt.Errorf("first request: %s", scrub(err.Error()))
				}
				n, _ := io.ReadFull(resp.Body, make([]byte, 1024))
				cancel()
				resp.Body.Close()
				delivered := answer{header: resp.Header}.sessionCookie()
				if resp.StatusCode != http.StatusOK || n != 1024 || !delivered {
					return fmt.Errorf("first request: status %d, %d bytes, session cookie %t; want 200, the first KiB and the session",
						resp.StatusCode, n, delivered)
				}
			} else {
				start := time.Now()
				a, err := one.get(ctx, first, header...)
				took := time.Since(start)
				if c.status == http.StatusGatewayTimeout {
					mu.Lock()
					trickled[name] = firstAnswer{a, err}
					mu.Unlock()
				}
				switch {
				case err != nil && c.status != http.StatusGatewayTimeout:
					return fmt.Errorf("first request: %v", err)
				case err == nil && a.ok():
					return fmt.Errorf("first request: %v, want a failure (%.200s)", a, a.body)
				case err == nil && c.status != http.StatusGatewayTimeout && (a.status != c.status || a.ptype != c.ptype):
					return fmt.Errorf("first request: %v (%s), want %d %s", a, a.body, c.status, c.ptype)
				case took > c.within:
					return fmt.Errorf("first request: answered after %s, want within %s", took.Round(time.Millisecond), c.within)
				case c.status == http.StatusGatewayTimeout && took < firstByte-time.Second:
					return fmt.Errorf("first request: answered after %s, before the first-byte timeout of %s", took.Round(time.Millisecond), firstByte)
				case a.sessionCookie() || one.hasSession(first) || strings.Contains(string(a.body), "avh"):
					return errors.New("the failed answer carried a session")
				case strings.Contains(string(a.body), "10.0.0.7") || strings.Contains(string(a.body), "packaging"):
					return fmt.Errorf("the origin's own body reached the player: %q", a.body)
				}
			}

			// Past the grace window, the same player tries again.
			time.Sleep(grace + time.Second)
			a, err := one.get(ctx, first, header...)
			switch {
			case err != nil:
				return fmt.Errorf("the same player's retry: %v", err)
			case !a.ok():
				return fmt.Errorf("the same player's retry after the grace window: %v (%.200s), want it to play", a, a.body)
			case c.mp4First && len(header) == 0 && string(a.body) != mp4:
				return fmt.Errorf("the retry got %d bytes, not the MP4", len(a.body))
			case c.mp4First && len(header) > 0 && (a.status != http.StatusPartialContent || len(a.body) != 2):
				return fmt.Errorf("the retry's range: %v, %d bytes; want 206 and 2 bytes", a, len(a.body))
			}
			master, masterURL := a.body, first
			if c.mp4First && c.jar {
				// The browser then plays the HLS by its cookie.
				if a, err = one.get(ctx, v.Assets.HLS); err != nil || a.status != http.StatusOK {
					return fmt.Errorf("HLS after the MP4, by cookie: %v, %v", a, err)
				}
				master, masterURL = a.body, v.Assets.HLS
			}
			if !c.mp4First || c.jar {
				seg, err := one.play(ctx, masterURL, master, func(u string) string { return u }, 1, nil)
				if err != nil {
					return fmt.Errorf("playing after the retry: %v", err)
				}
				if string(seg) != seg0 {
					return fmt.Errorf("the segment: %d bytes, not the origin's", len(seg))
				}
			}

			// Another player is refused: the link is the first player's.
			two := newMediaClient("player-two/"+name, c.jar, transport)
			if a, err = two.get(ctx, first, header...); err != nil || a.status != http.StatusForbidden || a.reason != "token-used" {
				return fmt.Errorf("a second player: %v, %v; want 403 token-used", a, err)
			}
			return nil
		})
	})

	lines := e.logLines()
	releases := func(video string) []map[string]any {
		var out []map[string]any
		for _, l := range lines {
			if isRelease(video, "")(l) {
				out = append(out, l)
			}
		}
		return out
	}
	t.Run("log", func(t *testing.T) {
		for _, name := range names {
			c, rel := cases[name], releases(name)
			var unavailable bool
			for _, l := range lines {
				if l["msg"] == "origin unavailable" && l["video"] == name && l["cause"] == c.origin {
					unavailable = true
				}
			}
			switch {
			case c.released == "" && len(rel) > 0:
				t.Errorf("%s: a delivered answer was released: %v", name, rel)
			case c.released != "" && len(rel) != 1:
				t.Errorf("%s: %d release lines, want one: %v", name, len(rel), rel)
			case c.released != "" && c.status != http.StatusGatewayTimeout && rel[0]["cause"] != c.released:
				t.Errorf("%s: release line %v, want cause %s", name, rel[0], c.released)
			case c.released != "" && (rel[0]["error"] != nil || rel[0]["token"] != privatevideo.RedactToken(videos[name].Token)):
				t.Errorf("%s: release line %v, want the redacted token and no error (the store released it)", name, rel[0])
			}
			if c.origin != "" && !unavailable {
				t.Errorf("%s: no \"origin unavailable\" line with cause %q in the edge's log", name, c.origin)
			}
		}
	})

	// The first-byte timeout's documented answer: 504, released with cause
	// first-byte-timeout (WithFirstByteTimeout, privatevideo_releases_total).
	t.Run("trickled playlist: 504 and cause first-byte-timeout", func(t *testing.T) {
		for _, name := range []string{"trickle-ffmpeg", "trickle-browser"} {
			got, rel := trickled[name], releases(name)
			var cause any
			if len(rel) > 0 {
				cause = rel[0]["cause"]
			}
			if got.err == nil && got.a.status == http.StatusGatewayTimeout && got.a.ptype == gateway && cause == privatevideo.CauseFirstByteTimeout {
				continue
			}
			what := got.a.String()
			if got.err != nil {
				what = "an answer it could not read (" + got.err.Error() + ")"
			}
			t.Errorf("%s: the player got %s and the release's cause is %v; want a whole 504 %s and cause %s. "+
				"(Seen before: a chunked 504 cut off by the proxy's http.ErrAbortHandler, which closes the connection "+
				"before the last chunk; a 504 with its Content-Length and Connection: close is whole. Earlier: no 504 "+
				"at all and cause panic.)", name, what, cause, gateway, privatevideo.CauseFirstByteTimeout)
		}
	})
	if t.Failed() {
		t.Logf("edge log:\n%s", e.stderr)
	}
	assertNoSecrets(t, e, tokens...)
}

// A player that gives up before the first byte leaves the link as it was.
// When the origin has not answered (gone-…), the redemption is released
// with cause client-gone and the link plays for whoever opens it next,
// another player or the same one. When the origin sent its status line
// and a KiB, then stalled (stall-…), either the status line reached the
// player with its session (a delivered answer: nothing released, the same
// player's retry plays, another is refused) or it did not, and the
// redemption must be released: never neither.
func TestClientGoneBeforeFirstByte(t *testing.T) {
	t.Parallel()
	origin := newFirstFailOrigin(t)
	// The origin timeout is long: the player leaves first.
	e := startEdge(t, nil, "-origin", origin.URL, "-origin-timeout", "30s")
	transport := noRetryTransport(t)
	type goneCase struct {
		jar   bool
		fresh bool // a fresh player opens the link next, else the same one
	}
	cases := map[string]goneCase{
		"gone-ffmpeg-fresh":  {false, true},
		"gone-ffmpeg-same":   {false, false},
		"gone-browser-fresh": {true, true},
		"gone-browser-same":  {true, false},
		"stall-ffmpeg":       {false, false},
		"stall-browser":      {true, false},
	}
	names := []string{"gone-ffmpeg-fresh", "gone-ffmpeg-same", "gone-browser-fresh", "gone-browser-same", "stall-ffmpeg", "stall-browser"}
	videos := make(map[string]videoJSON)
	var tokens []string
	for _, name := range names {
		v := e.video(name)
		videos[name] = v
		tokens = append(tokens, v.Token)
	}
	mp4 := string(readFile(t, "media/demo/mp4/source.mp4"))

	t.Run("players", func(t *testing.T) {
		concurrently(t, names, func(name string) error {
			c, v, ctx := cases[name], videos[name], context.Background()
			stall := strings.HasPrefix(name, "stall-")
			first := v.Assets.HLS
			if stall {
				first = v.Assets.MP4
			}
			one := newMediaClient("player-one/"+name, c.jar, transport)
			two := newMediaClient("player-two/"+name, c.jar, transport)
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			req, _ := http.NewRequestWithContext(rctx, "GET", first, nil)
			req.Header.Set("User-Agent", one.ua)
			type result struct {
				resp *http.Response
				err  error
			}
			headers := make(chan result, 1)
			go func() {
				resp, err := one.c.Do(req)
				headers <- result{resp, err}
			}()
			select {
			case <-origin.arrival(name):
			case r := <-headers:
				return fmt.Errorf("the request ended before the origin held it: %v, %v", r.resp, r.err)
			case <-time.After(10 * time.Second):
				return errors.New("the request never reached the origin")
			}
			// The player waits a moment for a status line, then leaves.
			var got *http.Response
			wait := time.Duration(0)
			if stall {
				wait = 2 * time.Second
			}
			select {
			case r := <-headers:
				if r.err != nil {
					return fmt.Errorf("the first request: %s", scrub(r.err.Error()))
				}
				got = r.resp
			case <-time.After(wait):
			}
			left := time.Now()
			cancel()
			if got != nil {
				got.Body.Close()
			} else if r := <-headers; r.err == nil {
				r.resp.Body.Close()
				return fmt.Errorf("the abandoned request got an answer: %s", r.resp.Status)
			}

			if got != nil {
				// The status line reached the player: delivered.
				if !stall || got.StatusCode != http.StatusOK || !(answer{header: got.Header}).sessionCookie() {
					return fmt.Errorf("the first answer: %s, session cookie %t; want 200 with the session", got.Status, answer{header: got.Header}.sessionCookie())
				}
				time.Sleep(500 * time.Millisecond) // a release, if any, is logged by then
				if l, err := e.waitLogLine(0, isRelease(name, "")); err == nil {
					return fmt.Errorf("a delivered answer was released: %v", l)
				}
				if a, err := two.get(ctx, first); err != nil || a.status != http.StatusForbidden || a.reason != "token-used" {
					return fmt.Errorf("another player: %v, %v; want 403 token-used", a, err)
				}
				if a, err := one.get(ctx, first); err != nil || !a.ok() || string(a.body) != mp4 {
					return fmt.Errorf("the player's own retry: %v, %v; want the MP4", a, err)
				}
				t.Logf("%s: the status line reached the player with its session: delivered, not released", name)
				return nil
			}

			if _, err := e.waitLogLine(5*time.Second, isRelease(name, privatevideo.CauseClientGone)); err != nil {
				return fmt.Errorf("the player left with nothing: want a release with cause client-gone: %v", err)
			}
			t.Logf("%s: released %s after the player left", name, time.Since(left).Round(time.Millisecond))
			next, other := one, two
			if c.fresh || stall {
				next, other = two, one
			}
			a, err := next.get(ctx, first)
			if err != nil || a.status != http.StatusOK {
				return fmt.Errorf("the link after the player left: %v, %v; want it to play", a, err)
			}
			if stall {
				if string(a.body) != mp4 {
					return fmt.Errorf("the MP4: %d bytes", len(a.body))
				}
			} else if _, err := next.play(ctx, first, a.body, func(u string) string { return u }, 1, nil); err != nil {
				return fmt.Errorf("playing: %v", err)
			}
			if a, err = other.get(ctx, first); err != nil || a.status != http.StatusForbidden || a.reason != "token-used" {
				return fmt.Errorf("the other player: %v, %v; want 403 token-used", a, err)
			}
			return nil
		})
	})
	if t.Failed() {
		t.Logf("edge log:\n%s", e.stderr)
	}
	assertNoSecrets(t, e, tokens...)
}
