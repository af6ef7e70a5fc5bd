package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/privatevideo/privatevideo"
	pvedge "github.com/privatevideo/privatevideo/edge"
)

// newLogger returns the server's logger: text or JSON lines on w.
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// decisionLogger is the middleware's decision hook: one line per allowed or
// denied request. The Decision's token is already redacted, and it carries
// no URL, so nothing secret reaches the log.
func decisionLogger(log *slog.Logger) func(privatevideo.Decision) {
	unavailable := privatevideo.ErrStoreUnavailable.Reason()
	return func(d privatevideo.Decision) {
		level := slog.LevelInfo
		attrs := []slog.Attr{
			slog.Bool("allowed", d.Allowed),
			slog.String("reason", d.Reason),
			slog.String("video", d.VideoID),
			slog.String("token", d.Token),
			slog.Duration("latency", d.Latency.Round(time.Microsecond)),
		}
		if d.Reason == unavailable {
			level = slog.LevelWarn
			if d.Err != nil {
				attrs = append(attrs, slog.String("cause", scrub(d.Err.Error())))
			}
		}
		log.LogAttrs(context.Background(), level, "decision", attrs...)
	}
}

// scrub redacts token-shaped strings from an error message before it is
// logged (see pvedge.Scrub).
func scrub(msg string) string { return pvedge.Scrub(msg) }

// libraryDecisionMsg is the message of the decision lines that the library
// writes to its WithLogger logger.
const libraryDecisionMsg = "privatevideo decision"

// libraryLogger is log as the middleware's WithLogger gets it: its warnings
// pass, its decision lines do not, since decisionLogger writes each decision
// already (allows included, causes scrubbed). Without a logger the library
// would warn through slog.Default, in text on stderr, whatever -log-format
// says.
func libraryLogger(log *slog.Logger) *slog.Logger {
	return slog.New(withoutDecisions{log.Handler()})
}

// withoutDecisions drops the library's decision records.
type withoutDecisions struct{ slog.Handler }

func (h withoutDecisions) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == libraryDecisionMsg {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h withoutDecisions) WithAttrs(attrs []slog.Attr) slog.Handler {
	return withoutDecisions{h.Handler.WithAttrs(attrs)}
}

func (h withoutDecisions) WithGroup(name string) slog.Handler {
	return withoutDecisions{h.Handler.WithGroup(name)}
}
