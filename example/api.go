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
	MP4       string `json:"mp4"`
	Thumbnail string `json:"thumbnail"`
}

// maxBody bounds a PATCH body; {"public": false} is 17 bytes.
const maxBody = 4 << 10

// handler returns the API's routes, every one behind the API key.
func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /videos", a.listVideos)
	mux.HandleFunc("GET /videos/{id}", a.getVideo)
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
func (a *api) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given, ok := bearer(r.Header.Get("Authorization"))
		d := sha256.Sum256([]byte(given))
		if !ok || subtle.ConstantTimeCompare(d[:], a.keyDigest[:]) != 1 {
			challenge := `Bearer realm="privatevideo"`
			if ok {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			probUnauthorized.write(w)
			return
		}
		next.ServeHTTP(w, r)
	})
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
	videos := a.cat.list()
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

func (a *api) patchVideo(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.video(w, r); !ok {
		return
	}
	var body struct {
		Public *bool `json:"public"`
	}
	if !decodeBody(w, r, &body) || body.Public == nil {
		probBadBody.write(w)
		return
	}
	v, ok := a.cat.setPublic(r.PathValue("id"), *body.Public)
	if !ok {
		probVideoUnknown.write(w)
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

// video finds the video of the request's {id}, or answers 400 or 404.
func (a *api) video(w http.ResponseWriter, r *http.Request) (video, bool) {
	id := r.PathValue("id")
	if !privatevideo.ValidVideoID(id) {
		probMalformedID.write(w)
		return video{}, false
	}
	v, ok := a.cat.mention(id)
	if !ok {
		probVideoUnknown.write(w)
	}
	return v, ok
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
	j.Assets = assetsJSON{Player: urls.Player, HLS: urls.HLS, MP4: urls.MP4, Thumbnail: urls.Thumbnail}
	return j, nil
}

// storeFailed answers 503 for a store that failed or did not answer. The
// cause goes to the log, never to the client.
func (a *api) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "api: store unavailable", slog.String("cause", scrub(err.Error())))
	probStoreUnavailable.write(w)
}

// decodeBody reads one JSON object of at most maxBody bytes into dst, with
// no unknown fields and nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return false
	}
	return dec.Decode(new(json.RawMessage)) == io.EOF
}

// writeJSON answers v. API answers hold fresh tokens: never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
