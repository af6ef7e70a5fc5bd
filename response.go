package privatevideo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/privatevideo/privatevideo/internal/hls"
	"github.com/privatevideo/privatevideo/internal/manifest"
)

// responseWriter finishes an allowed response of a private video:
//   - just before the status line, Cache-Control private (unless the handler
//     chose something stricter) and, for the player page and playlists,
//     Referrer-Policy no-referrer;
//   - within a session that playlists must carry on, HLS playlists are
//     rewritten on their way so that every URI carries the session token
//     (internal/hls, streamed by internal/manifest).
type responseWriter struct {
	http.ResponseWriter
	noReferrer  bool // the player page or a playlist by its name
	wroteHeader bool
	head        bool // a HEAD request: no body will come

	// own is the header as it stood before the handler ran (the session's
	// Set-Cookie, CORS, what outer handlers set), or nil when it was empty.
	// A handler may clear the header map: httputil.ReverseProxy does after
	// forwarding a 1xx. The final status line gets them back.
	own http.Header

	// Manifest rewriting; rewrite.Value is empty outside sessions.
	rewrite hls.Rewriter
	byName  kind // what the asset's name says it is (.m3u8, .mpd)
	m       *Middleware
	pl      *manifest.Writer // set while a manifest is rewritten
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 { // 1xx (Early Hints) may come first
		if w.pl == nil {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.wroteHeader = true
	h := w.Header()
	w.restoreOwn(h)
	// The keys are canonical already: index the map, skip canonicalizing.
	if cc, ok := privateCacheControl(first(h["Cache-Control"])); ok {
		h["Cache-Control"] = []string{cc}
	}
	k := kindOf(first(h["Content-Type"]), w.byName)
	if w.noReferrer || k != notManifest {
		h.Set("Referrer-Policy", "no-referrer")
	}
	if k != notManifest && code == http.StatusOK && w.rewrite.Value != "" {
		var rw manifest.Rewriter = &w.rewrite
		if k == mpd {
			rw = newMPDRewriter(&w.rewrite)
		}
		if w.pl = manifest.NewWriter(w.ResponseWriter, rw, code, w.m.warn); w.pl != nil {
			return // the status goes out with the rewritten body
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// restoreOwn puts back into h what the handler removed of own: keys it
// deleted, and Set-Cookie lines it dropped.
func (w *responseWriter) restoreOwn(h http.Header) {
	for k, v := range w.own {
		got, ok := h[k]
		switch {
		case !ok:
			h[k] = v
		case k == "Set-Cookie":
			for _, line := range v {
				if !slices.Contains(got, line) {
					h[k] = append(h[k], line)
				}
			}
		}
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.pl != nil {
		return w.pl.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for file servers (io.Copy finds
// it through this method).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.pl != nil {
		return io.Copy(writerOnly{w}, r)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// writerOnly hides ReadFrom, so that io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

// Flush lets a streaming handler (a reverse proxy) flush through; a playlist
// being rewritten is sent as its bounds say, not flushed.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.pl == nil {
		http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Hijack is for handlers that take the connection over.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("privatevideo: the underlying ResponseWriter cannot hijack")
}

// Unwrap serves http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverAbort answers a playlist that broke a bound before anything was
// sent with its 502, when the handler gave up with http.ErrAbortHandler on
// the Write error the bound caused (httputil.ReverseProxy does): the
// viewer then learns why rather than seeing a dropped connection. Any other
// panic goes on.
func (w *responseWriter) recoverAbort() {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler && w.pl != nil && w.pl.FailedUnsent() {
		w.pl.Finish(w.head) // answers the 502
		return
	}
	panic(v)
}

// finish ends a rewritten playlist, once the wrapped handler has returned.
func (w *responseWriter) finish() {
	if w.pl != nil {
		w.pl.Finish(w.head)
	}
}

// privateCacheControl returns the Cache-Control for an allowed response of a
// private video given the handler's, and whether it must be set. An answer
// that is already kept from shared caches (an unqualified no-store or
// private directive) stays as it is. Otherwise the answer becomes private,
// keeping lifetimes (max-age) and the like, and dropping what lets a shared
// cache keep it: public, s-maxage, and private="field" (which is private
// for those fields only).
func privateCacheControl(cc string) (string, bool) {
	if cc == "" {
		return "private", true
	}
	out := "private"
	for d := range strings.SplitSeq(cc, ",") {
		d = strings.TrimSpace(d)
		name, _, qualified := strings.Cut(strings.ToLower(d), "=")
		name = strings.TrimSpace(name)
		switch {
		case name == "no-store" || name == "private" && !qualified:
			return "", false
		case d == "" || name == "public" || name == "s-maxage" || name == "private":
			continue
		}
		out += ", " + d
	}
	return out, true
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// warn logs what an operator must know even without WithLogger.
func (m *Middleware) warn(msg string, attrs ...slog.Attr) {
	l := m.logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}
