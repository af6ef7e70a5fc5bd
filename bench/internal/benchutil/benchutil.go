// Package benchutil is what the load commands (cmd/loadtest,
// cmd/sidebyside) share: the media they serve, the two servers in this
// process, and the statistics they report.
package benchutil

import (
	"context"
	"net/http"
	"net/http/httptest"

	"crypto/rand"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// Media paths under the video v1, relative to it.
const (
	PlaylistPath = "hls/index.m3u8"
	SegmentPath  = "hls/seg.ts"
)

// WriteMedia writes a 1.9 KB media playlist and a 1 MiB segment of random
// bytes for video v1 under dir, and returns them.
func WriteMedia(dir string) (playlist, segment []byte, err error) {
	if err := os.MkdirAll(filepath.Join(dir, "v1", "hls"), 0o755); err != nil {
		return nil, nil, err
	}
	var pl strings.Builder
	pl.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n")
	for i := 0; pl.Len() < 1900-40; i++ {
		fmt.Fprintf(&pl, "#EXTINF:4.000000,\nsegment%05d.ts\n", i)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	playlist = []byte(pl.String())
	segment = make([]byte, 1<<20)
	rand.Read(segment)
	for path, body := range map[string][]byte{PlaylistPath: playlist, SegmentPath: segment} {
		if err := os.WriteFile(filepath.Join(dir, "v1", path), body, 0o644); err != nil {
			return nil, nil, err
		}
	}
	return playlist, segment, nil
}

// Servers serves the media under dir at /vod/ twice: bare, by
// http.FileServer, and wrapped by the middleware on the memory store, which
// issued tok for v1. The caller closes both.
func Servers(dir string) (bare, wrapped *httptest.Server, tok string, err error) {
	files := http.StripPrefix("/vod/", http.FileServer(http.Dir(dir)))
	key := make([]byte, 32)
	rand.Read(key)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies())
	if err != nil {
		return nil, nil, "", err
	}
	if tok, err = mw.Issue(context.Background(), "v1"); err != nil {
		return nil, nil, "", err
	}
	return httptest.NewServer(files), httptest.NewServer(mw.Handler(files)), tok, nil
}

// Redact hides the credential of a URL for printing: a private token's
// path, or secure_link's signature.
func Redact(u string) string {
	if i := strings.Index(u, "/token/"); i >= 0 {
		return u[:i] + "/token/…"
	}
	if i := strings.Index(u, "?md5="); i >= 0 {
		return u[:i] + "?md5=…"
	}
	return u
}

// MeanStd returns the mean of xs and their sample standard deviation.
func MeanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	if len(xs) > 1 {
		std = math.Sqrt(std / float64(len(xs)-1))
	}
	return mean, std
}

// Median returns the median of xs, which it leaves as they are.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Human writes a size as the tables do: "1 MiB", "1.9 KB".
func Human(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1000)
}

// Join writes xs with prec decimals, separated by spaces.
func Join(xs []float64, prec int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', prec, 64)
	}
	return strings.Join(parts, " ")
}
