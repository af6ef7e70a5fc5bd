package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/privatevideo/privatevideo/store/storetest"
)

// BenchmarkRedeem measures redemptions per second at 1 and 32 concurrent
// clients, beside a plain SELECT 1 through the same pool: the round trip
// that a redemption cannot beat.
func BenchmarkRedeem(b *testing.B) {
	pool := testPool(b)
	st := newStore(b, pool)
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("op=redeem/clients=%d", clients), func(b *testing.B) {
			storetest.BenchmarkRedeemClients(b, st, clients)
		})
		b.Run(fmt.Sprintf("op=select1/clients=%d", clients), func(b *testing.B) {
			storetest.RunClients(b, clients, "round-trips/s", func(ctx context.Context) error {
				var one int
				return pool.QueryRow(ctx, "SELECT 1").Scan(&one)
			})
		})
	}
}
