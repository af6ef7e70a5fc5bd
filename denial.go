package privatevideo

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// A Denial is one reason the middleware refuses a request. The reasons are
// the Err… values below; an error handler tells them apart with errors.Is:
//
//	if errors.Is(err, privatevideo.ErrTokenUsed) { … }
//
// The error a handler receives may wrap a Denial together with its cause (a
// store failure, say); the cause is for logs, never for the client.
type Denial struct {
	reason string // machine-readable, kebab-case: the problem's "reason"
	title  string // one human sentence
	status int    // fixed status, or 0 for the configured denial status
}

// The reasons for a denial, one per row of the request table in the package
// documentation.
var (
	ErrMalformed        = &Denial{reason: "malformed", title: "The link is malformed.", status: http.StatusBadRequest}
	ErrTokenRequired    = &Denial{reason: "token-required", title: "This video is private: open it with the link you were given."}
	ErrNotRedeemed      = &Denial{reason: "not-redeemed", title: "This link has not been opened yet: open it in a browser or player to start watching."}
	ErrTokenUsed        = &Denial{reason: "token-used", title: "This link has already been used. Ask for a new link to watch this video."}
	ErrTokenUnknown     = &Denial{reason: "token-unknown", title: "This link is unknown or has expired."}
	ErrWrongVideo       = &Denial{reason: "wrong-video", title: "This link belongs to another video."}
	ErrTokenRevoked     = &Denial{reason: "token-revoked", title: "This link has been revoked."}
	ErrSessionExpired   = &Denial{reason: "session-expired", title: "Your viewing session has expired. Ask for a new link to watch again."}
	ErrSessionInvalid   = &Denial{reason: "session-invalid", title: "Your viewing session is not valid for this video."}
	ErrStoreUnavailable = &Denial{reason: "store-unavailable", title: "The video service is briefly unavailable. Try again in a moment.", status: http.StatusServiceUnavailable}
	// ErrMethod refuses a method that private videos do not answer: only
	// GET and HEAD (and POST to the session endpoint) reach the wrapped
	// handler, and OPTIONS is answered by the middleware itself. The answer
	// is 405 with an Allow header, before any store call.
	ErrMethod = &Denial{reason: "method-not-allowed", title: "This request method is not allowed here.", status: http.StatusMethodNotAllowed}
	// ErrOriginNotAllowed refuses, before any redemption, a request from a
	// page on another origin that WithCORS does not allow: the browser
	// would hide the answer from that page, so the link must not be spent.
	ErrOriginNotAllowed = &Denial{reason: "origin-not-allowed", title: "This video cannot be played from this site."}
)

// denials lists every Denial, so that what must know them all (the player
// page's sentences, the tests) cannot miss a new one.
var denials = []*Denial{ErrMalformed, ErrTokenRequired, ErrNotRedeemed, ErrTokenUsed, ErrTokenUnknown,
	ErrWrongVideo, ErrTokenRevoked, ErrSessionExpired, ErrSessionInvalid, ErrStoreUnavailable, ErrMethod,
	ErrOriginNotAllowed}

// Denials returns every reason the middleware can refuse a request with, in
// the order of the request table.
func Denials() []*Denial { return append([]*Denial(nil), denials...) }

// errMalformedToken is what ParseToken returns; it is ErrMalformed to errors.Is.
var errMalformedToken = fmt.Errorf("%w: not a private token", ErrMalformed)

// Error says "privatevideo: " and the reason, as in the Privatevideo-Reason
// header: "privatevideo: token-used".
func (d *Denial) Error() string { return "privatevideo: " + d.reason }

// Reason returns the machine-readable reason, such as "token-used".
func (d *Denial) Reason() string { return d.reason }

// Title returns a sentence that explains the reason to a viewer.
func (d *Denial) Title() string { return d.title }

// DenialOf returns the Denial that err carries, or nil.
func DenialOf(err error) *Denial {
	var d *Denial
	if errors.As(err, &d) {
		return d
	}
	return nil
}

// Status returns the HTTP status of d when denials are configured to answer
// deny (see WithDenialStatus): ErrMalformed is always 400 and
// ErrStoreUnavailable 503.
func (d *Denial) Status(deny int) int {
	if d.status != 0 {
		return d.status
	}
	return deny
}

// ErrorHandler answers a denied request. err wraps a *Denial (see DenialOf)
// and possibly its cause. Implementations must not write err.Error() to the
// client: the cause may describe the infrastructure.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// problem renders denials as RFC 9457 problem details for API and media
// clients, and as a short HTML page for browsers navigating to a page.
type problem struct {
	status int // configured status for denials
}

func (p problem) serve(w http.ResponseWriter, r *http.Request, err error) {
	d := DenialOf(err)
	if d == nil {
		d = ErrStoreUnavailable // an error handler got something else: fail closed
	}
	status := d.Status(p.status)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if wantsHTML(r) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = denialPage.Execute(w, d)
		return
	}
	h.Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	// Every field is a constant of this package: no client input is echoed.
	fmt.Fprintf(w, `{"type":"urn:privatevideo:%s","title":%s,"status":%d,"reason":%s}`+"\n",
		d.reason, strconv.Quote(d.title), status, strconv.Quote(d.reason))
}

// wantsHTML reports whether the client is a browser navigating to a page,
// rather than a player or script fetching media or JSON.
func wantsHTML(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Dest"); mode != "" {
		return mode == "document" || mode == "iframe"
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/html")
}

var denialPage = template.Must(template.New("denied").Parse(`<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Video unavailable</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#111;color:#eee}main{max-width:32rem;padding:2rem}small{color:#999}</style>
<main>
<h1>Video unavailable</h1>
<p>{{.Title}}</p>
<p><small>Reason: {{.Reason}}</small></p>
</main>
</html>
`))
