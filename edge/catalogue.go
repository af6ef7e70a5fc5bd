package edge

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

// Video is one entry of the catalogue.
type Video struct {
	ID     string
	Title  string
	Public bool
}

// ErrNoVideo is the answer for a video the catalogue does not hold (or a
// malformed video ID).
var ErrNoVideo = errors.New("edge: no such video")

// ErrPinned is SetPublic's answer for making private a video that the
// configuration makes public (see Catalogue.Pin).
var ErrPinned = errors.New("edge: the video is public by configuration")

// Catalogue is the set of videos the API knows and their visibility, which
// the middleware's visibility hook (IsPublic) reads on every media request.
// The state lives in a store.Videos: the shared store of a fleet (Redis,
// PostgreSQL), so that every replica answers the same from the next request
// on, or this process's memory with a memory store.
//
// A closed catalogue (the edge server's demo mode) holds a fixed set of
// videos whose titles are built in; only their visibility is in the store.
// An open one (a proxy, a file server) holds whatever the media handler
// serves, which cannot be listed: a valid video ID becomes an entry in the
// store, private, titled by its ID, the first time the API mentions it.
// Media requests never create entries, so viewers cannot grow it.
//
// When the store fails or does not answer in time, a video is private: the
// hook answers false, never true (see IsPublic).
//
// Its methods are safe for concurrent use once it is set up: call Pin and
// OnFailClosed, if at all, before anything else.
type Catalogue struct {
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
	// pinned are the videos public by configuration, whatever the store says.
	pinned map[string]bool
}

// NewClosedCatalogue returns a catalogue of exactly videos, their
// visibility in state (their Public fields are not read). timeout bounds
// each store call; 0 sets no deadline, for a store that never blocks
// (memory). log receives the store's outages.
func NewClosedCatalogue(state store.Videos, timeout time.Duration, log *slog.Logger, videos ...Video) *Catalogue {
	c := &Catalogue{state: state, timeout: timeout, log: log, titles: make(map[string]string, len(videos)), done: make(chan struct{})}
	for _, v := range videos {
		c.titles[v.ID] = v.Title
	}
	return c
}

// NewOpenCatalogue returns a catalogue in which every valid video ID exists
// once mentioned, kept in state; timeout and log as for NewClosedCatalogue.
func NewOpenCatalogue(state store.Videos, timeout time.Duration, log *slog.Logger) *Catalogue {
	return &Catalogue{state: state, timeout: timeout, log: log, done: make(chan struct{})}
}

// Pin makes ids public by configuration: IsPublic answers true for them
// without a store call, the API shows them public, and SetPublic refuses to
// make them private (ErrPinned). A closed catalogue pins only its own
// videos. Call it before the catalogue is used.
func (c *Catalogue) Pin(ids ...string) {
	if c.pinned == nil {
		c.pinned = make(map[string]bool, len(ids))
	}
	for _, id := range ids {
		c.pinned[id] = true
	}
}

// OnFailClosed sets f to be called for each media request answered private
// because the store failed or was known to be down (a metrics counter).
// Call it before the catalogue is used.
func (c *Catalogue) OnFailClosed(f func()) { c.failedClosed = f }

func (c *Catalogue) open() bool { return c.titles == nil }

// entry is v as the API shows it: a closed catalogue's built-in title, an
// untitled entry titled by its ID.
func (c *Catalogue) entry(v store.Video) Video {
	title := v.Title
	if !c.open() {
		title = c.titles[v.ID]
	}
	if title == "" {
		title = v.ID
	}
	return Video{ID: v.ID, Title: title, Public: v.Public || c.pinned[v.ID]}
}

// Mention returns the video id, creating it (private, titled by its ID) in
// an open catalogue. It answers ErrNoVideo for an unknown video of a closed
// catalogue and for a malformed ID, and the store's error when it fails.
func (c *Catalogue) Mention(ctx context.Context, id string) (Video, error) {
	if !privatevideo.ValidVideoID(id) {
		return Video{}, ErrNoVideo
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if c.open() {
		v, err := c.state.Create(ctx, id, id)
		if err != nil {
			return Video{}, err
		}
		return c.entry(v), nil
	}
	if _, ok := c.titles[id]; !ok {
		return Video{}, ErrNoVideo
	}
	public, err := c.state.Public(ctx, id)
	if err != nil {
		return Video{}, err
	}
	return c.entry(store.Video{ID: id, Public: public}), nil
}

// SetPublic changes a video's visibility, for every replica that shares the
// store, and returns the video as it now is. In an open catalogue it
// creates the video when it is new. It answers ErrNoVideo as Mention does,
// and ErrPinned for making a pinned video private.
func (c *Catalogue) SetPublic(ctx context.Context, id string, public bool) (Video, error) {
	if !privatevideo.ValidVideoID(id) {
		return Video{}, ErrNoVideo
	}
	if _, ok := c.titles[id]; !c.open() && !ok {
		return Video{}, ErrNoVideo
	}
	if !public && c.pinned[id] {
		return Video{}, ErrPinned
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	v, err := c.state.SetPublic(ctx, id, public)
	if err != nil {
		return Video{}, err
	}
	return c.entry(v), nil
}

// List returns every video, by ID: a closed catalogue's own, with their
// visibility from the store (entries of other videos the store may hold
// are not this catalogue's), or every entry of an open one.
func (c *Catalogue) List(ctx context.Context) ([]Video, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	stored, err := c.state.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Video
	if c.open() {
		out = make([]Video, 0, len(stored))
		for _, v := range stored {
			out = append(out, c.entry(v))
		}
		return out, nil
	}
	public := make(map[string]bool, len(stored))
	for _, v := range stored {
		public[v.ID] = v.Public
	}
	out = make([]Video, 0, len(c.titles))
	for id := range c.titles {
		out = append(out, c.entry(store.Video{ID: id, Public: public[id]}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// IsPublic is the middleware's visibility hook (privatevideo.WithPublic),
// read on every media request: one store lookup, no cache, so that a PATCH
// on any replica holds on this one from the next request on (pinned videos
// need none). Unknown videos are private, and so
// is every video when the lookup fails or does not answer within the
// timeout: a store that is down never makes a video public.
//
// The first failed lookup takes the store down: from then on media
// requests are answered private at once, without a store call, and one
// goroutine asks the store every downRetry until it answers; then lookups
// resume. No viewer waits for a store that is known to be down.
func (c *Catalogue) IsPublic(ctx context.Context, id string) bool {
	if _, ok := c.titles[id]; !c.open() && !ok {
		return false // not ours: no store call
	}
	if c.pinned[id] {
		return true
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
			slog.String("cause", Scrub(err.Error())))
		go c.recover(id)
	}
	return false
}

// downRetry is how often a store that is down is asked again.
const downRetry = time.Second

// recover asks the store whether it is back, every retry, until it answers
// or the catalogue is closed, and then lets lookups resume.
func (c *Catalogue) recover(id string) {
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

// Close stops the background recovery of a store that is down. The
// catalogue keeps answering (private while the store is down).
func (c *Catalogue) Close() { c.closeOnce.Do(func() { close(c.done) }) }

// bound gives ctx the store timeout, when there is one: a deadline costs a
// timer, more than a memory lookup.
func (c *Catalogue) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

func (c *Catalogue) closed() {
	if c.failedClosed != nil {
		c.failedClosed()
	}
}
