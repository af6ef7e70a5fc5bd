package privatevideo_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo"
)

// playlistServer serves body as a playlist behind the middleware, with the
// given Content-Encoding, and returns the URL of a fresh token's playlist.
func playlistServer(t *testing.T, body []byte, encoding string) string {
	t.Helper()
	mw, err := privatevideo.New([]privatevideo.Key{newKey(t)}, privatevideo.WithInsecureCookies())
	if err != nil {
		t.Fatal(err)
	}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		// Several writes of odd sizes, as a proxy copies.
		for b := body; len(b) > 0; {
			n := min(len(b), 7919)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	})
	srv := httptest.NewServer(mw.Handler(upstream))
	t.Cleanup(srv.Close)
	return srv.URL + tokenPath("v1", mustIssue(t, mw, "v1"), "hls/index.m3u8")
}

// mediaPlaylist builds a realistic media playlist of at least size bytes.
func mediaPlaylist(size int) []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "#EXTINF:2.000,\nsegments/1080p/segment-%08d.m4s\n", i)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.Bytes()
}

// fetchRaw GETs u and reads the whole body, reporting a read error apart.
func fetchRaw(t *testing.T, u string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", "identity") // what is on the wire
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// checkRewritten fails unless every line of out is in's line, and every
// URI line carries the session.
func checkRewritten(t *testing.T, in, out []byte) {
	t.Helper()
	a, b := bufio.NewScanner(bytes.NewReader(in)), bufio.NewScanner(bytes.NewReader(out))
	lines := 0
	for a.Scan() {
		if !b.Scan() {
			t.Fatalf("output ends after %d lines", lines)
		}
		lines++
		want, got := a.Text(), b.Text()
		if strings.HasPrefix(want, "#") {
			if got != want {
				t.Fatalf("line %d: %q became %q", lines, want, got)
			}
			continue
		}
		if !strings.HasPrefix(got, want+"?avh=") {
			t.Fatalf("line %d: %q became %q, want the session on it", lines, want, got)
		}
	}
	if b.Scan() {
		t.Fatalf("output has more than the %d lines of the input", lines)
	}
}

// A small playlist is sent whole with its length; a large one streams,
// rewritten to the last line, without holding it.
func TestPlaylistsHeldOrStreamed(t *testing.T) {
	for _, c := range []struct {
		name   string
		size   int
		length bool // sent with a Content-Length
	}{
		{"small", 2 << 10, true},
		{"4 MiB", 4 << 20, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := mediaPlaylist(c.size)
			resp, out, err := fetchRaw(t, playlistServer(t, in, ""))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%d, read error %v", resp.StatusCode, err)
			}
			if got := resp.ContentLength >= 0; got != c.length || c.length && resp.ContentLength != int64(len(out)) {
				t.Fatalf("Content-Length %d for %d bytes, want a length: %t", resp.ContentLength, len(out), c.length)
			}
			if resp.Header.Get("Accept-Ranges") != "" {
				t.Fatalf("a rewritten playlist claims ranges")
			}
			checkRewritten(t, in, out)
		})
	}
}

// A playlist that would grow out of bounds, or is too large, is refused (502
// before anything is sent) or cut off with an error (once streaming): never
// answered without bound, never mistaken for a whole playlist.
func TestPlaylistBounds(t *testing.T) {
	var tiny bytes.Buffer
	tiny.WriteString("#EXTM3U\n")
	for tiny.Len() < 4<<20 {
		tiny.WriteString("a\n")
	}
	huge := mediaPlaylist(20 << 20) // over the 16 MiB bound, streaming before it
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte("#EXTM3U\n"))
	line := []byte("#EXTINF:2,\nsegment.m4s\n")
	for range (64 << 20) / len(line) { // 64 MiB decompressed
		zw.Write(line)
	}
	zw.Close()
	var notGzip bytes.Buffer
	notGzip.Write([]byte{0x1f, 0x8b})
	notGzip.WriteString("#EXTM3U\nnot really\n")

	for _, c := range []struct {
		name     string
		body     []byte
		encoding string
		cut      bool // streaming had started: the read fails
	}{
		{"2-byte lines", tiny.Bytes(), "", false},
		{"20 MiB", huge, "", true},
		{"gzip bomb", zipped.Bytes(), "gzip", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, out, err := fetchRaw(t, playlistServer(t, c.body, c.encoding))
			if c.cut {
				if err == nil {
					t.Fatalf("%d: read %d bytes without error, want the stream cut", resp.StatusCode, len(out))
				}
			} else if resp.StatusCode != http.StatusBadGateway || err != nil {
				t.Fatalf("%d (read error %v), want 502", resp.StatusCode, err)
			}
			if len(out) > 100<<20 {
				t.Fatalf("%d bytes out: unbounded", len(out))
			}
		})
	}
	t.Run("corrupt gzip passes as it came", func(t *testing.T) {
		resp, out, err := fetchRaw(t, playlistServer(t, notGzip.Bytes(), "gzip"))
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(out, notGzip.Bytes()) {
			t.Fatalf("%d %q %v", resp.StatusCode, out, err)
		}
	})
}
