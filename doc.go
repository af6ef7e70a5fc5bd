// Package privatevideo delivers private videos through one-time links.
//
// An application asks for a link (Middleware.Issue): a fresh private token,
// a random UUID, is minted for one video. The first request that presents the
// token redeems it, exactly once, even across many replicas sharing a store.
// Redemption opens a session (24 hours by default, not sliding) in which the
// same page can play, seek and refresh. The same link opened later from
// another browser is refused.
//
// The Middleware is a standard func(http.Handler) http.Handler (its Handler
// method) around any media handler: a file server, a reverse proxy to an
// origin, a packager. The wrapped handler always sees the public form of a
// URL, /vod/{id}/{asset}, and finds the verified session with
// SessionFromContext.
//
// # URLs
//
// See Layout for the URL grammar; every name in it is configurable.
//
// # Mounting
//
// The middleware may sit under a path of the application's, /media say,
// with no option: behind http.StripPrefix, with or without the mount's
// trailing slash (it compares the server's RequestURI with the path it
// sees, and reads a path without its leading slash as http.FileServer and
// httputil.ReverseProxy do) or under a router that routes on the
// mount and leaves it in the path (chi's Mount and Route, a ServeMux pattern
// such as "/media/" or "/t/{tenant}/": it reads r.Pattern and its path
// values). Every URL and cookie path it emits (the session cookie's Path,
// the redirect of a query token, the player page's media URLs) is built
// under the mount, and a routed mount stays in the path the wrapped handler
// sees (/media/vod/{id}/{asset}). A mount must be made of segments of the
// asset grammar; a request under any other is refused as malformed. A path
// that holds the prefix after segments no router matched is not under any
// mount, and is refused (row 1).
//
// # What each request gets
//
// The first row that matches decides:
//
//  1. Not under the layout's prefix, below the mount: passed through
//     untouched (unless some server would read the path as under it, or it
//     holds the prefix later on where no router put a mount: see Asset
//     paths and Mounting).
//  2. A public video (WithPublic says so; by default none is): passed
//     through, token and session parameters and the session cookie removed.
//  3. OPTIONS: answered by the middleware itself, never by the handler (many
//     handlers answer it like GET): a CORS preflight from an allowed origin
//     gets the CORS answer, anything else an empty 204. Any method but GET
//     and HEAD (and POST to the session endpoint) is refused with 405
//     ErrMethod and an Allow header, before any store call.
//  4. A malformed video ID, token or asset path, or two tokens that
//     disagree: 400 ErrMalformed; the store is not touched.
//  5. A valid session for this video, from a cookie or the avh parameter,
//     bound to the URL's token when the URL has one: passed through, no store
//     write.
//  6. The player page with a well-formed token: passed through as a shell
//     (TokenFromContext gives the token); it never redeems.
//  7. A request that must not redeem (below) for an asset or the session
//     endpoint, without a valid session: refused, ErrNotRedeemed while the
//     token is unused, else the token's state; the token does not change.
//  8. An asset or the session endpoint with a token and no valid session:
//     the token is redeemed, atomically. Success creates a session, delivers
//     it (cookie; the session endpoint also answers it as JSON) and passes.
//     Otherwise: ErrTokenUsed, ErrTokenUnknown, ErrWrongVideo (the token is
//     not consumed), ErrTokenRevoked, or 503 ErrStoreUnavailable with
//     Retry-After (nothing consumed).
//  9. A private video without a token: ErrTokenRequired, or ErrSessionExpired
//     or ErrSessionInvalid when a session came that is expired, tampered,
//     signed by an unknown key or for another video.
//
// An asset requested with the token in the query (?token=) rather than in the
// path is first redirected (307) to the path form, so that the session
// cookie, scoped to the token's subtree, comes with every later request.
//
// Requests that never redeem: HEAD and OPTIONS, speculative loads
// (Sec-Purpose or Purpose: prefetch), and link preview agents
// (DefaultPreviewAgents, replaceable with WithPreviewAgents).
//
// # Asset paths
//
// The wrapped handler, and any origin behind it, must read every path it
// receives exactly as the middleware did, or a session of one video could
// reach another. So assets follow a strict grammar: each segment, after one
// percent-decoding, is 1 to 255 bytes of A-Z a-z 0-9 and "-._~!$&'()*+,=@",
// and is neither "." nor "..". No "%" (a second decoding changes nothing),
// no ";" (Tomcat and Jetty drop ";params"), no backslash, no ":", no empty
// segment, no control or non-ASCII byte. Anything else is ErrMalformed. A
// path outside the prefix that a server ignoring case, reading backslashes
// as slashes, dropping ";params", decoding twice or resolving dot segments
// would read as under it is ErrMalformed too. SECURITY.md has the threat
// model.
//
// A player's parallel first requests are covered by the grace window: the
// same client (address and User-Agent) presenting the same token within
// WithGrace of its redemption gets the same session; any other client is
// refused. The same client also gets back in within WithRetryWindow while
// its session has never come back in a request: its first answer was lost,
// or its redemption ran late against a stalled store.
//
// A link is never lost to a failure that is not the viewer's: when the
// handler's answer to a redemption is a 5xx or a panic, or the viewer gives
// up before the status line, or nothing starts within WithFirstByteTimeout
// (504), the session is not delivered and the redemption is released (see
// Release).
//
// # Denials
//
// Denials get 403 (WithDenialStatus changes it), Cache-Control no-store, and
// an RFC 9457 problem+json body with a machine-readable reason, or a small
// HTML page for a browser navigating to a page. WithErrorHandler replaces the
// answer; it receives an error that matches one Denial with errors.Is. No
// answer ever contains a token, a session token or a key.
//
// Allowed responses of private videos get Cache-Control private unless the
// handler set something stricter; the player page and playlists get
// Referrer-Policy no-referrer.
//
// # Sessions
//
// A session (video ID, token, expiry) travels as a session token: signed with
// HMAC-SHA256 through gorilla/securecookie, optionally encrypted with
// AES-256, URL-safe, the same value as a cookie or an avh parameter. The
// cookie is HttpOnly, Secure, SameSite=Lax and scoped to the token's path
// /vod/{id}/token/{T}; see the With…Cookie… options. Checking a session
// needs no store: valid sessions keep playing while the store is down.
//
// # Players
//
// HLS playlists and DASH MPDs served within a session are rewritten so that
// every URL in them carries the session token (the avh parameter): any HLS
// or DASH client, with or without cookies, plays the whole stream after one
// redemption. Only URLs that resolve, by the WHATWG URL rules players use, to
// the request's own host (or one named by WithPlaylistHosts) get it; a
// manifest that would carry the session elsewhere (HLS variables copied
// from the URL's query, content steering, DASH's UrlQueryInfo) fails with
// 502. Manifests are rewritten as they stream, within the bounds of
// internal/manifest (see SECURITY.md). A client that brought its session in
// a cookie gets them unchanged: it brings the cookie to every URL as well.
// Player serves
// a built-in player page. WithPageBound binds a session to one page rather
// than one browser: no cookie, the page keeps the session token in
// sessionStorage. WithCORS answers players on other origins.
//
// # Stores
//
// Tokens live in a store.Store: by default a bounded in-memory store, right
// for one process. Fleets share a Redis or PostgreSQL store (modules
// store/redisstore and store/pgstore).
package privatevideo
