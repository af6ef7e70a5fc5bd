package main

import (
	"context"
	"sort"
	"sync"

	"github.com/privatevideo/privatevideo"
)

// video is one entry of the catalogue.
type video struct {
	ID     string
	Title  string
	Public bool
}

// catalogue is the set of videos the API knows and their visibility, which
// the middleware's visibility hook reads on every media request. It lives in
// memory: each process has its own.
//
// A closed catalogue (demo mode) holds a fixed set of videos. An open one
// (proxy mode) holds whatever the origin serves, which this server cannot
// list: a valid video ID becomes an entry, private, the first time the API
// mentions it. Media requests never create entries, so viewers cannot grow
// it.
type catalogue struct {
	open   bool
	mu     sync.RWMutex
	videos map[string]*video
}

// newClosedCatalogue returns a catalogue of exactly videos.
func newClosedCatalogue(videos ...video) *catalogue {
	c := &catalogue{videos: make(map[string]*video, len(videos))}
	for _, v := range videos {
		c.videos[v.ID] = &v
	}
	return c
}

// newOpenCatalogue returns an empty catalogue in which every valid video ID
// exists once mentioned.
func newOpenCatalogue() *catalogue {
	return &catalogue{open: true, videos: make(map[string]*video)}
}

// mention returns the video id, creating it (private, titled by its ID) in
// an open catalogue. It reports false for an unknown video of a closed
// catalogue and for a malformed ID.
func (c *catalogue) mention(id string) (video, bool) {
	if !privatevideo.ValidVideoID(id) {
		return video{}, false
	}
	c.mu.RLock()
	v, ok := c.videos[id]
	var found video
	if ok {
		found = *v // copied under the lock: setPublic writes entries
	}
	c.mu.RUnlock()
	if ok {
		return found, true
	}
	if !c.open {
		return video{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.videos[id]; ok { // created meanwhile
		return *v, true
	}
	v = &video{ID: id, Title: id}
	c.videos[id] = v
	return *v, true
}

// setPublic changes a video's visibility, creating it first in an open
// catalogue, and returns the video as it now is.
func (c *catalogue) setPublic(id string, public bool) (video, bool) {
	if _, ok := c.mention(id); !ok {
		return video{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.videos[id]
	v.Public = public
	return *v, true
}

// list returns every video, by ID.
func (c *catalogue) list() []video {
	c.mu.RLock()
	out := make([]video, 0, len(c.videos))
	for _, v := range c.videos {
		out = append(out, *v)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// isPublic is the middleware's visibility hook: unknown videos are private.
func (c *catalogue) isPublic(_ context.Context, id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.videos[id]
	return ok && v.Public
}
