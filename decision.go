package privatevideo

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Decision is one allow or deny, given to the decision hook and the logger.
type Decision struct {
	Allowed bool
	// Reason is why: for a denial the Denial's reason ("token-used", …); for
	// an allow how it passed: "public", "preflight", "session" (a valid
	// session), "session-unchecked" (a valid session whose revocation check
	// failed under KeepPlaying), "player-page" (a shell, token not redeemed),
	// "redeemed", "grace" (the redeemer's re-entry) or "redirect" (a query
	// token moved into the path).
	Reason  string
	VideoID string        // empty when the request was too malformed to tell
	Token   string        // redacted (see RedactToken), or empty
	Latency time.Duration // the middleware's own time, not the handler's
	Err     error         // the error given to the error handler, for denials
}

// How requests are allowed: the Reason of allowing Decisions.
const (
	allowPublic    = "public"
	allowPreflight = "preflight"
	allowSession   = "session"
	allowUnchecked = "session-unchecked"
	allowPage      = "player-page"
	allowRedeemed  = "redeemed"
	allowGrace     = "grace"
	allowRedirect  = "redirect"
)

// decided reports a decision to the hook and the logger, when there are any.
func (m *Middleware) decided(r *http.Request, t *target, start time.Time, how string, err error) {
	if m.onDecision == nil && m.logger == nil {
		return
	}
	d := Decision{Allowed: err == nil, Reason: how, VideoID: t.video, Latency: time.Since(start), Err: err}
	if t.token != "" {
		d.Token = RedactToken(t.token)
	}
	if err != nil {
		d.Reason = ErrStoreUnavailable.reason
		if den := DenialOf(err); den != nil {
			d.Reason = den.reason
		}
	}
	if m.onDecision != nil {
		m.onDecision(d)
	}
	if m.logger != nil {
		m.log(r.Context(), d)
	}
}

func (m *Middleware) log(ctx context.Context, d Decision) {
	level := slog.LevelDebug
	switch {
	case d.Reason == ErrStoreUnavailable.reason:
		level = slog.LevelWarn
	case !d.Allowed:
		level = slog.LevelInfo
	}
	if !m.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Bool("allowed", d.Allowed),
		slog.String("reason", d.Reason),
		slog.String("video", d.VideoID),
		slog.String("token", d.Token),
		slog.Duration("latency", d.Latency),
	}
	if d.Err != nil && d.Reason == ErrStoreUnavailable.reason {
		// The cause of a store failure is for operators. The store's text
		// may quote a key, and so a token: redacted.
		attrs = append(attrs, slog.String("cause", redactTokens(d.Err.Error())))
	}
	m.logger.LogAttrs(ctx, level, "privatevideo decision", attrs...)
}
