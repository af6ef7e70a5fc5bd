package e2e

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// mpd is what a player reads of the demo MPDs.
type mpd struct {
	Duration string    `xml:"mediaPresentationDuration,attr"`
	BaseURL  string    `xml:"BaseURL"`
	Periods  []mpdNode `xml:"Period"`
}

type mpdNode struct { // a Period, an AdaptationSet or a Representation
	ID       string `xml:"id,attr"`
	BaseURL  string `xml:"BaseURL"`
	Template *struct {
		Timescale      int64  `xml:"timescale,attr"`
		StartNumber    int    `xml:"startNumber,attr"`
		Initialization string `xml:"initialization,attr"`
		Media          string `xml:"media,attr"`
		Timeline       []struct {
			T int64 `xml:"t,attr"`
			D int64 `xml:"d,attr"`
			R int   `xml:"r,attr"`
		} `xml:"SegmentTimeline>S"`
	} `xml:"SegmentTemplate"`
	Sets            []mpdNode `xml:"AdaptationSet"`
	Representations []mpdNode `xml:"Representation"`
}

// The demo videos' MPDs (scripts/make-dash.sh) list segments the edge's
// media has and the middleware serves within the session the MPD opened:
// every init section and segment they name, resolved as a player resolves
// it, answers 200. The inits are the HLS's own files; each segment is the
// HLS segment of the same name, decrypted with the HLS's key, and there
// are as many as the HLS has; the timeline has no gap and lasts as long as
// the MPD says.
func TestDemoDASHSegmentsServed(t *testing.T) {
	const dir = "../example/media"
	key := make([]byte, 32)
	rand.Read(key)
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: key}}, privatevideo.WithStore(store.NewMemory(0)), privatevideo.WithInsecureCookies())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Handler(http.StripPrefix("/vod/", http.FileServer(http.Dir(dir)))))
	t.Cleanup(srv.Close)

	for _, video := range []string{"demo", "short"} {
		t.Run(video, func(t *testing.T) {
			urls, err := mw.IssueURLs(context.Background(), srv.URL, video)
			if err != nil || urls.DASH == "" {
				t.Fatalf("IssueURLs: %+v, %v", urls, err)
			}
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar}
			get := func(u string) []byte {
				t.Helper()
				res, err := client.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				if err != nil || res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d %v %s", u, res.StatusCode, err, res.Header.Get("Privatevideo-Reason"))
				}
				return b
			}
			var m mpd
			if err := xml.Unmarshal(get(urls.DASH), &m); err != nil {
				t.Fatalf("the MPD: %v", err)
			}
			want, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(m.Duration, "PT")))
			if err != nil {
				t.Fatalf("mediaPresentationDuration %q: %v", m.Duration, err)
			}
			hlsKey := readMedia(t, dir, video, "hls/key.bin")
			base := resolve(t, urls.DASH, m.BaseURL)
			reps := 0
			for _, p := range m.Periods {
				for _, as := range p.Sets {
					for _, r := range as.Representations {
						reps++
						st := r.Template
						if st == nil || st.Timescale <= 0 || !strings.Contains(st.Media, "$Number$") {
							t.Fatalf("representation %s: no SegmentTemplate with $Number$", r.ID)
						}
						rbase := resolve(t, resolve(t, resolve(t, base, p.BaseURL), as.BaseURL), r.BaseURL)
						init := resolve(t, rbase, st.Initialization)
						rendition := path.Dir(strings.TrimPrefix(publicPath(t, init, video), "hls/"))
						if got, want := get(init), readMedia(t, dir, video, "hls/"+rendition+"/init.mp4"); !bytes.Equal(got, want) {
							t.Fatalf("%s: not the HLS's init section", init)
						}
						playlist := string(readMedia(t, dir, video, "hls/"+rendition+"/index.m3u8"))
						iv, err := hex.DecodeString(regexp.MustCompile(`IV=0x([0-9a-fA-F]{32})`).FindStringSubmatch(playlist)[1])
						if err != nil {
							t.Fatal(err)
						}
						n, next := st.StartNumber, int64(-1)
						for _, s := range st.Timeline {
							for range s.R + 1 {
								if next >= 0 && s.T != 0 && s.T != next {
									t.Fatalf("%s: segment %d starts at %d, not %d", r.ID, n, s.T, next)
								}
								if next < 0 {
									next = s.T
								}
								next += s.D
								seg := resolve(t, rbase, strings.ReplaceAll(st.Media, "$Number$", strconv.Itoa(n)))
								hlsSeg := "hls/" + rendition + "/" + path.Base(publicPath(t, seg, video))
								if !strings.Contains(playlist, "\n"+path.Base(hlsSeg)+"\n") {
									t.Fatalf("%s: the HLS has no %s", seg, hlsSeg)
								}
								if got := get(seg); !bytes.Equal(got, decryptHLS(t, readMedia(t, dir, video, hlsSeg), hlsKey, iv)) {
									t.Fatalf("%s: not %s in the clear", seg, hlsSeg)
								}
								n++
							}
						}
						if hlsSegs := strings.Count(playlist, "#EXTINF:"); n-st.StartNumber != hlsSegs {
							t.Fatalf("%s: %d segments, the HLS %d", r.ID, n-st.StartNumber, hlsSegs)
						}
						lasts := time.Duration(float64(next) / float64(st.Timescale) * float64(time.Second))
						if lasts > want || lasts < want-50*time.Millisecond {
							t.Fatalf("%s: the timeline lasts %v, the MPD %v", r.ID, lasts, want)
						}
					}
				}
			}
			if reps != 3 {
				t.Fatalf("%d representations, want 360p, 180p and audio", reps)
			}
		})
	}
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(r).String()
}

// publicPath is the asset a private URL of video names: "hls/360p/init.mp4".
func publicPath(t *testing.T, u, video string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(p.Path, "/vod/"+video+"/token/")
	_, asset, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		t.Fatalf("%s: not a private URL of %s", u, video)
	}
	return asset
}

func readMedia(t *testing.T, dir, video, asset string) []byte {
	t.Helper()
	b, err := os.ReadFile(path.Join(dir, video, asset))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decryptHLS undoes an HLS AES-128 segment: CBC, PKCS#7 padding.
func decryptHLS(t *testing.T, seg, key, iv []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil || len(seg) == 0 || len(seg)%aes.BlockSize != 0 {
		t.Fatalf("not an AES-128 segment (%d bytes, %v)", len(seg), err)
	}
	out := make([]byte, len(seg))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, seg)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		t.Fatalf("bad padding %d", pad)
	}
	return out[:len(out)-pad]
}
