package main

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// video is one entry of the catalogue.
type video struct {
	ID     string
	Title  string
	Public bool
}

// errNoVideo is the answer for a video the catalogue does not hold.
var errNoVideo = errors.New("no such video")

// catalogue is the set of videos the API knows and their visibility, which
// the middleware's visibility hook reads on every media request. The state
// lives in a store.Videos: the shared store of a fleet (Redis, PostgreSQL),
// so that every replica answers the same from the next request on, or this
// process's memory with -store memory.
//
// A closed catalogue (demo mode) holds a fixed set of videos whose titles
// are built in; only their visibility is in the store. An open one (proxy
// mode) holds whatever the origin serves, which this server cannot list: a
// valid video ID becomes an entry in the store, private, titled by its ID,
// the first time the API mentions it. Media requests never create entries,
// so viewers cannot grow it.
//
// When the store fails or does not answer in time, a video is private: the
// hook answers false, never true (see isPublic).
type catalogue struct {
	state   store.Videos
	titles  map[string]string // closed: the demo videos and their titles; nil when open
	timeout time.Duration     // bound on each store call; 0 for a store that never blocks (memory)
	log     *slog.Logger
	// down says that the last lookup failed: lookups answer private without
	// a store call until recover sees the store answer.
	down      atomic.Bool
	retry     time.Duration // how often recover asks; 0: downRetry
	done      chan struct{} // closed by close
	closeOnce sync.Once
	// failedClosed counts media requests answered private because the
	// store failed or was skipped while down, for metrics; may be nil.
	failedClosed func()
}

// newClosedCatalogue returns a catalogue of exactly videos, their
// visibility in state.
func newClosedCatalogue(state store.Videos, timeout time.Duration, log *slog.Logger, videos ...video) *catalogue {
	c := &catalogue{state: state, timeout: timeout, log: log, titles: make(map[string]string, len(videos)), done: make(chan struct{})}
	for _, v := range videos {
		c.titles[v.ID] = v.Title
	}
	return c
}

// newOpenCatalogue returns a catalogue in which every valid video ID exists
// once mentioned, kept in state.
func newOpenCatalogue(state store.Videos, timeout time.Duration, log *slog.Logger) *catalogue {
	return &catalogue{state: state, timeout: timeout, log: log, done: make(chan struct{})}
}

func (c *catalogue) open() bool { return c.titles == nil }

// entry is v as the API shows it: a closed catalogue's built-in title, an
// untitled entry titled by its ID.
func (c *catalogue) entry(v store.Video) video {
	title := v.Title
	if !c.open() {
		title = c.titles[v.ID]
	}
	if title == "" {
		title = v.ID
	}
	return video{ID: v.ID, Title: title, Public: v.Public}
}

// mention returns the video id, creating it (private, titled by its ID) in
// an open catalogue. It answers errNoVideo for an unknown video of a closed
// catalogue and for a malformed ID, and the store's error when it fails.
func (c *catalogue) mention(ctx context.Context, id string) (video, error) {
	if !privatevideo.ValidVideoID(id) {
		return video{}, errNoVideo
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if c.open() {
		v, err := c.state.Create(ctx, id, id)
		if err != nil {
			return video{}, err
		}
		return c.entry(v), nil
	}
	if _, ok := c.titles[id]; !ok {
		return video{}, errNoVideo
	}
	public, err := c.state.Public(ctx, id)
	if err != nil {
		return video{}, err
	}
	return c.entry(store.Video{ID: id, Public: public}), nil
}

// setPublic changes a video's visibility, for every replica that shares the
// store, and returns the video as it now is. In an open catalogue it
// creates the video when it is new.
func (c *catalogue) setPublic(ctx context.Context, id string, public bool) (video, error) {
	if !privatevideo.ValidVideoID(id) {
		return video{}, errNoVideo
	}
	if _, ok := c.titles[id]; !c.open() && !ok {
		return video{}, errNoVideo
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	v, err := c.state.SetPublic(ctx, id, public)
	if err != nil {
		return video{}, err
	}
	return c.entry(v), nil
}

// list returns every video, by ID: a closed catalogue's own, with their
// visibility from the store (entries of other videos the store may hold
// are not this catalogue's), or every entry of an open one.
func (c *catalogue) list(ctx context.Context) ([]video, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	stored, err := c.state.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []video
	if c.open() {
		out = make([]video, 0, len(stored))
		for _, v := range stored {
			out = append(out, c.entry(v))
		}
		return out, nil
	}
	public := make(map[string]bool, len(stored))
	for _, v := range stored {
		public[v.ID] = v.Public
	}
	out = make([]video, 0, len(c.titles))
	for id := range c.titles {
		out = append(out, c.entry(store.Video{ID: id, Public: public[id]}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// isPublic is the middleware's visibility hook, read on every media
// request: one store lookup, no cache, so that a PATCH on any replica holds
// on this one from the next request on. Unknown videos are private, and so
// is every video when the lookup fails or does not answer within the
// timeout: a store that is down never makes a video public.
//
// The first failed lookup takes the store down: from then on media
// requests are answered private at once, without a store call, and one
// goroutine asks the store every downRetry until it answers; then lookups
// resume. No viewer waits for a store that is known to be down.
func (c *catalogue) isPublic(ctx context.Context, id string) bool {
	if _, ok := c.titles[id]; !c.open() && !ok {
		return false // not ours: no store call
	}
	if c.down.Load() {
		c.closed()
		return false
	}
	lctx, cancel := c.bound(ctx)
	public, err := c.state.Public(lctx, id)
	cancel()
	if err == nil {
		return public
	}
	c.closed()
	if ctx.Err() != nil {
		return false // the viewer went away: that says nothing about the store
	}
	if c.down.CompareAndSwap(false, true) {
		c.log.LogAttrs(ctx, slog.LevelWarn, "video state store unavailable: every video answers as private until it is back",
			slog.String("cause", scrub(err.Error())))
		go c.recover(id)
	}
	return false
}

// downRetry is how often a store that is down is asked again.
const downRetry = time.Second

// recover asks the store whether it is back, every retry, until it answers
// or the catalogue is closed, and then lets lookups resume.
func (c *catalogue) recover(id string) {
	retry := c.retry
	if retry <= 0 {
		retry = downRetry
	}
	tick := time.NewTicker(retry)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		ctx, cancel := c.bound(context.Background())
		_, err := c.state.Public(ctx, id)
		cancel()
		if err == nil {
			c.down.Store(false)
			c.log.LogAttrs(context.Background(), slog.LevelInfo, "video state store answers again: visibility as set")
			return
		}
	}
}

// close stops the recovery of a store that is down.
func (c *catalogue) close() { c.closeOnce.Do(func() { close(c.done) }) }

// bound gives ctx the store timeout, when there is one: a deadline costs a
// timer, more than a memory lookup.
func (c *catalogue) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

func (c *catalogue) closed() {
	if c.failedClosed != nil {
		c.failedClosed()
	}
}
