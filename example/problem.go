package main

import (
	"net/http"

	pvedge "github.com/privatevideo/privatevideo/edge"
)

// problem is an RFC 9457 problem detail in the shape of the middleware's
// denials (pvedge.Problem), as this server's own handlers answer it.
type problem struct{ pvedge.Problem }

func newProblem(status int, reason, title string) problem {
	return problem{pvedge.NewProblem(status, reason, title)}
}

// write answers p. Problems are never cached.
func (p problem) write(w http.ResponseWriter) { p.Write(w) }

// The problems of the server beside the API's (package edge). Titles are
// constant: no client input is ever echoed.
var (
	probNotFound = problem{pvedge.ProblemNotFound}
	probOrigin   = newProblem(http.StatusBadGateway, "origin-unavailable", "The media origin is not answering. Try again in a moment.")
)
