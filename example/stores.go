package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	pvedge "github.com/privatevideo/privatevideo/edge"
	"github.com/privatevideo/privatevideo/store"
)

// openedStore is the token store of a run, the video state beside it and
// how to release them.
type openedStore struct {
	store.Store
	videos store.Videos // visibility and the catalogue of the API
	close  func() error
}

// openStore opens the store of spec (see pvedge.OpenStores). A URL its driver
// refuses is a usageError. A shared store that does not answer yet is not
// an error: the server starts, says so in the log, /healthz answers 503 and
// links are refused with 503 store-unavailable until the store answers.
func openStore(ctx context.Context, spec storeSpec, timeout time.Duration, log *slog.Logger) (openedStore, error) {
	st, err := pvedge.OpenStores(ctx, spec, timeout, log)
	if err != nil {
		return openedStore{}, &usageError{fmt.Errorf("-store: %w", err)}
	}
	return openedStore{Store: st.Tokens, videos: st.Videos, close: st.Close}, nil
}
