package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo"
)

// originProxy forwards the requests the middleware lets through to origin.
// The request arrives in its public form (/vod/{id}/{asset}, no token, no
// session token) and goes out with the same path, under origin's own path.
// Range requests, conditional requests and streamed bodies pass through as
// httputil.ReverseProxy carries them.
//
// timeout bounds connecting and waiting for the response headers, so that a
// dead or stuck origin gives 502 origin-unavailable instead of a hang; a body
// that takes long to stream is not cut. An origin's 5xx answer is reported
// as the same 502: its body may describe the infrastructure.
func originProxy(origin *url.URL, timeout time.Duration, cookieName string, log *slog.Logger) http.Handler {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		// The transport would otherwise ask for gzip whenever the client did
		// not name an encoding (the middleware removes Accept-Encoding from
		// playlist requests) and inflate the answer on the fly, unbounded: a
		// small gzip bomb from the origin would stream out decompressed.
		// Bodies pass as the origin encoded them; the middleware decodes the
		// playlists it rewrites, within its limits.
		DisableCompression: true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(origin)
			pr.SetXForwarded()
			// The session is this server's business; the origin never needs
			// it, and a session token is a credential.
			dropCookie(pr.Out.Header, cookieName)
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 {
				return &originStatusError{status: resp.StatusCode}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away: nobody to answer
			}
			log.LogAttrs(r.Context(), slog.LevelWarn, "origin unavailable",
				slog.String("video", videoOf(r.URL.Path)), slog.String("cause", originCause(err)))
			probOrigin.write(w)
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// originStatusError is an origin's 5xx answer.
type originStatusError struct{ status int }

func (e *originStatusError) Error() string { return fmt.Sprintf("origin answered %d", e.status) }

// originCause describes a proxy error for the log without the request's
// URL: the public path holds no token, but the origin's URL may hold
// credentials.
func originCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return scrub(err.Error())
}

// videoOf returns the video ID of a public path /vod/{id}/…, for logs.
func videoOf(p string) string {
	rest, ok := strings.CutPrefix(p, privatevideo.DefaultLayout.Prefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	if !privatevideo.ValidVideoID(id) {
		return ""
	}
	return id
}

// dropCookie removes the cookies called name from h's Cookie headers and
// keeps the others.
func dropCookie(h http.Header, name string) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = textproto.TrimString(part)
			n, _, _ := strings.Cut(part, "=")
			if part != "" && n != name {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h.Set("Cookie", strings.Join(kept, "; "))
}
