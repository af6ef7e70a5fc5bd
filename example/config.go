package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo"
	pvedge "github.com/privatevideo/privatevideo/edge"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "PRIVATEVIDEO_"

// config is the validated configuration of one run.
type config struct {
	addr            string
	publicURL       string // "" until the listener's address is known, when unset
	apiKey          string
	apiKeyGenerated bool // random: print it
	keys            []privatevideo.Key
	keysGenerated   bool // random: sessions die with the process
	store           storeSpec
	origin          *url.URL // nil in demo mode
	originTimeout   time.Duration
	sessionTTL      time.Duration
	pageBound       bool
	revocationCheck bool
	trustedProxies  []netip.Prefix
	shutdownTimeout time.Duration
	storeTimeout    time.Duration
	grace           time.Duration
	retryWindow     time.Duration
	firstByte       time.Duration
	logFormat       string
	metricsAddr     string   // "": no metrics listener
	corsOrigins     []string // players on these origins may read the media (WithCORS); none: same origin only
}

// storeSpec is the parsed -store value. The URL of a shared store may carry
// a password: String never shows it.
type storeSpec = pvedge.StoreSpec

// errHelp is parseConfig's answer to -help.
var errHelp = flag.ErrHelp

// usageError is a configuration problem found after parsing (a store URL
// its driver refuses, say): it exits with the usage status.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// rawFlags are the flag values as given, before validation.
type rawFlags struct {
	addr, publicURL, apiKey, hashKey, blockKey, store, origin string
	mode, trustedProxies, logFormat, metricsAddr              string
	corsOrigins                                               string
	originTimeout, sessionTTL, shutdownTimeout, storeTimeout  time.Duration
	grace, retryWindow, firstByte                             time.Duration
	revocationCheck                                           bool
}

func newFlagSet(f *rawFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("privatevideo-edge", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports errors itself, once
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&f.publicURL, "public-url", "", "http or https `origin` of the URLs handed out (default http:// + the listening address)")
	fs.StringVar(&f.apiKey, "api-key", "", "bearer `key` of the video API (random and printed when unset)")
	fs.StringVar(&f.hashKey, "hash-key", "", "session signing key, 32+ bytes in `hex` (random when unset: sessions die with the process)")
	fs.StringVar(&f.blockKey, "block-key", "", "session encryption key, 32 bytes in `hex` (random when no key is set; none when only -hash-key is)")
	fs.StringVar(&f.store, "store", "memory", "token and video state store: memory, redis://… or postgres://…")
	fs.DurationVar(&f.storeTimeout, "store-timeout", privatevideo.DefaultStoreTimeout, "bound on every store call; past it a link answers 503 and a video is taken as private")
	fs.DurationVar(&f.grace, "grace", privatevideo.DefaultGrace, "how long after a redemption the same client's parallel first requests get the same session (0: off)")
	fs.DurationVar(&f.retryWindow, "retry-window", privatevideo.DefaultRetryWindow, "how long the same client may re-enter a redemption whose session it never used (0: off)")
	fs.DurationVar(&f.firstByte, "first-byte-timeout", privatevideo.DefaultFirstByteTimeout, "a redemption whose answer has not started by then gets 504 and is released")
	fs.StringVar(&f.origin, "origin", "", "proxy mode: protect this http or https origin `URL` instead of the demo media")
	fs.DurationVar(&f.originTimeout, "origin-timeout", 15*time.Second, "bound on connecting to the origin and waiting for its response headers")
	fs.DurationVar(&f.sessionTTL, "session-ttl", privatevideo.DefaultSessionTTL, "how long a redeemed link plays")
	fs.StringVar(&f.mode, "mode", "cookie", "where sessions live: cookie, or page (page-bound: only the player's tab)")
	fs.BoolVar(&f.revocationCheck, "revocation-check", false, "check the store on each session request, so revoking also stops live sessions")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated `CIDRs` of proxies whose X-Forwarded-For names the client")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may take to finish on SIGINT or SIGTERM")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&f.corsOrigins, "cors-origins", "", "comma-separated `origins` (scheme://host[:port], as a browser sends them) whose pages' players may read the media, or * for any page without credentials")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "`host:port` of a separate listener serving Prometheus metrics at /metrics (default: none)")
	return fs
}

// envName is the environment variable of a flag: PRIVATEVIDEO_PUBLIC_URL for
// public-url.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usage is the -help text.
func usage() string {
	var b strings.Builder
	b.WriteString("privatevideo edge server: private videos behind one-time links.\n\n")
	b.WriteString("Usage: go run ./example [flags]\n\nFlags (each also from the environment variable shown):\n")
	fs := newFlagSet(new(rawFlags))
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  -%s %s\n    \t%s", f.Name, name, help)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		fmt.Fprintf(&b, "\n    \t$%s\n", envName(f.Name))
	})
	return b.String()
}

// parseConfig reads the flags from the environment (through env, such as
// os.LookupEnv), then from args, which win, and validates them.
func parseConfig(args []string, env func(string) (string, bool)) (config, error) {
	var f rawFlags
	fs := newFlagSet(&f)
	var envErr error
	fs.VisitAll(func(fl *flag.Flag) {
		name := envName(fl.Name)
		v, ok := env(name)
		if !ok || envErr != nil {
			return
		}
		if err := fs.Set(fl.Name, v); err != nil {
			envErr = fmt.Errorf("%s: invalid value %q", name, redactIfSecret(fl.Name, v))
		}
	})
	if envErr != nil {
		return config{}, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, errHelp
		}
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	return f.validate()
}

// redactIfSecret keeps keys out of error messages.
func redactIfSecret(flagName, v string) string {
	switch flagName {
	case "api-key", "hash-key", "block-key", "store", "origin":
		return "…"
	}
	return v
}

func (f *rawFlags) validate() (config, error) {
	c := config{
		addr:            f.addr,
		originTimeout:   f.originTimeout,
		sessionTTL:      f.sessionTTL,
		revocationCheck: f.revocationCheck,
		shutdownTimeout: f.shutdownTimeout,
		storeTimeout:    f.storeTimeout,
		grace:           f.grace,
		retryWindow:     f.retryWindow,
		firstByte:       f.firstByte,
		logFormat:       f.logFormat,
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return c, fmt.Errorf("-addr %q: want host:port, such as 127.0.0.1:8080", f.addr)
	}
	if f.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(f.metricsAddr); err != nil {
			return c, fmt.Errorf("-metrics-addr %q: want host:port, such as 127.0.0.1:9090", f.metricsAddr)
		}
		c.metricsAddr = f.metricsAddr
	}
	if f.publicURL != "" {
		u, err := checkPublicURL(f.publicURL)
		if err != nil {
			return c, err
		}
		c.publicURL = u
	}
	var err error
	if c.apiKey, c.apiKeyGenerated, err = apiKey(f.apiKey); err != nil {
		return c, err
	}
	if c.keys, c.keysGenerated, err = sessionKeys(f.hashKey, f.blockKey); err != nil {
		return c, err
	}
	if c.store, err = parseStore(f.store); err != nil {
		return c, err
	}
	if f.origin != "" {
		if c.origin, err = parseOrigin(f.origin); err != nil {
			return c, err
		}
	}
	switch {
	case f.originTimeout <= 0:
		return c, fmt.Errorf("-origin-timeout %s: must be positive", f.originTimeout)
	case f.sessionTTL < time.Second:
		return c, fmt.Errorf("-session-ttl %s: must be at least 1s", f.sessionTTL)
	case f.shutdownTimeout <= 0:
		return c, fmt.Errorf("-shutdown-timeout %s: must be positive", f.shutdownTimeout)
	case f.storeTimeout < time.Millisecond || f.storeTimeout > time.Minute:
		return c, fmt.Errorf("-store-timeout %s: want 1ms to 1m", f.storeTimeout)
	case f.grace < 0 || f.grace > time.Minute:
		return c, fmt.Errorf("-grace %s: want 0 to 1m", f.grace)
	case f.retryWindow < 0 || f.retryWindow > time.Hour:
		return c, fmt.Errorf("-retry-window %s: want 0 to 1h", f.retryWindow)
	case f.firstByte < time.Millisecond || f.firstByte > 10*time.Minute:
		return c, fmt.Errorf("-first-byte-timeout %s: want 1ms to 10m", f.firstByte)
	}
	switch f.mode {
	case "cookie":
	case "page":
		c.pageBound = true
	default:
		return c, fmt.Errorf("-mode %q: want cookie or page", f.mode)
	}
	switch f.logFormat {
	case "text", "json":
	default:
		return c, fmt.Errorf("-log-format %q: want text or json", f.logFormat)
	}
	if c.trustedProxies, err = parseProxies(f.trustedProxies); err != nil {
		return c, err
	}
	if c.corsOrigins, err = parseCORSOrigins(f.corsOrigins); err != nil {
		return c, err
	}
	return c, nil
}

// checkPublicURL accepts an http or https origin, optionally with a trailing
// slash, and returns it without the slash. A path is refused: session cookies
// are scoped to /vod/{id}/token/{T} as this server sees it, so a proxy that
// moves the server under a path would lose them.
func checkPublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("-public-url %q: want an absolute http or https URL, such as https://media.example.com", raw)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("-public-url %q: no user, query or fragment, only scheme://host[:port]", raw)
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("-public-url %q: no path, only scheme://host[:port] (the server's URLs start at /vod/)", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// defaultPublicURL is http:// and the address the server listens on; an
// unspecified host (":8080", "0.0.0.0:8080") becomes localhost, which a
// browser on the same machine can open.
func defaultPublicURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() || host == "" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// apiKey validates a given API key or makes a random one. A key travels in
// an Authorization header, so it is visible ASCII without spaces.
func apiKey(given string) (string, bool, error) {
	if given == "" {
		return base64.RawURLEncoding.EncodeToString(randomBytes(24)), true, nil
	}
	if err := pvedge.CheckAPIKey(given); err != nil {
		return "", false, fmt.Errorf("-api-key: %w", err)
	}
	return given, false, nil
}

// Key sizes, as the library checks them; checked here too for a message
// that names the flag.
const (
	minHashKey = 32
	blockKey   = 32
)

// sessionKeys decodes the session keys, or makes random ones when none is
// given. A block key alone is kept with a random hash key; a hash key alone
// signs without encrypting (a random block key would kill its sessions at
// restart all the same).
func sessionKeys(hashHex, blockHex string) ([]privatevideo.Key, bool, error) {
	var k privatevideo.Key
	generated := false
	if hashHex != "" {
		b, err := pvedge.DecodeHashKey(hashHex)
		if err != nil {
			return nil, false, fmt.Errorf("-hash-key: %w", err)
		}
		k.Hash = b
	} else {
		k.Hash = randomBytes(minHashKey)
		generated = true
	}
	if blockHex != "" {
		b, err := pvedge.DecodeBlockKey(blockHex)
		if err != nil {
			return nil, false, fmt.Errorf("-block-key: %w", err)
		}
		k.Block = b
	} else if hashHex == "" {
		k.Block = randomBytes(blockKey)
	}
	return []privatevideo.Key{k}, generated, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

func parseStore(raw string) (storeSpec, error) {
	s, err := pvedge.ParseStoreSpec(raw)
	if err != nil {
		return s, fmt.Errorf("-store: %w", err)
	}
	return s, nil
}

func parseOrigin(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return nil, errors.New("-origin: want an absolute http or https URL, such as http://127.0.0.1:9000")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("-origin: no query or fragment")
	}
	return u, nil
}

func parseProxies(raw string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := pvedge.ParseProxy(part)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseCORSOrigins reads -cors-origins: origins exactly as a browser
// serializes them in its Origin header, or "*" alone. The middleware
// compares the header with each, so an origin written any other way (a
// trailing slash, a default port, an upper-case letter, a Unicode host)
// would never match a real browser: it is refused here, with the spelling
// the browser uses.
func parseCORSOrigins(raw string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" || slices.Contains(out, part) {
			continue
		}
		if part != "*" {
			if err := pvedge.CheckOrigin(part); err != nil {
				return nil, fmt.Errorf("-cors-origins: %q: %w", part, err)
			}
		}
		out = append(out, part)
	}
	if len(out) > 1 && slices.Contains(out, "*") {
		return nil, errors.New(`-cors-origins: "*" (any origin, without credentials) stands alone, not beside listed origins`)
	}
	return out, nil
}
