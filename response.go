package privatevideo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// maxPlaylist caps the playlists the middleware rewrites. A larger one passes
// unrewritten, with a warning: players without cookies then cannot follow it.
// A two-hour VOD playlist of 2-second segments is about 200 KB.
const maxPlaylist = 4 << 20

// responseWriter finishes an allowed response of a private video:
//   - just before the status line, Cache-Control private (unless the handler
//     chose something stricter) and, for the player page and playlists,
//     Referrer-Policy no-referrer;
//   - within a session, HLS playlists are held back, rewritten so that every
//     URI carries the session token, and sent with a corrected
//     Content-Length (see finish).
type responseWriter struct {
	http.ResponseWriter
	noReferrer  bool // the player page or a playlist by its name
	wroteHeader bool

	// Playlist rewriting; rewrite.value is empty outside sessions.
	rewrite   playlistRewriter
	byName    bool // the asset's name says playlist (.m3u8)
	m         *Middleware
	buffering bool
	status    int
	buf       []byte
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 { // 1xx (Early Hints) may come first
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wroteHeader = true
	h := w.Header()
	// The keys are canonical already: index the map, skip canonicalizing.
	if cc, ok := privateCacheControl(first(h["Cache-Control"])); ok {
		h["Cache-Control"] = []string{cc}
	}
	contentType := first(h["Content-Type"])
	playlist := isPlaylist(contentType) || w.byName && !isMedia(contentType)
	if w.noReferrer || playlist {
		h.Set("Referrer-Policy", "no-referrer")
	}
	if playlist && code == http.StatusOK && w.rewrite.value != "" {
		w.buffering, w.status = true, code
		return // sent by finish, once the body is rewritten
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.buffering {
		if len(w.buf)+len(b) <= maxPlaylist {
			w.buf = append(w.buf, b...)
			return len(b), nil
		}
		w.m.warn("privatevideo: playlist larger than the rewrite limit passes unrewritten; players without cookies cannot follow it",
			slog.Int("limit", maxPlaylist))
		if err := w.release(); err != nil {
			return 0, err
		}
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for file servers (io.Copy finds
// it through this method).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.buffering {
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
// being held back is not flushed.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.buffering {
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

// release gives up on rewriting: the held status and bytes go out as they
// came.
func (w *responseWriter) release() error {
	w.buffering = false
	w.ResponseWriter.WriteHeader(w.status)
	_, err := w.ResponseWriter.Write(w.buf)
	w.buf = nil
	return err
}

// finish sends a held playlist, rewritten. It runs after the wrapped handler
// returns. A body that is not a playlist after all, or that cannot be
// decoded, goes out unchanged.
func (w *responseWriter) finish() {
	if !w.buffering {
		return
	}
	h := w.Header()
	body := w.buf
	encoded := h.Get("Content-Encoding")
	if len(body) > 0 && encoded != "" {
		decoded, err := decodeBody(body, encoded)
		if err != nil {
			w.m.warn("privatevideo: cannot decode a playlist to rewrite it; it passes unrewritten",
				slog.String("content-encoding", encoded), slog.String("cause", err.Error()))
			w.release()
			return
		}
		body = decoded
		h.Del("Content-Encoding")
	}
	if len(body) > 0 {
		if !isPlaylistBody(body) {
			w.release()
			return
		}
		body = w.rewrite.rewrite(body)
	}
	// The bytes differ from the handler's: its length, validators and
	// ranges no longer describe them.
	h.Del("Accept-Ranges")
	if etag := h.Get("Etag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		h.Set("Etag", "W/"+etag)
	}
	if len(body) > 0 || h.Get("Content-Length") == "0" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	} else {
		h.Del("Content-Length") // HEAD: the rewritten length is unknown
	}
	w.buffering = false
	w.ResponseWriter.WriteHeader(w.status)
	w.ResponseWriter.Write(body)
}

// decodeBody undoes a Content-Encoding the middleware can read.
func decodeBody(b []byte, encoding string) ([]byte, error) {
	if !strings.EqualFold(strings.TrimSpace(encoding), "gzip") {
		return nil, errors.New("unsupported content encoding")
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxPlaylist+1))
	if err == nil && len(out) > maxPlaylist {
		err = errors.New("decoded playlist larger than the rewrite limit")
	}
	return out, err
}

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

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// isPlaylist reports whether a Content-Type is an HLS playlist.
func isPlaylist(contentType string) bool {
	return strings.Contains(strings.ToLower(contentType), "mpegurl")
}

// isMedia reports whether a Content-Type is plainly not a playlist.
func isMedia(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "video/") || strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "image/")
}

// warn logs what an operator must know even without WithLogger.
func (m *Middleware) warn(msg string, attrs ...slog.Attr) {
	l := m.logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}
