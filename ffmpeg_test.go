package privatevideo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
)

// requireTool finds an external program a test drives. Where it is missing
// the test skips, unless PRIVATEVIDEO_REQUIRE_TOOLS is set (.ci/run sets it
// after installing them), so that CI never passes by skipping.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("PRIVATEVIDEO_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is required (PRIVATEVIDEO_REQUIRE_TOOLS is set) but not found: %v", name, err)
		}
		t.Skipf("%s not found; .ci/run installs it (apt-get install %s)", name, name)
	}
	return p
}

// ffmpeg reads the whole stream, every rendition, from the tokenized HLS URL
// alone; the same command run again is refused.
func TestFFmpegReadsTheWholeStream(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	f, log := newMediaFixture(t)
	tok := f.issue("v1")
	master := f.srv.URL + tokenPath("v1", tok, "hls/manifest.m3u8")
	run := func() (string, error) {
		cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
			"-i", master, "-map", "0", "-c", "copy", "-f", "null", "-")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	seen := strings.Join(log.requests(), "\n")
	files, _ := filepath.Glob(filepath.Join(mediaDir, "v1", "hls", "*", "*"))
	files = append(files, filepath.Join(mediaDir, "v1", "hls", "key.bin"))
	for _, file := range files {
		public := "/vod/" + filepath.ToSlash(strings.TrimPrefix(file, mediaDir+string(filepath.Separator)))
		if strings.HasSuffix(public, ".m3u8") {
			continue
		}
		if !strings.Contains(seen, "GET "+public+"\n") && !strings.HasSuffix(seen, "GET "+public) {
			t.Errorf("ffmpeg never fetched %s", public)
		}
	}
	f.clock.Advance(privatevideo.DefaultGrace + time.Second)
	out, err := run()
	if err == nil || !strings.Contains(out, "403") {
		t.Fatalf("second ffmpeg run: %v\n%s\nwant a 403 refusal", err, out)
	}
}
