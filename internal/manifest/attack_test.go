package manifest_test

// Attacks on the streamed rewriting that need to see inside the writer
// (export_test.go); see the root package's attack tests for the
// rest of the review.

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo/internal/hls"
	"github.com/privatevideo/privatevideo/internal/manifest"
)

// discard is a warn function that logs nothing.
func discard(string, ...slog.Attr) {}

func sessionRewriter() *hls.Rewriter {
	return &hls.Rewriter{Param: "avh", Value: strings.Repeat("S", 200), Hosts: manifest.Hosts{Host: "media.example"}}
}

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
// gone, flushBuf keeps returning the client's error and take() returns at the first
// line that reaches streamChunk, so each further decoded chunk adds at most
// one line to the buffer: what is held stays near HoldLimit. (decode() does go on
// inflating the held body, up to manifest.MaxIn, for nobody: CPU only.)
func TestAttackGzipPlaylistAfterClientLeftHolds(t *testing.T) {
	var plain bytes.Buffer
	plain.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
	for i := 0; plain.Len() < 6<<20; i++ {
		fmt.Fprintf(&plain, "#EXTINF:2.000,\nsegments/1080p/segment-%08d.m4s\n", i)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain.Bytes())
	zw.Close()
	if zipped.Len() > manifest.MaxCompressed {
		t.Fatalf("test playlist compresses to %d bytes, over the bound", zipped.Len())
	}
	client := &brokenPipe{h: http.Header{}}
	client.h.Set("Content-Encoding", "gzip")
	p := manifest.NewWriter(client, sessionRewriter(), http.StatusOK, discard)
	for b := zipped.Bytes(); len(b) > 0; {
		n := min(len(b), 32<<10)
		if _, err := p.Write(b[:n]); err != nil {
			t.Fatalf("the handler's write: %v", err)
		}
		b = b[n:]
	}
	p.Finish(false)
	if !manifest.Lost(p) {
		t.Fatal("the client's failure was not seen")
	}
	const bound = 1 << 20 // generous: holdLimit plus a chunk plus a line is under 400 KiB
	if held := manifest.Held(p); held > bound {
		t.Fatalf("after the client left, the writer held %d MiB of rewritten playlist (decoded %d MiB of %d KiB gzip) for nobody; "+
			"want about %d KiB", held>>20, manifest.In(p)>>20, zipped.Len()>>10, (manifest.HoldLimit+manifest.StreamChunk+hls.MaxLine)>>10)
	}
}

// HOLDS: the same without compression: the handler's next write fails, so
// nothing piles up.
func TestAttackPlainPlaylistAfterClientLeftHolds(t *testing.T) {
	var plain bytes.Buffer
	plain.WriteString("#EXTM3U\n")
	for i := 0; plain.Len() < 6<<20; i++ {
		fmt.Fprintf(&plain, "#EXTINF:2.000,\nsegments/1080p/segment-%08d.m4s\n", i)
	}
	client := &brokenPipe{h: http.Header{}}
	p := manifest.NewWriter(client, sessionRewriter(), http.StatusOK, discard)
	for b := plain.Bytes(); len(b) > 0; {
		n := min(len(b), 32<<10)
		if _, err := p.Write(b[:n]); err != nil {
			break
		}
		b = b[n:]
	}
	p.Finish(false)
	if held := manifest.Held(p); held > 1<<20 {
		t.Fatalf("held %d KiB after the client left", held>>10)
	}
}
