package privatevideo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// Bounds of playlist rewriting. One valid session must not be able to make
// the server hold, or answer, without limit; these hold whatever the wrapped
// handler or its origin sends.
const (
	// holdLimit: a rewritten playlist up to this size is held and sent whole,
	// with its Content-Length. A larger one streams as it is rewritten, in
	// chunks of streamChunk, without a length.
	holdLimit   = 256 << 10
	streamChunk = 32 << 10
	// maxLine: a longer line passes unrewritten (no URI is that long).
	maxLine = 64 << 10
	// maxPlaylistIn caps a playlist's decoded bytes, and maxCompressed its
	// compressed ones, which are held until the handler is done.
	maxPlaylistIn = 16 << 20
	maxCompressed = 1 << 20
	// An answer may grow to at most growthFactor times its input plus
	// growthSlack, and never past maxPlaylistOut. Real playlists grow by a
	// session token per URI, 2 to 10 times for the shortest segment names;
	// a playlist of 2-byte lines would grow 75 times.
	growthFactor   = 16
	growthSlack    = 64 << 10
	maxPlaylistOut = 64 << 20
)

// sniffLen is how much of a body tells whether it is a playlist.
const sniffLen = len("\xef\xbb\xbf#EXTM3U")

// errPlaylistBound is a playlist that broke a bound: the answer fails.
var errPlaylistBound = errors.New("privatevideo: playlist exceeds the rewrite bounds")

// playlistWriter rewrites one playlist answer as it arrives: the body is
// cut into lines, each line rewritten (playlistRewriter.line) and sent on,
// so that what is held per request is bounded by holdLimit and maxLine,
// not by the playlist's size. A compressed body (gzip) is held, compressed,
// up to maxCompressed, and decoded as it is rewritten.
//
// A body that does not start like a playlist passes unchanged, headers and
// all. A body that breaks a bound fails: with 502 when nothing has been
// sent yet, else by aborting the response, so that a client never mistakes
// a cut playlist for a whole one.
type playlistWriter struct {
	w      http.ResponseWriter // the client's
	m      *Middleware
	rw     playlistRewriter
	status int

	gzipped bool   // the body is gzip: held in zipped until finish
	zipped  []byte //
	sniffed bool   // the start was seen and is a playlist's
	passing bool   // not a playlist: bytes pass unchanged
	sent    bool   // the status line is out: streaming
	ending  bool   // the handler is done: no more bytes will come
	failed  error  // a bound broke
	lost    error  // the client's connection failed

	in, out int64  // decoded bytes taken, rewritten bytes made
	line    []byte // an incomplete line
	long    bool   // inside a line longer than maxLine, passing as it is
	buf     []byte // rewritten bytes not sent yet
}

// Write takes a piece of the handler's body.
func (p *playlistWriter) Write(b []byte) (int, error) {
	switch {
	case p.failed != nil:
		return 0, p.failed
	case p.lost != nil:
		return 0, p.lost
	case p.passing:
		return p.w.Write(b)
	case p.gzipped:
		if len(p.zipped)+len(b) > maxCompressed {
			return 0, p.fail(errPlaylistBound, "compressed playlist larger than the rewrite bound")
		}
		p.zipped = append(p.zipped, b...)
		return len(b), nil
	}
	if err := p.take(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// take rewrites decoded bytes, sending what is ready.
func (p *playlistWriter) take(b []byte) error {
	if p.passing {
		_, err := p.w.Write(b)
		return err
	}
	if !p.sniffed {
		if done, err := p.sniff(b); done {
			return err
		}
	}
	p.in += int64(len(b))
	if p.in > maxPlaylistIn {
		return p.fail(errPlaylistBound, "playlist larger than the rewrite bound")
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial(b)
			break
		}
		chunk := b[:i+1]
		b = b[i+1:]
		switch {
		case p.long:
			p.buf = append(p.buf, chunk...) // the end of an over-long line
			p.long = false
		case len(p.line) > 0:
			p.line = append(p.line, chunk...)
			p.buf = p.rw.line(p.buf, p.line)
			p.line = p.line[:0]
		default:
			p.buf = p.rw.line(p.buf, chunk)
		}
		if err := p.produced(); err != nil {
			return err
		}
	}
	return p.produced()
}

// partial keeps the start of a line whose end has not come yet.
func (p *playlistWriter) partial(b []byte) {
	if p.long {
		p.buf = append(p.buf, b...)
		return
	}
	if len(p.line)+len(b) > maxLine {
		// Too long for a URI: send it on as it is.
		p.buf = append(append(p.buf, p.line...), b...)
		p.line, p.long = p.line[:0], true
		return
	}
	p.line = append(p.line, b...)
}

// produced checks the growth bounds and sends or holds what is ready.
func (p *playlistWriter) produced() error {
	total := p.out + int64(len(p.buf))
	if total > growthFactor*p.in+growthSlack || total > maxPlaylistOut {
		return p.fail(errPlaylistBound, "rewritten playlist would exceed the rewrite bound")
	}
	switch {
	case !p.sent && len(p.buf) > holdLimit:
		p.sendHeader(false)
		fallthrough
	case p.sent && len(p.buf) >= streamChunk:
		return p.flushBuf()
	}
	return nil
}

func (p *playlistWriter) flushBuf() error {
	if p.lost != nil {
		return p.lost
	}
	p.out += int64(len(p.buf))
	_, err := p.w.Write(p.buf)
	p.buf = p.buf[:0]
	if err != nil {
		p.lost = err
	}
	return err
}

// sniff looks at the body's first bytes, kept in p.line until there are
// enough, and decides whether this is a playlist. It reports done when it
// has consumed b itself: still too few bytes, or not a playlist.
func (p *playlistWriter) sniff(b []byte) (done bool, err error) {
	if len(p.line)+len(b) < sniffLen && !p.ending {
		p.line = append(p.line, b...)
		return true, nil
	}
	head := b
	if len(p.line) > 0 {
		head = append(p.line, b...)
	}
	p.line = nil // head may be its storage: take must not append to it
	if !isPlaylistBody(head) {
		// Not a playlist after all: everything goes out as it came.
		p.passing = true
		p.w.WriteHeader(p.status)
		_, err := p.w.Write(head)
		return true, err
	}
	p.sniffed = true
	return true, p.take(head)
}

// fail records a broken bound; finish answers it.
func (p *playlistWriter) fail(err error, why string) error {
	if p.failed == nil {
		p.failed = err
		p.m.warn("privatevideo: "+why+"; the answer fails",
			slog.Int64("bytes_in", p.in), slog.Int64("bytes_out", p.out+int64(len(p.buf))))
	}
	return err
}

// sendHeader writes the status line for the rewritten body: its length
// when it is whole, none when it streams.
func (p *playlistWriter) sendHeader(whole bool) {
	h := p.w.Header()
	// The bytes differ from the handler's: its length, validators and
	// ranges no longer describe them.
	h.Del("Accept-Ranges")
	h.Del("Content-Length")
	if p.gzipped {
		h.Del("Content-Encoding")
	}
	if etag := h.Get("Etag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		h.Set("Etag", "W/"+etag)
	}
	if whole {
		h.Set("Content-Length", strconv.Itoa(len(p.buf)))
	}
	p.sent = true
	p.w.WriteHeader(p.status)
}

// finish ends the answer once the handler has returned.
func (p *playlistWriter) finish(head bool) {
	if p.gzipped && p.failed == nil && len(p.zipped) > 0 {
		if !p.decode() {
			return // sent as it came
		}
	}
	p.ending = true
	if p.failed == nil && !p.passing && !p.sniffed && len(p.line) > 0 {
		p.sniff(nil) // a body shorter than the sniff
	}
	if p.failed == nil && !p.passing && p.sniffed && !p.long && len(p.line) > 0 {
		p.buf = p.rw.line(p.buf, p.line) // the last line, without an end
		p.line = p.line[:0]
		p.produced()
	}
	switch {
	case p.failed != nil && !p.sent && !p.passing:
		failPlaylist(p.w)
	case p.failed != nil:
		// Part of the answer is out: cut the connection, so the client
		// sees an error rather than a short playlist.
		panic(http.ErrAbortHandler)
	case p.passing, p.lost != nil:
	case !p.sent && p.in == 0:
		// Nothing came (HEAD, or an empty body): the rewritten length is
		// unknown for HEAD, zero for an empty body.
		h := p.w.Header()
		if h.Get("Content-Length") != "0" || head {
			h.Del("Content-Length")
		}
		p.gzipDone()
		p.w.WriteHeader(p.status)
	case !p.sent:
		p.sendHeader(true)
		p.flushBuf()
	default:
		p.flushBuf()
	}
}

func (p *playlistWriter) gzipDone() {
	if p.gzipped {
		p.w.Header().Del("Content-Encoding")
	}
}

// decode feeds the held compressed body, decoded, to the rewriter. It
// reports false when it sent the body as it came instead: it could not be
// decoded, or it is not a playlist once decoded.
func (p *playlistWriter) decode() bool {
	zr, err := gzip.NewReader(bytes.NewReader(p.zipped))
	if err == nil {
		var chunk [streamChunk]byte
		n := 0
		for n < sniffLen && err == nil {
			var k int
			k, err = zr.Read(chunk[n:])
			n += k
		}
		if (err == nil || err == io.EOF) && !isPlaylistBody(chunk[:n]) {
			p.passAsItCame()
			return false
		}
		for n > 0 || err == nil {
			if n > 0 {
				p.take(chunk[:n])
			}
			if err != nil || p.failed != nil || p.lost != nil {
				break
			}
			n, err = zr.Read(chunk[:])
		}
		if err == io.EOF {
			err = nil
		}
	}
	if err == nil || p.failed != nil || p.lost != nil {
		return true
	}
	if p.sent {
		p.fail(err, "a compressed playlist is corrupt past its start")
		return true
	}
	p.m.warn("privatevideo: cannot decode a playlist to rewrite it; it passes unrewritten",
		slog.String("content-encoding", p.w.Header().Get("Content-Encoding")), slog.String("cause", err.Error()))
	p.passAsItCame()
	return false
}

// passAsItCame sends a held compressed body unchanged, with the handler's
// headers.
func (p *playlistWriter) passAsItCame() {
	p.passing = true
	p.w.WriteHeader(p.status)
	p.w.Write(p.zipped)
}

// failPlaylist answers a playlist that cannot be rewritten within bounds.
func failPlaylist(w http.ResponseWriter) {
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Encoding", "Etag", "Last-Modified", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, `{"type":"urn:privatevideo:playlist-too-large","title":"This playlist is too large to deliver.","status":502}`+"\n")
}
