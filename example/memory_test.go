//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Memory, measured from outside: the built edge server, in front of an
// origin of large playlists, is loaded as one valid session can load it,
// and its peak resident memory (VmHWM) is read from /proc. Each load runs
// on a fresh process, so that each peak is its own. A process that grows
// past twice its target is killed at once: the test fails, and the machine
// it shares is spared.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the server with gigabytes of playlists")
	}
	t.Parallel()
	bin := noRaceEdgeBinary(t)
	origin := newPlaylistOrigin(t)

	// (a) Playlists of 2-byte lines, rewritten for cookie-less clients,
	// grow the most: each line gains a session token.
	t.Run("short-lines", func(t *testing.T) {
		l := loadPlaylist(t, bin, origin, "short", 8)
		l.check(t, "8 concurrent 4 MiB playlists of 2-byte lines", 400*mib)
		if l.maxBytes > 100*mib {
			t.Errorf("a 4 MiB playlist became a %d MiB answer: want a bounded answer", l.maxBytes/mib)
		}
	})
	// (b) Many realistic media playlists at once.
	t.Run("realistic", func(t *testing.T) {
		l := loadPlaylist(t, bin, origin, "real", 200)
		l.check(t, "200 concurrent realistic 4 MiB media playlists", 1024*mib)
	})
	// (c) Gzip bombs: small compressed, huge decompressed. Neither the
	// answer nor the process may grow with the decompressed size.
	for _, bomb := range []string{"bomb", "smallbomb"} {
		t.Run(bomb, func(t *testing.T) {
			l := loadPlaylist(t, bin, origin, bomb, 4)
			l.check(t, fmt.Sprintf("4 concurrent gzip bombs of %d KiB compressed, %d MiB decompressed",
				len(origin.bodies[bomb])/kib, origin.inflated[bomb]/mib), 256*mib)
			if l.maxBytes > 100*mib {
				t.Errorf("a gzip bomb streamed %d MiB out of the edge: want a bounded answer", l.maxBytes/mib)
			}
		})
	}
}

// noRaceEdgeBinary is the edge server built without the race detector,
// which multiplies memory: the figures must be the server's own.
func noRaceEdgeBinary(t *testing.T) string {
	if !raceEnabled {
		return edgeBinary
	}
	noRaceOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(edgeBinary), "edge-norace")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			noRaceErr = fmt.Errorf("building the edge server without -race: %v\n%s", err, out)
			return
		}
		noRaceBinary = bin
	})
	if noRaceErr != nil {
		t.Fatal(noRaceErr)
	}
	return noRaceBinary
}

var (
	noRaceOnce   sync.Once
	noRaceBinary string
	noRaceErr    error
)

// playlistOrigin serves generated playlists at /vod/{id}/hls/manifest.m3u8.
type playlistOrigin struct {
	*httptest.Server
	bodies   map[string][]byte // by video ID, as served
	inflated map[string]int64  // decompressed size of the gzip ones
}

func newPlaylistOrigin(t *testing.T) *playlistOrigin {
	o := &playlistOrigin{bodies: map[string][]byte{}, inflated: map[string]int64{}}

	// 4 MiB of "a\n" after the header.
	short := make([]byte, 4*mib)
	copy(short, "#EXTM3U\n")
	for i := len("#EXTM3U\n"); i+1 < len(short); i += 2 {
		short[i], short[i+1] = 'a', '\n'
	}
	o.bodies["short"] = short

	// A VOD playlist of 4 MiB: a segment of 4 s, a 40-byte URI.
	var real bytes.Buffer
	real.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n")
	for i := 0; ; i++ {
		entry := fmt.Sprintf("#EXTINF:4.000000,\nsegment-1080p-h264-%012d-a1b2.ts\n", i)
		if real.Len()+len(entry)+len("#EXT-X-ENDLIST\n") > 4*mib {
			break
		}
		real.WriteString(entry)
	}
	real.WriteString("#EXT-X-ENDLIST\n")
	o.bodies["real"] = real.Bytes()

	// Gzip members of 1 MiB each, concatenated: a gzip reader reads them
	// as one body (RFC 1952), and building a bomb costs one compression.
	// "bomb" is 1 GiB of one-megabyte comment lines, about 1 MiB
	// compressed; "smallbomb" 256 MiB of ordinary lines, under 1 MiB.
	o.bodies["bomb"], o.inflated["bomb"] = gzipBomb(t, "#"+strings.Repeat("X", mib-2)+"\n", 1024)
	o.bodies["smallbomb"], o.inflated["smallbomb"] = gzipBomb(t, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n", 256)

	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/vod/"), "/hls/manifest.m3u8")
		body, found := o.bodies[id]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/vnd.apple.mpegurl")
		if _, bomb := o.inflated[id]; bomb {
			h.Set("Content-Encoding", "gzip") // whatever the request accepts
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	t.Cleanup(o.Close)
	return o
}

// gzipBomb returns a playlist's header, then members gzip members of about
// 1 MiB of line each, and the decompressed size.
func gzipBomb(t *testing.T, line string, members int) ([]byte, int64) {
	t.Helper()
	chunk := bytes.Repeat([]byte(line), max(1, mib/len(line)))
	compress := func(b []byte) []byte {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	head := compress([]byte("#EXTM3U\n"))
	member := compress(chunk)
	body := append([]byte(nil), head...)
	for range members {
		body = append(body, member...)
	}
	return body, int64(len("#EXTM3U\n")) + int64(members)*int64(len(chunk))
}

// playlistLoad is what one load did.
type playlistLoad struct {
	peak     int64 // VmHWM, bytes
	killed   bool  // grew past twice the target and was killed
	maxBytes int64 // the largest answer, as it came on the wire
	inBytes  int   // the playlist's size at the origin
	outcomes map[string]int
	took     time.Duration
	limit    int64
}

func (l *playlistLoad) check(t *testing.T, what string, target int64) {
	t.Helper()
	t.Logf("%s: peak RSS %d MiB (target %d MiB); largest answer %d bytes for %d in; answers %v; %s",
		what, l.peak/mib, target/mib, l.maxBytes, l.inBytes, l.outcomes, l.took.Round(time.Millisecond))
	if l.killed {
		t.Errorf("%s: the edge grew past %d MiB and was killed (target %d MiB)", what, l.limit/mib, target/mib)
	} else if l.peak > target {
		t.Errorf("%s: peak RSS %d MiB, want under %d MiB", what, l.peak/mib, target/mib)
	}
}

// loadPlaylist starts a fresh edge in front of origin, opens a session for
// video id, and fetches its playlist n times at once as a cookie-less
// client (avh), which is what makes it rewritten.
func loadPlaylist(t *testing.T, bin string, origin *playlistOrigin, id string, n int) *playlistLoad {
	e := startEdgeBinary(t, bin, nil, "-origin", origin.URL)
	tok := e.video(id).Token
	sessionToken, _ := e.session(id, tok, "player/1.0")
	u := e.base + "/vod/" + id + "/token/" + tok + "/hls/manifest.m3u8?avh=" + url.QueryEscape(sessionToken)

	l := &playlistLoad{inBytes: len(origin.bodies[id]), outcomes: map[string]int{}, limit: 2 * 1024 * mib}
	switch id {
	case "short":
		l.limit = 1024 * mib
	case "bomb", "smallbomb":
		l.limit = 512 * mib
	}
	pid := e.cmd.Process.Pid
	stopWatch := watchRSS(pid, l.limit, func() { l.killed = true; e.cmd.Process.Signal(syscall.SIGKILL) })

	client := &http.Client{
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: n, MaxConnsPerHost: n},
		Timeout:   45 * time.Second,
	}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Go(func() {
			outcome, size := fetchCounting(client, u)
			mu.Lock()
			l.outcomes[outcome]++
			l.maxBytes = max(l.maxBytes, size)
			mu.Unlock()
		})
	}
	wg.Wait()
	l.took = time.Since(start)
	stopWatch()
	if !l.killed {
		var err error
		if l.peak, err = vmHWM(pid); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// fetchCounting gets u and reads the whole answer, counting its bytes as
// they came (the client asks for no compression, so nothing is inflated
// here). The outcome is the status, or how the answer ended.
func fetchCounting(c *http.Client, u string) (string, int64) {
	resp, err := c.Get(u)
	if err != nil {
		var msg string
		if ue, ok := err.(*url.Error); ok {
			msg = ue.Err.Error() // without the URL, which holds the session
		}
		return "error: " + msg, 0
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 256*kib))
	outcome := strconv.Itoa(resp.StatusCode)
	if resp.Header.Get("Content-Encoding") != "" {
		outcome += " " + resp.Header.Get("Content-Encoding")
	}
	if err != nil {
		outcome += " cut"
	}
	return outcome, n
}

// watchRSS polls pid's resident memory and calls kill once it passes
// limit. The returned function stops the watch.
func watchRSS(pid int, limit int64, kill func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var killed atomic.Bool
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if rss, err := procStatus(pid, "VmRSS"); err == nil && rss > limit && !killed.Swap(true) {
				kill()
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// vmHWM is pid's peak resident memory.
func vmHWM(pid int) (int64, error) { return procStatus(pid, "VmHWM") }

// procStatus reads a field in kB of /proc/{pid}/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * kib, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
