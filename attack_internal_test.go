package privatevideo

// Attacks that need to see inside the streamed playlist writer; see
// attack_test.go for the rest of the review.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// brokenPipe is a client that takes the status line and the first write,
// then is gone: every later write fails.
type brokenPipe struct {
	h      http.Header
	writes int
	bytes  int
}

func (b *brokenPipe) Header() http.Header { return b.h }
func (b *brokenPipe) WriteHeader(int)     {}
func (b *brokenPipe) Write(p []byte) (int, error) {
	b.writes++
	if b.writes > 1 {
		return 0, errors.New("write: broken pipe")
	}
	b.bytes += len(p)
	return len(p), nil
}

// HOLDS (c, with an origin that sends gzip playlists): once the client is
// gone, flushBuf keeps returning p.lost and take() returns at the first
// line that reaches streamChunk, so each further decoded chunk adds at most
// one line to p.buf: what is held stays near holdLimit. (decode() does go on
// inflating the held body, up to maxPlaylistIn, for nobody: CPU only.)
func TestAttackGzipPlaylistAfterClientLeftHolds(t *testing.T) {
	m, err := New([]Key{{Hash: bytes.Repeat([]byte("k"), 32)}}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
	for i := 0; plain.Len() < 6<<20; i++ {
		fmt.Fprintf(&plain, "#EXTINF:2.000,\nsegments/1080p/segment-%08d.m4s\n", i)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain.Bytes())
	zw.Close()
	if zipped.Len() > maxCompressed {
		t.Fatalf("test playlist compresses to %d bytes, over the bound", zipped.Len())
	}
	client := &brokenPipe{h: http.Header{}}
	p := &playlistWriter{
		w: client, m: m, status: http.StatusOK, gzipped: true,
		rw: playlistRewriter{param: "avh", value: strings.Repeat("S", 200), host: "media.example"},
	}
	for b := zipped.Bytes(); len(b) > 0; {
		n := min(len(b), 32<<10)
		if _, err := p.Write(b[:n]); err != nil {
			t.Fatalf("the handler's write: %v", err)
		}
		b = b[n:]
	}
	p.finish(false)
	if p.lost == nil {
		t.Fatal("the client's failure was not seen")
	}
	const bound = 1 << 20 // generous: holdLimit plus a chunk plus a line is under 400 KiB
	if held := cap(p.buf); held > bound {
		t.Fatalf("after the client left, the writer held %d MiB of rewritten playlist (decoded %d MiB of %d KiB gzip) for nobody; "+
			"want about %d KiB", held>>20, p.in>>20, zipped.Len()>>10, (holdLimit+streamChunk+maxLine)>>10)
	}
}

// HOLDS: the same without compression: the handler's next write fails, so
// nothing piles up.
func TestAttackPlainPlaylistAfterClientLeftHolds(t *testing.T) {
	m, _ := New([]Key{{Hash: bytes.Repeat([]byte("k"), 32)}}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	var plain bytes.Buffer
	plain.WriteString("#EXTM3U\n")
	for i := 0; plain.Len() < 6<<20; i++ {
		fmt.Fprintf(&plain, "#EXTINF:2.000,\nsegments/1080p/segment-%08d.m4s\n", i)
	}
	client := &brokenPipe{h: http.Header{}}
	p := &playlistWriter{w: client, m: m, status: http.StatusOK,
		rw: playlistRewriter{param: "avh", value: strings.Repeat("S", 200), host: "media.example"}}
	for b := plain.Bytes(); len(b) > 0; {
		n := min(len(b), 32<<10)
		if _, err := p.Write(b[:n]); err != nil {
			break
		}
		b = b[n:]
	}
	p.finish(false)
	if held := cap(p.buf); held > 1<<20 {
		t.Fatalf("held %d KiB after the client left", held>>10)
	}
}

// failingStore fails every redemption as a stalled store does, and holds
// every lookup until released.
type failingStore struct {
	store.Store
	hold chan struct{}
}

func (s *failingStore) Redeem(ctx context.Context, req store.RedeemRequest) (store.Redemption, error) {
	return store.Redemption{}, errors.New("kv: i/o timeout")
}

func (s *failingStore) Lookup(ctx context.Context, tok string, now time.Time) (store.Record, error) {
	select {
	case <-s.hold:
	case <-ctx.Done():
		return store.Record{}, ctx.Err()
	}
	return s.Store.Lookup(ctx, tok, now)
}

// Many redemptions at once against a failing store, each of a random
// well-formed token (all an attacker with a video ID has): the watch of late
// redemptions stays bounded, and each ends once the store answers.
func TestAttackLateWatchIsBoundedHolds(t *testing.T) {
	st := &failingStore{Store: store.NewMemory(0), hold: make(chan struct{})}
	m, err := New([]Key{{Hash: make([]byte, 32)}}, WithStore(st), WithStoreTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.NotFoundHandler())
	for range 2 * maxWatchers {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/vod/v1/token/"+NewToken()+"/a.ts", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("a redemption against the failing store: %d, want 503", rec.Code)
		}
	}
	if n := m.watchers.Load(); n > maxWatchers {
		t.Fatalf("%d late redemptions watched at once, want at most %d", n, maxWatchers)
	}
	close(st.hold) // the store answers: unknown tokens, nothing to watch
	deadline := time.Now().Add(10 * time.Second)
	for m.watchers.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := m.watchers.Load(); n != 0 {
		t.Fatalf("%d watches still running after the store answered", n)
	}
}
