// Package e2e holds end-to-end tests that drive a real browser (headless
// Chromium, through chromedp) against the library's player page: it plays
// the fixture's HLS through the vendored hls.js (asserted on the requests the
// server got: renditions, keys and segments fetched by script, never the
// MP4), switches rendition, seeks, reloads, is refused in another browser or
// tab, plays embedded in another site, and falls back without MSE or without
// a library it can trust. Asked for DASH, it plays the fixture's MPD through
// the vendored Shaka Player, in both modes (dash_test.go).
// TestPlayerWeight, TestPlayerTimeToFirstFrame and
// TestPlayerDASHWeightAndFirstFrame report the page's weight and its time to
// first frame (go test -v).
//
// Players nobody here wrote (hls.js, Shaka Player, video.js, dash.js, and
// api.video's private-video-session, vendored in testdata/players by
// scripts/vendor-players.sh) play private links from a page of another
// loopback origin listed by WithCORS, or by the edge server's
// -cors-origins, with and without credentials; an unlisted origin spends
// no link (players_test.go, apivideo_test.go, edge_test.go).
//
// It is a module of its own so that the core never requires chromedp. The
// tests need /usr/bin/chromium (Debian's chromium package); .ci/run installs
// it. They skip without it, unless PRIVATEVIDEO_REQUIRE_TOOLS is set, as CI
// does.
package e2e
