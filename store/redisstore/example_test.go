package redisstore_test

import (
	"crypto/rand"
	"log"
	"net/http"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// A replica of a fleet sharing one Redis.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // the middleware's store timeout bounds every call
	})
	defer rdb.Close()
	st, err := redisstore.New(rdb, redisstore.WithPrefix("myapp:pv:"))
	if err != nil {
		log.Fatal(err)
	}
	key := privatevideo.Key{Hash: make([]byte, 32)} // the same keys on every replica
	rand.Read(key.Hash)
	pv, err := privatevideo.New([]privatevideo.Key{key}, privatevideo.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/vod/", pv.Handler(http.FileServer(http.Dir("media"))))
}

// A store from a URL, such as a -store flag's.
func ExampleOpen() {
	st, err := redisstore.Open("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	_ = st // privatevideo.WithStore(st)
}
