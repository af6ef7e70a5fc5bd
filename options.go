package privatevideo

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// An Option configures a Middleware. Options are applied over secure
// defaults; New validates the result.
type Option func(*Middleware)

// Defaults, documented here once.
const (
	DefaultTokenTTL     = 24 * time.Hour  // an issued token can be redeemed for this long
	DefaultSessionTTL   = 24 * time.Hour  // a session lasts this long after redemption
	DefaultGrace        = 5 * time.Second // same-client re-entry window after redemption
	DefaultStoreTimeout = 2 * time.Second // bound on every store call
	DefaultCookieName   = "pv_session"
	// DefaultFirstByteTimeout bounds the time from a redemption to the first
	// byte of its answer: past it the viewer gets 504 and the redemption is
	// released.
	DefaultFirstByteTimeout = 30 * time.Second
)

// DefaultRetryWindow is how long the same client may come back to a
// redemption whose session it never used (see WithRetryWindow).
const DefaultRetryWindow = 30 * time.Second

// WithRetryWindow sets how long after a redemption the same client may
// re-enter it while its session has not come back in any request
// (DefaultRetryWindow; 0 turns it off). It serves the viewer whose
// redemption timed out against a slow store: the store may have carried it
// out after the viewer got 503, and the viewer's own retry must still get
// in. The first request that brings the session back confirms the
// redemption (one store write per session and process, off the request's
// path); from then on only the grace window applies.
func WithRetryWindow(d time.Duration) Option { return func(m *Middleware) { m.retryWindow = d } }

// WithFirstByteTimeout bounds the time from a redemption to the status line
// of its answer (DefaultFirstByteTimeout): a handler or an origin that has
// not started answering by then has its context cancelled, the viewer gets
// 504, and the redemption is released, so the link still works. A playlist
// being rewritten counts: it is held until it is whole or 256 KiB long.
func WithFirstByteTimeout(d time.Duration) Option {
	return func(m *Middleware) { m.firstByteTimeout = d }
}

// WithReleaseHook sets a function called for every redemption the
// middleware releases because its answer did not reach the viewer (see
// Release): metrics, alerts. It must be fast and safe for concurrent use.
func WithReleaseHook(hook func(Release)) Option { return func(m *Middleware) { m.onRelease = hook } }

// WithStore sets where tokens are kept. The default is a memory store bounded
// at store.DefaultMemoryCapacity tokens, right for a single process only.
func WithStore(s store.Store) Option { return func(m *Middleware) { m.store = s } }

// WithLayout sets the URL layout. The default is DefaultLayout.
func WithLayout(l Layout) Option { return func(m *Middleware) { m.layout = l } }

// WithTokenTTL sets how long an issued token stays redeemable.
func WithTokenTTL(d time.Duration) Option { return func(m *Middleware) { m.tokenTTL = d } }

// WithSessionTTL sets how long a session lasts after redemption. Sessions do
// not slide: a refresh does not extend them.
func WithSessionTTL(d time.Duration) Option { return func(m *Middleware) { m.sessionTTL = d } }

// WithGrace sets the window after a redemption in which the same client
// (address and User-Agent) presenting the same token again is given the same
// session: a player's parallel first requests. 0 turns it off.
func WithGrace(d time.Duration) Option { return func(m *Middleware) { m.grace = d } }

// WithStoreTimeout bounds every store call. A call that does not answer in
// time is a store failure: 503 store-unavailable, nothing consumed.
func WithStoreTimeout(d time.Duration) Option { return func(m *Middleware) { m.storeTimeout = d } }

// WithPublic sets the hook that says whether a video is public. Requests for
// public videos pass untouched but for the token and session parameters,
// which are removed. By default every video is private. The hook runs on every
// request under the prefix, so it must be fast.
func WithPublic(public func(ctx context.Context, videoID string) bool) Option {
	return func(m *Middleware) { m.public = public }
}

// WithDenialStatus sets the status of denials (403 by default; 404 hides
// that the video exists, as some hosted platforms do). Malformed requests
// still get 400 and store failures 503.
func WithDenialStatus(code int) Option { return func(m *Middleware) { m.denialStatus = code } }

// WithErrorHandler replaces how denials are answered. The default writes RFC
// 9457 problem+json, or a small HTML page for a browser navigating to a page.
func WithErrorHandler(h ErrorHandler) Option { return func(m *Middleware) { m.errorHandler = h } }

// WithCookieName sets the session cookie's name.
func WithCookieName(name string) Option { return func(m *Middleware) { m.cookie.name = name } }

// WithCookieDomain sets the session cookie's Domain, so that an embed host and
// a media host under one domain share it. By default the cookie is host-only.
func WithCookieDomain(domain string) Option { return func(m *Middleware) { m.cookie.domain = domain } }

// WithInsecureCookies drops the Secure attribute, for local development over
// plain HTTP. Never use it in production.
func WithInsecureCookies() Option { return func(m *Middleware) { m.cookie.insecure = true } }

// WithCrossSiteCookies makes the session cookie SameSite=None and Partitioned
// (CHIPS), for players embedded in third-party iframes. The default is
// SameSite=Lax.
func WithCrossSiteCookies() Option { return func(m *Middleware) { m.cookie.crossSite = true } }

// WithTrustedProxies names the proxies whose X-Forwarded-For is believed when
// telling clients apart for the grace window. By default none is: the client
// is the connection's peer.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(m *Middleware) { m.trustedProxies = append([]netip.Prefix(nil), prefixes...) }
}

// WithPreviewAgents replaces DefaultPreviewAgents, the User-Agent fragments
// whose requests never redeem a token.
func WithPreviewAgents(agents ...string) Option {
	return func(m *Middleware) { m.previewAgents = append([]string(nil), agents...) }
}

// WithLogger logs decisions: allows at Debug, denials at Info, store failures
// at Warn. Tokens appear redacted; session tokens and keys never appear. By
// default nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(m *Middleware) { m.logger = l } }

// WithDecisionHook sets a function called once for every request under the
// prefix, allowed or denied, after the decision and before the wrapped
// handler runs: metrics, audit. It must be fast and safe for concurrent use.
func WithDecisionHook(hook func(Decision)) Option { return func(m *Middleware) { m.onDecision = hook } }

// WithClock replaces time.Now for expiry decisions, for tests.
func WithClock(now func() time.Time) Option { return func(m *Middleware) { m.clock = now } }

// OutagePolicy says what a revocation check does when the store fails.
type OutagePolicy uint8

const (
	// KeepPlaying lets valid sessions play while the store is down; a
	// revocation made during the outage takes effect when it returns.
	KeepPlaying OutagePolicy = iota + 1
	// StopPlaying refuses sessions with store-unavailable while the store is
	// down: revocation is exact, availability is the store's.
	StopPlaying
)

// WithRevocationCheck makes every request with a valid session ask the store
// whether its token was revoked, so that Revoke stops live sessions too, not
// only future redemptions. It costs one store lookup per request (see the
// README's benchmarks); onOutage says what happens when that lookup fails.
func WithRevocationCheck(onOutage OutagePolicy) Option {
	return func(m *Middleware) { m.revocationCheck = onOutage }
}

// WithPlaylistHosts names other hosts (host or host:port, as written in
// URIs) whose absolute URIs in a session's playlists also get the session
// token: a media host or CDN that runs privatevideo with the same keys. URIs
// on the request's own host, and relative ones, always get it; URIs on other
// hosts never do, so the session token does not leak to third parties.
func WithPlaylistHosts(hosts ...string) Option {
	return func(m *Middleware) { m.playlistHosts = append([]string(nil), hosts...) }
}

// WithPageBound turns on page-bound mode, the strict reading of "not from
// another page or tab": no cookie is set. The player page opens the session
// once through the session endpoint and keeps the session token in
// sessionStorage, which survives a reload but is not shared with another tab,
// window or browser; every media URL carries it (avh). A second page opening
// the same link is refused with token-used. There is no grace window in this
// mode: the page holds its session before it requests any media.
func WithPageBound() Option { return func(m *Middleware) { m.pageBound = true } }

// WithCORS lets players on other origins fetch playlists, segments and the
// session endpoint. Listed origins ("https://player.example.com") get
// credentialed answers: their own origin echoed with
// Access-Control-Allow-Credentials, so session cookies work (with
// WithCrossSiteCookies). The single origin "*" allows any origin without
// credentials, for players that carry the session in the URL (avh). Preflight
// requests from allowed origins are answered by the middleware, without
// credentials and without touching a token; others pass to the handler.
func WithCORS(origins ...string) Option {
	return func(m *Middleware) { m.cors.origins = append([]string(nil), origins...) }
}
