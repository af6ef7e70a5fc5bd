package pvcaddy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/privatevideo/privatevideo/edge"
)

// ServeHTTP runs the request through the middleware. Under /vod/ the
// middleware decides, and what it allows goes to next with its public path;
// under /videos the API answers (with an api_key); the rest goes to next
// untouched. An error of next is returned to Caddy (its handle_errors and
// its logs), and the middleware sees it as the answer's status first, so
// that a failed answer (5xx) releases the redemption, as it does for any
// wrapped handler that fails.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	c := &call{next: next}
	c.out = &gateWriter{ResponseWriter: w}
	h.chain.ServeHTTP(c.out, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	return c.err
}

// route is the handler inside the middleware.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, h.prefix):
		h.media.ServeHTTP(w, r)
	case h.api != nil && edge.IsAPIPath(r.URL.Path):
		h.api.ServeHTTP(w, r)
	default:
		serveNext(w, r)
	}
}

// callKey carries a request's call through the middleware's context.
type callKey struct{}

// call is one request's way back to Caddy: its next handler, the error it
// returned, and the writer on Caddy's response.
type call struct {
	next caddyhttp.Handler
	out  *gateWriter
	err  error
}

// serveNext is next as an http.Handler. When next fails before any answer
// went out, the middleware is told the error's status (so that a 5xx
// releases the redemption and its session is not delivered) while the gate
// keeps that answer from the client: Caddy answers the error itself, once,
// through its error routes.
func serveNext(w http.ResponseWriter, r *http.Request) {
	c := r.Context().Value(callKey{}).(*call)
	err := c.next.ServeHTTP(w, r)
	if err == nil {
		return
	}
	c.err = err
	if c.out.started.Load() {
		return // the status is out: Caddy can only log the error
	}
	c.out.closed.Store(true)
	status := http.StatusInternalServerError
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode != 0 {
		status = he.StatusCode
	}
	w.WriteHeader(status)
}

// gateWriter is Caddy's ResponseWriter as the middleware writes on it. Once
// closed (next failed), nothing more reaches Caddy's: the header map stays
// shared, so a session the middleware delivered with a 4xx error (a
// missing file: its token is spent, as with any handler's 404) still
// reaches the viewer on Caddy's error answer.
type gateWriter struct {
	http.ResponseWriter
	started atomic.Bool // a status line (or body) went to Caddy's writer
	closed  atomic.Bool // next failed: Caddy answers
}

func (g *gateWriter) WriteHeader(code int) {
	if g.closed.Load() {
		return
	}
	if code >= 200 {
		g.started.Store(true)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gateWriter) Write(b []byte) (int, error) {
	if g.closed.Load() {
		return len(b), nil
	}
	g.started.Store(true)
	return g.ResponseWriter.Write(b)
}

// ReadFrom keeps the sendfile path of file_server.
func (g *gateWriter) ReadFrom(src io.Reader) (int64, error) {
	if g.closed.Load() {
		return io.Copy(io.Discard, src)
	}
	g.started.Store(true)
	if rf, ok := g.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(g.ResponseWriter, src)
}

// FlushError flushes, unless closed: a flush would send a status line.
func (g *gateWriter) FlushError() error {
	if g.closed.Load() {
		return nil
	}
	g.started.Store(true)
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Flush serves handlers that flush with http.Flusher.
func (g *gateWriter) Flush() { g.FlushError() }

// Hijack is for handlers that take the connection over.
func (g *gateWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	g.started.Store(true)
	return http.NewResponseController(g.ResponseWriter).Hijack()
}

// Unwrap serves http.ResponseController (read deadlines of the API).
func (g *gateWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
