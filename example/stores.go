package main

import (
	"context"
	"fmt"

	"github.com/privatevideo/privatevideo/store"
)

// openedStore is the token store of a run and how to release it.
type openedStore struct {
	store.Store
	close func() error
}

// openStore opens the store of spec. A URL its driver refuses is a
// usageError. A shared store that does not answer yet is not an error: the
// server starts, /healthz says 503, and service begins when the store does.
func openStore(_ context.Context, spec storeSpec) (openedStore, error) {
	switch spec.kind {
	case "memory":
		return openedStore{Store: store.NewMemory(store.DefaultMemoryCapacity), close: func() error { return nil }}, nil
	case "redis", "postgres":
		return openedStore{}, &usageError{fmt.Errorf("-store: the %s store is not available yet in this version of the edge server; use -store memory", spec.kind)}
	}
	return openedStore{}, &usageError{fmt.Errorf("-store: unknown store %q", spec.kind)}
}
