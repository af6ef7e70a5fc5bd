//go:build unix

package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The edge server itself (example/, built here), run with -cors-origins
// naming a page of another loopback origin: hls.js on that page plays its
// demo video's private HLS with and without credentials, and the same page
// on an unlisted origin spends no link.
func TestEdgeServerCORSOriginsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the edge server")
	}
	listed, unlisted := playerSite(t), playerSite(t)
	bin := filepath.Join(t.TempDir(), "edge")
	build := exec.Command("go", "build", "-o", bin, "../example")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the edge server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-log-format", "json", "-grace", "0", "-retry-window", "0",
		"-cors-origins", listed.URL)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base, key, cors := "", "", ""
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if v, ok := strings.CutPrefix(line, "Address:"); ok {
			base = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "API key:"); ok {
			key = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "CORS:"); ok {
			cors = strings.TrimSpace(v)
		} else if strings.HasPrefix(line, "curl ") {
			break
		}
	}
	go func() { // drain
		for lines.Scan() {
		}
	}()
	if base == "" || key == "" || cors != listed.URL {
		t.Fatalf("banner: address %q, API key %t, CORS %q; want the listed origin %s", base, key != "", cors, listed.URL)
	}
	hls := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/videos/demo", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Assets struct{ HLS string } }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Assets.HLS == "" {
			t.Fatalf("GET /videos/demo: %s, %v", resp.Status, err)
		}
		return v.Assets.HLS
	}

	ctx := browser(t)
	noCache(t, ctx)
	sitePlays(t, ctx, "with credentials", chromedp.Navigate(pageURL(listed, "hlsjs", hls(), true)))
	sitePlays(t, ctx, "without credentials", chromedp.Navigate(pageURL(listed, "hlsjs", hls(), false)))

	src := hls()
	errs := siteFails(t, ctx, "an unlisted origin", chromedp.Navigate(pageURL(unlisted, "hlsjs", src, false)))
	t.Logf("an unlisted origin: the player says %q", errs)
	// No grace and no retry window: had the unlisted page redeemed the
	// link, this same client would now be refused.
	sitePlays(t, ctx, "the same link on the listed origin", chromedp.Navigate(pageURL(listed, "hlsjs", src, false)))
}
