// Package pvcaddy is privatevideo as a Caddy module: an HTTP handler,
// http.handlers.privatevideo, with the Caddyfile directive privatevideo,
// that guards /vod/… with one-time links in front of file_server or
// reverse_proxy and answers the edge server's JSON video API at /videos.
//
// Build Caddy with it:
//
//	xcaddy build --with github.com/privatevideo/privatevideo/caddy
//
// and configure it from the Caddyfile alone:
//
//	{
//		order privatevideo before file_server
//	}
//	media.example.com {
//		privatevideo {
//			hash_key  {env.PV_HASH_KEY}
//			api_key   {env.PV_API_KEY}
//			store     redis://10.0.0.5:6379/0
//		}
//		root * /srv/media
//		file_server
//	}
//
// A request under /vod/ is decided by the middleware and, when allowed,
// passed on to the next handler with its public path (/vod/{id}/{asset}):
// no token, no session token, no session cookie. A request under /videos
// is the API's when api_key is set. Anything else is passed on untouched.
//
// The stores and the session keys live in a pool keyed on the store and
// the keys, so a config reload that keeps them keeps the store (memory
// included: its tokens and sessions survive the reload) and, when no
// hash_key is set, the random keys. See the README for every subdirective.
package pvcaddy
