package privatevideo_test

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
)

// mpdTemplates is what a player reads of the fixture's MPD to build its
// URLs: each Representation's SegmentTemplate and its timeline.
type mpdTemplates struct {
	Periods []struct {
		Sets []struct {
			Reps []struct {
				ID       string `xml:"id,attr"`
				Template struct {
					Init  string `xml:"initialization,attr"`
					Media string `xml:"media,attr"`
					Start int    `xml:"startNumber,attr"`
					S     []struct {
						R int `xml:"r,attr"`
					} `xml:"SegmentTimeline>S"`
				} `xml:"SegmentTemplate"`
			} `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
}

// A player without cookies reads the MPD after one redemption and gets
// every init and segment it builds from it, each URL carrying the session,
// each byte the file's; a second player with the same URL is refused.
func TestDASHWithoutCookies(t *testing.T) {
	f, log := newMediaFixture(t)
	tok := f.issue("v1")
	mpdURL, _ := url.Parse(f.srv.URL + tokenPath("v1", tok, "dash/manifest.mpd"))
	w := &walker{t: t, f: f, c: &http.Client{}, fetched: map[string]bool{}}
	body, resp := w.fetch(mpdURL, "")
	if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" {
		t.Fatalf("MPD: Referrer-Policy %q", rp)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("MPD: Content-Length %d for %d bytes", resp.ContentLength, len(body))
	}
	m := regexp.MustCompile(`[?&]avh=([A-Za-z0-9_-]+)`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no session token in the MPD:\n%s", body)
	}
	session := string(m[1])
	if plain := bytes.ReplaceAll(body, []byte("?avh="+session), nil); !bytes.Equal(plain, w.disk(mpdURL)) {
		t.Fatalf("the rewritten MPD is not the original plus the session:\n%s", body)
	}
	var doc mpdTemplates
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the rewritten MPD does not parse: %v", err)
	}
	var urls []string
	for _, p := range doc.Periods {
		for _, s := range p.Sets {
			for _, r := range s.Reps {
				tpl := r.Template
				urls = append(urls, tpl.Init)
				n := tpl.Start
				for _, seg := range tpl.S {
					for range seg.R + 1 {
						urls = append(urls, strings.ReplaceAll(tpl.Media, "$Number$", strconv.Itoa(n)))
						n++
					}
				}
			}
		}
	}
	// 3 inits, 4 + 4 video segments, 5 audio.
	if len(urls) != 16 {
		t.Fatalf("the MPD gives %d URLs, want 16: %q", len(urls), urls)
	}
	for _, ref := range urls {
		if !strings.HasSuffix(ref, "?avh="+session) {
			t.Fatalf("URL %q lacks the session", ref)
		}
		u, err := mpdURL.Parse(ref)
		if err != nil {
			t.Fatal(err)
		}
		w.resource(u, "")
	}
	for _, r := range log.requests() {
		if strings.Contains(r, "avh") || strings.Contains(r, tok) {
			t.Fatalf("the media handler saw a secret: %s", r)
		}
	}
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	wantDenied(t, "a second player with the same URL", f.get(f.player("second"), tokenPath("v1", tok, "dash/manifest.mpd")), http.StatusForbidden, "token-used")
}

// A client whose cookie came along gets the MPD as it is on disk.
func TestMPDRewrittenOnlyWithoutCookie(t *testing.T) {
	f, _ := newMediaFixture(t)
	tok := f.issue("v1")
	b := f.browser("b")
	res := f.get(b, tokenPath("v1", tok, "dash/manifest.mpd"))
	if res.status != http.StatusOK || !strings.Contains(res.body, "avh=") {
		t.Fatalf("first open: %d, want 200 with the session in the MPD (the cookie is not known to come back yet)", res.status)
	}
	res = f.get(b, tokenPath("v1", tok, "dash/manifest.mpd"))
	if res.status != http.StatusOK || strings.Contains(res.body, "avh=") {
		t.Fatalf("with the cookie: %d %.200q, want the MPD unrewritten", res.status, res.body)
	}
}

// ffmpeg reads the whole private DASH stream, every representation, from
// the tokenized MPD URL alone; the same command run again is refused.
func TestFFmpegReadsTheWholeDASHStream(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	f, log := newMediaFixture(t)
	tok := f.issue("v1")
	mpd := f.srv.URL + tokenPath("v1", tok, "dash/manifest.mpd")
	run := func() (string, error) {
		cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
			"-i", mpd, "-map", "0", "-c", "copy", "-f", "null", "-")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	seen := strings.Join(log.requests(), "\n") + "\n"
	files, _ := filepath.Glob(filepath.Join(mediaDir, "v1", "dash", "*", "*.m4s"))
	for _, rep := range []string{"360p", "180p", "audio"} {
		files = append(files, filepath.Join(mediaDir, "v1", "hls", rep, "init.mp4"))
	}
	if len(files) != 16 {
		t.Fatalf("%d DASH files on disk, want 16", len(files))
	}
	for _, file := range files {
		public := "/vod/" + filepath.ToSlash(strings.TrimPrefix(file, mediaDir+string(filepath.Separator)))
		if !strings.Contains(seen, "GET "+public+"\n") {
			t.Errorf("ffmpeg never fetched %s", public)
		}
	}
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	out, err := run()
	if err == nil || !strings.Contains(out, "403") {
		t.Fatalf("second ffmpeg run: %v\n%s\nwant a 403 refusal", err, out)
	}
}
