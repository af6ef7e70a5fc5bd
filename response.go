package privatevideo

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
)

// responseWriter sets the headers of an allowed response of a private video
// just before the wrapped handler's status line goes out:
// Cache-Control private (unless the handler chose something stricter) and,
// for the player page and playlists, Referrer-Policy no-referrer.
type responseWriter struct {
	http.ResponseWriter
	noReferrer  bool // the player page or a playlist by its name
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 { // 1xx (Early Hints) may come first
		w.wroteHeader = true
		h := w.Header()
		if cc, ok := privateCacheControl(h.Get("Cache-Control")); ok {
			h.Set("Cache-Control", cc)
		}
		if w.noReferrer || isPlaylist(h.Get("Content-Type")) {
			h.Set("Referrer-Policy", "no-referrer")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for file servers (io.Copy finds
// it through this method).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Flush lets a streaming handler (a reverse proxy) flush through.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
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

// privateCacheControl returns the Cache-Control for an allowed response of a
// private video given the handler's, and whether it must be set. It keeps
// directives that are already strict (no-store, private) and lifetimes
// (max-age), and drops those that let shared caches keep the response
// (public, s-maxage).
func privateCacheControl(cc string) (string, bool) {
	if cc == "" {
		return "private", true
	}
	lower := strings.ToLower(cc)
	if strings.Contains(lower, "no-store") || strings.Contains(lower, "private") {
		return "", false
	}
	out := "private"
	for d := range strings.SplitSeq(cc, ",") {
		d = strings.TrimSpace(d)
		name := strings.ToLower(d)
		if i := strings.IndexByte(name, '='); i >= 0 {
			name = name[:i]
		}
		if d == "" || name == "public" || name == "s-maxage" {
			continue
		}
		out += ", " + d
	}
	return out, true
}

// isPlaylist reports whether a Content-Type is an HLS playlist.
func isPlaylist(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.Contains(ct, "mpegurl")
}
