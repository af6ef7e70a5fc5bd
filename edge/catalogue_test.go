package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/store"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestCatalogueOpenCreatesOnMentionOnly(t *testing.T) {
	ctx := context.Background()
	c := NewOpenCatalogue(store.NewMemoryVideos(), time.Second, quietLog())
	if c.IsPublic(ctx, "intro") {
		t.Fatal("an unknown video is public")
	}
	if l, err := c.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("the visibility hook created an entry (viewers could grow the catalogue): %+v, %v", l, err)
	}
	if _, err := c.Mention(ctx, "bad/id"); !errors.Is(err, ErrNoVideo) {
		t.Fatalf("a malformed ID: %v", err)
	}
	v, err := c.Mention(ctx, "intro")
	if err != nil || v != (Video{ID: "intro", Title: "intro"}) {
		t.Fatalf("mention = %+v, %v", v, err)
	}
	if v, err := c.SetPublic(ctx, "intro", true); err != nil || !v.Public || !c.IsPublic(ctx, "intro") {
		t.Fatalf("setPublic = %+v, %v", v, err)
	}
	// A PATCH of a new ID creates it; untitled entries show their ID.
	if v, err := c.SetPublic(ctx, "outro", true); err != nil || v != (Video{ID: "outro", Title: "outro", Public: true}) {
		t.Fatalf("setPublic on a new ID = %+v, %v", v, err)
	}
	if l, err := c.List(ctx); err != nil || len(l) != 2 || l[0].ID != "intro" || l[1] != (Video{ID: "outro", Title: "outro", Public: true}) {
		t.Fatalf("list = %+v, %v", l, err)
	}
}

// A closed catalogue keeps its built-in titles and its own videos; only
// their visibility is in the store, and other entries of a shared store are
// not its own.
func TestCatalogueClosed(t *testing.T) {
	ctx := context.Background()
	vs := store.NewMemoryVideos()
	vs.SetPublic(ctx, "someone-elses", true)
	c := NewClosedCatalogue(vs, time.Second, quietLog(), Video{ID: "demo", Title: "Demo"}, Video{ID: "short", Title: "Short"})
	if _, err := c.Mention(ctx, "other"); !errors.Is(err, ErrNoVideo) {
		t.Fatalf("a closed catalogue mentioned an unknown video: %v", err)
	}
	if _, err := c.SetPublic(ctx, "other", true); !errors.Is(err, ErrNoVideo) {
		t.Fatalf("a closed catalogue changed an unknown video: %v", err)
	}
	if c.IsPublic(ctx, "someone-elses") {
		t.Fatal("a video outside the closed catalogue is public")
	}
	if v, err := c.SetPublic(ctx, "demo", true); err != nil || v != (Video{ID: "demo", Title: "Demo", Public: true}) {
		t.Fatalf("setPublic(demo) = %+v, %v", v, err)
	}
	if pub, _ := vs.Public(ctx, "demo"); !pub || !c.IsPublic(ctx, "demo") {
		t.Fatal("the visibility did not reach the store")
	}
	if v, err := c.Mention(ctx, "short"); err != nil || v != (Video{ID: "short", Title: "Short"}) {
		t.Fatalf("mention(short) = %+v, %v", v, err)
	}
	l, err := c.List(ctx)
	if err != nil || len(l) != 2 || l[0] != (Video{ID: "demo", Title: "Demo", Public: true}) || l[1] != (Video{ID: "short", Title: "Short"}) {
		t.Fatalf("list = %+v, %v", l, err)
	}
}

// The catalogue is read by every media request while the API writes it.
func TestCatalogueConcurrent(t *testing.T) {
	ctx := context.Background()
	c := NewOpenCatalogue(store.NewMemoryVideos(), time.Second, quietLog())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				id := fmt.Sprintf("v%d", j%10)
				c.Mention(ctx, id)
				c.SetPublic(ctx, id, (i+j)%2 == 0)
				c.IsPublic(ctx, id)
				c.List(ctx)
			}
		})
	}
	wg.Wait()
	if l, err := c.List(ctx); err != nil || len(l) != 10 {
		t.Fatalf("%d videos (%v), want 10", len(l), err)
	}
}

// brokenVideos is a video state store that can fail or hang, and counts the
// lookups that reach it.
type brokenVideos struct {
	store.Videos
	mode    atomic.Int32 // 0 works, 1 fails at once, 2 hangs until the context ends
	lookups atomic.Int64
}

func (b *brokenVideos) Public(ctx context.Context, id string) (bool, error) {
	b.lookups.Add(1)
	switch b.mode.Load() {
	case 1:
		return false, errors.New("connection refused")
	case 2:
		<-ctx.Done()
		return false, ctx.Err()
	}
	return b.Videos.Public(ctx, id)
}

// A public video is private while its store fails or hangs; once it is
// known down, requests answer at once without a store call while one
// goroutine probes it; when the store is back the video is public again
// within the retry interval.
func TestCatalogueFailsClosed(t *testing.T) {
	t.Parallel()
	for _, mode := range []int32{1, 2} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			ctx := context.Background()
			bv := &brokenVideos{Videos: store.NewMemoryVideos()}
			c := NewOpenCatalogue(bv, 100*time.Millisecond, quietLog())
			c.retry = 200 * time.Millisecond
			defer c.Close()
			var closed atomic.Int64
			c.OnFailClosed(func() { closed.Add(1) })
			if _, err := c.SetPublic(ctx, "v", true); err != nil {
				t.Fatal(err)
			}
			if !c.IsPublic(ctx, "v") {
				t.Fatal("a public video is private while the store works")
			}
			bv.mode.Store(mode)
			start := time.Now()
			if c.IsPublic(ctx, "v") {
				t.Fatal("a public video stayed public with its store failing")
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the first failed lookup took %s, past its 100ms timeout", d)
			}
			// Down now: 200 concurrent requests, none waits for the store,
			// none reaches it (the prober may, once).
			before := bv.lookups.Load()
			start = time.Now()
			var wg sync.WaitGroup
			var public atomic.Int64
			for range 200 {
				wg.Go(func() {
					if c.IsPublic(ctx, "v") {
						public.Add(1)
					}
				})
			}
			wg.Wait()
			if public.Load() != 0 {
				t.Fatalf("%d requests saw a public video while the store was down", public.Load())
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("200 requests took %s while the store was down: they waited for it", d)
			}
			if n := bv.lookups.Load() - before; n > 1 {
				t.Errorf("%d lookups reached a down store, want at most the prober's 1", n)
			}
			if closed.Load() < 201 {
				t.Errorf("fail-closed counter %d, want at least 201", closed.Load())
			}
			bv.mode.Store(0)
			// While it stays down the prober asks once per retry, no more.
			before = bv.lookups.Load()
			time.Sleep(5 * c.retry)
			if n := bv.lookups.Load() - before; n < 1 || n > 5 {
				t.Errorf("%d probes of a down store in 5 retry intervals, want 1 to 5", n)
			}
			deadline := time.Now().Add(c.retry + 2*time.Second)
			for !c.IsPublic(ctx, "v") {
				if time.Now().After(deadline) {
					t.Fatal("the video stayed private after the store came back")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// A viewer that hangs up during the lookup says nothing about the store: it
// stays up.
func TestCatalogueClientGoneKeepsStoreUp(t *testing.T) {
	bv := &brokenVideos{Videos: store.NewMemoryVideos()}
	c := NewOpenCatalogue(bv, time.Second, quietLog())
	c.SetPublic(context.Background(), "v", true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.IsPublic(ctx, "v")
	if c.down.Load() {
		t.Fatal("a cancelled request took the store down")
	}
	if !c.IsPublic(context.Background(), "v") {
		t.Fatal("the next request does not see the public video")
	}
}

// BenchmarkVisibilityMemory is what the hook costs every media request with
// -store memory; see the redisstore and pgstore BenchmarkVideoPublic for the
// shared stores.
func BenchmarkVisibilityMemory(b *testing.B) {
	c := NewOpenCatalogue(store.NewMemoryVideos(), 0, quietLog()) // as the server builds it for -store memory
	c.SetPublic(context.Background(), "v", true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.IsPublic(ctx, "v")
	}
}
