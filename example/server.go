package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/privatevideo/privatevideo"
	pvedge "github.com/privatevideo/privatevideo/edge"
	"github.com/privatevideo/privatevideo/store"
)

// server is one configured edge server: the stores, the middleware around
// the media (embedded or an origin), the catalogue and the API.
type server struct {
	cfg     config
	log     *slog.Logger
	store   openedStore
	tokens  store.Store // the token store as the middleware and the API use it (timed with metrics)
	cat     *pvedge.Catalogue
	health  *health
	demo    []string // the demo video IDs; nil in proxy mode
	media   http.Handler
	metrics *edgeMetrics             // nil without -metrics-addr
	mw      *privatevideo.Middleware // built by start, once the public URL is known
	http    *http.Server
	mhttp   *http.Server // the metrics listener's; nil without -metrics-addr
}

// newServer opens the stores and the media of cfg. Nothing listens yet.
func newServer(ctx context.Context, cfg config, log *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, log: log}
	var demo []pvedge.Video
	if cfg.origin != nil {
		s.media = originProxy(cfg.origin, cfg.originTimeout, privatevideo.DefaultCookieName, log)
	} else {
		fsys := mediaFS()
		ids, err := demoVideos(fsys)
		if err != nil || len(ids) == 0 {
			return nil, fmt.Errorf("the embedded demo media is missing: %v", err)
		}
		for _, id := range ids {
			v := pvedge.Video{ID: id, Title: demoTitles[id]}
			if v.Title == "" {
				v.Title = id
			}
			demo = append(demo, v)
		}
		s.demo = ids
		s.media = mediaHandler(fsys)
	}
	if cfg.metricsAddr != "" {
		m, err := newEdgeMetrics()
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	var err error
	if s.store, err = openStore(ctx, cfg.store, cfg.storeTimeout, log); err != nil {
		return nil, err
	}
	s.tokens = s.store.Store
	videos := s.store.videos
	if s.metrics != nil {
		s.tokens, videos = s.metrics.m.Store(s.tokens), s.metrics.wrapVideos(videos)
	}
	timeout := cfg.storeTimeout
	if cfg.store.Kind == "memory" {
		timeout = 0 // a map lookup: no deadline to arm on every media request
	}
	if cfg.origin != nil {
		s.cat = pvedge.NewOpenCatalogue(videos, timeout, log)
	} else {
		s.cat = pvedge.NewClosedCatalogue(videos, timeout, log, demo...)
	}
	if s.metrics != nil {
		s.cat.OnFailClosed(s.metrics.closed.Inc)
	}
	// The probes use the stores themselves: the metrics time viewers' calls.
	checks := []check{tokenCheck(s.store.Store), videoCheck(s.store.videos)}
	if cfg.origin != nil {
		checks = append(checks, originCheck(cfg.origin, originHealthClient()))
	}
	s.health = newHealth(log, cfg.storeTimeout, checks...)
	return s, nil
}

// listen opens the listening socket.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// start builds the middleware and the routes for the address ln listens
// on, and prints what a newcomer needs: the address, the API key and, in
// demo mode, a freshly issued private player URL. mln is the metrics
// listener, nil without -metrics-addr.
func (s *server) start(ctx context.Context, ln, mln net.Listener, out io.Writer) error {
	if s.cfg.publicURL == "" {
		s.cfg.publicURL = defaultPublicURL(ln.Addr())
	}
	if s.cfg.keysGenerated {
		s.log.Warn("no -hash-key: using random session keys; sessions end when the process does")
	}
	if s.cfg.store.Kind == "memory" && s.cfg.origin != nil {
		s.log.Warn("memory store: tokens live in this process only; use -store redis://… or postgres://… for several replicas")
	}
	if !isLoopback(ln.Addr()) && len(s.cfg.trustedProxies) == 0 {
		// Behind a proxy every viewer comes from the proxy's address, and
		// the grace window tells clients apart by address and User-Agent.
		s.log.Warn("listening beyond loopback without -trusted-proxies: behind a reverse proxy or load balancer every viewer "+
			"shares its address, and for a few seconds after a link is redeemed any client with the same User-Agent gets "+
			"its session; name the proxies with -trusted-proxies, or ignore this if viewers connect directly",
			"addr", ln.Addr().String())
	}
	mw, err := privatevideo.New(s.cfg.keys, s.options()...)
	if err != nil {
		return err
	}
	s.mw = mw
	a, err := pvedge.NewAPI(pvedge.APIConfig{
		Catalogue:    s.cat,
		Middleware:   mw,
		Tokens:       s.tokens,
		StoreTimeout: s.cfg.storeTimeout,
		PublicURL:    s.cfg.publicURL,
		APIKey:       s.cfg.apiKey,
		Log:          s.log,
	})
	if err != nil {
		return err
	}
	s.http = &http.Server{
		Handler:           s.routes(a),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// No WriteTimeout: a long video on a slow link must not be cut.
	}
	if mln != nil {
		s.mhttp = metricsServer(s.metrics.handler())
		s.mhttp.ErrorLog = s.http.ErrorLog
	}
	return s.banner(ctx, ln, mln, out)
}

// options are the middleware's options for cfg.
func (s *server) options() []privatevideo.Option {
	decisions := decisionLogger(s.log)
	if s.metrics != nil {
		decisions = s.metrics.decisions(decisions)
	}
	opts := []privatevideo.Option{
		privatevideo.WithStore(s.tokens),
		privatevideo.WithPublic(s.cat.IsPublic),
		privatevideo.WithSessionTTL(s.cfg.sessionTTL),
		privatevideo.WithStoreTimeout(s.cfg.storeTimeout),
		privatevideo.WithGrace(s.cfg.grace),
		privatevideo.WithRetryWindow(s.cfg.retryWindow),
		privatevideo.WithFirstByteTimeout(s.cfg.firstByte),
		privatevideo.WithDecisionHook(decisions),
		// The library's own warnings (a playlist it cannot rewrite, a failed
		// revocation check) go to the same log, in its format; the hook
		// above already logs each decision once.
		privatevideo.WithLogger(libraryLogger(s.log)),
	}
	// Cookies are Secure exactly when the URLs handed out are https: a
	// browser would drop a Secure cookie set over plain HTTP.
	if strings.HasPrefix(s.cfg.publicURL, "http://") {
		opts = append(opts, privatevideo.WithInsecureCookies())
	}
	if s.cfg.pageBound {
		opts = append(opts, privatevideo.WithPageBound())
	}
	if s.cfg.revocationCheck {
		opts = append(opts, privatevideo.WithRevocationCheck(privatevideo.KeepPlaying))
	}
	if len(s.cfg.trustedProxies) > 0 {
		opts = append(opts, privatevideo.WithTrustedProxies(s.cfg.trustedProxies...))
	}
	if len(s.cfg.corsOrigins) > 0 {
		// Players on these origins may read the media; a page on any other
		// origin is refused before it spends a link (origin-not-allowed).
		opts = append(opts, privatevideo.WithCORS(s.cfg.corsOrigins...))
	}
	if s.metrics != nil {
		// The library logs each release itself (WithLogger); this counts them.
		opts = append(opts, privatevideo.WithReleaseHook(s.metrics.releases.Observe))
	}
	return opts
}

// routes is the whole HTTP surface.
//
// The middleware is outermost: it alone decides which requests are media
// (whatever reads as its prefix, in any spelling), as they came. The mux
// would clean their paths first and answer a cacheable 301 that echoes the
// query, token and avh included, for a dot segment or a double slash; the
// middleware's asset grammar is the one reading of a media path. What it
// lets through under the prefix is media; the rest is the API's.
func (s *server) routes(a *pvedge.API) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", s.health)
	mux.Handle("/videos", a)
	mux.Handle("/videos/", a)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { probNotFound.write(w) })
	// Player answers the player page at /vod/{id} and passes the assets on.
	media := s.mw.Player(s.media)
	prefix := s.mw.Layout().Prefix
	guarded := withoutBody(s.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) {
			media.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})))
	// Forward-auth (auth.go) comes before the middleware: its requests name
	// a media path in X-Original-URI, a rewrite header the middleware
	// refuses on any other path, and it runs the middleware on that path.
	auth := newForwardAuth(s.mw, s.cfg.trustedProxies, s.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == authPath {
			auth.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// withoutBody keeps request bodies for the API alone, which reads them
// within pvedge.DefaultBodyTimeout once the caller is authorized. No other request needs
// one (the session endpoint's POST is empty): the media handler and the
// origin get none, and nothing reads it (see pvedge.RefuseBody).
func withoutBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := r.URL.Path == "/videos" || strings.HasPrefix(r.URL.Path, "/videos/")
		if r.ContentLength != 0 && !api { // a body announced, or chunked (-1)
			pvedge.RefuseBody(w)
			r2 := *r
			r2.Body, r2.ContentLength = http.NoBody, 0
			r2.Header = r.Header.Clone()
			r2.Header.Del("Content-Length")
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopback reports whether addr is a loopback address. The unspecified
// address (0.0.0.0, ::) listens on every interface: not loopback.
func isLoopback(addr net.Addr) bool {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// banner prints the startup summary on out (stdout). It is the one place
// where the API key is ever written, and only when it was generated: a key
// given by flag or environment is known already.
func (s *server) banner(ctx context.Context, ln, mln net.Listener, out io.Writer) error {
	var b strings.Builder
	b.WriteString("privatevideo edge server\n\n")
	fmt.Fprintf(&b, "  Address:    http://%s\n", ln.Addr())
	if s.cfg.publicURL != "http://"+ln.Addr().String() {
		fmt.Fprintf(&b, "  Public URL: %s\n", s.cfg.publicURL)
	}
	if mln != nil {
		fmt.Fprintf(&b, "  Metrics:    http://%s/metrics\n", mln.Addr())
	}
	if s.cfg.origin != nil {
		fmt.Fprintf(&b, "  Media:      proxy to %s\n", s.cfg.origin.Redacted())
	} else {
		fmt.Fprintf(&b, "  Media:      built-in demo (videos: %s)\n", strings.Join(s.demo, ", "))
	}
	mode := "cookie"
	if s.cfg.pageBound {
		mode = "page-bound"
	}
	fmt.Fprintf(&b, "  Sessions:   %s, %s\n", mode, s.cfg.sessionTTL)
	fmt.Fprintf(&b, "  Store:      %s\n", s.cfg.store)
	if len(s.cfg.corsOrigins) > 0 {
		fmt.Fprintf(&b, "  CORS:       %s\n", strings.Join(s.cfg.corsOrigins, ", "))
	}
	if s.cfg.apiKeyGenerated {
		fmt.Fprintf(&b, "  API key:    %s\n", s.cfg.apiKey)
	} else {
		fmt.Fprintf(&b, "  API key:    (as given in -api-key or %s)\n", envName("api-key"))
	}
	key := "$API_KEY"
	if s.cfg.apiKeyGenerated {
		key = s.cfg.apiKey
	}
	example := "demo"
	if len(s.demo) > 0 {
		if !slices.Contains(s.demo, example) {
			example = s.demo[0]
		}
		urls, err := s.mw.IssueURLs(ctx, s.cfg.publicURL, example)
		if err != nil {
			// The store does not answer yet: the server still starts, and
			// the API hands out links once it does.
			s.log.Warn("no player URL at start: the store does not answer", "cause", scrub(err.Error()))
			b.WriteString("  Player URL: none yet, the store does not answer\n")
			b.WriteString("\nAsk the API for a player URL once the store answers:\n")
		} else {
			fmt.Fprintf(&b, "  Player URL: %s\n", urls.Player)
			b.WriteString("\nThe player URL plays in one browser only; ask the API for another:\n")
		}
	} else {
		b.WriteString("\nAsk the API for a player URL of any video the origin serves at /vod/{id}/:\n")
	}
	fmt.Fprintf(&b, "  curl -H 'Authorization: Bearer %s' %s/videos/%s\n\n", key, s.cfg.publicURL, example)
	_, err := io.WriteString(out, b.String())
	return err
}

// serve answers requests on ln (and metrics scrapes on mln, when not nil)
// until ctx is cancelled, then shuts down gracefully: the listeners close at
// once, in-flight requests have the shutdown timeout to finish.
func (s *server) serve(ctx context.Context, ln, mln net.Listener, stopSignals func()) error {
	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
	servers := []*http.Server{s.http}
	if mln != nil {
		go func() { errc <- s.mhttp.Serve(mln) }()
		s.log.Info("serving metrics", "addr", mln.Addr().String())
		servers = append(servers, s.mhttp)
	}
	select {
	case err := <-errc:
		for _, srv := range servers {
			srv.Close()
		}
		return err
	case <-ctx.Done():
	}
	stopSignals()
	s.log.Info("shutting down: finishing in-flight requests", "timeout", s.cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownTimeout)
	defer cancel()
	var failed bool
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
			failed = true
		}
	}
	for range servers {
		<-errc // http.ErrServerClosed
	}
	if failed {
		return fmt.Errorf("in-flight requests did not finish within %s", s.cfg.shutdownTimeout)
	}
	s.log.Info("stopped")
	return nil
}

// close releases the store.
func (s *server) close() {
	s.cat.Close()
	if err := s.store.close(); err != nil {
		s.log.Warn("closing the store", "cause", scrub(err.Error()))
	}
}
