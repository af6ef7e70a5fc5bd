package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// healthHandler answers 200 when the store answers and 503 when it fails or
// does not answer within timeout. The probe is a lookup of a fresh random
// token: a working store reports it unknown, and the probe writes nothing.
func healthHandler(st store.Store, timeout time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		_, err := st.Lookup(ctx, privatevideo.NewToken(), time.Now())
		if err != nil && !errors.Is(err, store.ErrUnknown) {
			log.LogAttrs(r.Context(), slog.LevelWarn, "health check: store unavailable", slog.String("cause", scrub(err.Error())))
			probStoreUnavailable.write(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
