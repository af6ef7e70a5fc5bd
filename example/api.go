package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// api is the video API: the catalogue, with fresh private URLs at every
// read, visibility changes and revocation, behind a bearer API key.
type api struct {
	cat          *catalogue
	mw           *privatevideo.Middleware
	store        store.Store // to check a token's video before revoking it
	storeTimeout time.Duration
	base         string   // the public URL the links start with
	keyDigest    [32]byte // SHA-256 of the API key
	log          *slog.Logger
	bodyTimeout  time.Duration // bound on reading a request body; 0: bodyTimeout
}

// videoJSON is a video as the API answers it.
type videoJSON struct {
	VideoID string `json:"videoId"`
	Title   string `json:"title"`
	Public  bool   `json:"public"`
	// Token is the private token in the asset URLs, for revoking it; public
	// videos have none.
	Token  string     `json:"token,omitempty"`
	Assets assetsJSON `json:"assets"`
}

type assetsJSON struct {
	Player    string `json:"player"`
	HLS       string `json:"hls"`
	DASH      string `json:"dash,omitempty"`
	MP4       string `json:"mp4"`
	Thumbnail string `json:"thumbnail"`
}

// maxBody bounds a PATCH body; {"public": false} is 17 bytes.
const maxBody = 4 << 10

// bodyTimeout bounds how long an authenticated client may take to send its
// request body: the server has no ReadTimeout (a viewer's long download must
// not be cut), so without it a body sent a byte a minute would hold a
// connection and a goroutine for as long as the client likes.
const bodyTimeout = 10 * time.Second

// handler returns the API's routes, every one behind the API key.
func (a *api) handler() http.Handler {
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
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { probMethod.write(w) })
	}
	mux.HandleFunc("/videos/", func(w http.ResponseWriter, r *http.Request) { probNotFound.write(w) })
	return a.authorize(mux)
}

// authorize lets through requests that carry the API key as a bearer token.
// Comparing digests in constant time reveals neither the key nor its length.
//
// The body of a request without the key is never read (see refuseBody). An
// authorized body has bodyTimeout to arrive, the server's drain of what the
// handler left included.
func (a *api) authorize(next http.Handler) http.Handler {
	timeout := a.bodyTimeout
	if timeout <= 0 {
		timeout = bodyTimeout
	}
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
				refuseBody(w)
			}
			probUnauthorized.write(w)
			return
		}
		if r.ContentLength != 0 {
			// Also bounds the server's drain of a body the handler left.
			if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout)); err != nil {
				refuseBody(w) // no deadline: read nothing
				probBadBody.write(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refuseBody makes sure that nothing reads the request body of w's request:
// net/http itself drains up to 256 KiB of an unread body after the handler,
// to reuse the connection, and with no ReadTimeout that drain waits as long
// as the client likes. A read deadline in the past makes the drain fail at
// once, and the connection closes after the answer.
func refuseBody(w http.ResponseWriter) {
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

func (a *api) listVideos(w http.ResponseWriter, r *http.Request) {
	videos, err := a.cat.list(r.Context())
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	out := struct {
		Data []videoJSON `json:"data"`
	}{Data: make([]videoJSON, 0, len(videos))}
	for _, v := range videos {
		j, err := a.represent(r.Context(), v)
		if err != nil {
			a.storeFailed(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) getVideo(w http.ResponseWriter, r *http.Request) {
	v, ok := a.video(w, r)
	if !ok {
		return
	}
	a.answer(w, r, v)
}

// headVideos answers HEAD /videos as GET would, without its body and
// without minting the tokens of its URLs.
func (a *api) headVideos(w http.ResponseWriter, r *http.Request) {
	writeJSONHead(w, http.StatusOK)
}

// headVideo answers HEAD /videos/{id}: 200 for a video that GET would
// answer, its errors otherwise; no token is minted. In an open catalogue
// (proxy mode) a HEAD mentions the video, as GET does.
func (a *api) headVideo(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.video(w, r); !ok {
		return
	}
	writeJSONHead(w, http.StatusOK)
}

func (a *api) patchVideo(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.video(w, r); !ok {
		return
	}
	public, bad := decodeVisibility(http.MaxBytesReader(w, r.Body, maxBody))
	if bad != nil {
		bad.write(w)
		return
	}
	v, err := a.cat.setPublic(r.Context(), r.PathValue("id"), public)
	switch {
	case errors.Is(err, errNoVideo):
		probVideoUnknown.write(w)
		return
	case err != nil:
		a.storeFailed(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "video visibility changed",
		slog.String("video", v.ID), slog.Bool("public", v.Public))
	a.answer(w, r, v)
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) {
	v, ok := a.video(w, r)
	if !ok {
		return
	}
	tok, err := privatevideo.ParseToken(r.PathValue("token"))
	if err != nil {
		probMalformedToken.write(w)
		return
	}
	// Revoking through another video's URL would let a caller who knows one
	// video act on all of them: the token must be this video's.
	ctx, cancel := context.WithTimeout(r.Context(), a.storeTimeout)
	rec, err := a.store.Lookup(ctx, tok, time.Now())
	cancel()
	switch {
	case errors.Is(err, store.ErrUnknown):
		probTokenUnknown.write(w)
		return
	case err != nil:
		a.storeFailed(w, r, err)
		return
	case rec.VideoID != v.ID:
		probTokenUnknown.write(w)
		return
	}
	switch err := a.mw.Revoke(r.Context(), tok); {
	case errors.Is(err, store.ErrUnknown): // expired since the lookup
		probTokenUnknown.write(w)
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
func (a *api) video(w http.ResponseWriter, r *http.Request) (video, bool) {
	id := r.PathValue("id")
	if !privatevideo.ValidVideoID(id) {
		probMalformedID.write(w)
		return video{}, false
	}
	v, err := a.cat.mention(r.Context(), id)
	switch {
	case errors.Is(err, errNoVideo):
		probVideoUnknown.write(w)
		return video{}, false
	case err != nil:
		a.storeFailed(w, r, err)
		return video{}, false
	}
	return v, true
}

// answer writes v with fresh URLs.
func (a *api) answer(w http.ResponseWriter, r *http.Request, v video) {
	j, err := a.represent(r.Context(), v)
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// represent builds v's resource: public URLs for a public video, else URLs
// that carry a token issued for this call.
func (a *api) represent(ctx context.Context, v video) (videoJSON, error) {
	j := videoJSON{VideoID: v.ID, Title: v.Title, Public: v.Public}
	var urls privatevideo.URLs
	var err error
	if v.Public {
		urls, err = a.mw.Layout().PublicURLs(a.base, v.ID)
	} else if j.Token, err = a.mw.Issue(ctx, v.ID); err == nil {
		urls, err = a.mw.Layout().PrivateURLs(a.base, v.ID, j.Token)
	}
	if err != nil {
		return j, err
	}
	j.Assets = assetsJSON{Player: urls.Player, HLS: urls.HLS, DASH: urls.DASH, MP4: urls.MP4, Thumbnail: urls.Thumbnail}
	return j, nil
}

// storeFailed answers 503 for a store that failed or did not answer. The
// cause goes to the log, never to the client.
func (a *api) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "api: store unavailable", slog.String("cause", scrub(err.Error())))
	probStoreUnavailable.write(w)
}

// decodeVisibility reads a PATCH body, which must be exactly one JSON
// object with exactly one member, "public", whose value is true or false,
// and nothing after it. It returns the value, or the problem to answer.
//
// encoding/json's Decode would match "Public" or "PUBLIC" to the field and
// let the last of two "public" members win: two readers of the same body
// (a proxy that logs it, an audit) could then disagree on what was asked.
// Walking the tokens admits one reading only.
func decodeVisibility(body io.Reader) (public bool, bad *problem) {
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
