package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/privatevideo/privatevideo/store"
	"github.com/redis/go-redis/v9"
)

// Videos is a store.Videos on Redis, beside a Store's tokens: one hash per
// video under the Store's prefix, "{prefix}video:{id}" with the fields title
// and public ("0" or "1"), and one set, "{prefix}videos", of the IDs, for
// List. Get it from Store.Videos; it is safe for concurrent use.
//
// Public is a single HGET. Every command touches one key, so a Redis Cluster
// needs nothing more: the video hashes spread over the shards, and the set
// lives on one. A change writes the video's hash first, then the set, in one
// pipelined round trip on a single node; the hash alone decides visibility,
// so a failure between the two at worst leaves a video out of List until its
// next change. Records never expire.
type Videos struct {
	client redis.UniversalClient
	prefix string
	set    string
}

var _ store.Videos = (*Videos)(nil)

// The fields of a video's hash.
const (
	fieldTitle  = "title"
	fieldPublic = "public"
)

// Videos returns the per-video state kept with s's tokens, on the same client
// and under the same prefix. Token keys are the prefix and a UUID, so the
// two never collide.
func (s *Store) Videos() *Videos {
	return &Videos{client: s.client, prefix: s.prefix + "video:", set: s.prefix + "videos"}
}

func (v *Videos) key(id string) string { return v.prefix + id }

func boolField(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Public implements store.Videos with one HGET.
func (v *Videos) Public(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, failure("video public", err)
	}
	val, err := v.client.HGet(ctx, v.key(id), fieldPublic).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, failure("video public", err)
	}
	return val == "1", nil
}

// SetPublic implements store.Videos: HSET, HGET of the title and SADD, in
// one pipeline.
func (v *Videos) SetPublic(ctx context.Context, id string, public bool) (store.Video, error) {
	if err := ctx.Err(); err != nil {
		return store.Video{}, failure("video set", err)
	}
	key := v.key(id)
	pipe := v.client.Pipeline()
	set := pipe.HSet(ctx, key, fieldPublic, boolField(public))
	title := pipe.HGet(ctx, key, fieldTitle) // redis.Nil: untitled
	add := pipe.SAdd(ctx, v.set, id)
	pipe.Exec(ctx) // each command's own error is checked below
	for _, err := range []error{set.Err(), title.Err(), add.Err()} {
		if err != nil && !errors.Is(err, redis.Nil) {
			return store.Video{}, failure("video set", err)
		}
	}
	return store.Video{ID: id, Title: title.Val(), Public: public}, nil
}

// Create implements store.Videos: HSETNX of the title and of the
// visibility, then HMGET and SADD, in one pipeline. HSETNX makes concurrent
// creations agree: the first title written stays.
func (v *Videos) Create(ctx context.Context, id, title string) (store.Video, error) {
	if err := ctx.Err(); err != nil {
		return store.Video{}, failure("video create", err)
	}
	key := v.key(id)
	pipe := v.client.Pipeline()
	if title != "" {
		pipe.HSetNX(ctx, key, fieldTitle, title)
	}
	pipe.HSetNX(ctx, key, fieldPublic, "0")
	got := pipe.HMGet(ctx, key, fieldTitle, fieldPublic)
	pipe.SAdd(ctx, v.set, id)
	if _, err := pipe.Exec(ctx); err != nil {
		return store.Video{}, failure("video create", err)
	}
	vals := got.Val()
	if len(vals) != 2 {
		return store.Video{}, failure("video create", errors.New("malformed reply"))
	}
	t, _ := vals[0].(string)
	p, _ := vals[1].(string)
	return store.Video{ID: id, Title: t, Public: p == "1"}, nil
}

// listBatch bounds the HMGETs of one pipeline in List.
const listBatch = 500

// List implements store.Videos: SMEMBERS, then the hashes in pipelines of
// listBatch HMGETs (one round trip each on a single node; a Cluster client
// sends each command to its shard).
func (v *Videos) List(ctx context.Context) ([]store.Video, error) {
	if err := ctx.Err(); err != nil {
		return nil, failure("video list", err)
	}
	ids, err := v.client.SMembers(ctx, v.set).Result()
	if err != nil {
		return nil, failure("video list", err)
	}
	slices.Sort(ids)
	out := make([]store.Video, 0, len(ids))
	for chunk := range slices.Chunk(ids, listBatch) {
		pipe := v.client.Pipeline()
		cmds := make([]*redis.SliceCmd, len(chunk))
		for i, id := range chunk {
			cmds[i] = pipe.HMGet(ctx, v.key(id), fieldTitle, fieldPublic)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, failure("video list", err)
		}
		for i, cmd := range cmds {
			vals := cmd.Val()
			if len(vals) != 2 {
				return nil, failure("video list", fmt.Errorf("malformed reply for %q", chunk[i]))
			}
			t, _ := vals[0].(string)
			p, _ := vals[1].(string)
			if vals[0] == nil && vals[1] == nil {
				continue // listed, its hash gone (deleted by hand): not a video
			}
			out = append(out, store.Video{ID: chunk[i], Title: t, Public: p == "1"})
		}
	}
	return out, nil
}
