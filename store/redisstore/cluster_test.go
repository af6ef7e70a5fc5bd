package redisstore_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
	"github.com/privatevideo/privatevideo/store/storetest"
	"github.com/redis/go-redis/v9"
)

// The store on a Redis Cluster of three masters, started by the test: every
// operation touches one key, so the cluster needs nothing more, and the
// records spread over the masters.
func TestCluster(t *testing.T) {
	t.Parallel()
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
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true, PoolSize: 32})
	t.Cleanup(func() { c.Close() })
	st := newStore(t, c)
	storetest.Run(t, func(*testing.T) store.Store { return st })

	// The suite's records landed on every master.
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
		keys, _, err := node.Scan(ctx, 0, st.Prefix()+"*", 10).Result()
		if err == nil && len(keys) == 0 {
			t.Errorf("master %s holds no record", node.Options().Addr)
		}
		return err
	})
	if err != nil {
		t.Fatalf("scanning the masters: %v", err)
	}
}

// waitClusterOK waits until the node at addr sees every slot served.
func waitClusterOK(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := c.ClusterInfo(context.Background()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster node %s not ready: %v %q", addr, err, info)
		}
	}
}
