package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/storetest"
	"github.com/redis/go-redis/v9"
)

func TestVideosConformance(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	storetest.RunVideos(t, func(t *testing.T) store.Videos { return newStore(t, c).Videos() })
}

// Two Videos on one prefix are one catalogue, as two replicas are; another
// prefix is another.
func TestVideosShared(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	st := newStore(t, c)
	a, b, other := st.Videos(), st.Videos(), newStore(t, c).Videos()
	ctx := context.Background()
	if _, err := a.Create(ctx, "v1", "One"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetPublic(ctx, "v1", true); err != nil {
		t.Fatal(err)
	}
	if pub, err := b.Public(ctx, "v1"); err != nil || !pub {
		t.Fatalf("Public on the second: %t, %v", pub, err)
	}
	if l, err := b.List(ctx); err != nil || len(l) != 1 || l[0] != (store.Video{ID: "v1", Title: "One", Public: true}) {
		t.Fatalf("List on the second: %+v, %v", l, err)
	}
	if pub, err := other.Public(ctx, "v1"); err != nil || pub {
		t.Fatalf("Public under another prefix: %t, %v", pub, err)
	}
	// Video records do not disturb token records under the same prefix.
	tok := storetest.NewToken()
	if err := st.Issue(ctx, tok, "v1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.Lookup(ctx, tok, time.Now()); err != nil || rec.VideoID != "v1" {
		t.Fatalf("token beside the videos: %+v, %v", rec, err)
	}
}

// The suite on a Redis Cluster of three masters: every command of a Videos
// touches one key, and the video hashes spread over the masters.
func TestVideosCluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts three redis-servers")
	}
	var addrs []string
	for range 3 {
		srv := startRedisWith(t, "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
		addrs = append(addrs, srv.addr())
	}
	create := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		waitClusterOK(t, addr)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	var prefixes []string
	storetest.RunVideos(t, func(t *testing.T) store.Videos {
		st := newStore(t, c)
		prefixes = append(prefixes, st.Prefix())
		return st.Videos()
	})

	// Many videos under one prefix land on every master.
	st := newStore(t, c)
	vs := st.Videos()
	for i := range 60 {
		if _, err := vs.SetPublic(context.Background(), fmt.Sprintf("video-%d", i), i%2 == 0); err != nil {
			t.Fatalf("SetPublic: %v", err)
		}
	}
	if l, err := vs.List(context.Background()); err != nil || len(l) != 60 {
		t.Fatalf("List on the cluster: %d videos, %v", len(l), err)
	}
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
		keys, _, err := node.Scan(ctx, 0, st.Prefix()+"video:*", 100).Result()
		if err == nil && len(keys) == 0 {
			t.Errorf("master %s holds no video", node.Options().Addr)
		}
		return err
	})
	if err != nil {
		t.Fatalf("scanning the masters: %v", err)
	}
}

// BenchmarkVideoPublic is the cost the edge server adds to every media
// request on Redis: one Public lookup, beside the token store's Lookup (one
// HMGET) through the same client.
func BenchmarkVideoPublic(b *testing.B) {
	c := testClient(b)
	st := newStore(b, c)
	vs := st.Videos()
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("video-%d", i)
		if _, err := vs.SetPublic(context.Background(), ids[i], i%2 == 0); err != nil {
			b.Fatal(err)
		}
	}
	live := storetest.Prefill(b, st, 1000)
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("op=video-public/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "lookups/s", func(ctx context.Context) error {
				_, err := vs.Public(ctx, ids[rand.IntN(len(ids))])
				return err
			})
		})
		b.Run(fmt.Sprintf("op=token-lookup/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "lookups/s", func(ctx context.Context) error {
				_, err := st.Lookup(ctx, live[rand.IntN(len(live))], time.Now())
				return err
			})
		})
	}
}
