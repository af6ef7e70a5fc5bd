package privatevideo

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
)

//go:embed player/player.html player/player.js player/player.css
var playerFiles embed.FS

var (
	playerPage   = template.Must(template.ParseFS(playerFiles, "player/player.html"))
	playerScript = mustRead("player/player.js")
	playerStyle  = mustRead("player/player.css")
	// playerCSP allows the page its own inline script and style (by hash)
	// and its own origin for media, images and the session request: nothing
	// else, so the page makes no request beyond its origin.
	playerCSP = "default-src 'none'; script-src '" + cspHash(playerScript) + "'; style-src '" + cspHash(playerStyle) +
		"'; img-src 'self'; media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'"
	playerReasons = reasonsJSON()
)

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
	Title, Video, HLS, MP4, Poster, Session, Mode, Param, Reasons string
	Script                                                        template.JS
	Style                                                         template.CSS
}

// Player returns a handler that answers each video's player page (the request
// for /vod/{id} itself) with a built-in HTML5 player, and passes every other
// request to next. Wrap it with Handler, which serves the page as a shell:
//
//	http.Handle("/vod/", pv.Handler(pv.Player(media)))
//
// The page uses no third-party script and reaches nothing beyond its own
// origin (its Content-Security-Policy says so). It plays the video's HLS
// where the browser plays HLS natively and its MP4 otherwise. For a private
// video it first opens the session through the session endpoint, and says
// in words why playback is refused when it is (link already used, expired,
// revoked, service unavailable). It works in cookie and page-bound mode.
func (m *Middleware) Player(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		video, ok := m.layout.pageVideo(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		// The page path is the player's alone, whatever the method: next
		// (a file server, an origin) never sees it, so it cannot answer it
		// with a directory listing or media.
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			m.servePlayer(w, r, video)
		case http.MethodOptions:
			w.Header().Set("Allow", pageMethods)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", pageMethods)
			m.errorHandler(w, r, ErrMethod)
		}
	})
}

func (m *Middleware) servePlayer(w http.ResponseWriter, r *http.Request, video string) {
	l := &m.layout
	d := playerData{
		Title: video, Video: video, Param: l.SessionParam, Mode: "cookie", Reasons: playerReasons,
		Script: template.JS(playerScript), Style: template.CSS(playerStyle),
	}
	if m.pageBound {
		d.Mode = "page"
	}
	base := l.Prefix + video + "/"
	if tok, ok := TokenFromContext(r.Context()); ok {
		base = l.tokenPath(video, tok) + "/"
		d.Session = base + l.SessionEndpoint
	}
	d.HLS, d.MP4, d.Poster = base+l.HLS, base+l.MP4, base+l.Thumbnail

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

// pageMethods are the methods the player page answers.
const pageMethods = "GET, HEAD, OPTIONS"

// pageVideo reports whether p is a player page's public path, /vod/{id}, and
// returns the video ID.
func (l *Layout) pageVideo(p string) (string, bool) {
	if len(p) <= len(l.Prefix) || p[:len(l.Prefix)] != l.Prefix {
		return "", false
	}
	id := p[len(l.Prefix):]
	return id, ValidVideoID(id)
}
