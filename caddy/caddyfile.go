package pvcaddy

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("privatevideo", parseCaddyfile)
	// Where an auth handler goes: after encode (which then compresses the
	// answers the middleware rewrote), before handle, route, respond,
	// reverse_proxy and file_server, which would otherwise answer first,
	// unguarded. An order global option still overrides it.
	httpcaddyfile.RegisterDirectiveOrder("privatevideo", httpcaddyfile.After, "encode")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile reads the directive:
//
//	privatevideo {
//		hash_key           <hex>
//		block_key          <hex>
//		api_key            <key>
//		store              memory|redis://…|postgres://…
//		store_timeout      <duration>
//		insecure_cookies
//		session_ttl        <duration>
//		mode               cookie|page
//		cors_origins       <origin>…
//		trusted_proxies    <cidr|ip|private_ranges>…
//		denial_status      <4xx>
//		public             <video id>…
//		public_url         <scheme://host[:port]>
//		revocation_check
//		grace              <duration>
//		retry_window       <duration>
//		first_byte_timeout <duration>
//	}
//
// Subdirectives that take lists may repeat.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	// Where each subdirective goes, by the kind of its arguments.
	strs := map[string]*string{
		"hash_key": &h.HashKey, "block_key": &h.BlockKey, "api_key": &h.APIKey,
		"store": &h.Store, "public_url": &h.PublicURL, "mode": &h.Mode,
	}
	flags := map[string]*bool{"insecure_cookies": &h.InsecureCookies, "revocation_check": &h.RevocationCheck}
	durs := map[string]*caddy.Duration{"store_timeout": &h.StoreTimeout, "session_ttl": &h.SessionTTL, "first_byte_timeout": &h.FirstByteTimeout}
	optDurs := map[string]**caddy.Duration{"grace": &h.Grace, "retry_window": &h.RetryWindow} // nil: the default
	lists := map[string]*[]string{"cors_origins": &h.CORSOrigins, "trusted_proxies": &h.TrustedProxies, "public": &h.Public}
	for d.NextBlock(0) {
		name := d.Val()
		if list, ok := lists[name]; ok {
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			*list = append(*list, args...)
			continue
		}
		if flag, ok := flags[name]; ok {
			if d.NextArg() {
				return d.ArgErr()
			}
			*flag = true
			continue
		}
		var v string
		_, isStr := strs[name]
		_, isDur := durs[name]
		_, isOptDur := optDurs[name]
		if !isStr && !isDur && !isOptDur && name != "denial_status" {
			return d.Errf("unknown subdirective %q", name)
		}
		if !d.AllArgs(&v) {
			return d.ArgErr()
		}
		switch {
		case isStr:
			*strs[name] = v
		case name == "denial_status":
			n, err := strconv.Atoi(v)
			if err != nil {
				return d.Errf("denial_status %q: want a status code such as 403 or 404", v)
			}
			h.DenialStatus = n
		default:
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("%s %q: %v", name, v, err)
			}
			cd := caddy.Duration(dur)
			if isDur {
				*durs[name] = cd
			} else {
				*optDurs[name] = &cd
			}
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
