package store_test

import (
	"testing"

	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/storetest"
)

func TestMemoryVideos(t *testing.T) {
	storetest.RunVideos(t, func(*testing.T) store.Videos { return store.NewMemoryVideos() })
}
