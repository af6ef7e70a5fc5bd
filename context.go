package privatevideo

import "context"

// access is what the middleware attaches to a request it lets through.
type access struct {
	video      string
	token      string // the private token of the URL or the session
	session    Session
	hasSession bool
	// sessionToken is the session token when playlists must carry it on:
	// a new session, or one that came in the URL; empty when the client
	// showed it keeps the session cookie.
	sessionToken string
	// mount and inner are the request's mount (see mount.go), for the
	// player page's URLs.
	mount, inner string
}

type contextKey struct{}

// accessContext carries an access in a request's context. It does what
// context.WithValue does, but lives inside the middleware's one allocation
// per request (passState) instead of costing one of its own.
type accessContext struct {
	context.Context
	access access
}

func (c *accessContext) Value(key any) any {
	if key == (contextKey{}) {
		return &c.access
	}
	return c.Context.Value(key)
}

func accessFrom(ctx context.Context) *access {
	a, _ := ctx.Value(contextKey{}).(*access)
	return a
}

// SessionFromContext returns the verified session of a request the
// middleware let through, for the wrapped handler (analytics, logging). It
// reports false for public videos, player pages served without a session,
// and requests that did not pass through the middleware.
func SessionFromContext(ctx context.Context) (Session, bool) {
	if a := accessFrom(ctx); a != nil && a.hasSession {
		return a.session, true
	}
	return Session{}, false
}

// TokenFromContext returns the private token of a request the middleware let
// through: the URL's, or the session's. A player page served as a shell uses
// it to build its media URLs. It reports false when there is none.
func TokenFromContext(ctx context.Context) (string, bool) {
	if a := accessFrom(ctx); a != nil && a.token != "" {
		return a.token, true
	}
	return "", false
}
