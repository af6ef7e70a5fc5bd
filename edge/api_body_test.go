package edge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo"
	"github.com/privatevideo/privatevideo/store"
)

// The PATCH body has one reading: exactly the member "public", once, with a
// boolean, in one object. encoding/json alone would accept "Public" and let
// the last of two members win.
func TestDecodeVisibility(t *testing.T) {
	for _, c := range []struct {
		body   string
		public bool
		bad    *Problem // nil: accepted
	}{
		{`{"public": true}`, true, nil},
		{`{"public":false}`, false, nil},
		{" \n{ \"public\" : true }\n\t ", true, nil},
		{`{"\u0070ublic": true}`, true, nil}, // the same name, escaped: one reading
		{`{"Public": true}`, false, &probBodyField},
		{`{"PUBLIC": true}`, false, &probBodyField},
		{`{"publiC": false}`, false, &probBodyField},
		{`{"public ": true}`, false, &probBodyField},
		{`{"": true}`, false, &probBodyField},
		{`{"public":false,"public":true}`, false, &probBodyDuplicate},
		{`{"public":true,"public":true}`, false, &probBodyDuplicate},
		{`{"public":true,"Public":false}`, false, &probBodyField},
		{`{"public": true, "title": "x"}`, false, &probBodyField},
		{`{}`, false, &probBodyField},
		{`{"public": null}`, false, &probBodyBool},
		{`{"public": "true"}`, false, &probBodyBool},
		{`{"public": 1}`, false, &probBodyBool},
		{`{"public": {}}`, false, &probBodyBool},
		{`{"public": [true]}`, false, &probBodyBool},
		{`{"public": tru`, false, &probBadBody},
		{`{"public": true`, false, &probBadBody},
		{`{"public": true,}`, false, &probBadBody},
		{`{"public": true} {"public": false}`, false, &probBadBody},
		{`{"public": true} x`, false, &probBadBody},
		{`{"public": true}]`, false, &probBadBody},
		{`[{"public": true}]`, false, &probBadBody},
		{`true`, false, &probBadBody},
		{`null`, false, &probBadBody},
		{``, false, &probBadBody},
		{"{\"public\": true}\x00", false, &probBadBody},
	} {
		public, bad := decodeVisibility(strings.NewReader(c.body))
		switch {
		case c.bad == nil && bad != nil:
			t.Errorf("%q: refused (%s), want accepted", c.body, bad.Title)
		case c.bad != nil && bad == nil:
			t.Errorf("%q: accepted as public=%v, want refused: %s", c.body, public, c.bad.Title)
		case c.bad != nil && bad.Title != c.bad.Title:
			t.Errorf("%q: refused with %q, want %q", c.body, bad.Title, c.bad.Title)
		case c.bad == nil && public != c.public:
			t.Errorf("%q: public=%v, want %v", c.body, public, c.public)
		}
	}
}

// countingStore counts issues: the only store call that minting makes.
type countingStore struct {
	store.Store
	issued atomic.Int64
}

func (c *countingStore) Issue(ctx context.Context, token, videoID string, expires time.Time) error {
	c.issued.Add(1)
	return c.Store.Issue(ctx, token, videoID, expires)
}

// testAPI serves the API of a demo catalogue on a real server (deadlines
// need a real connection) and returns its address and store.
func testAPI(t *testing.T, key string, bodyTimeout time.Duration) (*httptest.Server, *countingStore) {
	t.Helper()
	st := &countingStore{Store: store.NewMemory(1024)}
	mw, err := privatevideo.New([]privatevideo.Key{{Hash: make([]byte, 32)}}, privatevideo.WithStore(st), privatevideo.WithInsecureCookies())
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAPI(APIConfig{
		Catalogue: NewClosedCatalogue(store.NewMemoryVideos(), time.Second, slog.New(slog.DiscardHandler),
			Video{ID: "demo", Title: "Demo"}, Video{ID: "short", Title: "Short"}),
		Middleware:   mw,
		Tokens:       st,
		StoreTimeout: time.Second,
		PublicURL:    "http://media.example.test",
		APIKey:       key,
		BodyTimeout:  bodyTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv, st
}

// HEAD answers as GET would, status and headers, without minting a token;
// GET mints one per private video.
func TestAPIHeadMintsNothing(t *testing.T) {
	const key = "test-api-key-0123456789"
	srv, st := testAPI(t, key, time.Second)
	call := func(method, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/videos", 200},
		{"/videos/demo", 200},
		{"/videos/nope", 404},
		{"/videos/bad$id", 400},
	} {
		for range 3 {
			resp := call("HEAD", c.path)
			if resp.StatusCode != c.status {
				t.Errorf("HEAD %s: %d, want %d", c.path, resp.StatusCode, c.status)
			}
			if c.status == 200 && (resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store") {
				t.Errorf("HEAD %s: headers %v, want GET's", c.path, resp.Header)
			}
		}
	}
	if n := st.issued.Load(); n != 0 {
		t.Fatalf("HEAD requests minted %d tokens, want none", n)
	}
	// The counter does count: GET mints one token per private video.
	call("GET", "/videos/demo")
	call("GET", "/videos")
	if n := st.issued.Load(); n != 3 {
		t.Fatalf("GET /videos/demo then GET /videos minted %d tokens, want 3", n)
	}
}

// rawRequest writes head (a request without its body) on a new connection,
// then body, and returns the connection and a reader of its answers.
func rawRequest(t *testing.T, addr, head, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// An authorized body that never finishes arriving is cut by the body
// deadline: the client gets 400 and the connection is closed, instead of
// a goroutine waiting for as long as the client likes.
func TestAPISlowBodyIsCut(t *testing.T) {
	const key = "test-api-key-0123456789"
	srv, _ := testAPI(t, key, 300*time.Millisecond)
	addr := strings.TrimPrefix(srv.URL, "http://")
	head := fmt.Sprintf("PATCH /videos/demo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n", key)
	conn, br := rawRequest(t, addr, head, `{"publi`) // 7 of 17 bytes, then nothing
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body within 5s: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("stalled body: %d, want 400", resp.StatusCode)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("stalled body answered after %s, want about the 300ms deadline", d)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the connection stayed open after a body cut by the deadline (%v)", err)
	}

	// A body that arrives in time is read.
	head = fmt.Sprintf("PATCH /videos/demo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 17\r\nConnection: close\r\n\r\n", key)
	conn, br = rawRequest(t, addr, head, `{"public": true }`)
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH in time: %v, %v", resp, err)
	}
}

// Without the key, the body is never read: the 401 comes at once although
// the announced body never arrives, and the connection closes rather than
// wait for it.
func TestAPIUnauthorizedBodyUnread(t *testing.T) {
	const key = "test-api-key-0123456789"
	srv, _ := testAPI(t, key, 10*time.Second)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, auth := range []string{"", "Authorization: Bearer wrong-key-0123456789\r\n"} {
		for _, framing := range []string{"Content-Length: 100\r\n", "Transfer-Encoding: chunked\r\n"} {
			head := "PATCH /videos/demo HTTP/1.1\r\nHost: x\r\n" + auth + framing + "\r\n"
			conn, br := rawRequest(t, addr, head, `{"pub`)
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%q %q: no 401 while the body is pending (it waited for the body): %v", auth, framing, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%q %q: %d, want 401", auth, framing, resp.StatusCode)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("%q %q: the connection stayed open (%v): the server would drain the body", auth, framing, err)
			}
		}
	}
}
