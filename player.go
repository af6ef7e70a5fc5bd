package privatevideo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

//go:embed player/player.html player/player.js player/player.css player/hls.js/hls.min.js player/hls.js/VERSION
//go:embed player/shaka/shaka-player.dash-es2021.js player/shaka/VERSION
var playerFiles embed.FS

var (
	playerPage   = template.Must(template.ParseFS(playerFiles, "player/player.html"))
	playerScript = mustRead("player/player.js")
	playerStyle  = mustRead("player/player.css")
	// playerCSP allows the page its own inline script and style (by hash),
	// scripts from its own origin (the vendored hls.js, or Shaka Player for
	// DASH, which the inline script adds with its Subresource Integrity),
	// and its own origin for media, images and the session request: nothing
	// else, so the page makes no request beyond its origin. hls.js runs
	// without its worker (a blob: script), which worker-src 'none' states;
	// Shaka needs one only to transmux MPEG-TS, which CMAF is not.
	playerCSP = "default-src 'none'; script-src '" + cspHash(playerScript) + "' 'self'; style-src '" + cspHash(playerStyle) +
		"'; img-src 'self'; media-src 'self' blob:; connect-src 'self'; worker-src 'none'; base-uri 'none'; form-action 'none'"
	playerReasons = reasonsJSON()
)

// The player's copy of hls.js (player/hls.js/README.md says where it comes
// from). The page asks for it at its own URL plus ?player.lib={playerLibName}:
// the page's path is the one path that Handler lets through, as a shell,
// for any well-formed token, without redeeming; and a key with a dot never
// collides with a layout's token or session parameter, which cannot hold
// one. The version in the name keeps an old copy from being served from cache.
// Under a private link the URL holds the token, so the browser caches the
// library per link (reloads), not across links: a token-free path would need
// Handler to let one through.
const playerLibParam = "player.lib"

// playerFormatParam on the page's URL asks for a format: "dash" plays the
// video's MPD through Shaka Player (player/shaka/README.md) where the
// layout has one; anything else, or nothing, the HLS through hls.js. Like
// player.lib, it has a dot, so it is never a token or session parameter,
// and Handler passes it to the page as it is.
const playerFormatParam = "player.format"

var (
	playerLib     = mustRead("player/hls.js/hls.min.js")
	playerLibName = "hls-" + strings.TrimSpace(mustRead("player/hls.js/VERSION")) + ".min.js"
	playerLibSRI  = sriHash(playerLib)
	// playerLibGzip is playerLib compressed once, when a Player is made:
	// the library is about 620 KB as is and 190 KB gzipped. Only the
	// library is compressed: it holds no secret, the page does (its token),
	// and a compressed secret next to reflected input is what BREACH reads.
	playerLibGzip = sync.OnceValue(func() []byte { return gzipped(playerLib) }) // started by Player

	// The DASH player, Shaka's DASH-only build: 500 KB, 170 KB gzipped.
	dashLib     = mustRead("player/shaka/shaka-player.dash-es2021.js")
	dashLibName = "shaka-" + strings.TrimSpace(mustRead("player/shaka/VERSION")) + ".dash.js"
	dashLibSRI  = sriHash(dashLib)
	dashLibGzip = sync.OnceValue(func() []byte { return gzipped(dashLib) }) // started by Player
)

func gzipped(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // 44 ms for hls.js; the best level: 4 × as long for 0.2 %
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

func mustRead(name string) string {
	b, err := playerFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return string(b)
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

func sriHash(s string) string {
	sum := sha512.Sum384([]byte(s))
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// reasonsJSON gives the page one sentence per denial reason, so it says in
// words why playback is refused, in the same words as the HTML denial page.
func reasonsJSON() string {
	m := map[string]string{"playback": "This video cannot be played in this browser."}
	for _, d := range denials {
		m[d.reason] = d.title
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// playerData fills player.html.
type playerData struct {
	Title, Video, HLS, DASH, MP4, Poster, Session, Mode, Param, Reasons string
	Format, LibParam, Lib, LibIntegrity                                 string
	Script                                                              template.JS
	Style                                                               template.CSS
}

// Player returns a handler that answers each video's player page (the request
// for /vod/{id} itself) with a built-in HTML5 player, and passes every other
// request to next. Wrap it with Handler, which serves the page as a shell:
//
//	http.Handle("/vod/", pv.Handler(pv.Player(media)))
//
// The page uses no third-party script and reaches nothing beyond its own
// origin (its Content-Security-Policy says so). It plays the video's HLS
// with hls.js (vendored, served by Player at the page's own URL plus
// ?player.lib=hls-{version}.min.js) wherever the browser has Media Source
// Extensions, natively where it has none (iOS Safari), and its MP4 as the
// last resort. Asked for DASH (?player.format=dash on the page's URL), it
// plays the video's MPD with Shaka Player instead (vendored, served the same
// way), where the layout has a DASH asset. For a private video it first
// opens the session through the session endpoint, and says in words why
// playback is refused when it is (link already used, expired, revoked,
// service unavailable). It works in cookie and page-bound mode.
func (m *Middleware) Player(next http.Handler) http.Handler {
	go playerLibGzip() // before the first page asks for it
	go dashLibGzip()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		a := accessFrom(r.Context())
		if a != nil {
			p = strings.TrimPrefix(p, a.inner)
		}
		video, ok := m.layout.pageVideo(p)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		// The page path is the player's alone, whatever the method: next
		// (a file server, an origin) never sees it, so it cannot answer it
		// with a directory listing or media.
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			m.servePlayer(w, r, video, a)
		case http.MethodOptions:
			w.Header().Set("Allow", pageMethods)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", pageMethods)
			m.errorHandler(w, r, ErrMethod)
		}
	})
}

func (m *Middleware) servePlayer(w http.ResponseWriter, r *http.Request, video string, a *access) {
	if q := r.URL.Query(); q.Has(playerLibParam) {
		servePlayerLib(w, r, q.Get(playerLibParam))
		return
	}
	l := &m.layout
	d := playerData{
		Title: video, Video: video, Param: l.SessionParam, Mode: "cookie", Reasons: playerReasons,
		LibParam: playerLibParam, Lib: playerLibName, LibIntegrity: playerLibSRI,
		Script: template.JS(playerScript), Style: template.CSS(playerStyle),
	}
	dash := l.DASH != "" && r.URL.Query().Get(playerFormatParam) == "dash"
	if dash {
		d.Format, d.Lib, d.LibIntegrity = "dash", dashLibName, dashLibSRI
	}
	if m.pageBound {
		d.Mode = "page"
	}
	var mount string
	if a != nil {
		mount = a.mount
	}
	base := l.videoPath(mount, video) + "/"
	if tok, ok := TokenFromContext(r.Context()); ok {
		base = l.privatePath(mount, video, tok) + "/"
		d.Session = base + l.SessionEndpoint
	}
	d.HLS, d.MP4, d.Poster = base+l.HLS, base+l.MP4, base+l.Thumbnail
	if dash {
		d.DASH = base + l.DASH
	}

	var buf bytes.Buffer
	if err := playerPage.Execute(&buf, d); err != nil {
		http.Error(w, "player page unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", playerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if _, private := TokenFromContext(r.Context()); private {
		h.Set("Cache-Control", "no-store") // the page holds the token
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// servePlayerLib answers the page's request for its copy of hls.js or of
// Shaka Player.
func servePlayerLib(w http.ResponseWriter, r *http.Request, name string) {
	lib, libGzip := playerLib, playerLibGzip
	switch name {
	case playerLibName:
	case dashLibName:
		lib, libGzip = dashLib, dashLibGzip
	default:
		http.NotFound(w, r) // another version, or none of ours
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Vary", "Accept-Encoding")
	// The name changes with the version: a copy never goes stale. Under a
	// private link the URL holds the token (as the page's does, which is in
	// the history already): private, and for a day, a session's length by
	// default; the middleware keeps it from shared caches too.
	if _, private := TokenFromContext(r.Context()); private {
		h.Set("Cache-Control", "private, max-age=86400, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	body := []byte(lib)
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body = libGzip()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding values allow gzip: gzip (or,
// when gzip is not named, *) listed with a q-value other than 0.
func acceptsGzip(values []string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						q = f
					} else {
						q = 0
					}
				}
			}
			switch coding {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "*":
				anyQ = max(anyQ, q)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

// pageMethods are the methods the player page answers.
const pageMethods = "GET, HEAD, OPTIONS"
