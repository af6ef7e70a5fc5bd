//go:build unix

package main

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The edge serves the demo's DASH: the video API lists the MPD, which
// comes as application/dash+xml, and its init sections and segments,
// resolved from it as a player resolves them, come within the session it
// opened, each the file scripts/make-dash.sh wrote.
func TestDemoDASHServed(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	v := e.video("demo")
	if !strings.HasPrefix(v.Assets.DASH, e.base+"/vod/demo/token/"+v.Token+"/") || !strings.HasSuffix(v.Assets.DASH, "/dash/manifest.mpd") {
		t.Fatalf("assets.dash = %q: want the MPD under the call's token", v.Assets.DASH)
	}
	one := viewer(t, "viewer-one/1.0")
	resp, body := get(t, one, v.Assets.DASH)
	wantStatus(t, "MPD", resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/dash+xml" {
		t.Errorf("MPD Content-Type = %q", ct)
	}
	mpd, _ := url.Parse(v.Assets.DASH)
	templates := regexp.MustCompile(`initialization="([^"]+)" media="([^"]+)"`).FindAllStringSubmatch(string(body), -1)
	if len(templates) != 3 {
		t.Fatalf("%d segment templates, want 360p, 180p and audio:\n%s", len(templates), body)
	}
	for _, tm := range templates {
		for _, ref := range []string{tm[1], strings.ReplaceAll(tm[2], "$Number$", "1")} {
			r, err := url.Parse(strings.ReplaceAll(ref, "&amp;", "&"))
			if err != nil {
				t.Fatal(err)
			}
			u := mpd.ResolveReference(r)
			resp, got := get(t, one, u.String())
			wantStatus(t, ref, resp, got, http.StatusOK)
			asset := u.Path[strings.Index(u.Path, v.Token)+len(v.Token)+1:]
			if want := readFile(t, "media/demo/"+asset); !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, want the %d of media/demo/%s", u.Path, len(got), len(want), asset)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasSuffix(asset, ".m4s") && ct != "video/mp4" || strings.HasSuffix(asset, ".m4s") && ct != "video/iso.segment" {
				t.Errorf("%s: Content-Type %q", asset, ct)
			}
		}
	}
}
