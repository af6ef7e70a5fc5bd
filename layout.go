package privatevideo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Layout is the shape of the URLs the middleware understands and builds.
// DefaultLayout gives:
//
//	/vod/{id}                              public player page
//	/vod/{id}/{asset}                      public asset
//	/vod/{id}?token={T}                    private player page (embed URL)
//	/vod/{id}token={T}                     the same, glued, as some platforms print it
//	/vod/{id}/token/{T}/{asset}            private asset
//	/vod/{id}/token/{T}/session            session endpoint
//	...?avh={S}                            a session token, on any of these
//
// The asset names HLS, DASH, MP4 and Thumbnail are only used to build URLs;
// the middleware serves whatever assets the wrapped handler has. DASH may be
// empty, for a platform that packages no DASH: its URL is then empty too.
type Layout struct {
	Prefix          string // where videos live; starts and ends with "/"
	TokenSegment    string // path segment before a private token
	TokenParam      string // query parameter (and glued form) of a private token
	SessionParam    string // query parameter of a session token
	SessionEndpoint string // path segment, after the token, of the session endpoint
	HLS             string // HLS master playlist, relative to the video
	DASH            string // MPEG-DASH manifest (MPD), relative to the video; may be empty
	MP4             string // progressive MP4, relative to the video
	Thumbnail       string // poster image, relative to the video
}

// DefaultLayout is the layout of the package documentation.
var DefaultLayout = Layout{
	Prefix:          "/vod/",
	TokenSegment:    "token",
	TokenParam:      "token",
	SessionParam:    "avh",
	SessionEndpoint: "session",
	HLS:             "hls/manifest.m3u8",
	DASH:            "dash/manifest.mpd",
	MP4:             "mp4/source.mp4",
	Thumbnail:       "thumbnail.jpg",
}

func (l Layout) validate() error {
	if len(l.Prefix) < 2 || l.Prefix[0] != '/' || l.Prefix[len(l.Prefix)-1] != '/' || path.Clean(l.Prefix)+"/" != l.Prefix {
		return fmt.Errorf("privatevideo: layout prefix %q must be a clean path that starts and ends with /", l.Prefix)
	}
	for _, name := range []string{l.TokenSegment, l.TokenParam, l.SessionParam, l.SessionEndpoint} {
		if !ValidVideoID(name) {
			return fmt.Errorf("privatevideo: layout name %q must be 1 to 64 of A-Z a-z 0-9 _ -", name)
		}
	}
	if l.TokenParam == l.SessionParam {
		return errors.New("privatevideo: layout token and session parameters must differ")
	}
	assets := []string{l.HLS, l.MP4, l.Thumbnail}
	if l.DASH != "" { // optional
		assets = append(assets, l.DASH)
	}
	for _, a := range assets {
		if a == "" || a[0] == '/' || path.Clean(a) != a || strings.HasPrefix(a, "../") {
			return fmt.Errorf("privatevideo: layout asset %q must be a clean relative path", a)
		}
	}
	return nil
}

// route is what a request under the prefix asks for.
type route uint8

const (
	routePage    route = iota + 1 // the player page, /vod/{id}
	routeAsset                    // anything under the video
	routeSession                  // the session endpoint
)

// Caps applied before any other work.
const (
	maxPath     = 2048
	maxQuery    = 4096
	maxCarriers = 2 // session tokens read from the query; more are ignored
)

// target is a parsed request under the prefix.
type target struct {
	video string
	route route
	// asset is the cleaned path under the video, with a leading slash, or ""
	// for the player page.
	asset string
	// token is the private token, canonical, or "" when the request has
	// none. tokenRaw is what came, for the checks of row 4.
	token       string
	tokenInPath bool // given as a path segment (not a query parameter)
	tokenErr    error
	// query is the raw query without the token and session parameters.
	query    string
	carriers [maxCarriers]string // session tokens from the query
	// mount is where the middleware is mounted, "" at the root: every URL
	// and cookie path it emits starts with it. inner is its tail that a
	// router left in the path, which the wrapped handler sees too (see
	// mount.go).
	mount, inner string
}

// parseRequest reads r as parse does, under the path where the middleware
// is mounted (see mount.go).
func (l *Layout) parseRequest(r *http.Request) (t target, ours bool, err error) {
	u := r.URL
	p, raw := u.Path, u.RawPath
	slashed := p != "" && p[0] != '/'
	if slashed {
		// http.StripPrefix("/media/", …) leaves "vod/v1/…", which
		// http.FileServer and httputil.ReverseProxy read as "/vod/v1/…":
		// so does the middleware.
		p = "/" + p
		if raw != "" {
			raw = "/" + raw
		}
	}
	inner := l.routedMount(p, r)
	if inner != "" {
		if raw != "" && !strings.HasPrefix(raw, inner) {
			return t, true, errMalformedPath
		}
		p = p[len(inner):]
		if raw != "" {
			raw = raw[len(inner):]
		}
	}
	if p != u.Path || raw != u.RawPath {
		under := *u // the path under the mount
		under.Path, under.RawPath = p, raw
		u = &under
	}
	if t, ours, err = l.parse(u); !ours {
		return t, false, nil
	}
	t.inner = inner
	outer := strippedMount(r)
	if slashed {
		// The slash read back in is the stripped mount's last byte; a
		// mount that did not end in one ("/mediavod/…" behind
		// StripPrefix("/media")) is not a path the middleware can build.
		var ok bool
		if outer, ok = strings.CutSuffix(outer, "/"); !ok {
			err = errMalformedPath
		}
	}
	t.mount = outer + inner
	if err == nil && !validMount(t.mount) {
		err = errMalformedPath
	}
	return t, true, err
}

// routedMount returns the mount a router left at the start of p (see
// mount.go): the last segment boundary, within what the router matched,
// where the prefix starts. It returns "" when p is under the prefix itself,
// or when no pattern tells.
func (l *Layout) routedMount(p string, r *http.Request) string {
	if strings.HasPrefix(p, l.Prefix) || p == l.Prefix[:len(l.Prefix)-1] || r.Pattern == "" {
		return ""
	}
	routed := routedPrefix(r)
	for i := min(len(routed), len(p)-1); i > 0; i-- {
		if p[i] == '/' && (strings.HasPrefix(p[i:], l.Prefix) || p[i:] == l.Prefix[:len(l.Prefix)-1]) {
			return p[:i]
		}
	}
	return ""
}

// parse reads u. It reports false when u is not under the prefix (the
// request is not the middleware's). For a request that is, a structural
// problem (bad video ID, an asset outside the grammar, oversized URL) is a
// non-nil error, and a problem with the private token only is in
// t.tokenErr, since a public video ignores the token.
//
// Assets follow the strict grammar of validSegment: nothing in the result
// can climb out of the video, as Go reads the path or as any common origin
// would (see the package documentation, "Asset paths").
func (l *Layout) parse(u *url.URL) (t target, ours bool, err error) {
	p := u.Path
	root := l.Prefix[:len(l.Prefix)-1] // "/vod"
	if !strings.HasPrefix(p, l.Prefix) && p != root {
		if l.readsAsPrefix(u) {
			return t, true, errMalformedPath
		}
		return t, false, nil
	}
	if len(p) > maxPath || len(u.RawQuery) > maxQuery || len(u.RawPath) > maxPath*3 {
		return t, true, errMalformedPath
	}
	escaped := u.RawPath != ""
	if escaped {
		// RawPath is set when the client's encoding differs from Go's
		// default: %2F, or any other needless escape. Work segment by segment
		// on the escaped form so that an encoded slash stays inside its
		// segment, where we can see and refuse it.
		p = u.RawPath
		if !strings.HasPrefix(p, l.Prefix) {
			return t, true, errMalformedPath
		}
	}
	rest := ""
	if len(p) > len(root) {
		rest = p[len(l.Prefix):]
	}
	if rest, err = l.parseVideo(&t, rest, escaped); err != nil {
		return t, true, err
	}
	if t.asset, err = checkAsset(p, rest, escaped); err != nil {
		return t, true, err
	}
	if l.reserved(t.asset) {
		// "/vod/{id}/Token/…" and the like: the token segment is reserved
		// as the first segment of an asset, in any case, so a public path
		// never reads as a private one.
		return t, true, errMalformedPath
	}
	t.route = l.routeOf(&t)
	t.query = l.scanQuery(u.RawQuery, &t)
	return t, true, nil
}

// routeOf says what a parsed request asks for.
func (l *Layout) routeOf(t *target) route {
	switch {
	case t.asset == "":
		return routePage
	case t.tokenInPath && len(t.asset) == 1+len(l.SessionEndpoint) && t.asset[1:] == l.SessionEndpoint:
		return routeSession
	}
	return routeAsset
}

// parseVideo reads the video ID (or its glued form, {id}token={T}) and the
// token segments from rest, the path after the prefix, and returns what
// follows them: the asset's path without its leading slash, or "" for the
// player page.
func (l *Layout) parseVideo(t *target, rest string, escaped bool) (string, error) {
	first, rest, more := strings.Cut(rest, "/")
	var err error
	if escaped {
		if first, err = unescapeSegment(first); err != nil {
			return "", err
		}
	}
	if i := strings.IndexByte(first, '='); i >= 0 {
		// The glued form, /vod/{id}token={T}.
		id, glue := first[:i], first[i+1:]
		if !strings.HasSuffix(id, l.TokenParam) {
			return "", errMalformedPath
		}
		first = strings.TrimSuffix(id, l.TokenParam)
		t.setToken(glue, false)
	}
	if !ValidVideoID(first) {
		return "", errMalformedID
	}
	t.video = first
	if !more {
		return "", nil
	}
	seg, after, hasAfter := strings.Cut(rest, "/")
	if escaped {
		if seg, err = unescapeSegment(seg); err != nil {
			return "", err
		}
	}
	if seg != l.TokenSegment {
		return rest, nil
	}
	tok, afterTok, _ := strings.Cut(after, "/")
	if escaped {
		if tok, err = unescapeSegment(tok); err != nil {
			return "", err
		}
	}
	if !hasAfter || tok == "" {
		return "", errMalformedPath // "/vod/{id}/token" with no token
	}
	t.setToken(tok, true)
	return afterTok, nil
}

var (
	errMalformedPath = fmt.Errorf("%w: path", ErrMalformed)
	errMalformedID   = fmt.Errorf("%w: video ID", ErrMalformed)
	errTwoTokens     = fmt.Errorf("%w: two different tokens", ErrMalformed)
)

// reserved reports whether asset starts with the token segment, in any
// letter case (a case-insensitive origin reads "Token" as "token").
func (l *Layout) reserved(asset string) bool {
	n := len(l.TokenSegment)
	return len(asset) > n && strings.EqualFold(asset[1:n+1], l.TokenSegment) && (len(asset) == n+1 || asset[n+1] == '/')
}

// setToken records a private token from the path or the query, checking it
// and that it agrees with any token seen before.
func (t *target) setToken(raw string, inPath bool) {
	tok, err := ParseToken(raw)
	switch {
	case t.tokenErr != nil:
		return
	case err != nil:
		t.tokenErr = err
	case t.token != "" && t.token != tok:
		t.tokenErr = errTwoTokens
	default:
		t.token = tok
		t.tokenInPath = t.tokenInPath || inPath
	}
}

// checkAsset turns rest, the path after the video (or after its token)
// without its leading slash, a suffix of p, into the asset: "/" + rest with each segment
// decoded once, or "" for the video's root. Every segment must be
// non-empty, not a dot segment, and made of the asset alphabet
// (validSegment); a trailing slash is allowed only at the video's root.
// In the common case (no escapes) the asset is a slice of p.
func checkAsset(p, rest string, escaped bool) (string, error) {
	if rest == "" {
		return "", nil
	}
	if !escaped {
		for seg := range strings.SplitSeq(rest, "/") {
			if !validSegment(seg) {
				return "", errMalformedPath
			}
		}
		return p[len(p)-len(rest)-1:], nil // rest is always preceded by a slash
	}
	var b strings.Builder
	b.Grow(len(rest) + 1)
	for seg := range strings.SplitSeq(rest, "/") {
		s, err := url.PathUnescape(seg)
		if err != nil || !validSegment(s) {
			return "", errMalformedPath
		}
		b.WriteByte('/')
		b.WriteString(s)
	}
	return b.String(), nil
}

// assetByte marks the bytes an asset's path segment may hold once decoded:
// RFC 3986's unreserved characters and the sub-delimiters "!$&'()*+,=", plus
// "@". Not in it, on purpose: "%" (so a second decoding changes nothing),
// ";" (Tomcat and Jetty drop ";params" before resolving dot segments), "\"
// (a slash to Windows servers and to browsers), ":" (drive letters, NTFS
// streams), "/", "?", "#", spaces, controls and every non-ASCII byte.
var assetByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-._~!$&'()*+,=@" {
		t[c] = true
	}
	return t
}()

// validSegment reports whether seg, one decoded segment of an asset's path,
// is in the asset grammar: 1 to 255 bytes of assetByte, not ending in "."
// (Windows drops trailing dots, so "..." is ".." there, and "a." is "a").
func validSegment(seg string) bool {
	if seg == "" || len(seg) > 255 || seg[len(seg)-1] == '.' {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if !assetByte[seg[i]] {
			return false
		}
	}
	return true
}

// unescapeSegment decodes one path segment of the video ID or token part
// and refuses what must not be in one: a slash (from %2F), a backslash or a
// NUL. What it returns is then checked as a video ID, a token or a name of
// the layout.
func unescapeSegment(s string) (string, error) {
	u, err := url.PathUnescape(s)
	if err != nil || strings.ContainsAny(u, "/\\\x00") {
		return "", errMalformedPath
	}
	return u, nil
}

// readsAsPrefix reports whether u, whose path is not under the prefix as Go
// reads it, would be read as under it by some common server: one that
// ignores letter case (Windows, macOS file systems), treats a backslash as
// a slash (IIS, Windows), drops ";params" (Tomcat, Jetty), decodes percent
// escapes again, or resolves dot segments ("/x/../vod/…"). Such a path
// would reach a copy of a private video without a token, so it is refused.
func (l *Layout) readsAsPrefix(u *url.URL) bool {
	p := u.Path
	if u.RawPath != "" {
		p = u.RawPath
	}
	if !strings.ContainsAny(p, "\\;%.: ~") && !strings.Contains(p, "//") && isASCII(p) {
		// The common case: only letter case can make it read as ours.
		return l.underFold(p)
	}
	if len(p) > maxPath*3 {
		return true // too long to reason about: refuse
	}
	// Read p the way the loosest of those servers would, decoding up to
	// three times, and see whether it ever lands under the prefix.
	for range 4 {
		if l.loosely(p) {
			return true
		}
		q, err := url.PathUnescape(p)
		if err != nil {
			q = lenientUnescape(p)
		}
		if q == p {
			break
		}
		p = q
	}
	return false
}

// loosely reports whether p lands under the prefix in any of the readings
// of readsAsPrefix: as it is, with backslashes as slashes, with ";params"
// dropped (before or after that), as Windows reads it, and with look-alike
// Unicode folded to ASCII; each with dot segments resolved and case ignored.
func (l *Layout) loosely(p string) bool {
	wild := !isASCII(p) || strings.IndexByte(p, '~') >= 0
	for _, base := range [...]string{p, foldToASCII(p)} {
		slashed := strings.ReplaceAll(base, "\\", "/")
		for _, q := range [...]string{base, slashed, dropParams(base), dropParams(slashed),
			strings.ReplaceAll(dropParams(base), "\\", "/"), windowsPath(slashed)} {
			if l.underFold(q) || l.underFold(path.Clean("/"+q)) || wild && l.mayNormalizeUnder(q) {
				return true
			}
		}
	}
	return false
}

// mayNormalizeUnder reports whether p could land under the prefix once a
// server maps its non-ASCII characters to ASCII in ways no fixed list
// covers (NFKC: "‥" is "..", "ⅴ" is "v"; case folding: "ſ" is "s") or
// reads 8.3 short names ("PRIVAT~1" for "privatevideos"). It assumes the
// worst: a segment of dots and non-ASCII characters only is "..", and a
// non-ASCII character matches up to three of any ASCII characters.
func (l *Layout) mayNormalizeUnder(p string) bool {
	segs := strings.Split(p, "/")
	wildOnly := 0
	for _, seg := range segs {
		if dotsOrWild(seg) {
			wildOnly++
		}
	}
	if wildOnly > 8 {
		return true // too many readings to try: refuse
	}
	return l.resolvesUnder(segs, nil)
}

// resolvesUnder resolves the dot segments of segs onto stack, trying both
// readings of a segment made of dots and non-ASCII characters (".." or a
// name), and reports whether any outcome may be under the prefix.
func (l *Layout) resolvesUnder(segs, stack []string) bool {
	for i, seg := range segs {
		switch {
		case seg == "" || seg == ".":
		case seg == "..":
			stack = pop(stack)
		case dotsOrWild(seg):
			named := append(append([]string(nil), stack...), seg)
			return l.resolvesUnder(segs[i+1:], named) || l.resolvesUnder(segs[i+1:], pop(stack))
		default:
			stack = append(stack, seg)
		}
	}
	want := strings.Split(strings.Trim(l.Prefix, "/"), "/")
	if len(stack) < len(want) {
		return false
	}
	for i, w := range want {
		if !mayReadAs(stack[i], w) {
			return false
		}
	}
	return true
}

// rewriteHeaders are request headers that some servers and frameworks
// (IIS URL Rewrite and ARR, Symfony, Zend, Drupal) take as the request's
// real path. The handler never receives them under the prefix, and a
// request outside it that names a path under it in one is refused.
var rewriteHeaders = [...]string{"X-Original-Url", "X-Rewrite-Url", "X-Original-Uri"}

// rewriteHeaderOurs reports whether h names, in a rewrite header, a path
// that is or may be read as under the prefix.
func (l *Layout) rewriteHeaderOurs(h http.Header) bool {
	for _, k := range rewriteHeaders {
		for _, v := range h[k] {
			u, err := url.Parse(v)
			if err != nil || u.Path == "" && u.RawPath == "" {
				if v != "" {
					return true // unreadable: assume the worst
				}
				continue
			}
			if l.underFold(u.Path) || l.readsAsPrefix(u) {
				return true
			}
		}
	}
	return false
}

// underFold reports whether p is the prefix's root or under it, ignoring
// case.
//
// It also reports true when the prefix comes later in p, as whole segments
// ("/media/vod/…"): a router that mounts the middleware under a path
// without stripping it (chi's Mount, a mux pattern) hands it such paths,
// and its handler would serve the private files behind them untouched. Such
// a request is refused rather than passed: mount with http.StripPrefix.
func (l *Layout) underFold(p string) bool {
	return containsFold(p+"/", l.Prefix)
}

// scanQuery picks the token and session parameters out of a raw query and
// returns the query without them. It allocates only when it removes some;
// the other pairs are kept byte for byte.
func (l *Layout) scanQuery(raw string, t *target) string {
	var kept []byte
	removed := false
	carriers := 0
	for start := 0; start < len(raw); {
		end := strings.IndexByte(raw[start:], '&')
		if end < 0 {
			end = len(raw)
		} else {
			end += start
		}
		pair := raw[start:end]
		key, value, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(key, "%+") {
			if k, err := url.QueryUnescape(key); err == nil {
				key = k
			}
		}
		switch {
		case key != l.TokenParam && key != l.SessionParam:
			if removed {
				if len(kept) > 0 {
					kept = append(kept, '&')
				}
				kept = append(kept, pair...)
			}
		default:
			if !removed {
				removed = true
				kept = append(make([]byte, 0, len(raw)), raw[:max(start-1, 0)]...)
			}
			if strings.ContainsAny(value, "%+") {
				if v, err := url.QueryUnescape(value); err == nil {
					value = v
				}
			}
			if key == l.TokenParam {
				t.setToken(value, false)
			} else if carriers < maxCarriers && value != "" {
				t.carriers[carriers] = value
				carriers++
			}
		}
		start = end + 1
	}
	if !removed {
		return raw
	}
	return string(kept)
}

// tokenPath returns the path of t's private subtree, /vod/{id}/token/{T}.
func (l *Layout) tokenPath(video, token string) string {
	return l.Prefix + video + "/" + l.TokenSegment + "/" + token
}

// The paths the middleware emits (cookie paths, redirects, the player
// page's media URLs) are built here, under the request's mount.

// videoPath is a video's public path under mount: /media/vod/{id}.
func (l *Layout) videoPath(mount, video string) string {
	return mount + l.Prefix + video
}

// privatePath is a video's private subtree under mount:
// /media/vod/{id}/token/{T}. It is the session cookie's Path.
func (l *Layout) privatePath(mount, video, token string) string {
	return string(l.appendPrivatePath(make([]byte, 0, len(mount)+len(l.Prefix)+len(video)+len(l.TokenSegment)+len(token)+2), mount, video, token))
}

// appendPrivatePath appends privatePath to b, for the cookie's header line,
// which is built without allocating.
func (l *Layout) appendPrivatePath(b []byte, mount, video, token string) []byte {
	b = append(append(b, mount...), l.Prefix...)
	b = append(append(b, video...), '/')
	b = append(append(b, l.TokenSegment...), '/')
	return append(b, token...)
}

// URLs are the addresses of one video.
type URLs struct {
	Player    string // the player page: the embed URL
	HLS       string
	DASH      string // empty when the layout has no DASH asset
	MP4       string
	Thumbnail string
	Session   string // the session endpoint; empty for public URLs
}

// PrivateURLs returns the URLs of video under base (an absolute http or https
// URL, with or without a path) that carry token.
func (l Layout) PrivateURLs(base, videoID, token string) (URLs, error) {
	b, err := l.checkBase(base, videoID)
	if err != nil {
		return URLs{}, err
	}
	if token, err = ParseToken(token); err != nil {
		return URLs{}, err
	}
	video := b + l.Prefix + videoID
	sub := b + l.tokenPath(videoID, token) + "/"
	return URLs{
		Player:    video + "?" + l.TokenParam + "=" + token,
		HLS:       sub + l.HLS,
		DASH:      asset(sub, l.DASH),
		MP4:       sub + l.MP4,
		Thumbnail: sub + l.Thumbnail,
		Session:   sub + l.SessionEndpoint,
	}, nil
}

// PublicURLs returns the URLs of a public video under base.
func (l Layout) PublicURLs(base, videoID string) (URLs, error) {
	b, err := l.checkBase(base, videoID)
	if err != nil {
		return URLs{}, err
	}
	video := b + l.Prefix + videoID
	return URLs{
		Player:    video,
		HLS:       video + "/" + l.HLS,
		DASH:      asset(video+"/", l.DASH),
		MP4:       video + "/" + l.MP4,
		Thumbnail: video + "/" + l.Thumbnail,
	}, nil
}

// asset is dir+name, or "" for an asset the layout does not have.
func asset(dir, name string) string {
	if name == "" {
		return ""
	}
	return dir + name
}

func (l Layout) checkBase(base, videoID string) (string, error) {
	if !ValidVideoID(videoID) {
		return "", fmt.Errorf("%w: video ID %q", ErrMalformed, videoID)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("privatevideo: base URL %q must be an absolute http or https URL without query", base)
	}
	return strings.TrimRight(base, "/"), nil
}

// The public form the wrapped handler sees.

// rewrite sets r's URL (in u, a fresh URL) and RequestURI to the public form
// of t: no token segment, no token or session parameter, a clean path. Path
// and RequestURI share one allocation. It leaves r alone when nothing changes.
func (l *Layout) rewrite(r *http.Request, t *target, u *url.URL) {
	old := r.URL
	if l.isPublic(old, t) {
		return
	}
	*u = *old
	pub := len(t.inner) + len(l.Prefix) + len(t.video) + len(t.asset)
	var s string
	if t.query != "" {
		s = t.inner + l.Prefix + t.video + t.asset + "?" + t.query
	} else {
		s = t.inner + l.Prefix + t.video + t.asset
	}
	u.Path, u.RawPath, u.RawQuery = s[:pub], "", t.query
	u.ForceQuery = false
	r.URL = u
	if esc := u.EscapedPath(); esc != u.Path {
		s = esc
		if t.query != "" {
			s += "?" + t.query
		}
	}
	r.RequestURI = s
}

// isPublic reports whether u is already t's public form.
func (l *Layout) isPublic(u *url.URL, t *target) bool {
	return u.RawPath == "" && t.query == u.RawQuery && l.isPublicPath(u.Path, t)
}

// isPublicPath reports whether p is already t's public path.
func (l *Layout) isPublicPath(p string, t *target) bool {
	n := len(t.inner) + len(l.Prefix)
	return len(p) == n+len(t.video)+len(t.asset) && p[:len(t.inner)] == t.inner &&
		p[n:n+len(t.video)] == t.video && p[n+len(t.video):] == t.asset
}

// carriesCredential reports whether a URL (a Referer) may hold a token or
// a session token: a token segment, or a token or session parameter.
func (l *Layout) carriesCredential(u string) bool {
	return u != "" && (strings.Contains(u, "/"+l.TokenSegment+"/") ||
		strings.Contains(u, l.TokenParam+"=") || strings.Contains(u, l.SessionParam+"="))
}

// pageVideo reports whether p is a player page's public path, /vod/{id}, and
// returns the video ID.
func (l *Layout) pageVideo(p string) (string, bool) {
	if len(p) <= len(l.Prefix) || p[:len(l.Prefix)] != l.Prefix {
		return "", false
	}
	id := p[len(l.Prefix):]
	return id, ValidVideoID(id)
}
