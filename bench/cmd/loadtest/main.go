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
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/privatevideo/privatevideo/bench/internal/benchutil"
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
	playlist, segment, err := benchutil.WriteMedia(dir)
	if err != nil {
		return err
	}
	assets := []asset{{name: "playlist", path: benchutil.PlaylistPath, size: len(playlist)}, {name: "segment", path: benchutil.SegmentPath, size: len(segment)}}

	bare, wrapped, tok, err := benchutil.Servers(dir)
	if err != nil {
		return err
	}
	defer bare.Close()
	defer wrapped.Close()
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
		r.Mean, r.StdDev = benchutil.MeanStd(r.Ratios)
		results = append(results, r)
	}
	fmt.Println("| asset | bare req/s (median) | wrapped req/s (median) | ratio mean | ratio std dev | ratio min … max |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s (%s) | %.0f | %.0f | %.3f | %.3f | %.3f … %.3f |\n", r.Asset, benchutil.Human(r.Bytes),
			benchutil.Median(r.Bare), benchutil.Median(r.Wrap), r.Mean, r.StdDev, slices.Min(r.Ratios), slices.Max(r.Ratios))
	}
	fmt.Println()
	for _, r := range results {
		fmt.Printf("%s ratios: %s\n", r.Asset, benchutil.Join(r.Ratios, 3))
	}
	return nil
}

type asset struct {
	name, path string
	size       int
	query      string // added to the wrapped URL
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
		return 0, fmt.Errorf("wrk got %s non-2xx answers from %s", m[1], benchutil.Redact(url))
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
