package pgstore_test

import (
	"context"
	"crypto/rand"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store/pgstore"
)

// A replica of a fleet sharing one PostgreSQL database.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	st, err := pgstore.New(pool)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	go st.SweepEvery(ctx, 10*time.Minute, func(err error) { log.Print(err) })

	key := privatevideo.Key{Hash: make([]byte, 32)} // the same keys on every replica
	rand.Read(key.Hash)
	pv, err := privatevideo.New([]privatevideo.Key{key}, privatevideo.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	_ = pv // http.Handle("/vod/", pv.Handler(media))
}
