package pvcaddy

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/edge"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the http.handlers.privatevideo module. Its JSON fields are the
// Caddyfile's subdirectives; the secrets (hash_key, block_key, api_key,
// store) and public_url may be placeholders such as {env.PV_HASH_KEY},
// resolved at provisioning, so that the config Caddy shows and saves holds
// none of them.
type Handler struct {
	// HashKey signs sessions: 32 bytes or more, in hex. Without it the keys
	// are random, kept across reloads but not restarts, and a fleet cannot
	// share sessions.
	HashKey string `json:"hash_key,omitempty"`
	// BlockKey encrypts sessions: exactly 32 bytes, in hex. Optional.
	BlockKey string `json:"block_key,omitempty"`
	// APIKey turns the video API on at /videos (bearer key, 16 to 256
	// visible ASCII characters). Without it /videos is passed on.
	APIKey string `json:"api_key,omitempty"`
	// Store is memory (the default), redis://… or postgres://…: the tokens
	// and the video state (visibility), shared by a fleet.
	Store string `json:"store,omitempty"`
	// StoreTimeout bounds every store call (default 2s).
	StoreTimeout caddy.Duration `json:"store_timeout,omitempty"`
	// InsecureCookies drops the Secure attribute of session cookies, for
	// plain-HTTP development only.
	InsecureCookies bool `json:"insecure_cookies,omitempty"`
	// SessionTTL is how long a redeemed link plays (default 24h).
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`
	// Mode is cookie (the default) or page (page-bound sessions).
	Mode string `json:"mode,omitempty"`
	// CORSOrigins are the origins whose players may read the media, as a
	// browser sends them (scheme://host[:port]), or "*" alone.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// TrustedProxies are the IPs or CIDRs (or private_ranges) whose
	// X-Forwarded-For names the viewer, for the grace window.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// DenialStatus is the status of denials (default 403; 404 as some
	// hosted platforms answer).
	DenialStatus int `json:"denial_status,omitempty"`
	// Public are video IDs that are public by configuration: served to
	// anyone, shown public by the API, never made private by it.
	Public []string `json:"public,omitempty"`
	// PublicURL is the origin of the URLs the API hands out; by default each
	// answer's URLs follow its request's scheme and host.
	PublicURL string `json:"public_url,omitempty"`
	// RevocationCheck makes revoking a token stop its live session too (one
	// store lookup per request).
	RevocationCheck bool `json:"revocation_check,omitempty"`
	// Grace, RetryWindow and FirstByteTimeout are the middleware's
	// (privatevideo.WithGrace, WithRetryWindow, WithFirstByteTimeout);
	// unset, its defaults. Grace and RetryWindow take 0 to turn them off.
	Grace            *caddy.Duration `json:"grace,omitempty"`
	RetryWindow      *caddy.Duration `json:"retry_window,omitempty"`
	FirstByteTimeout caddy.Duration  `json:"first_byte_timeout,omitempty"`

	log     *slog.Logger
	key     string  // of the pool entry in use; "" when none is held
	shared  *shared // the pool entry: stores and keys
	cat     *edge.Catalogue
	mw      *privatevideo.Middleware
	api     *edge.API    // nil without an API key
	chain   http.Handler // the middleware around route
	media   http.Handler // the player page, then next
	prefix  string
	proxies []netip.Prefix
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.privatevideo",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves the placeholders, checks every value, takes the pool
// entry of the store and the keys (opening it on first use) and builds the
// middleware and the API. Nothing is opened before every value is checked.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.log = ctx.Slogger()
	repl := caddy.NewReplacer()
	for _, s := range []*string{&h.HashKey, &h.BlockKey, &h.APIKey, &h.Store, &h.PublicURL} {
		*s = strings.TrimSpace(repl.ReplaceKnown(*s, ""))
	}
	keys, err := h.sessionKeys()
	if err != nil {
		return err
	}
	raw := h.Store
	if raw == "" {
		raw = "memory"
	}
	spec, err := edge.ParseStoreSpec(raw)
	if err != nil {
		return fmt.Errorf("store: %w", err) // the error never holds the URL
	}
	if h.proxies, err = parseProxies(h.TrustedProxies); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	storeTimeout := time.Duration(h.StoreTimeout)
	if storeTimeout == 0 {
		storeTimeout = privatevideo.DefaultStoreTimeout
	}

	key := poolKey(spec, h.HashKey, h.BlockKey, h.APIKey)
	sh, err := acquire(key, spec, keys, storeTimeout, h.log)
	if err != nil {
		return fmt.Errorf("store %s: %w", spec, err)
	}
	h.key, h.shared = key, sh
	if sh.random {
		h.log.Warn("privatevideo: no hash_key: random session keys, kept across config reloads but not restarts; set hash_key for a fleet")
	}

	catTimeout := storeTimeout
	if spec.Kind == "memory" {
		catTimeout = 0 // a map lookup: no deadline to arm on every media request
	}
	h.cat = edge.NewOpenCatalogue(sh.stores.Videos, catTimeout, h.log)
	h.cat.Pin(h.Public...)
	if h.mw, err = privatevideo.New(sh.keys, h.options(storeTimeout)...); err != nil {
		return err
	}
	if h.APIKey != "" {
		if h.api, err = edge.NewAPI(edge.APIConfig{
			Catalogue:    h.cat,
			Middleware:   h.mw,
			Tokens:       sh.stores.Tokens,
			StoreTimeout: storeTimeout,
			APIKey:       h.APIKey,
			PublicURL:    strings.TrimSuffix(h.PublicURL, "/"),
			Log:          h.log,
		}); err != nil {
			return err
		}
	}
	h.prefix = h.mw.Layout().Prefix
	// Player answers the player page at /vod/{id} and passes the assets on.
	h.media = h.mw.Player(http.HandlerFunc(serveNext))
	h.chain = h.mw.Handler(http.HandlerFunc(h.route))
	h.log.Info("privatevideo: guarding "+h.prefix, "store", spec.String(), "api", h.api != nil, "mode", cmp.Or(h.Mode, "cookie"))
	return nil
}

// options are the middleware's options for h.
func (h *Handler) options(storeTimeout time.Duration) []privatevideo.Option {
	opts := []privatevideo.Option{
		privatevideo.WithStore(h.shared.stores.Tokens),
		privatevideo.WithPublic(h.cat.IsPublic),
		privatevideo.WithStoreTimeout(storeTimeout),
		// Decisions at debug (allowed), info (denied) and warn (store
		// down), tokens redacted; the library's warnings beside them.
		privatevideo.WithLogger(h.log),
	}
	if h.SessionTTL != 0 {
		opts = append(opts, privatevideo.WithSessionTTL(time.Duration(h.SessionTTL)))
	}
	if h.Grace != nil {
		opts = append(opts, privatevideo.WithGrace(time.Duration(*h.Grace)))
	}
	if h.RetryWindow != nil {
		opts = append(opts, privatevideo.WithRetryWindow(time.Duration(*h.RetryWindow)))
	}
	if h.FirstByteTimeout != 0 {
		opts = append(opts, privatevideo.WithFirstByteTimeout(time.Duration(h.FirstByteTimeout)))
	}
	if h.InsecureCookies {
		opts = append(opts, privatevideo.WithInsecureCookies())
	}
	if h.Mode == "page" {
		opts = append(opts, privatevideo.WithPageBound())
	}
	if len(h.CORSOrigins) > 0 {
		opts = append(opts, privatevideo.WithCORS(h.CORSOrigins...))
	}
	if len(h.proxies) > 0 {
		opts = append(opts, privatevideo.WithTrustedProxies(h.proxies...))
	}
	if h.DenialStatus != 0 {
		opts = append(opts, privatevideo.WithDenialStatus(h.DenialStatus))
	}
	if h.RevocationCheck {
		opts = append(opts, privatevideo.WithRevocationCheck(privatevideo.KeepPlaying))
	}
	return opts
}

// Validate checks the values that need no store. Provision calls it once
// the placeholders are resolved (Caddy calls it again after Provision).
// Its errors never hold a secret.
func (h *Handler) Validate() error {
	if _, err := h.sessionKeys(); err != nil {
		return err
	}
	if h.APIKey != "" {
		if err := edge.CheckAPIKey(h.APIKey); err != nil {
			return fmt.Errorf("api_key: %w", err)
		}
	}
	switch h.Mode {
	case "", "cookie", "page":
	default:
		return fmt.Errorf("mode %q: want cookie or page", h.Mode)
	}
	if h.DenialStatus != 0 && (h.DenialStatus < 400 || h.DenialStatus > 499) {
		return fmt.Errorf("denial_status %d: want a 4xx status, such as 403 or 404", h.DenialStatus)
	}
	for name, d := range map[string]caddy.Duration{"store_timeout": h.StoreTimeout, "session_ttl": h.SessionTTL, "first_byte_timeout": h.FirstByteTimeout} {
		if d < 0 {
			return fmt.Errorf("%s %s: must not be negative", name, time.Duration(d))
		}
	}
	for name, d := range map[string]*caddy.Duration{"grace": h.Grace, "retry_window": h.RetryWindow} {
		if d != nil && *d < 0 {
			return fmt.Errorf("%s %s: must not be negative (0 turns it off)", name, time.Duration(*d))
		}
	}
	for _, id := range h.Public {
		if !privatevideo.ValidVideoID(id) {
			return fmt.Errorf("public %q: a video ID is 1 to 64 of A-Z, a-z, 0-9, _ and -", id)
		}
	}
	if err := checkOrigins(h.CORSOrigins); err != nil {
		return err
	}
	if _, err := parseProxies(h.TrustedProxies); err != nil {
		return err
	}
	if h.PublicURL != "" && !strings.Contains(h.PublicURL, "{") {
		u, err := url.Parse(h.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			return errors.New("public_url: want scheme://host[:port], http or https, without a path")
		}
		if u.Scheme == "http" && !h.InsecureCookies {
			return errors.New("public_url is http: browsers drop the Secure session cookies over plain HTTP; add insecure_cookies (development only) or use https")
		}
	}
	return nil
}

// Cleanup releases the pool entry; the stores close when no config holds
// them any more. Caddy may call it more than once, and after a failed
// Provision.
func (h *Handler) Cleanup() error {
	if h.cat != nil {
		h.cat.Close()
	}
	if h.key == "" {
		return nil
	}
	key := h.key
	h.key = ""
	_, err := pool.Delete(key)
	return err
}

// sessionKeys decodes the keys; nil without a hash key (random keys). A
// placeholder not yet resolved (before Provision) passes.
func (h *Handler) sessionKeys() ([]privatevideo.Key, error) {
	if h.HashKey == "" {
		if h.BlockKey != "" {
			return nil, errors.New("block_key needs a hash_key")
		}
		return nil, nil
	}
	if strings.Contains(h.HashKey, "{") {
		return nil, nil
	}
	var k privatevideo.Key
	var err error
	if k.Hash, err = edge.DecodeHashKey(h.HashKey); err != nil {
		return nil, fmt.Errorf("hash_key: %w", err)
	}
	if h.BlockKey != "" {
		if k.Block, err = edge.DecodeBlockKey(h.BlockKey); err != nil {
			return nil, fmt.Errorf("block_key: %w", err)
		}
	}
	return []privatevideo.Key{k}, nil
}

// checkOrigins accepts origins as a browser sends them, or "*" alone.
func checkOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			if len(origins) > 1 {
				return errors.New(`cors_origins: "*" (any origin, without credentials) stands alone`)
			}
			continue
		}
		if err := edge.CheckOrigin(o); err != nil {
			return fmt.Errorf("cors_origins %q: %w", o, err)
		}
	}
	return nil
}

// privateRanges are what private_ranges stands for, as in Caddy's own
// trusted_proxies.
var privateRanges = []string{"192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8", "127.0.0.1/8", "fd00::/8", "::1/128"}

// parseProxies reads trusted_proxies: IPs, CIDRs and private_ranges.
func parseProxies(raw []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range raw {
		if s == "private_ranges" {
			for _, r := range privateRanges {
				out = append(out, netip.MustParsePrefix(r).Masked())
			}
			continue
		}
		p, err := edge.ParseProxy(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w (or private_ranges)", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
