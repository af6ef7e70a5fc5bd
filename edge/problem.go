package edge

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem detail in the shape of the middleware's
// denials: a type derived from the reason, a sentence for people, the
// status, and the machine-readable reason.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// The problems that handlers beside the API answer too.
var (
	// ProblemNotFound is 404 not-found, for paths nothing serves.
	ProblemNotFound = NewProblem(http.StatusNotFound, "not-found", "There is nothing at this address.")
	// ProblemStoreUnavailable is 503 store-unavailable, with Retry-After.
	ProblemStoreUnavailable = NewProblem(http.StatusServiceUnavailable, "store-unavailable", "The store is not answering. Try again in a moment.")
)

// The problems of the API. Titles are constant: no client input is ever
// echoed.
var (
	probUnauthorized   = NewProblem(http.StatusUnauthorized, "unauthorized", "A valid API key is required: send Authorization: Bearer {key}.")
	probMalformedID    = NewProblem(http.StatusBadRequest, "malformed", "The video ID is malformed: 1 to 64 of A-Z, a-z, 0-9, _ and -.")
	probMalformedToken = NewProblem(http.StatusBadRequest, "malformed", "The token is malformed: a UUID version 4 is expected.")
	probBadBody        = NewProblem(http.StatusBadRequest, "bad-request", `The body must be a JSON object such as {"public": true}.`)
	probBodyField      = NewProblem(http.StatusBadRequest, "bad-request", `The body takes one field, "public", spelled exactly so (names are case-sensitive).`)
	probBodyDuplicate  = NewProblem(http.StatusBadRequest, "bad-request", `The body gives "public" more than once.`)
	probBodyBool       = NewProblem(http.StatusBadRequest, "bad-request", `The field "public" must be true or false.`)
	probVideoUnknown   = NewProblem(http.StatusNotFound, "video-unknown", "There is no such video.")
	probTokenUnknown   = NewProblem(http.StatusNotFound, "token-unknown", "This video has no such token, or it has expired.")
	probMethod         = NewProblem(http.StatusMethodNotAllowed, "method-not-allowed", "This address does not answer this method.")
	probPinned         = NewProblem(http.StatusConflict, "video-pinned", "This video is public by the server's configuration; it cannot be made private here.")
)

// NewProblem returns the problem of reason (a token of [a-z-]), answered
// with status; its type is urn:privatevideo:{reason}. title is a constant
// sentence for people: never client input.
func NewProblem(status int, reason, title string) Problem {
	return Problem{Type: "urn:privatevideo:" + reason, Title: title, Status: status, Reason: reason}
}

// Write answers p: its status, its JSON, never cached, with Retry-After
// for a 503.
func (p Problem) Write(w http.ResponseWriter) {
	body, _ := json.Marshal(p) // constant strings: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	if p.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	w.Write(append(body, '\n'))
}
