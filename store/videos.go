package store

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Video is what an application keeps of one video beside its tokens.
type Video struct {
	ID     string
	Title  string // "" for a video created untitled (by SetPublic)
	Public bool
}

// Videos keeps per-video state that several processes must agree on: whether
// each video is public, and which videos exist, with their titles. It is
// separate from Store, whose contract is about tokens. The edge server in
// example/ keeps its video API's state here, and asks Public on every media
// request (the middleware's WithPublic hook), so that a visibility changed on
// one replica holds on every replica from the next request on.
//
// Video IDs reach a Videos already validated (1 to 64 of A-Z a-z 0-9 - _)
// and are compared exactly: "a" and "A" are two videos. The caller bounds
// titles.
//
// Consistency: once a call returns, every call that starts later, in any
// process, sees its effect. An implementation does not cache.
//
// Errors: every method returns nil or a system failure (connection lost,
// timeout, context cancelled), and honours ctx's cancellation and deadline
// as Store does: a call whose ctx is already done fails with an error
// wrapping ctx.Err() and changes nothing. A caller that asks
// whether a video is public and gets an error must treat the video as
// private: a store that does not answer never makes a video public.
type Videos interface {
	// Public reports whether the video is public. A video that was never
	// created or set is private: false, nil.
	Public(ctx context.Context, id string) (bool, error)

	// SetPublic sets the video's visibility, creating it untitled when it
	// does not exist, and returns the video as it now is.
	SetPublic(ctx context.Context, id string, public bool) (Video, error)

	// Create makes sure the video exists: it adds it, private and titled
	// title, when it does not; a video that exists keeps its visibility and
	// its title, and takes title only when it has none. It returns the video
	// as it now is, so that concurrent creations of one ID, on any number of
	// processes, all answer the same entry.
	Create(ctx context.Context, id, title string) (Video, error)

	// List returns every video, sorted by ID.
	List(ctx context.Context) ([]Video, error)
}

// MemoryVideos is a Videos for a single process, in a map. It holds every
// video until the process ends: the application bounds how many it creates.
type MemoryVideos struct {
	mu     sync.RWMutex
	videos map[string]Video
}

var _ Videos = (*MemoryVideos)(nil)

// NewMemoryVideos returns an empty MemoryVideos.
func NewMemoryVideos() *MemoryVideos {
	return &MemoryVideos{videos: make(map[string]Video)}
}

// Public implements Videos.
func (m *MemoryVideos) Public(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.videos[id].Public, nil
}

// SetPublic implements Videos.
func (m *MemoryVideos) SetPublic(ctx context.Context, id string, public bool) (Video, error) {
	if err := ctx.Err(); err != nil {
		return Video{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.videos[id]
	v.ID, v.Public = id, public
	m.videos[id] = v
	return v, nil
}

// Create implements Videos.
func (m *MemoryVideos) Create(ctx context.Context, id, title string) (Video, error) {
	if err := ctx.Err(); err != nil {
		return Video{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.videos[id]
	if !ok {
		v.ID = id
	}
	if v.Title == "" {
		v.Title = title
	}
	m.videos[id] = v
	return v, nil
}

// List implements Videos.
func (m *MemoryVideos) List(ctx context.Context) ([]Video, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	out := make([]Video, 0, len(m.videos))
	for _, v := range m.videos {
		out = append(out, v)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Video) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
