package privatevideo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

// An Option configures a Middleware. Options set a configuration over secure
// defaults; New checks each option's argument (an error names the option and
// the value) and the whole, and builds the Middleware from it.
type Option func(*config)

// Defaults, documented here once.
const (
	DefaultTokenTTL     = 24 * time.Hour  // an issued token can be redeemed for this long
	DefaultSessionTTL   = 24 * time.Hour  // a session lasts this long after redemption
	DefaultGrace        = 5 * time.Second // same-client re-entry window after redemption
	DefaultStoreTimeout = 2 * time.Second // bound on every store call
	DefaultCookieName   = "pv_session"
	// DefaultRetryWindow is how long the same client may come back to a
	// redemption whose session it never used (see WithRetryWindow).
	DefaultRetryWindow = 30 * time.Second
	// DefaultFirstByteTimeout bounds the time from a redemption to the first
	// byte of its answer: past it the viewer gets 504 and the redemption is
	// released.
	DefaultFirstByteTimeout = 30 * time.Second
)

// config is what the options set; New validates it and builds from it.
type config struct {
	layout           Layout
	store            store.Store
	tokenTTL         time.Duration
	sessionTTL       time.Duration
	grace            time.Duration
	storeTimeout     time.Duration
	retryWindow      time.Duration // 0: off
	firstByteTimeout time.Duration
	public           func(ctx context.Context, videoID string) bool
	denialStatus     int
	errorHandler     ErrorHandler
	cookie           cookieConfig
	trustedProxies   []netip.Prefix
	clientKey        func(r *http.Request, addr netip.Addr) string // nil: address and User-Agent
	previewAgents    []string
	logger           *slog.Logger
	onDecision       func(Decision)
	onRelease        func(Release)
	clock            func() time.Time
	revocationCheck  OutagePolicy // 0: off
	playlistHosts    []string
	pageBound        bool
	cors             corsConfig

	errs []error // what the options refused
}

type cookieConfig struct {
	name      string
	domain    string
	insecure  bool
	crossSite bool
}

func defaultConfig() config {
	return config{
		layout:           DefaultLayout,
		store:            nil, // a memory store, made in New
		tokenTTL:         DefaultTokenTTL,
		sessionTTL:       DefaultSessionTTL,
		grace:            DefaultGrace,
		storeTimeout:     DefaultStoreTimeout,
		retryWindow:      DefaultRetryWindow,
		firstByteTimeout: DefaultFirstByteTimeout,
		denialStatus:     http.StatusForbidden,
		cookie:           cookieConfig{name: DefaultCookieName},
		previewAgents:    slices.Clone(DefaultPreviewAgents), // the exported slice is not ours to share
	}
}

// refuse records an option's refusal of its argument.
func (c *config) refuse(option string, value any, why string) {
	c.errs = append(c.errs, fmt.Errorf("privatevideo: %s(%v): %s", option, value, why))
}

// validate checks what no single option can: the whole.
func (c *config) validate() error {
	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	if err := c.layout.validate(); err != nil {
		return err
	}
	if c.cookie.crossSite && c.cookie.insecure {
		return errors.New("privatevideo: WithCrossSiteCookies and WithInsecureCookies: cross-site (SameSite=None) cookies must be Secure")
	}
	if err := c.cors.validate(); err != nil {
		return err
	}
	probe := &http.Cookie{Name: c.cookie.name, Value: "v", Domain: c.cookie.domain}
	if err := probe.Valid(); err != nil {
		return fmt.Errorf("privatevideo: session cookie: %w", err)
	}
	return nil
}

// WithStore sets where tokens are kept. The default is a memory store bounded
// at store.DefaultMemoryCapacity tokens, right for a single process only. A
// nil store is an error: a fleet must not fall back to one process's memory
// without a word.
func WithStore(s store.Store) Option {
	return func(c *config) {
		if s == nil {
			c.refuse("WithStore", "nil", "a store is required; leave the option out for the memory store")
			return
		}
		c.store = s
	}
}

// WithLayout sets the URL layout. The default is DefaultLayout.
func WithLayout(l Layout) Option { return func(c *config) { c.layout = l } }

// WithTokenTTL sets how long an issued token stays redeemable.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.refuse("WithTokenTTL", d, "must be positive")
			return
		}
		c.tokenTTL = d
	}
}

// WithSessionTTL sets how long a session lasts after redemption, at least a
// second. Sessions do not slide: a refresh does not extend them.
func WithSessionTTL(d time.Duration) Option {
	return func(c *config) {
		if d < time.Second {
			c.refuse("WithSessionTTL", d, "must be at least a second")
			return
		}
		c.sessionTTL = d
	}
}

// WithGrace sets the window after a redemption in which the same client
// (address and User-Agent) presenting the same token again is given the same
// session: a player's parallel first requests. 0 turns it off.
func WithGrace(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.refuse("WithGrace", d, "cannot be negative; 0 turns it off")
			return
		}
		c.grace = d
	}
}

// WithStoreTimeout bounds every store call. A call that does not answer in
// time is a store failure: 503 store-unavailable, nothing consumed.
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.refuse("WithStoreTimeout", d, "must be positive")
			return
		}
		c.storeTimeout = d
	}
}

// WithRetryWindow sets how long after a redemption the same client may
// re-enter it while its session has not come back in any request
// (DefaultRetryWindow; 0 turns it off). It serves the viewer whose
// redemption timed out against a slow store: the store may have carried it
// out after the viewer got 503, and the viewer's own retry must still get
// in. The first request that brings the session back confirms the
// redemption (one store write per session and process, off the request's
// path); from then on only the grace window applies.
func WithRetryWindow(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.refuse("WithRetryWindow", d, "cannot be negative; 0 turns it off")
			return
		}
		c.retryWindow = d
	}
}

// WithFirstByteTimeout bounds the time from a redemption to the status line
// of its answer (DefaultFirstByteTimeout): a handler or an origin that has
// not started answering by then has its context cancelled, the viewer gets
// 504, and the redemption is released, so the link still works. A playlist
// being rewritten counts: it is held until it is whole or 256 KiB long.
func WithFirstByteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.refuse("WithFirstByteTimeout", d, "must be positive")
			return
		}
		c.firstByteTimeout = d
	}
}

// WithPublic sets the hook that says whether a video is public. Requests for
// public videos pass untouched but for the token and session parameters,
// which are removed. By default every video is private. The hook runs on every
// request under the prefix, so it must be fast; when it cannot tell (its
// store is down), it must say private.
func WithPublic(public func(ctx context.Context, videoID string) bool) Option {
	return func(c *config) {
		if public == nil {
			c.refuse("WithPublic", "nil", "a hook is required; leave the option out for every video private")
			return
		}
		c.public = public
	}
}

// WithDenialStatus sets the status of denials (403 by default; 404 hides
// that the video exists, as some hosted platforms do). Malformed requests
// still get 400, refused methods 405 and store failures 503.
func WithDenialStatus(code int) Option {
	return func(c *config) {
		if code < 400 || code > 599 {
			c.refuse("WithDenialStatus", code, "is not an error status (400 to 599)")
			return
		}
		c.denialStatus = code
	}
}

// WithErrorHandler replaces how denials are answered. The default writes RFC
// 9457 problem+json, or a small HTML page for a browser navigating to a page.
func WithErrorHandler(h ErrorHandler) Option {
	return func(c *config) {
		if h == nil {
			c.refuse("WithErrorHandler", "nil", "a handler is required; leave the option out for the default")
			return
		}
		c.errorHandler = h
	}
}

// WithCookieName sets the session cookie's name.
func WithCookieName(name string) Option { return func(c *config) { c.cookie.name = name } }

// WithCookieDomain sets the session cookie's Domain, so that an embed host and
// a media host under one domain share it. By default the cookie is host-only.
func WithCookieDomain(domain string) Option { return func(c *config) { c.cookie.domain = domain } }

// WithInsecureCookies drops the Secure attribute, for local development over
// plain HTTP. Never use it in production.
func WithInsecureCookies() Option { return func(c *config) { c.cookie.insecure = true } }

// WithCrossSiteCookies makes the session cookie SameSite=None and Partitioned
// (CHIPS), for players embedded in third-party iframes. The default is
// SameSite=Lax.
func WithCrossSiteCookies() Option { return func(c *config) { c.cookie.crossSite = true } }

// WithTrustedProxies names the proxies whose X-Forwarded-For is believed when
// telling clients apart for the grace window (and whose X-Forwarded-Host
// names the page's own origin). By default none is: the client is the
// connection's peer.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(c *config) {
		for _, p := range prefixes {
			if !p.IsValid() {
				c.refuse("WithTrustedProxies", p, "not a valid prefix")
				return
			}
		}
		c.trustedProxies = append([]netip.Prefix(nil), prefixes...)
	}
}

// WithClientKey says what a client is, for the grace and retry windows:
// within them, a request whose key equals the redeeming request's gets a
// session of its own (the player's parallel first requests, a retry), and
// any other is refused. The default key is the client's address and
// User-Agent.
//
// key gets the request and its client's address, read with the trusted
// proxies' rules (WithTrustedProxies): the connection's peer, or the
// nearest forwarded hop that is not a trusted proxy. It may use either or
// neither: an app's device ID, an authenticated user from the request's
// context. Keys are hashed before they reach the store. An empty key is a
// client like no other: it is never let in by the windows. A key must not
// be something any client can copy, or the window opens to everyone who
// has the link for its few seconds:
//
//	// One key per signed-in user, whatever their address.
//	privatevideo.WithClientKey(func(r *http.Request, _ netip.Addr) string {
//		return userFrom(r.Context()).ID
//	})
func WithClientKey(key func(r *http.Request, addr netip.Addr) string) Option {
	return func(c *config) {
		if key == nil {
			c.refuse("WithClientKey", "nil", "a key function is required")
			return
		}
		c.clientKey = key
	}
}

// WithPreviewAgents replaces DefaultPreviewAgents, the User-Agent fragments
// whose requests never redeem a token.
func WithPreviewAgents(agents ...string) Option {
	return func(c *config) {
		for _, a := range agents {
			if strings.TrimSpace(a) == "" {
				c.refuse("WithPreviewAgents", fmt.Sprintf("%q", a), "an empty fragment would match every User-Agent")
				return
			}
		}
		c.previewAgents = append([]string(nil), agents...)
	}
}

// WithLogger logs decisions: allows at Debug, denials at Info, store failures
// at Warn. Tokens appear redacted; session tokens and keys never appear. By
// default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.refuse("WithLogger", "nil", "a logger is required; leave the option out for no log")
			return
		}
		c.logger = l
	}
}

// WithDecisionHook sets a function called once for every request under the
// prefix, allowed or denied, after the decision and before the wrapped
// handler runs: metrics, audit. It must be fast and safe for concurrent use.
func WithDecisionHook(hook func(Decision)) Option {
	return func(c *config) {
		if hook == nil {
			c.refuse("WithDecisionHook", "nil", "a hook is required")
			return
		}
		c.onDecision = hook
	}
}

// WithReleaseHook sets a function called for every redemption the
// middleware releases because its answer did not reach the viewer (see
// Release): metrics, alerts. It must be fast and safe for concurrent use.
func WithReleaseHook(hook func(Release)) Option {
	return func(c *config) {
		if hook == nil {
			c.refuse("WithReleaseHook", "nil", "a hook is required")
			return
		}
		c.onRelease = hook
	}
}

// WithClock replaces time.Now for expiry decisions, for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.refuse("WithClock", "nil", "a clock is required")
			return
		}
		c.clock = now
	}
}

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
// README's benchmarks); onOutage, KeepPlaying or StopPlaying, says what
// happens when that lookup fails.
func WithRevocationCheck(onOutage OutagePolicy) Option {
	return func(c *config) {
		if onOutage != KeepPlaying && onOutage != StopPlaying {
			c.refuse("WithRevocationCheck", onOutage, "the policy must be KeepPlaying or StopPlaying; leave the option out for no check")
			return
		}
		c.revocationCheck = onOutage
	}
}

// WithPlaylistHosts names other hosts (host or host:port, as written in
// URIs: "cdn.example.com", "cdn.example.com:8443") whose absolute URIs in a
// session's playlists also get the session token: a media host or CDN that
// runs privatevideo with the same keys. URIs on the request's own host, and
// relative ones, always get it; URIs on other hosts never do, so the session
// token does not leak to third parties.
func WithPlaylistHosts(hosts ...string) Option {
	return func(c *config) {
		for _, h := range hosts {
			u, err := url.Parse("//" + h)
			if err != nil || h == "" || u.Host != h || u.User != nil || strings.ContainsAny(h, "/?#@%\\ ") {
				c.refuse("WithPlaylistHosts", fmt.Sprintf("%q", h), `must be a host or host:port, such as "cdn.example.com:8443", without a scheme or a path`)
				return
			}
		}
		c.playlistHosts = append([]string(nil), hosts...)
	}
}

// WithPageBound turns on page-bound mode, the strict reading of "not from
// another page or tab": no cookie is set. The player page opens the session
// once through the session endpoint and keeps the session token in
// sessionStorage, which survives a reload but is not shared with another tab,
// window or browser; every media URL carries it (avh). A second page opening
// the same link is refused with token-used. There is no grace window in this
// mode: the page holds its session before it requests any media.
func WithPageBound() Option { return func(c *config) { c.pageBound = true } }

// WithCORS lets players on other origins fetch playlists, segments and the
// session endpoint. Listed origins ("https://player.example.com") get
// credentialed answers: their own origin echoed with
// Access-Control-Allow-Credentials, so session cookies work (with
// WithCrossSiteCookies). The single origin "*" allows any origin without
// credentials, for players that carry the session in the URL (avh).
// Preflight requests from allowed origins are answered by the middleware,
// without credentials and without touching a token. A request from an
// origin neither the page's own nor listed is refused before redemption
// (ErrOriginNotAllowed).
func WithCORS(origins ...string) Option {
	return func(c *config) { c.cors.origins = append([]string(nil), origins...) }
}
