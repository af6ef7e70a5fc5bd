package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store/storetest"
)

// BenchmarkRedeem measures redemptions and lookups per second at 1 and 32
// concurrent clients, beside a plain SET of a record-sized value through the
// same client: the round trip that neither can beat.
func BenchmarkRedeem(b *testing.B) {
	c := testClient(b)
	st := newStore(b, c)
	value := "v\x00bench\x00s\x001\x00e\x001700000000000" // about a record's size
	live := storetest.Prefill(b, st, 1000)
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("op=redeem/clients=%d", clients), func(b *testing.B) {
			storetest.BenchmarkRedeemClients(b, st, clients)
		})
		// A failed first request: its redemption and the release.
		b.Run(fmt.Sprintf("op=redeem+release/clients=%d", clients), func(b *testing.B) {
			storetest.BenchmarkRedeemReleaseClients(b, st, clients)
		})
		// The store call that WithRevocationCheck adds to every request.
		b.Run(fmt.Sprintf("op=lookup/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "lookups/s", func(ctx context.Context) error {
				_, err := st.Lookup(ctx, live[rand.IntN(len(live))], time.Now())
				return err
			})
		})
		b.Run(fmt.Sprintf("op=set/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "round-trips/s", func(ctx context.Context) error {
				return c.Set(ctx, st.Prefix()+storetest.NewToken(), value, time.Minute).Err()
			})
		})
	}
}
