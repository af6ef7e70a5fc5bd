package hls

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/privatevideo/privatevideo/internal/manifest"
)

// discard is a warn function that logs nothing.
func discard(string, ...slog.Attr) {}

var update = flag.Bool("update", false, "rewrite the golden files of the playlist rewriter")

func testRewriter() *Rewriter {
	return &Rewriter{
		Param: "avh",
		Value: "S3SS10N-t0k3n_",
		Hosts: manifest.Hosts{Host: "media.example.com", Allowed: []string{"cdn.example.com:8443"}},
	}
}

// Golden files: testdata/playlists/*.m3u8 rewritten must equal *.golden.
// Regenerate with: go test -run TestPlaylistGolden -update
func TestPlaylistGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/playlists/*.m3u8")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := testRewriter().Rewrite(src)
			golden := strings.TrimSuffix(in, ".m3u8") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("rewrite of %s differs from %s:\n%s", in, golden, got)
			}
			if again := testRewriter().Rewrite(got); !bytes.Equal(again, got) {
				t.Fatalf("rewriting twice changed the output:\n%s", again)
			}
		})
	}
}

func TestPlaylistURIs(t *testing.T) {
	p := testRewriter()
	for _, c := range []struct{ in, want string }{
		{"seg1.ts", "seg1.ts?avh=S3SS10N-t0k3n_"},
		{"seg1.ts?a=1", "seg1.ts?a=1&avh=S3SS10N-t0k3n_"},
		{"seg1.ts?avh=old&a=1#t=3", "seg1.ts?a=1&avh=S3SS10N-t0k3n_#t=3"},
		{"../key.bin", "../key.bin?avh=S3SS10N-t0k3n_"},
		{"/vod/v1/x.ts", "/vod/v1/x.ts?avh=S3SS10N-t0k3n_"},
		{"HTTPS://MEDIA.example.com/x", "HTTPS://MEDIA.example.com/x?avh=S3SS10N-t0k3n_"},
		{"https://user@media.example.com/x", "https://user@media.example.com/x"}, // userinfo: not trusted
		{"https://media.example.com.evil.net/x", "https://media.example.com.evil.net/x"},
		{"https://cdn.example.com/x", "https://cdn.example.com/x"}, // the allowed CDN host has a port
		{"//cdn.example.com:8443/x", "//cdn.example.com:8443/x?avh=S3SS10N-t0k3n_"},
		{"skd://key", "skd://key"},
		{"data:text/plain,x", "data:text/plain,x"},
		{"a:b/c", "a:b/c"}, // a scheme it does not know
		{"dir/a:b", "dir/a:b?avh=S3SS10N-t0k3n_"},
	} {
		if got := string(p.uri(nil, []byte(c.in))); got != c.want {
			t.Errorf("uri(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzPlaylistRewrite: no panic; the output is still a playlist with the
// same lines; lines the rewriter does not know are unchanged; rewriting is
// idempotent.
func FuzzPlaylistRewrite(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/playlists/*.m3u8")
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	f.Add([]byte("#EXTM3U\n#EXT-X-KEY:URI=\"a,b\",IV=1\nx\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-MAP:URI=\"unterminated\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if !IsPlaylist(src) {
			return
		}
		p := testRewriter()
		out := p.Rewrite(src)
		if !IsPlaylist(out) {
			t.Fatalf("output is not a playlist: %q", out)
		}
		inLines, outLines := bytes.SplitAfter(src, []byte("\n")), bytes.SplitAfter(out, []byte("\n"))
		if len(inLines) != len(outLines) {
			t.Fatalf("%d lines became %d", len(inLines), len(outLines))
		}
		for i, in := range inLines {
			uri := bytes.Trim(in, " \t\v\f\r\n")
			known := len(uri) > 0 && uri[0] != '#'
			for _, tag := range uriTags {
				known = known || bytes.HasPrefix(in, tag)
			}
			if !known && !bytes.Equal(in, outLines[i]) {
				t.Fatalf("line %d changed: %q became %q", i, in, outLines[i])
			}
			if bytes.HasSuffix(in, []byte("\r\n")) != bytes.HasSuffix(outLines[i], []byte("\r\n")) {
				t.Fatalf("line %d lost its line ending: %q became %q", i, in, outLines[i])
			}
		}
		if again := p.Rewrite(out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
	})
}

// BenchmarkPlaylistRewrite rewrites the fixture's media playlist and a
// 1.9 KB one of 50 segments.
func BenchmarkPlaylistRewrite(b *testing.B) {
	var long bytes.Buffer
	long.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:4\n")
	for i := 0; long.Len() < 1900; i++ {
		fmt.Fprintf(&long, "#EXTINF:4.000000,\nsegment%05d.ts\n", i)
	}
	fixture, err := os.ReadFile("testdata/playlists/fixture-media.m3u8")
	if err != nil {
		b.Fatal(err)
	}
	p := testRewriter()
	for _, c := range []struct {
		name string
		src  []byte
	}{{"fixture", fixture}, {"1.9KB", long.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			b.ReportAllocs()
			for b.Loop() {
				p.Rewrite(c.src)
			}
		})
	}
}

// FuzzPlaylistStream: the streamed rewriter, fed the body in pieces of any
// size, answers exactly what the whole-playlist rewriter makes of it, or
// the body unchanged when it is not a playlist.
func FuzzPlaylistStream(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/playlists/*.m3u8")
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		f.Add(b, uint16(7))
	}
	f.Add([]byte("#EXTM3U"), uint16(1))
	f.Add([]byte("\xef\xbb\xbf#EXTM3U\r\nseg.ts"), uint16(3))
	f.Add([]byte("#EXTM"), uint16(2))
	f.Add([]byte("not a playlist"), uint16(4))
	f.Fuzz(func(t *testing.T, src []byte, piece uint16) {
		rec := httptest.NewRecorder()
		p := manifest.NewWriter(rec, testRewriter(), http.StatusOK, discard)
		n := int(piece%4096) + 1
		for b := src; len(b) > 0; {
			k := min(n, len(b))
			if _, err := p.Write(b[:k]); err != nil {
				return // a bound broke: TestPlaylistBounds
			}
			b = b[k:]
		}
		p.Finish(false)
		want := src
		if IsPlaylist(src) {
			whole := testRewriter()
			want = whole.Rewrite(src)
			if whole.Err() != nil {
				// A playlist that would carry the session elsewhere fails.
				if rec.Code != http.StatusBadGateway || bytes.Contains(rec.Body.Bytes(), []byte("avh=")) {
					t.Fatalf("in pieces of %d, %q (%v): %d %q, want 502", n, src, whole.Err(), rec.Code, rec.Body.Bytes())
				}
				return
			}
		}
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Fatalf("in pieces of %d:\n%q\nbecame\n%q\nwant\n%q", n, src, rec.Body.Bytes(), want)
		}
		if cl := rec.Header().Get("Content-Length"); IsPlaylist(src) && cl != strconv.Itoa(len(want)) {
			t.Fatalf("Content-Length %q for %d bytes", cl, len(want))
		}
	})
}

// Variables and steering: a URI with a variable never gets the session, and
// a playlist that copies values into URIs or steers them elsewhere fails.
func TestVariablesAndSteering(t *testing.T) {
	p := testRewriter()
	for _, u := range []string{"{$h}/v.m3u8", "https://media.example.com/{$p}.ts", "seg{$n}.ts"} {
		if got := string(p.uri(nil, []byte(u))); got != u {
			t.Errorf("uri(%q) = %q, want it untouched", u, got)
		}
	}
	for _, tag := range []string{
		`#EXT-X-DEFINE:QUERYPARAM="avh"`,
		`#EXT-X-DEFINE:IMPORT="h"`,
		`#EXT-X-CONTENT-STEERING:SERVER-URI="https://evil.example/s.json"`,
	} {
		r := testRewriter()
		src := "#EXTM3U\n" + tag + "\nseg.ts\n"
		out, err := r.Write(nil, []byte(src))
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: Write = %q, %v, want ErrUnsupported", tag, out, err)
		}
	}
	r := testRewriter()
	if _, err := r.Write(nil, []byte("#EXTM3U\n#EXT-X-DEFINE:NAME=\"n\",VALUE=\"1\"\nseg{$n}.ts\n")); err != nil {
		t.Errorf("a plain EXT-X-DEFINE: %v, want it rewritten (its URIs with variables untouched)", err)
	}
}
