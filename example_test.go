package privatevideo_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/privatevideo/privatevideo"
)

// The README's quick start, as it is written there: protect a folder of
// videos served by http.FileServer (media/{id}/… at /vod/{id}/…, the
// built-in player page at /vod/{id}), and give each viewer a fresh link.
func Example() {
	// 32+ random bytes (openssl rand -hex 32), stable across restarts.
	hashKey, err := hex.DecodeString(os.Getenv("SESSION_KEY"))
	if err != nil || len(hashKey) < 32 {
		log.Fatal("SESSION_KEY must be at least 64 hexadecimal digits")
	}
	pv, err := privatevideo.New([]privatevideo.Key{{Hash: hashKey}})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	media := http.StripPrefix("/vod/", http.FileServer(http.Dir("media")))
	mux.Handle("/vod/", pv.Handler(pv.Player(media)))

	// Where your platform builds a page for a viewer: a fresh link each time.
	mux.HandleFunc("/watch/intro", func(w http.ResponseWriter, r *http.Request) {
		urls, err := pv.IssueURLs(r.Context(), "https://media.example.com", "intro")
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `<iframe src="%s" allowfullscreen></iframe>`, html.EscapeString(urls.Player))
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Issue a link, open it once, then open it again from another client.
func ExampleMiddleware_Issue() {
	pv, _ := privatevideo.New([]privatevideo.Key{{Hash: make([]byte, 32)}}, privatevideo.WithGrace(0))
	srv := httptest.NewServer(pv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "media for", r.URL.Path)
	})))
	defer srv.Close()

	urls, err := pv.IssueURLs(context.Background(), srv.URL, "intro")
	if err != nil {
		log.Fatal(err)
	}
	// Two browsers (as the middleware tells clients apart: address and
	// User-Agent) open the same link: the first plays, the second is refused.
	for _, browser := range []string{"browser-one", "browser-two"} {
		req, _ := http.NewRequest(http.MethodGet, urls.HLS, nil)
		req.Header.Set("User-Agent", browser)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(browser, resp.StatusCode)
	}
	// Output:
	// browser-one 200
	// browser-two 403
}

func ExampleLayout_PrivateURLs() {
	urls, err := privatevideo.DefaultLayout.PrivateURLs("https://media.example.com", "intro", "0092d5ef-5750-471d-9e7e-48d0a7580238")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(urls.Player)
	fmt.Println(urls.HLS)
	fmt.Println(urls.Session)
	// Output:
	// https://media.example.com/vod/intro?token=0092d5ef-5750-471d-9e7e-48d0a7580238
	// https://media.example.com/vod/intro/token/0092d5ef-5750-471d-9e7e-48d0a7580238/hls/manifest.m3u8
	// https://media.example.com/vod/intro/token/0092d5ef-5750-471d-9e7e-48d0a7580238/session
}

func ExampleParseToken() {
	tok, err := privatevideo.ParseToken("0092D5EF-5750-471D-9E7E-48D0A7580238")
	fmt.Println(tok, err)
	_, err = privatevideo.ParseToken("0092d5ef5750471d9e7e48d0a7580238")
	fmt.Println(errors.Is(err, privatevideo.ErrMalformed))
	// Output:
	// 0092d5ef-5750-471d-9e7e-48d0a7580238 <nil>
	// true
}

func ExampleRedactToken() {
	fmt.Println(privatevideo.RedactToken("0092d5ef-5750-471d-9e7e-48d0a7580238"))
	// Output: 0092d5ef…
}

// An error handler that tells reasons apart.
func ExampleWithErrorHandler() {
	handler := func(w http.ResponseWriter, r *http.Request, err error) {
		switch {
		case errors.Is(err, privatevideo.ErrTokenUsed):
			http.Error(w, "This link was already opened on another device.", http.StatusForbidden)
		default:
			d := privatevideo.DenialOf(err)
			http.Error(w, d.Title(), d.Status(http.StatusForbidden))
		}
	}
	_, err := privatevideo.New([]privatevideo.Key{{Hash: make([]byte, 32)}}, privatevideo.WithErrorHandler(handler))
	fmt.Println(err)
	// Output: <nil>
}

func ExampleSessionFromContext() {
	media := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := privatevideo.SessionFromContext(r.Context()); ok {
			log.Printf("playing %s until %s (token %s)", s.VideoID, s.Expires, privatevideo.RedactToken(s.Token))
		}
		http.ServeFile(w, r, "media"+r.URL.Path)
	})
	_ = media
}
