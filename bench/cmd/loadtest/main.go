// Command loadtest measures privatevideo through a real server on loopback:
// http.FileServer over a 1.9 KB playlist and a 1 MiB segment, bare against
// wrapped by the middleware with a valid session, under load from wrk, a
// separate process. Runs alternate (A B A B …) so that the machine's drift
// cancels out of the ratios; it prints each ratio and their spread.
//
//	go run ./bench/cmd/loadtest -rounds 10 -duration 3s
//
// It needs wrk (Debian's package wrk).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"crypto/rand"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

func main() {
	rounds := flag.Int("rounds", 10, "alternating bare/wrapped pairs per asset")
	duration := flag.Duration("duration", 3*time.Second, "length of each wrk run")
	conns := flag.Int("connections", 8, "wrk connections")
	threads := flag.Int("threads", 1, "wrk threads")
	flag.Parse()
	if err := run(*rounds, *duration, *conns, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// Result is one asset's measurement.
type Result struct {
	Asset        string
	Bytes        int
	Bare, Wrap   []float64 // requests per second, per run
	Ratios       []float64 // Wrap[i] / Bare[i]
	Mean, StdDev float64   // of Ratios
}

func run(rounds int, duration time.Duration, conns, threads int) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	dir, err := os.MkdirTemp("", "privatevideo-loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	assets, err := writeMedia(dir)
	if err != nil {
		return err
	}

	media := http.StripPrefix("/vod/", http.FileServer(http.Dir(dir)))
	bare := httptest.NewServer(media)
	defer bare.Close()
	key := make([]byte, 32)
	rand.Read(key)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies())
	if err != nil {
		return err
	}
	wrapped := httptest.NewServer(mw.Handler(media))
	defer wrapped.Close()
	tok, err := mw.Issue(context.Background(), "v1")
	if err != nil {
		return err
	}
	cookie, avh, err := session(wrapped.URL + "/vod/v1/token/" + tok + "/session")
	if err != nil {
		return err
	}

	fmt.Printf("wrk -t%d -c%d -d%s, %d alternating pairs per asset, GOMAXPROCS=%s\n\n", threads, conns, duration, rounds, os.Getenv("GOMAXPROCS"))
	// The playlist twice: with the cookie (served as it is) and with the
	// session token in the URL, as a player without cookies asks for it
	// (rewritten, every URI carrying the session token).
	assets = append(assets, asset{name: "playlist, avh (rewritten)", path: assets[0].path, size: assets[0].size, query: "?avh=" + avh})
	var results []Result
	for _, a := range assets {
		r := Result{Asset: a.name, Bytes: a.size}
		bareURL := bare.URL + "/vod/v1/" + a.path
		wrapURL := wrapped.URL + "/vod/v1/token/" + tok + "/" + a.path + a.query
		cookie := cookie
		if a.query != "" {
			cookie = ""
		}
		// Warm both up, and check that the wrapped one answers 200.
		if _, err := rps(wrk, bareURL, "", time.Second, conns, threads); err != nil {
			return err
		}
		if _, err := rps(wrk, wrapURL, cookie, time.Second, conns, threads); err != nil {
			return err
		}
		for range rounds {
			b, err := rps(wrk, bareURL, "", duration, conns, threads)
			if err != nil {
				return err
			}
			w, err := rps(wrk, wrapURL, cookie, duration, conns, threads)
			if err != nil {
				return err
			}
			r.Bare, r.Wrap, r.Ratios = append(r.Bare, b), append(r.Wrap, w), append(r.Ratios, w/b)
		}
		r.Mean, r.StdDev = meanStd(r.Ratios)
		results = append(results, r)
	}
	fmt.Println("| asset | bare req/s (median) | wrapped req/s (median) | ratio mean | ratio std dev | ratio min … max |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s (%s) | %.0f | %.0f | %.3f | %.3f | %.3f … %.3f |\n", r.Asset, human(r.Bytes),
			median(r.Bare), median(r.Wrap), r.Mean, r.StdDev, slices.Min(r.Ratios), slices.Max(r.Ratios))
	}
	fmt.Println()
	for _, r := range results {
		fmt.Printf("%s ratios: %s\n", r.Asset, join(r.Ratios))
	}
	return nil
}

type asset struct {
	name, path string
	size       int
	query      string // added to the wrapped URL
}

// writeMedia writes a 1.9 KB media playlist and a 1 MiB segment for video v1.
func writeMedia(dir string) ([]asset, error) {
	hls := filepath.Join(dir, "v1", "hls")
	if err := os.MkdirAll(hls, 0o755); err != nil {
		return nil, err
	}
	var pl strings.Builder
	pl.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n")
	for i := 0; pl.Len() < 1900-40; i++ {
		fmt.Fprintf(&pl, "#EXTINF:4.000000,\nsegment%05d.ts\n", i)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	seg := make([]byte, 1<<20)
	rand.Read(seg)
	if err := os.WriteFile(filepath.Join(hls, "index.m3u8"), []byte(pl.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(hls, "seg.ts"), seg, 0o644); err != nil {
		return nil, err
	}
	return []asset{{name: "playlist", path: "hls/index.m3u8", size: pl.Len()}, {name: "segment", path: "hls/seg.ts", size: len(seg)}}, nil
}

// session redeems through the session endpoint and returns the session as a
// Cookie header value and as a session token.
func session(url string) (cookie, token string, err error) {
	resp, err := http.Post(url, "", nil)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var body struct {
		SessionToken string `json:"session_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", "", fmt.Errorf("session endpoint %s: %w", resp.Status, err)
	}
	for _, c := range resp.Cookies() {
		return c.Name + "=" + c.Value, body.SessionToken, nil
	}
	return "", "", fmt.Errorf("no session cookie from the session endpoint (%s)", resp.Status)
}

var (
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	non2xxLine = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// rps runs wrk against url and returns its requests per second; any non-2xx
// answer is an error, so a refused session cannot pass for speed.
func rps(wrk, url, cookie string, d time.Duration, conns, threads int) (float64, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s"}
	if cookie != "" {
		args = append(args, "-H", "Cookie: "+cookie)
	}
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if m := non2xxLine.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("wrk got %s non-2xx answers from %s", m[1], redact(url))
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func redact(u string) string {
	if i := strings.Index(u, "/token/"); i >= 0 {
		return u[:i] + "/token/…"
	}
	return u
}

func meanStd(xs []float64) (mean, std float64) {
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

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1000)
}

func join(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 3, 64)
	}
	return strings.Join(parts, " ")
}
