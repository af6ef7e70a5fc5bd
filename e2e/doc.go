// Package e2e holds end-to-end tests that drive a real browser (headless
// Chromium, through chromedp) against the library's player page. It is a
// module of its own so that the core never requires chromedp.
//
// The tests need /usr/bin/chromium (Debian's chromium package); .ci/run
// installs it. They skip without it, unless PRIVATEVIDEO_REQUIRE_TOOLS is
// set, as CI does.
package e2e
