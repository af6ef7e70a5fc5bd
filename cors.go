package privatevideo

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// corsConfig answers cross-origin players (WithCORS).
type corsConfig struct {
	origins []string // exact origins, or the single "*"
}

func (c *corsConfig) enabled() bool { return len(c.origins) > 0 }

func (c *corsConfig) validate() error {
	for _, o := range c.origins {
		if o == "*" {
			if len(c.origins) > 1 {
				return errors.New(`privatevideo: CORS origin "*" cannot be combined with listed origins`)
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return errors.New("privatevideo: CORS origin " + o + " must be scheme://host[:port]")
		}
	}
	return nil
}

// allowed returns the Access-Control-Allow-Origin for origin, and whether
// credentials may go with it.
func (c *corsConfig) allowed(origin string) (allow string, credentials bool) {
	for _, o := range c.origins {
		if o == "*" {
			return "*", false // never "*" with credentials
		}
		if strings.EqualFold(o, origin) {
			return origin, true
		}
	}
	return "", false
}

// apply writes the CORS headers for r, and answers it when it is a preflight
// from an allowed origin; it reports whether it did.
func (c *corsConfig) apply(w http.ResponseWriter, r *http.Request) (answered bool) {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return false
	}
	allow, credentials := c.allowed(origin)
	if allow == "" {
		return false
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges, Privatevideo-Reason")
		return false
	}
	// A preflight: it carries no credentials and touches no token.
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST")
	h.Set("Access-Control-Allow-Headers", "Range, If-Range, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// mayRead reports whether the page that sent r, if a page on some origin
// did (it carries an Origin header), may read the answer: it is the
// request's own origin (by host and port: a TLS-terminating proxy hides the
// scheme; behind a trusted proxy, X-Forwarded-Host counts too), or one
// WithCORS allows. Requests without Origin (navigations, media elements
// without crossorigin, players outside browsers) may.
func (m *Middleware) mayRead(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if _, host, ok := strings.Cut(origin, "://"); ok && host != "" {
		if strings.EqualFold(host, r.Host) {
			return true
		}
		if fwd := r.Header.Get("X-Forwarded-Host"); fwd != "" && m.trusted(remoteAddr(r.RemoteAddr)) {
			if first, _, _ := strings.Cut(fwd, ","); strings.EqualFold(host, strings.TrimSpace(first)) {
				return true
			}
		}
	}
	allow, _ := m.cors.allowed(origin)
	return allow != ""
}
