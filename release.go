package privatevideo

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// A link is never lost to a failure that is not the viewer's. A request that
// redeemed a token (not a grace re-entry) carries a delivery: when its answer
// does not reach the viewer with a status below 500 — the handler answers
// 5xx or panics, the client gives up or the server's deadline passes before
// the status line, or nothing is sent within the first-byte timeout — the
// session is not delivered (its Set-Cookie is dropped) and the redemption is
// released in the store: the token is redeemable again, by anyone.

// Release causes, as Release.Cause reports them.
const (
	CauseHandlerError     = "handler-error"      // the handler answered 5xx
	CausePanic            = "panic"              // the handler panicked
	CauseClientGone       = "client-gone"        // the request's context ended before the status line
	CauseFirstByteTimeout = "first-byte-timeout" // nothing sent within WithFirstByteTimeout; answered 504
	CauseLateRedemption   = "late-redemption"    // a redemption that failed against the store turned up in it later
)

// Release reports one undone redemption to the release hook (see
// WithReleaseHook).
type Release struct {
	VideoID string
	Token   string // redacted (see RedactToken)
	Cause   string // one of the Cause… constants
	// Err is nil when the store released the redemption; otherwise why it
	// could not (a store failure, or store.ErrUsed when a grace re-entry
	// already carried the session to the same client).
	Err error
}

// errFirstByte cancels the handler's context when nothing was sent in time.
var errFirstByte = errors.New("privatevideo: no first byte within the first-byte timeout")

// delivery watches the answer to a fresh redemption until its status line
// goes out. Its methods are safe against the first-byte timer's goroutine.
type delivery struct {
	m      *Middleware
	w      http.ResponseWriter // the client's; the timer may answer on it
	header http.Header         // the client's header: where the session's Set-Cookie goes
	own    http.Header         // the handler's header, copied into header at the status line
	cookie string              // that Set-Cookie line, "" in page-bound mode
	req    store.ReleaseRequest
	video  string
	client context.Context // the request's own: done when the client is gone
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	timer   *time.Timer
	sent    bool // the status line is out
	status  int
	lost    bool // ...but it could not be flushed to the client
	expired bool // the first-byte timeout passed before it: the timer released it
}

// newDelivery starts watching a redemption; ctx is the request's context.
// It returns the handler's, which the first-byte timeout cancels.
func (m *Middleware) newDelivery(ctx context.Context, w http.ResponseWriter, t *target, req store.ReleaseRequest, cookie string) (*delivery, context.Context) {
	// The handler works on a header of its own, so that the timer can
	// answer 504 on the client's while the handler still runs.
	d := &delivery{m: m, w: w, header: w.Header(), own: w.Header().Clone(), cookie: cookie, req: req, video: t.video, client: ctx}
	clear(d.header)
	ctx, d.cancel = context.WithCancelCause(ctx)
	d.timer = time.AfterFunc(m.firstByteTimeout, d.expire)
	return d, ctx
}

// expire runs on the timer's goroutine when nothing went out in time. The
// gate closes, the handler's context is cancelled, and the redemption is
// released at once, even if the handler never returns (a read that ignores
// its context); the 504 follows when it does.
func (d *delivery) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sent || d.expired {
		return
	}
	d.expired = true
	d.cancel(errFirstByte)
	// Released before the 504 goes out, so that a viewer who sees it may
	// retry at once, from anywhere. The gate's writers and settle wait
	// meanwhile (at most the store timeout), to be refused.
	d.m.release(d.req, d.video, CauseFirstByteTimeout)
	// The gate is shut: nothing of the handler reaches the client any
	// more, so the 504 goes out from here, now.
	gatewayTimeout(d.w)
	http.NewResponseController(d.w).Flush()
}

// open is called just before the status line goes out with code. It reports
// false when it must not: the first-byte timeout passed. A status of 500 or
// more goes out without the session.
func (d *delivery) open(code int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired || !d.sent && d.client.Err() != nil {
		// Too late, or nobody is there any more: settle releases it.
		return false
	}
	if !d.sent {
		d.sent, d.status = true, code
		d.timer.Stop()
		d.copyHeader(code >= 500)
	}
	return true
}

// copyHeader puts the handler's header on the client's, without the
// session when the answer must not deliver it. Called under d.mu.
func (d *delivery) copyHeader(withoutSession bool) {
	clear(d.header)
	for k, v := range d.own {
		d.header[k] = v
	}
	if withoutSession {
		d.dropCookie()
	}
}

// flushed is told whether the status line, written, reached the client's
// connection: net/http holds it in a buffer until a flush, so a handler
// that writes its status and then fails (an origin that dies mid-body, a
// panic, the server's write timeout) would otherwise count as delivered
// although the viewer got nothing.
func (d *delivery) flushed(err error) {
	if err == nil || errors.Is(err, http.ErrNotSupported) {
		return // flushed, or no way to know: taken as delivered
	}
	d.mu.Lock()
	d.lost = true
	d.mu.Unlock()
}

// dropCookie removes the session's Set-Cookie from the answer.
func (d *delivery) dropCookie() {
	if d.cookie == "" {
		return
	}
	lines := d.header["Set-Cookie"]
	for i, l := range lines {
		if l == d.cookie {
			d.header["Set-Cookie"] = append(lines[:i:i], lines[i+1:]...)
			break
		}
	}
}

// settle runs once the handler has returned (or panicked, then panicked is
// true), and releases the redemption when its answer did not reach the
// viewer.
func (d *delivery) settle(panicked bool) {
	d.mu.Lock()
	d.timer.Stop()
	sent, status, expired, lost := d.sent, d.status, d.expired, d.lost
	if !sent && !expired {
		// From here on, nothing more goes out for the handler.
		d.expired = true
	}
	d.mu.Unlock()
	d.cancel(nil)

	var cause string
	switch {
	case sent && status < 500 && !lost:
		// The status line carried the session to the client's
		// connection: whatever happens to the body (a panic, a client
		// that hangs up), it is delivered.
		return
	case lost:
		cause = CauseClientGone // the status line never left
	case expired:
		return // the timer answered 504 and released it
	case panicked:
		cause = CausePanic
	case !sent && d.client.Err() != nil:
		cause = CauseClientGone
	case sent:
		cause = CauseHandlerError // a 5xx
	default:
		// The handler returned without a word: the server sends 200 and
		// the session with it.
		d.mu.Lock()
		d.copyHeader(false)
		d.mu.Unlock()
		return
	}
	d.m.release(d.req, d.video, cause)
}

// release undoes a redemption in the store, with a context of its own: the
// request's may be over.
func (m *Middleware) release(req store.ReleaseRequest, video, cause string) {
	req.Now = m.now() // the issue expiry is checked at the time of the release
	ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
	err := redacted(m.store.Release(ctx, req))
	cancel()
	if m.logger != nil {
		attrs := []slog.Attr{slog.String("video", video), slog.String("token", RedactToken(req.Token)), slog.String("cause", cause)}
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("error", redactTokens(err.Error())))
		}
		m.logger.LogAttrs(context.Background(), level, "privatevideo: redemption released", attrs...)
	}
	if m.onRelease != nil {
		m.onRelease(Release{VideoID: video, Token: RedactToken(req.Token), Cause: cause, Err: err})
	}
}

// gatewayTimeout answers a redemption whose answer did not start in time.
func gatewayTimeout(w http.ResponseWriter) {
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Encoding", "Etag", "Last-Modified", "Accept-Ranges", "Content-Range"} {
		h.Del(k)
	}
	const body = `{"type":"urn:privatevideo:first-byte-timeout","title":"The video did not start in time. Try again.","status":504}` + "\n"
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	// Whole on its own: a handler that then aborts (httputil.ReverseProxy
	// panics with http.ErrAbortHandler) closes the connection before a
	// chunked body's last chunk. And the last answer on its connection,
	// which the handler may hold for a while yet.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusGatewayTimeout)
	io.WriteString(w, body)
}

// gated is the client's ResponseWriter behind a delivery: its status line
// goes out only with the delivery's consent.
type gated struct {
	http.ResponseWriter
	d      *delivery
	wrote  bool
	closed bool // the first-byte timeout passed: nothing goes out
}

func (g *gated) WriteHeader(code int) {
	if g.closed || g.wrote {
		return
	}
	if code < 200 {
		// An informational answer (103 Early Hints) goes out with the
		// handler's header as it stands: not with the session, which only
		// the final answer may deliver.
		g.d.mu.Lock()
		defer g.d.mu.Unlock()
		if g.d.expired || g.d.sent {
			return
		}
		g.d.copyHeader(true)
		g.ResponseWriter.WriteHeader(code)
		clear(g.d.header)
		return
	}
	if !g.d.open(code) {
		g.closed = true
		return
	}
	g.wrote = true
	g.ResponseWriter.WriteHeader(code)
	if code < 500 {
		// Push the status line, and the session with it, to the client
		// now: only then is it delivered.
		g.d.flushed(http.NewResponseController(g.ResponseWriter).Flush())
	}
}

func (g *gated) Write(b []byte) (int, error) {
	if !g.wrote && !g.closed {
		g.WriteHeader(http.StatusOK)
	}
	if g.closed {
		return 0, errFirstByte
	}
	return g.ResponseWriter.Write(b)
}

// Header is the handler's own header until the status line.
func (g *gated) Header() http.Header { return g.d.own }

// Unwrap serves http.ResponseController.
func (g *gated) Unwrap() http.ResponseWriter { return g.ResponseWriter }
