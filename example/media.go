package main

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"sort"
)

// demoMedia holds the demo videos, one folder per video ID, laid out as the
// URL grammar expects: media/{id}/hls/manifest.m3u8, media/{id}/mp4/source.mp4,
// media/{id}/thumbnail.jpg. scripts/make-media.sh generated them:
//
//	scripts/make-media.sh example/media/demo 4
//	scripts/make-media.sh example/media/short 2
//
//go:embed media
var demoMedia embed.FS

// demoTitles names the demo videos in the catalogue.
var demoTitles = map[string]string{
	"demo":  "Test pattern and tone (4 s)",
	"short": "Test pattern and tone (2 s)",
}

// demoVideos lists the video IDs of fsys: its top-level folders.
func demoVideos(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// mediaFS returns the embedded media with video folders at its root.
func mediaFS() fs.FS {
	sub, err := fs.Sub(demoMedia, "media")
	if err != nil {
		panic(err) // "media" is a valid path: fs.Sub cannot refuse it
	}
	return sub
}

// mediaHandler serves fsys under /vod/: the public path /vod/{id}/{asset},
// which is all the middleware ever lets through, is the file {id}/{asset}.
// Folders are not listed, and the media types come from contentTypes rather
// than from the machine's mime.types, which varies from host to host.
func mediaHandler(fsys fs.FS) http.Handler {
	files := http.StripPrefix("/vod", http.FileServerFS(filesOnly{fsys}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct, ok := contentTypes[path.Ext(r.URL.Path)]; ok {
			// http.FileServer keeps a Content-Type that is already set; its
			// error answers replace it.
			w.Header().Set("Content-Type", ct)
		}
		files.ServeHTTP(w, r)
	})
}

// contentTypes are the media types of what an HLS, DASH or MP4 origin serves.
var contentTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
	".ts":   "video/mp2t",
	".aac":  "audio/aac",
	".vtt":  "text/vtt; charset=utf-8",
	".jpg":  "image/jpeg",
	".png":  "image/png",
	".bin":  "application/octet-stream", // HLS AES-128 keys
	".key":  "application/octet-stream",
}

// filesOnly hides folders, so that the file server lists none and answers
// 404 for them.
type filesOnly struct{ fs.FS }

var errIsFolder = errors.New("a folder")

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.Join(fs.ErrNotExist, errIsFolder)}
	}
	return file, nil
}
