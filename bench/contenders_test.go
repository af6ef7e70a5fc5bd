package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/privatevideo/privatevideo"
)

// The contenders of BenchmarkCompare really check their sessions: each lets
// its own cookie through and refuses a tampered one, so the comparison is
// between checks that work.
func TestContendersCheck(t *testing.T) {
	tamper := func(cookie string) string {
		b := []byte(cookie)
		i := len(b) - 5
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	_, pv, tok, sess := privatevideoSetup(t, privatevideo.WithGrace(0)) // no grace: the test client redeemed the token
	floor, floorCookie := floorSetup()
	gorilla, gorillaCookie := gorillaSetup(t)
	scsH, scsCookie := scsSetup(t)
	for _, c := range []struct {
		name   string
		h      http.Handler
		cookie string
	}{
		{"privatevideo", pv, "pv_session=" + sess},
		{"floor", floor, "pv_session=" + floorCookie},
		{"gorilla-sessions", gorilla, gorillaCookie},
		{"scs", scsH, scsCookie},
	} {
		for _, v := range []struct {
			cookie string
			want   int
		}{{c.cookie, http.StatusOK}, {tamper(c.cookie), http.StatusForbidden}} {
			r := newRequest(tokenPath(tok, segment))
			r.Header.Set("Cookie", v.cookie)
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, r)
			if rec.Code != v.want {
				t.Errorf("%s with cookie %.40q…: %d, want %d", c.name, v.cookie, rec.Code, v.want)
			}
		}
	}
}
