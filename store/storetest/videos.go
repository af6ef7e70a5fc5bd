package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/privatevideo/privatevideo/store"
)

// NewVideos returns the Videos under test, empty: each call a fresh one (its
// own key prefix or table, for a shared engine), since the suite lists what
// it created.
type NewVideos func(t *testing.T) store.Videos

// RunVideos runs every conformance test of the store.Videos contract against
// Videos from newVideos, each as a subtest:
//
//	func TestVideos(t *testing.T) {
//		storetest.RunVideos(t, func(t *testing.T) store.Videos { return myvideos.New(...) })
//	}
func RunVideos(t *testing.T, newVideos NewVideos) {
	t.Run("UnknownIsPrivate", func(t *testing.T) { videosUnknown(t, newVideos(t)) })
	t.Run("SetPublic", func(t *testing.T) { videosSetPublic(t, newVideos(t)) })
	t.Run("Create", func(t *testing.T) { videosCreate(t, newVideos(t)) })
	t.Run("CreateAfterSetPublic", func(t *testing.T) { videosCreateAfterSet(t, newVideos(t)) })
	t.Run("List", func(t *testing.T) { videosList(t, newVideos(t)) })
	t.Run("IDsAreExact", func(t *testing.T) { videosExactIDs(t, newVideos(t)) })
	t.Run("Titles", func(t *testing.T) { videosTitles(t, newVideos(t)) })
	t.Run("DoneContext", func(t *testing.T) { videosCancelled(t, newVideos(t)) })
	t.Run("RaceCreate", func(t *testing.T) { videosRaceCreate(t, newVideos(t)) })
	t.Run("RaceSetPublic", func(t *testing.T) { videosRaceSetPublic(t, newVideos(t)) })
}

func wantPublic(t *testing.T, vs store.Videos, what, id string, want bool) {
	t.Helper()
	got, err := vs.Public(context.Background(), id)
	if err != nil {
		t.Fatalf("%s: Public(%q): %v", what, id, err)
	}
	if got != want {
		t.Fatalf("%s: Public(%q) = %t, want %t", what, id, got, want)
	}
}

func wantVideo(t *testing.T, what string, got store.Video, err error, want store.Video) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
}

func list(t *testing.T, vs store.Videos) []store.Video {
	t.Helper()
	l, err := vs.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return l
}

// A video nobody created or set is private, and absent from the list.
func videosUnknown(t *testing.T, vs store.Videos) {
	wantPublic(t, vs, "never created", "video-a", false)
	if l := list(t, vs); len(l) != 0 {
		t.Fatalf("List of an empty store: %+v", l)
	}
}

// SetPublic creates an untitled video and flips its visibility both ways.
func videosSetPublic(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	v, err := vs.SetPublic(ctx, "video-a", true)
	wantVideo(t, "SetPublic true", v, err, store.Video{ID: "video-a", Public: true})
	wantPublic(t, vs, "after SetPublic true", "video-a", true)
	wantPublic(t, vs, "another video", "video-b", false)
	v, err = vs.SetPublic(ctx, "video-a", true)
	wantVideo(t, "SetPublic true again", v, err, store.Video{ID: "video-a", Public: true})
	v, err = vs.SetPublic(ctx, "video-a", false)
	wantVideo(t, "SetPublic false", v, err, store.Video{ID: "video-a"})
	wantPublic(t, vs, "after SetPublic false", "video-a", false)
	// A private video set private is created all the same.
	v, err = vs.SetPublic(ctx, "video-b", false)
	wantVideo(t, "SetPublic false on a new video", v, err, store.Video{ID: "video-b"})
	if l := list(t, vs); len(l) != 2 {
		t.Fatalf("List after setting two videos: %+v", l)
	}
}

// Create adds a private video once; the first title stays, and visibility
// is never reset.
func videosCreate(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	v, err := vs.Create(ctx, "video-a", "First")
	wantVideo(t, "Create", v, err, store.Video{ID: "video-a", Title: "First"})
	wantPublic(t, vs, "after Create", "video-a", false)
	v, err = vs.Create(ctx, "video-a", "Second")
	wantVideo(t, "Create again with another title", v, err, store.Video{ID: "video-a", Title: "First"})
	v, err = vs.SetPublic(ctx, "video-a", true)
	wantVideo(t, "SetPublic keeps the title", v, err, store.Video{ID: "video-a", Title: "First", Public: true})
	v, err = vs.Create(ctx, "video-a", "Third")
	wantVideo(t, "Create of a public video", v, err, store.Video{ID: "video-a", Title: "First", Public: true})
	wantPublic(t, vs, "after Create of a public video", "video-a", true)
}

// A video that SetPublic created untitled takes the title of its first
// Create, and stays as public as it was.
func videosCreateAfterSet(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	if _, err := vs.SetPublic(ctx, "video-a", true); err != nil {
		t.Fatalf("SetPublic: %v", err)
	}
	v, err := vs.Create(ctx, "video-a", "Titled")
	wantVideo(t, "Create of an untitled video", v, err, store.Video{ID: "video-a", Title: "Titled", Public: true})
	v, err = vs.Create(ctx, "video-a", "Retitled")
	wantVideo(t, "Create once titled", v, err, store.Video{ID: "video-a", Title: "Titled", Public: true})
	// An empty title creates the video and titles nothing.
	v, err = vs.Create(ctx, "video-b", "")
	wantVideo(t, "Create untitled", v, err, store.Video{ID: "video-b"})
	v, err = vs.Create(ctx, "video-b", "Later")
	wantVideo(t, "Create titling an untitled video", v, err, store.Video{ID: "video-b", Title: "Later"})
}

// List returns every video, however it was made, sorted by ID.
func videosList(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	var want []store.Video
	for i := 29; i >= 0; i-- {
		id := fmt.Sprintf("video-%02d", i)
		var v store.Video
		var err error
		if i%3 == 0 {
			v, err = vs.SetPublic(ctx, id, true)
		} else {
			v, err = vs.Create(ctx, id, "Title "+id)
		}
		if err != nil {
			t.Fatalf("creating %s: %v", id, err)
		}
		want = append(want, v)
	}
	slices.Reverse(want)
	if got := list(t, vs); !slices.Equal(got, want) {
		t.Fatalf("List:\n got %+v\nwant %+v", got, want)
	}
}

// IDs are compared exactly: case and the two punctuation characters make
// other videos, and a 64-character ID is one like any other.
func videosExactIDs(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	long := strings.Repeat("a", 63) + "Z"
	for _, id := range []string{"Video", "video-", "video_", long} {
		if _, err := vs.SetPublic(ctx, id, true); err != nil {
			t.Fatalf("SetPublic(%q): %v", id, err)
		}
	}
	for _, id := range []string{"video", "VIDEO", "video-_", strings.ToLower(long)} {
		wantPublic(t, vs, "a near miss", id, false)
	}
	for _, id := range []string{"Video", "video-", "video_", long} {
		wantPublic(t, vs, "an exact ID", id, true)
	}
}

// Titles come back byte for byte: UTF-8, quotes, separators.
func videosTitles(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	titles := []string{`Vidéo « 4K » — 日本語`, `"quoted", 'single'; a:b|c`, strings.Repeat("x", 1000), "tab\tand\nnewline"}
	for i, title := range titles {
		id := fmt.Sprintf("t%d", i)
		v, err := vs.Create(ctx, id, title)
		wantVideo(t, "Create", v, err, store.Video{ID: id, Title: title})
	}
	for i, v := range list(t, vs) {
		if v.Title != titles[i] {
			t.Fatalf("List: title %q, want %q", v.Title, titles[i])
		}
	}
}

// A context done before the call, cancelled or past its deadline, fails
// every call with an error wrapping the context's, and changes nothing.
func videosCancelled(t *testing.T, vs store.Videos) {
	ctx := context.Background()
	if _, err := vs.Create(ctx, "video-a", "A"); err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, c := range doneContexts(t) {
		_, err := vs.Public(c.ctx, "video-a")
		wantDone(t, "Public", err, c)
		_, err = vs.SetPublic(c.ctx, "video-a", true)
		wantDone(t, "SetPublic of a video that exists", err, c)
		_, err = vs.SetPublic(c.ctx, "video-b", true)
		wantDone(t, "SetPublic of a new video", err, c)
		_, err = vs.Create(c.ctx, "video-c", "C")
		wantDone(t, "Create", err, c)
		_, err = vs.List(c.ctx)
		wantDone(t, "List", err, c)
	}
	wantPublic(t, vs, "after failed calls", "video-a", false)
	wantPublic(t, vs, "after failed calls", "video-b", false)
	if l := list(t, vs); !slices.Equal(l, []store.Video{{ID: "video-a", Title: "A"}}) {
		t.Fatalf("List after failed calls: %+v; want only video-a, private, titled A", l)
	}
}

// Concurrent creations of one ID with different titles all answer one
// entry, with one of their titles.
func videosRaceCreate(t *testing.T, vs store.Videos) {
	const n = 16
	got := make([]store.Video, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = vs.Create(context.Background(), "video-a", fmt.Sprintf("title %d", i)) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Create %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("concurrent Creates answered %+v and %+v", got[0], got[i])
		}
	}
	if !strings.HasPrefix(got[0].Title, "title ") || got[0].Public {
		t.Fatalf("Create answered %+v", got[0])
	}
	if l := list(t, vs); len(l) != 1 || l[0] != got[0] {
		t.Fatalf("List after concurrent Creates: %+v, want [%+v]", l, got[0])
	}
}

// Concurrent SetPublic calls on many videos: each video ends as its last
// call set it, and concurrent readers only ever see true or false.
func videosRaceSetPublic(t *testing.T, vs store.Videos) {
	const videos, rounds = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, videos*rounds*2)
	for v := range videos {
		id := fmt.Sprintf("video-%d", v)
		wg.Go(func() {
			for r := range rounds {
				if _, err := vs.SetPublic(context.Background(), id, r%2 == 0); err != nil {
					errc <- fmt.Errorf("SetPublic(%s): %w", id, err)
				}
			}
			// The last round set it private (rounds is even); make it public.
			if _, err := vs.SetPublic(context.Background(), id, true); err != nil {
				errc <- fmt.Errorf("SetPublic(%s): %w", id, err)
			}
		})
		wg.Go(func() {
			for range rounds {
				if _, err := vs.Public(context.Background(), id); err != nil {
					errc <- fmt.Errorf("Public(%s): %w", id, err)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for v := range videos {
		wantPublic(t, vs, "after the race", fmt.Sprintf("video-%d", v), true)
	}
	if l := list(t, vs); len(l) != videos {
		t.Fatalf("List after the race: %d videos, want %d", len(l), videos)
	}
}
