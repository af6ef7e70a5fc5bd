package privatevideo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// Middleware guards private videos. Create it with New, wrap a media handler
// with Handler, and hand out links from Issue. It is safe for concurrent use.
type Middleware struct {
	config
	sessions   *sessionCodec
	localStore bool // the store never blocks: see storeContext
	confirmed  *confirmations
	late       lateWatches // tokens whose failed redemptions are watched (late.go)
}

// New returns a Middleware that signs sessions with keys (the first signs,
// all verify; see Key), configured by opts over secure defaults: a bounded
// memory store, DefaultLayout, 24-hour tokens and sessions, a 5-second grace,
// Secure SameSite=Lax cookies, 403 denials. It returns an error naming the
// option and the value for any option given a wrong argument.
func New(keys []Key, opts ...Option) (*Middleware, error) {
	c := defaultConfig()
	for _, opt := range opts {
		opt(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	m := &Middleware{config: c, confirmed: newConfirmations(confirmationsSize)}
	var err error
	if m.sessions, err = newSessionCodec(keys); err != nil {
		return nil, err
	}
	if m.store == nil {
		m.store = store.NewMemory(store.DefaultMemoryCapacity)
	}
	if nb, ok := m.store.(store.NonBlocking); ok {
		m.localStore = nb.NeverBlocks()
	}
	if m.errorHandler == nil {
		m.errorHandler = problem{status: m.denialStatus}.serve
	}
	return m, nil
}

// Layout returns the URL layout in use.
func (m *Middleware) Layout() Layout { return m.layout }

// Issue mints a private token for videoID and records it in the store,
// redeemable for the token lifetime. Build its URLs with Layout().PrivateURLs,
// or call IssueURLs.
func (m *Middleware) Issue(ctx context.Context, videoID string) (string, error) {
	if !ValidVideoID(videoID) {
		return "", fmt.Errorf("%w: video ID %q", ErrMalformed, videoID)
	}
	tok := NewToken()
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	if err := m.store.Issue(ctx, tok, videoID, m.now().Add(m.tokenTTL)); err != nil {
		return "", fmt.Errorf("privatevideo: issuing a token: %w", err)
	}
	return tok, nil
}

// IssueURLs issues a token for videoID and returns its URLs under base.
func (m *Middleware) IssueURLs(ctx context.Context, base, videoID string) (URLs, error) {
	if _, err := m.layout.checkBase(base, videoID); err != nil {
		return URLs{}, err
	}
	tok, err := m.Issue(ctx, videoID)
	if err != nil {
		return URLs{}, err
	}
	return m.layout.PrivateURLs(base, videoID, tok)
}

// Revoke revokes a token: it never redeems again, and with
// WithRevocationCheck its live session stops too. An unknown or expired token
// gives an error that matches store.ErrUnknown.
func (m *Middleware) Revoke(ctx context.Context, token string) error {
	tok, err := ParseToken(token)
	if err != nil {
		return err
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	if err := m.store.Revoke(ctx, tok, m.now()); err != nil {
		return fmt.Errorf("privatevideo: revoking %s: %w", RedactToken(tok), err)
	}
	return nil
}

// storeContext bounds a store call by the store timeout. The memory store
// answers from memory and never blocks, so it is spared the timer that a
// deadline costs on every redemption.
func (m *Middleware) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.localStore {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, m.storeTimeout)
}

func (m *Middleware) now() time.Time {
	if m.clock != nil {
		return m.clock()
	}
	return time.Now()
}

// Handler wraps next, the media handler, so that private videos need a token
// or a session. Its method value is a standard middleware:
//
//	mux.Handle("/vod/", pv.Handler(http.FileServer(http.Dir("media"))))
//
// Requests outside the layout's prefix pass untouched. next sees the public
// form of every URL (/vod/{id}/{asset}), never a token or a session token, and
// finds the session with SessionFromContext.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ours, err := m.layout.parseRequest(r)
		if !ours {
			if !m.layout.rewriteHeaderOurs(r.Header) {
				next.ServeHTTP(w, r)
				return
			}
			ours, err = true, errMalformedPath
		}
		m.serve(w, r, next, &t, err)
	})
}

// serve decides a request under the prefix. Each step is a row of the
// request table in the package documentation, in its order: first what
// needs no token or session (serveOpen), then a session (row 5), then the
// token (serveToken).
func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, parseErr error) {
	start := time.Now()
	now := start
	if m.clock != nil {
		now = m.clock()
	}
	if m.serveOpen(w, r, next, t, start, parseErr) {
		return
	}
	// Row 5: a valid session for this video (and this token, if any).
	sess, raw, found := m.findSession(r, t, now)
	if found >= sessionValid {
		m.serveSession(w, r, next, t, start, now, sess, raw, found)
		return
	}
	m.serveToken(w, r, next, t, start, now, found)
}

// serveOpen answers what is decided before any token or session is looked
// at (rows 2 to 4), and reports whether it did.
func (m *Middleware) serveOpen(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start time.Time, parseErr error) bool {
	// CORS headers go on every answer, denials included, so that a player
	// on another origin can read why it was refused.
	if m.cors.enabled() && m.cors.apply(w, r) {
		m.decided(r, t, start, allowPreflight, nil)
		return true // a preflight, answered
	}
	switch {
	case parseErr != nil:
		// Row 4, for what makes the request unreadable: we cannot even
		// ask whether the video is public.
		m.deny(w, r, t, start, parseErr)
	case m.public != nil && m.public(r.Context(), t.video):
		m.passPublic(w, r, next, t, start) // row 2
	case r.Method == http.MethodOptions:
		// Row 3: OPTIONS is answered here, never by the handler: many
		// handlers (http.FileServer, most origins) answer it like GET.
		m.answerOptions(w, r, t, start)
	case !methodAllowed(r.Method, t.route):
		// The method is part of the boundary: only GET and HEAD (and POST
		// to the session endpoint) go on, refused before any store call.
		w.Header().Set("Allow", allowedMethods(t.route))
		m.deny(w, r, t, start, ErrMethod)
	case t.tokenErr != nil:
		m.deny(w, r, t, start, t.tokenErr) // row 4: the token
	default:
		return false
	}
	return true
}

// serveSession lets a request with a valid session in (row 5), unless the
// session's token is revoked.
func (m *Middleware) serveSession(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start, now time.Time, sess Session, raw string, found verdict) {
	how, err := m.checkRevoked(r.Context(), sess.Token, now)
	if err != nil {
		m.deny(w, r, t, start, err)
		return
	}
	m.confirm(sess, now)
	a := access{video: t.video, token: sess.Token, session: sess, hasSession: true, mount: t.mount, inner: t.inner}
	if found == sessionValid {
		// The session came in the URL: this client keeps no cookie, so its
		// playlists must carry the session on. A client whose cookie came
		// along will send it with every URI of the playlist too, and is
		// spared the rewrite.
		a.sessionToken = raw
	}
	if t.route == routeSession {
		m.answerSession(w, r, t, start, how, raw, sess.Expires)
		return
	}
	m.pass(w, r, next, t, start, how, a)
}

// serveToken decides a request without a valid session (rows 6 to 9): by
// its token, which it redeems when it may.
func (m *Middleware) serveToken(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start, now time.Time, found verdict) {
	switch {
	case t.token == "" && found == sessionExpired: // row 9: no token
		m.deny(w, r, t, start, ErrSessionExpired)
	case t.token == "" && found == sessionInvalid:
		m.deny(w, r, t, start, ErrSessionInvalid)
	case t.token == "":
		m.deny(w, r, t, start, ErrTokenRequired)
	case found == sessionExpired && t.route != routePage:
		// A session of this very token that has run out: say so, rather
		// than what the token's state would say (token-used).
		m.deny(w, r, t, start, ErrSessionExpired)
	case t.route == routePage:
		// Row 6: the player page is a shell that never redeems.
		m.pass(w, r, next, t, start, allowPage, access{video: t.video, token: t.token, mount: t.mount, inner: t.inner})
	case !t.tokenInPath:
		// A token in the query of an asset: move it into the path first,
		// where the session cookie (scoped to the token's subtree) will
		// follow it.
		m.redirectToPath(w, r, t, start)
	case m.nonRedeeming(r):
		m.deny(w, r, t, start, m.stateOf(r.Context(), t, now)) // row 7
	case !m.mayRead(r):
		// A page on another origin that may not read the answer must not
		// spend the link: its browser would hide what it paid for.
		m.deny(w, r, t, start, ErrOriginNotAllowed)
	default:
		m.redeem(w, r, next, t, start, now) // row 8
	}
}

func (m *Middleware) redeem(w http.ResponseWriter, r *http.Request, next http.Handler, t *target, start, now time.Time) {
	ctx, cancel := m.storeContext(r.Context())
	client := m.clientID(r)
	// A redemption the store may run after failing it: not the memory
	// store's, nor one whose request had ended before the call (late.go).
	mayRunLate := !m.localStore && ctx.Err() == nil
	red, err := m.store.Redeem(ctx, store.RedeemRequest{
		Token:      t.token,
		VideoID:    t.video,
		Client:     client,
		Now:        now,
		SessionTTL: m.sessionTTL,
		Grace:      m.graceWindow(),
		Retry:      m.retryWindow,
	})
	cancel()
	if err != nil {
		if mayRunLate && !store.IsDenial(err) {
			// A system failure: the store may still carry it out.
			m.watchLate(t.token, client, now)
		}
		m.deny(w, r, t, start, storeDenial(err))
		return
	}
	if !m.localStore && !red.Reentry {
		m.forgetLate(t.token, client, now)
	}
	sess := Session{VideoID: t.video, Token: t.token, Expires: time.Unix(red.Expires.Unix(), 0)}
	raw, err := m.sessions.encode(sess)
	if err != nil {
		m.deny(w, r, t, start, fmt.Errorf("%w: %w", ErrStoreUnavailable, err))
		return
	}
	how := allowRedeemed
	if red.Reentry {
		how = allowGrace
	}
	var cookie string
	if !m.pageBound {
		cookie = m.setCookie(w, t, raw, sess.Expires, now)
	}
	if t.route == routeSession {
		rel := store.ReleaseRequest{Token: t.token, Client: client, RedeemedAt: red.RedeemedAt, Now: now}
		if !red.Reentry && r.Context().Err() != nil {
			m.release(rel, t.video, CauseClientGone) // nobody to answer
			return
		}
		m.answerSession(w, r, t, start, how, raw, sess.Expires)
		if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) && !red.Reentry {
			m.release(rel, t.video, CauseClientGone) // the answer never left
		}
		return
	}
	a := access{video: t.video, token: t.token, session: sess, hasSession: true, sessionToken: raw, mount: t.mount, inner: t.inner}
	if red.Reentry {
		// A re-entry cannot be released: the first answer may have
		// carried the session already.
		m.pass(w, r, next, t, start, how, a)
		return
	}
	m.passFresh(w, r, next, t, start, a, store.ReleaseRequest{Token: t.token, Client: client, RedeemedAt: red.RedeemedAt, Now: now}, cookie)
}

// graceWindow is the grace for redemptions. Page-bound mode has none: its
// player opens the session once, before any media request, and a second
// opening is by definition another page.
func (m *Middleware) graceWindow() time.Duration {
	if m.pageBound {
		return 0
	}
	return m.grace
}

// storeDenial maps a store error to the denial it means.
func storeDenial(err error) error {
	switch {
	case errors.Is(err, store.ErrUnknown):
		return ErrTokenUnknown
	case errors.Is(err, store.ErrUsed):
		return ErrTokenUsed
	case errors.Is(err, store.ErrWrongVideo):
		return ErrWrongVideo
	case errors.Is(err, store.ErrRevoked):
		return ErrTokenRevoked
	}
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, redacted(err))
}

// stateOf explains, without changing anything, why a non-redeeming request
// for t's token is refused.
func (m *Middleware) stateOf(ctx context.Context, t *target, now time.Time) error {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	rec, err := m.store.Lookup(ctx, t.token, now)
	switch {
	case err != nil:
		return storeDenial(err)
	case rec.VideoID != t.video:
		return ErrWrongVideo
	case rec.State == store.Revoked:
		return ErrTokenRevoked
	case rec.State == store.Redeemed:
		return ErrTokenUsed
	}
	return ErrNotRedeemed
}

// checkRevoked is the optional store check of a valid session's token. It
// returns how the session passes (the Decision's reason), or the denial.
// A failed check under KeepPlaying passes as "session-unchecked", so the
// decision hook and metrics see the outage.
func (m *Middleware) checkRevoked(ctx context.Context, token string, now time.Time) (string, error) {
	if m.revocationCheck == 0 {
		return allowSession, nil
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	rec, err := m.store.Lookup(ctx, token, now)
	switch {
	case err == nil && rec.State == store.Revoked:
		return "", ErrTokenRevoked
	case err == nil || errors.Is(err, store.ErrUnknown):
		// An evicted or flushed record says nothing of revocation; the
		// session's signature stands.
		return allowSession, nil
	case m.revocationCheck == StopPlaying:
		return "", fmt.Errorf("%w: %w", ErrStoreUnavailable, redacted(err))
	}
	if m.logger != nil {
		m.logger.LogAttrs(ctx, slog.LevelWarn, "privatevideo: revocation check failed; session kept playing",
			slog.String("token", RedactToken(token)), slog.String("cause", redactTokens(err.Error())))
	}
	return allowUnchecked, nil
}

// answerSession is the session endpoint's answer.
func (m *Middleware) answerSession(w http.ResponseWriter, r *http.Request, t *target, start time.Time, how string, raw string, expires time.Time) {
	m.decided(r, t, start, how, nil)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	body, _ := json.Marshal(struct {
		SessionToken string `json:"session_token"`
		ExpiresAt    string `json:"expires_at"`
	}{raw, expires.UTC().Format(time.RFC3339)})
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// methodAllowed reports whether a request for a private video with this
// method may go on to be decided.
func methodAllowed(method string, rt route) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodPost && rt == routeSession
}

// allowedMethods is the Allow header of a route of a private video.
func allowedMethods(rt route) string {
	if rt == routeSession {
		return "GET, HEAD, POST, OPTIONS"
	}
	return "GET, HEAD, OPTIONS"
}

// answerOptions answers an OPTIONS request that is not a CORS preflight
// from an allowed origin (those are answered by cors.apply): an empty 204.
func (m *Middleware) answerOptions(w http.ResponseWriter, r *http.Request, t *target, start time.Time) {
	m.decided(r, t, start, allowPreflight, nil)
	h := w.Header()
	h.Set("Allow", allowedMethods(t.route))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// redirectToPath answers a request whose token came in the query (or glued)
// for an asset with a redirect to the same asset under the token's path.
func (m *Middleware) redirectToPath(w http.ResponseWriter, r *http.Request, t *target, start time.Time) {
	m.decided(r, t, start, allowRedirect, nil)
	// The Location is built escaped: the decoded asset must not become a
	// query, a fragment or a header break in it.
	loc := (&url.URL{Path: m.layout.privatePath(t.mount, t.video, t.token) + t.asset}).EscapedPath()
	if t.query != "" {
		loc += "?" + t.query
	}
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// deny answers a refused request through the error handler.
// The Privatevideo-Reason header carries the reason even where a body cannot
// (HEAD) or is not read (a media element); the player page reads it.
func (m *Middleware) deny(w http.ResponseWriter, r *http.Request, t *target, start time.Time, err error) {
	m.decided(r, t, start, "", err)
	reason := ErrStoreUnavailable.reason
	if d := DenialOf(err); d != nil {
		reason = d.reason
	}
	w.Header().Set("Privatevideo-Reason", reason)
	m.errorHandler(w, r, err)
}
