//go:build unix

package main

import (
	"net/http"
	"testing"
)

// The README's Redis persistence recipe, checked: with the append-only file
// (appendfsync always or everysec) a redis-server killed with SIGKILL and
// restarted keeps every redemption it acknowledged, so a redeemed link stays
// spent and an unredeemed one still plays. Without persistence the restart
// loses both: the redeemed link is refused as unknown (never replayed), and
// the unredeemed one is lost. (What everysec loses on a machine crash, up to
// about a second of writes, no test here can show: a killed process loses
// nothing that Redis wrote to the kernel before it answered.)
func TestRedisRestart(t *testing.T) {
	for _, c := range []struct {
		name       string
		args       []string
		redeemed   string // the answer to another browser for the link redeemed before the restart
		unredeemed int    // the status of the link issued but not redeemed before it
	}{
		{"appendfsync always", []string{"--appendonly", "yes", "--appendfsync", "always"}, "token-used", http.StatusOK},
		{"appendfsync everysec", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, "token-used", http.StatusOK},
		{"no persistence", []string{"--appendonly", "no"}, "token-unknown", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startRedis(t, c.args...)
			e := startEdge(t, nil, "-store", srv.url(), "-hash-key", hashHex)
			spent, kept := e.video("demo"), e.video("demo")
			one := viewer(t, "first-browser/1.0")
			resp, body := get(t, one, spent.Assets.HLS)
			wantStatus(t, "the first redemption", resp, body, http.StatusOK)

			srv.kill()
			srv.start()

			resp, body = get(t, viewer(t, "second-browser/1.0"), spent.Assets.HLS)
			wantProblem(t, "the redeemed link after the restart", resp, body, http.StatusForbidden, c.redeemed)
			resp, body = get(t, viewer(t, "third-browser/1.0"), kept.Assets.HLS)
			wantStatus(t, "the unredeemed link after the restart", resp, body, c.unredeemed)
			// Sessions need no store: the first browser plays on.
			resp, body = get(t, one, spent.Assets.MP4, "Range", "bytes=0-9")
			wantStatus(t, "the first browser's session after the restart", resp, body, http.StatusPartialContent)
		})
	}
}
