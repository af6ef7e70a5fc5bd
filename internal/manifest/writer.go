// Package manifest rewrites manifests (HLS playlists, DASH MPDs) in HTTP
// answers as they stream, within bounds: one valid session must not be able
// to make the server hold, or answer, without limit, whatever the handler or
// its origin sends. It knows nothing of sessions or of the middleware: a
// Rewriter says what to change, Hosts which URLs are the session's.
package manifest

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

// Bounds of rewriting.
const (
	// HoldLimit: a rewritten manifest up to this size is held and sent
	// whole, with its Content-Length. A larger one streams as it is
	// rewritten, in chunks of StreamChunk, without a length.
	HoldLimit   = 256 << 10
	StreamChunk = 32 << 10
	// MaxIn caps a manifest's decoded bytes, and MaxCompressed its
	// compressed ones, which are held until the handler is done.
	MaxIn         = 16 << 20
	MaxCompressed = 1 << 20
	// An answer may grow to at most GrowthFactor times its input plus
	// GrowthSlack, and never past MaxOut. Real playlists grow by a session
	// token per URI, 2 to 10 times for the shortest segment names; a
	// playlist of 2-byte lines would grow 75 times.
	GrowthFactor = 16
	GrowthSlack  = 64 << 10
	MaxOut       = 64 << 20
	// feed is the most input a Rewriter gets at once, so that the growth
	// bound is checked before a write of the handler's, however large,
	// could grow without limit.
	feed = 4 << 10
)

// ErrBound is a manifest that broke a bound: the answer fails.
var ErrBound = errors.New("manifest exceeds the rewrite bounds")

// A Rewriter rewrites one document as it streams.
type Rewriter interface {
	// SniffLen is how many first bytes Sniff needs (fewer when the
	// body is shorter).
	SniffLen() int
	// Sniff reports whether a body that starts with head is the
	// rewriter's kind of document; one that is not passes unchanged.
	Sniff(head []byte) bool
	// Write appends to out the rewritten form of what in completes,
	// holding back an unfinished part (a line, a tag) for the next call.
	// An error fails the answer.
	Write(out, in []byte) ([]byte, error)
	// Close appends what is held at the end of the body. An error (a
	// document cut short) fails the answer.
	Close(out []byte) ([]byte, error)
}

// Writer rewrites one answer's body on its way to w, what is held per
// request bounded by HoldLimit and the rewriter's own bounds, not by the
// manifest's size. A compressed body (gzip) is held, compressed, up to
// MaxCompressed, and decoded as it is rewritten.
//
// A body that does not start like the rewriter's document passes
// unchanged, headers and all. A body that breaks a bound fails: with 502
// when nothing has been sent yet, else by aborting the response, so that a
// client never mistakes a cut manifest for a whole one.
type Writer struct {
	w      http.ResponseWriter // the client's
	rw     Rewriter
	status int
	warn   func(msg string, attrs ...slog.Attr)

	gzipped bool   // the body is gzip: held in zipped until Finish
	zipped  []byte //
	sniffed bool   // the start was seen and is the rewriter's document
	passing bool   // not one: bytes pass unchanged
	sent    bool   // the status line is out: streaming
	ending  bool   // the handler is done: no more bytes will come
	failed  error  // a bound broke
	lost    error  // the client's connection failed

	in, out int64  // decoded bytes taken, rewritten bytes made
	head    []byte // the start of the body, until it can be sniffed
	buf     []byte // rewritten bytes not sent yet
}

// NewWriter starts rewriting an answer with this status, whose header is
// w's. It returns nil when the body must pass as it is, in an encoding it
// cannot read (it says so through warn, which must not be nil).
func NewWriter(w http.ResponseWriter, rw Rewriter, status int, warn func(msg string, attrs ...slog.Attr)) *Writer {
	p := &Writer{w: w, rw: rw, status: status, warn: warn}
	switch enc := w.Header().Get("Content-Encoding"); {
	case enc == "" || strings.EqualFold(enc, "identity"):
	case strings.EqualFold(strings.TrimSpace(enc), "gzip"):
		p.gzipped = true
	default:
		warn("privatevideo: a manifest in an encoding the middleware cannot read passes unrewritten; players without cookies cannot follow it",
			slog.String("content-encoding", enc))
		return nil
	}
	return p
}

// Write takes a piece of the handler's body.
func (p *Writer) Write(b []byte) (int, error) {
	switch {
	case p.failed != nil:
		return 0, p.failed
	case p.lost != nil:
		return 0, p.lost
	case p.passing:
		return p.w.Write(b)
	case p.gzipped:
		if len(p.zipped)+len(b) > MaxCompressed {
			return 0, p.fail(ErrBound, "compressed manifest larger than the rewrite bound")
		}
		p.zipped = append(p.zipped, b...)
		return len(b), nil
	}
	if err := p.take(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// FailedUnsent reports whether the answer broke a bound before anything
// was sent: Finish then answers 502.
func (p *Writer) FailedUnsent() bool { return p.failed != nil && !p.sent && !p.passing }

// take rewrites decoded bytes, sending what is ready.
func (p *Writer) take(b []byte) error {
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
	if p.in > MaxIn {
		return p.fail(ErrBound, "manifest larger than the rewrite bound")
	}
	for len(b) > 0 {
		n := min(len(b), feed)
		var err error
		if p.buf, err = p.rw.Write(p.buf, b[:n]); err != nil {
			return p.fail(err, "manifest cannot be rewritten")
		}
		b = b[n:]
		if err := p.produced(); err != nil {
			return err
		}
	}
	return nil
}

// produced checks the growth bounds and sends or holds what is ready.
func (p *Writer) produced() error {
	total := p.out + int64(len(p.buf))
	if total > GrowthFactor*p.in+GrowthSlack || total > MaxOut {
		return p.fail(ErrBound, "rewritten manifest would exceed the rewrite bound")
	}
	switch {
	case !p.sent && len(p.buf) > HoldLimit:
		p.sendHeader(false)
		fallthrough
	case p.sent && len(p.buf) >= StreamChunk:
		return p.flushBuf()
	}
	return nil
}

func (p *Writer) flushBuf() error {
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

// sniff looks at the body's first bytes, kept in p.head until there are
// enough, and decides whether this is the rewriter's document. It reports
// done when it has consumed b itself: still too few bytes, or not one.
func (p *Writer) sniff(b []byte) (done bool, err error) {
	if len(p.head)+len(b) < p.rw.SniffLen() && !p.ending {
		p.head = append(p.head, b...)
		return true, nil
	}
	head := b
	if len(p.head) > 0 {
		head = append(p.head, b...)
	}
	p.head = nil
	if !p.rw.Sniff(head) {
		// Not a manifest after all: everything goes out as it came.
		p.passing = true
		p.w.WriteHeader(p.status)
		_, err := p.w.Write(head)
		return true, err
	}
	p.sniffed = true
	return true, p.take(head)
}

// fail records a broken bound; Finish answers it.
func (p *Writer) fail(err error, why string) error {
	if p.failed == nil {
		p.failed = err
		p.warn("privatevideo: "+why+"; the answer fails", slog.String("cause", err.Error()),
			slog.Int64("bytes_in", p.in), slog.Int64("bytes_out", p.out+int64(len(p.buf))))
	}
	return err
}

// sendHeader writes the status line for the rewritten body: its length
// when it is whole, none when it streams.
func (p *Writer) sendHeader(whole bool) {
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

// Finish ends the answer once the handler has returned; head says it was
// a HEAD request. It panics with http.ErrAbortHandler when a bound broke
// after part of the answer went out, so that the client sees an error
// rather than a short manifest.
func (p *Writer) Finish(head bool) {
	if p.gzipped && p.failed == nil && len(p.zipped) > 0 {
		if !p.decode() {
			return // sent as it came
		}
	}
	p.ending = true
	if p.failed == nil && !p.passing && !p.sniffed && len(p.head) > 0 {
		p.sniff(nil) // a body shorter than the sniff
	}
	if p.failed == nil && !p.passing && p.sniffed {
		var err error
		if p.buf, err = p.rw.Close(p.buf); err != nil {
			p.fail(err, "manifest cut short")
		} else {
			p.produced()
		}
	}
	switch {
	case p.failed != nil && !p.sent && !p.passing:
		Fail(p.w)
	case p.failed != nil:
		panic(http.ErrAbortHandler)
	case p.passing, p.lost != nil:
	case !p.sent && p.in == 0:
		// Nothing came (HEAD, or an empty body): the rewritten length is
		// unknown for HEAD, zero for an empty body.
		h := p.w.Header()
		if h.Get("Content-Length") != "0" || head {
			h.Del("Content-Length")
		}
		if p.gzipped {
			h.Del("Content-Encoding")
		}
		p.w.WriteHeader(p.status)
	case !p.sent:
		p.sendHeader(true)
		p.flushBuf()
	default:
		p.flushBuf()
	}
}

// decode feeds the held compressed body, decoded, to the rewriter. It
// reports false when it sent the body as it came instead: it could not be
// decoded, or it is not the rewriter's document once decoded.
func (p *Writer) decode() bool {
	zr, err := gzip.NewReader(bytes.NewReader(p.zipped))
	if err == nil {
		chunk := make([]byte, StreamChunk)
		n, want := 0, min(p.rw.SniffLen(), len(chunk))
		for n < want && err == nil {
			var k int
			k, err = zr.Read(chunk[n:])
			n += k
		}
		if (err == nil || err == io.EOF) && !p.rw.Sniff(chunk[:n]) {
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
			n, err = zr.Read(chunk)
		}
		if err == io.EOF {
			err = nil
		}
	}
	if err == nil || p.failed != nil || p.lost != nil {
		return true
	}
	if p.sent {
		p.fail(err, "a compressed manifest is corrupt past its start")
		return true
	}
	p.warn("privatevideo: cannot decode a manifest to rewrite it; it passes unrewritten",
		slog.String("content-encoding", p.w.Header().Get("Content-Encoding")), slog.String("cause", err.Error()))
	p.passAsItCame()
	return false
}

// passAsItCame sends a held compressed body unchanged, with the handler's
// headers.
func (p *Writer) passAsItCame() {
	p.passing = true
	p.w.WriteHeader(p.status)
	p.w.Write(p.zipped)
}

// Fail answers a manifest that cannot be rewritten, within bounds or at all
// (it would carry the session elsewhere): 502.
func Fail(w http.ResponseWriter) {
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Encoding", "Etag", "Last-Modified", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, `{"type":"urn:privatevideo:playlist-undeliverable","title":"This playlist cannot be delivered.","status":502}`+"\n")
}
