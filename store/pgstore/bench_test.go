package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store/storetest"
)

// BenchmarkRedeem measures redemptions and lookups per second at 1 and 32
// concurrent clients, beside a plain SELECT 1 through the same pool: the
// round trip that neither can beat. It runs with the server's
// synchronous_commit (on by default), so a redemption includes its WAL
// flush, as in production.
func BenchmarkRedeem(b *testing.B) {
	pool := testPool(b)
	st := newStore(b, pool)
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
		b.Run(fmt.Sprintf("op=select1/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "round-trips/s", func(ctx context.Context) error {
				var one int
				return pool.QueryRow(ctx, "SELECT 1").Scan(&one)
			})
		})
	}
}
