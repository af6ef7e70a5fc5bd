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
	for d.NextBlock(0) {
		name := d.Val()
		switch name {
		case "hash_key", "block_key", "api_key", "store", "public_url", "mode":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			switch name {
			case "hash_key":
				h.HashKey = v
			case "block_key":
				h.BlockKey = v
			case "api_key":
				h.APIKey = v
			case "store":
				h.Store = v
			case "public_url":
				h.PublicURL = v
			case "mode":
				h.Mode = v
			}
		case "insecure_cookies", "revocation_check":
			if d.NextArg() {
				return d.ArgErr()
			}
			if name == "insecure_cookies" {
				h.InsecureCookies = true
			} else {
				h.RevocationCheck = true
			}
		case "store_timeout", "session_ttl", "first_byte_timeout", "grace", "retry_window":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("%s %q: %v", name, v, err)
			}
			cd := caddy.Duration(dur)
			switch name {
			case "store_timeout":
				h.StoreTimeout = cd
			case "session_ttl":
				h.SessionTTL = cd
			case "first_byte_timeout":
				h.FirstByteTimeout = cd
			case "grace":
				h.Grace = &cd
			case "retry_window":
				h.RetryWindow = &cd
			}
		case "denial_status":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return d.Errf("denial_status %q: want a status code such as 403 or 404", v)
			}
			h.DenialStatus = n
		case "cors_origins", "trusted_proxies", "public":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			switch name {
			case "cors_origins":
				h.CORSOrigins = append(h.CORSOrigins, args...)
			case "trusted_proxies":
				h.TrustedProxies = append(h.TrustedProxies, args...)
			case "public":
				h.Public = append(h.Public, args...)
			}
		default:
			return d.Errf("unknown subdirective %q", name)
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
