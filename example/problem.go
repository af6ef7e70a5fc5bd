package main

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// problem is an RFC 9457 problem detail in the shape of the middleware's
// denials: a type derived from the reason, a sentence for people, the
// status, and the machine-readable reason.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// The problems of the API, the health check and the proxy. Titles are
// constant: no client input is ever echoed.
var (
	probUnauthorized     = newProblem(http.StatusUnauthorized, "unauthorized", "A valid API key is required: send Authorization: Bearer {key}.")
	probMalformedID      = newProblem(http.StatusBadRequest, "malformed", "The video ID is malformed: 1 to 64 of A-Z, a-z, 0-9, _ and -.")
	probMalformedToken   = newProblem(http.StatusBadRequest, "malformed", "The token is malformed: a UUID version 4 is expected.")
	probBadBody          = newProblem(http.StatusBadRequest, "bad-request", `The body must be a JSON object such as {"public": true}.`)
	probBodyField        = newProblem(http.StatusBadRequest, "bad-request", `The body takes one field, "public", spelled exactly so (names are case-sensitive).`)
	probBodyDuplicate    = newProblem(http.StatusBadRequest, "bad-request", `The body gives "public" more than once.`)
	probBodyBool         = newProblem(http.StatusBadRequest, "bad-request", `The field "public" must be true or false.`)
	probVideoUnknown     = newProblem(http.StatusNotFound, "video-unknown", "There is no such video.")
	probTokenUnknown     = newProblem(http.StatusNotFound, "token-unknown", "This video has no such token, or it has expired.")
	probNotFound         = newProblem(http.StatusNotFound, "not-found", "There is nothing at this address.")
	probMethod           = newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "This address does not answer this method.")
	probStoreUnavailable = newProblem(http.StatusServiceUnavailable, "store-unavailable", "The store is not answering. Try again in a moment.")
	probOrigin           = newProblem(http.StatusBadGateway, "origin-unavailable", "The media origin is not answering. Try again in a moment.")
)

func newProblem(status int, reason, title string) problem {
	return problem{Type: "urn:privatevideo:" + reason, Title: title, Status: status, Reason: reason}
}

// write answers p. Problems are never cached.
func (p problem) write(w http.ResponseWriter) {
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
