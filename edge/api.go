package edge

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// APIConfig is what NewAPI needs.
type APIConfig struct {
	// Catalogue holds the videos and their visibility; Middleware mints
	// their tokens and builds their URLs, and revokes; Tokens is the token
	// store Middleware uses, read before a revocation to check the token's
	// video. All three are required.
	Catalogue  *Catalogue
	Middleware *privatevideo.Middleware
	Tokens     store.Store
	// StoreTimeout bounds the lookup before a revocation; 0 means
	// privatevideo.DefaultStoreTimeout.
	StoreTimeout time.Duration
	// APIKey is the bearer key every call must present: 16 to 256 visible
	// ASCII characters (see CheckAPIKey).
	APIKey string
	// PublicURL is the origin (scheme://host[:port]) the URLs handed out
	// start with. Empty, each answer's URLs start with its request's own
	// scheme and host (see RequestOrigin).
	PublicURL string
	// Log receives changes (visibility, revocations) and store failures,
	// tokens redacted; nil discards them.
	Log *slog.Logger
	// BodyTimeout bounds how long an authorized caller may take to send a
	// request body; 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration
}

// API is the video API: the catalogue, with fresh private URLs at every
// read, visibility changes and revocation, behind a bearer API key. It
// answers the paths that IsAPIPath accepts:
//
//	GET    /videos                  {"data": [video, …]}
//	GET    /videos/{id}             one video (VideoResource), fresh URLs
//	HEAD   /videos, /videos/{id}    GET's status and headers; mints nothing
//	PATCH  /videos/{id}             {"public": true|false}, exactly
//	DELETE /videos/{id}/tokens/{T}  revoke a token: 204
//
// Errors are RFC 9457 problem+json with a reason, as the middleware's
// denials: 401 unauthorized, 400 malformed or bad-request, 404
// video-unknown, token-unknown or not-found, 405 method-not-allowed, 409
// video-pinned, 503 store-unavailable. Answers are never cached.
type API struct {
	cat          *Catalogue
	mw           *privatevideo.Middleware
	store        store.Store // to check a token's video before revoking it
	storeTimeout time.Duration
	base         string   // the public URL the links start with; "": the request's
	keyDigest    [32]byte // SHA-256 of the API key
	log          *slog.Logger
	bodyTimeout  time.Duration // bound on reading a request body
	routes       http.Handler
}

// NewAPI returns the API of c, or an error naming what c lacks.
func NewAPI(c APIConfig) (*API, error) {
	switch {
	case c.Catalogue == nil || c.Middleware == nil || c.Tokens == nil:
		return nil, errors.New("edge: the API needs a catalogue, a middleware and its token store")
	case c.StoreTimeout < 0 || c.BodyTimeout < 0:
		return nil, errors.New("edge: negative timeout")
	}
	if err := CheckAPIKey(c.APIKey); err != nil {
		return nil, err
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, errors.New("edge: the public URL must be scheme://host[:port], http or https")
		}
	}
	a := &API{
		cat:          c.Catalogue,
		mw:           c.Middleware,
		store:        c.Tokens,
		storeTimeout: cmp.Or(c.StoreTimeout, privatevideo.DefaultStoreTimeout),
		base:         c.PublicURL,
		keyDigest:    sha256.Sum256([]byte(c.APIKey)),
		log:          c.Log,
		bodyTimeout:  cmp.Or(c.BodyTimeout, DefaultBodyTimeout),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.routes = a.handler()
	return a, nil
}

// ServeHTTP answers one API call. Route to it the paths IsAPIPath accepts;
// anything else it answers 404 (after the key check).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.routes.ServeHTTP(w, r) }

// IsAPIPath reports whether the API answers path: /videos and below.
func IsAPIPath(path string) bool {
	return path == "/videos" || strings.HasPrefix(path, "/videos/")
}

// CheckAPIKey checks an API key: 16 to 256 characters of visible ASCII, no
// spaces, as an Authorization header carries it. The error never holds the
// key.
func CheckAPIKey(key string) error {
	if len(key) < 16 || len(key) > 256 {
		return fmt.Errorf("the API key must have 16 to 256 characters, not %d", len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return errors.New("the API key must be visible ASCII characters only (no spaces)")
		}
	}
	return nil
}

// RequestOrigin is the scheme and host r came to: https when it came over
// TLS, else http, and its Host header. It is what an API without a public
// URL builds its links from; behind a proxy that ends TLS, set the public
// URL instead.
func RequestOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// VideoResource is a video as the API answers it.
type VideoResource struct {
	VideoID string `json:"videoId"`
	Title   string `json:"title"`
	Public  bool   `json:"public"`
	// Token is the private token in the asset URLs, for revoking it; public
	// videos have none.
	Token  string    `json:"token,omitempty"`
	Assets AssetURLs `json:"assets"`
}

// AssetURLs are the URLs of a video's player page and assets.
type AssetURLs struct {
	Player    string `json:"player"`
	HLS       string `json:"hls"`
	DASH      string `json:"dash,omitempty"`
	MP4       string `json:"mp4"`
	Thumbnail string `json:"thumbnail"`
}

// MaxBodyBytes bounds a PATCH body; {"public": false} is 17 bytes.
const MaxBodyBytes = 4 << 10

// DefaultBodyTimeout bounds how long an authenticated client may take to
// send its request body: servers without a ReadTimeout (a viewer's long
// download must not be cut) would otherwise let a body sent a byte a minute
// hold a connection and a goroutine for as long as the client likes.
const DefaultBodyTimeout = 10 * time.Second

// handler returns the API's routes, every one behind the API key.
func (a *API) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /videos", a.listVideos)
	mux.HandleFunc("GET /videos/{id}", a.getVideo)
	// The mux would give HEAD to the GET handlers, which mint a token per
	// call: a HEAD answers the same status and headers without issuing one.
	mux.HandleFunc("HEAD /videos", a.headVideos)
	mux.HandleFunc("HEAD /videos/{id}", a.headVideo)
	mux.HandleFunc("PATCH /videos/{id}", a.patchVideo)
	mux.HandleFunc("DELETE /videos/{id}/tokens/{token}", a.revokeToken)
	// The same paths with other methods, and anything else under /videos:
	// answered as problems rather than the mux's plain text.
	for _, p := range []string{"/videos", "/videos/{id}", "/videos/{id}/tokens/{token}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { probMethod.Write(w) })
	}
	mux.HandleFunc("/videos/", func(w http.ResponseWriter, r *http.Request) { ProblemNotFound.Write(w) })
	return a.authorize(mux)
}

// authorize lets through requests that carry the API key as a bearer token.
// Comparing digests in constant time reveals neither the key nor its length.
//
// The body of a request without the key is never read (see RefuseBody). An
// authorized body has the body timeout to arrive, the server's drain of what
// the handler left included.
func (a *API) authorize(next http.Handler) http.Handler {
	timeout := a.bodyTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given, ok := bearer(r.Header.Get("Authorization"))
		d := sha256.Sum256([]byte(given))
		if !ok || subtle.ConstantTimeCompare(d[:], a.keyDigest[:]) != 1 {
			challenge := `Bearer realm="privatevideo"`
			if ok {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			if r.ContentLength != 0 { // a body announced, or chunked (-1)
				RefuseBody(w)
			}
			probUnauthorized.Write(w)
			return
		}
		if r.ContentLength != 0 {
			// Also bounds the server's drain of a body the handler left.
			if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout)); err != nil {
				RefuseBody(w) // no deadline: read nothing
				probBadBody.Write(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RefuseBody makes sure that nothing reads the request body of w's request:
// net/http itself drains up to 256 KiB of an unread body after the handler,
// to reuse the connection, and with no ReadTimeout that drain waits as long
// as the client likes. A read deadline in the past makes the drain fail at
// once, and the connection closes after the answer.
func RefuseBody(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0)) // unsupported: Connection: close still stops reuse
}

// bearer returns the credentials of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110, 11.1).
func bearer(header string) (string, bool) {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	return cred, cred != ""
}

func (a *API) listVideos(w http.ResponseWriter, r *http.Request) {
	videos, err := a.cat.List(r.Context())
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	out := struct {
		Data []VideoResource `json:"data"`
	}{Data: make([]VideoResource, 0, len(videos))}
	for _, v := range videos {
		j, err := a.represent(r, v)
		if err != nil {
			a.storeFailed(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getVideo(w http.ResponseWriter, r *http.Request) {
	v, ok := a.video(w, r)
	if !ok {
		return
	}
	a.answer(w, r, v)
}

// headVideos answers HEAD /videos as GET would, without its body and
// without minting the tokens of its URLs.
func (a *API) headVideos(w http.ResponseWriter, r *http.Request) {
	writeJSONHead(w, http.StatusOK)
}

// headVideo answers HEAD /videos/{id}: 200 for a video that GET would
// answer, its errors otherwise; no token is minted. In an open catalogue
// (proxy mode) a HEAD mentions the video, as GET does.
func (a *API) headVideo(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.video(w, r); !ok {
		return
	}
	writeJSONHead(w, http.StatusOK)
}

func (a *API) patchVideo(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.video(w, r); !ok {
		return
	}
	public, bad := decodeVisibility(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if bad != nil {
		bad.Write(w)
		return
	}
	v, err := a.cat.SetPublic(r.Context(), r.PathValue("id"), public)
	switch {
	case errors.Is(err, ErrNoVideo):
		probVideoUnknown.Write(w)
		return
	case errors.Is(err, ErrPinned):
		probPinned.Write(w)
		return
	case err != nil:
		a.storeFailed(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "video visibility changed",
		slog.String("video", v.ID), slog.Bool("public", v.Public))
	a.answer(w, r, v)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	v, ok := a.video(w, r)
	if !ok {
		return
	}
	tok, err := privatevideo.ParseToken(r.PathValue("token"))
	if err != nil {
		probMalformedToken.Write(w)
		return
	}
	// Revoking through another video's URL would let a caller who knows one
	// video act on all of them: the token must be this video's.
	ctx, cancel := context.WithTimeout(r.Context(), a.storeTimeout)
	rec, err := a.store.Lookup(ctx, tok, time.Now())
	cancel()
	switch {
	case errors.Is(err, store.ErrUnknown):
		probTokenUnknown.Write(w)
		return
	case err != nil:
		a.storeFailed(w, r, err)
		return
	case rec.VideoID != v.ID:
		probTokenUnknown.Write(w)
		return
	}
	switch err := a.mw.Revoke(r.Context(), tok); {
	case errors.Is(err, store.ErrUnknown): // expired since the lookup
		probTokenUnknown.Write(w)
		return
	case err != nil:
		a.storeFailed(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "token revoked",
		slog.String("video", v.ID), slog.String("token", privatevideo.RedactToken(tok)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// video finds the video of the request's {id}, or answers 400, 404 or 503
// (the video state store failed).
func (a *API) video(w http.ResponseWriter, r *http.Request) (Video, bool) {
	id := r.PathValue("id")
	if !privatevideo.ValidVideoID(id) {
		probMalformedID.Write(w)
		return Video{}, false
	}
	v, err := a.cat.Mention(r.Context(), id)
	switch {
	case errors.Is(err, ErrNoVideo):
		probVideoUnknown.Write(w)
		return Video{}, false
	case err != nil:
		a.storeFailed(w, r, err)
		return Video{}, false
	}
	return v, true
}

// answer writes v with fresh URLs.
func (a *API) answer(w http.ResponseWriter, r *http.Request, v Video) {
	j, err := a.represent(r, v)
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// represent builds v's resource for r: public URLs for a public video, else
// URLs that carry a token issued for this call.
func (a *API) represent(r *http.Request, v Video) (VideoResource, error) {
	j := VideoResource{VideoID: v.ID, Title: v.Title, Public: v.Public}
	var urls privatevideo.URLs
	var err error
	base := a.base
	if base == "" {
		base = RequestOrigin(r)
	}
	if v.Public {
		urls, err = a.mw.Layout().PublicURLs(base, v.ID)
	} else if j.Token, err = a.mw.Issue(r.Context(), v.ID); err == nil {
		urls, err = a.mw.Layout().PrivateURLs(base, v.ID, j.Token)
	}
	if err != nil {
		return j, err
	}
	j.Assets = AssetURLs{Player: urls.Player, HLS: urls.HLS, DASH: urls.DASH, MP4: urls.MP4, Thumbnail: urls.Thumbnail}
	return j, nil
}

// storeFailed answers 503 for a store that failed or did not answer. The
// cause goes to the log, never to the client.
func (a *API) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "api: store unavailable", slog.String("cause", Scrub(err.Error())))
	ProblemStoreUnavailable.Write(w)
}

// decodeVisibility reads a PATCH body, which must be exactly one JSON
// object with exactly one member, "public", whose value is true or false,
// and nothing after it. It returns the value, or the problem to answer.
//
// encoding/json's Decode would match "Public" or "PUBLIC" to the field and
// let the last of two "public" members win: two readers of the same body
// (a proxy that logs it, an audit) could then disagree on what was asked.
// Walking the tokens admits one reading only.
func decodeVisibility(body io.Reader) (public bool, bad *Problem) {
	dec := json.NewDecoder(body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false, &probBadBody
	}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false, &probBadBody
		}
		if key, _ := tok.(string); key != "public" {
			return false, &probBodyField
		}
		if seen {
			return false, &probBodyDuplicate
		}
		seen = true
		tok, err = dec.Token()
		if err != nil {
			return false, &probBadBody
		}
		v, ok := tok.(bool)
		if !ok {
			return false, &probBodyBool
		}
		public = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return false, &probBadBody
	}
	if !seen {
		return false, &probBodyField
	}
	// Nothing but white space may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return false, &probBadBody
	}
	return public, nil
}

// writeJSON answers v. API answers hold fresh tokens: never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSONHead(w, status)
	w.Write(append(body, '\n'))
}

// writeJSONHead writes the status and headers of a JSON answer. Alone, it
// answers a HEAD: no Content-Length, since the body GET would send holds
// tokens that were never minted.
func writeJSONHead(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
}
