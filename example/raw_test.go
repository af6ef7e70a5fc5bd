//go:build unix

package main

// A raw HTTP/1.1 client: Go's http.Client refuses or rewrites what an
// attacker sends (lower-case methods, CONNECT with a path, backslashes and
// odd escapes in the request target), so the boundary tests write their
// request lines themselves.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawResponse is one answer as it came on the wire.
type rawResponse struct {
	status int
	header http.Header
	body   []byte // decoded from its framing; nil for HEAD
	wire   []byte // everything the server sent, status line to last byte
}

// rawDo sends one request on a new connection to addr (host:port) and reads
// the whole answer, until the server closes the connection. headers are
// "Name: value" lines; the request always says Connection: close.
func rawDo(t *testing.T, addr, method, target string, headers []string, body string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, addr)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("Connection: close\r\n\r\n" + body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatalf("%s %s: %v", method, redactURL(target), err)
	}
	wire, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %s", method, redactURL(target), scrub(err.Error()))
	}
	return parseRaw(t, method, target, wire)
}

func parseRaw(t *testing.T, method, target string, wire []byte) rawResponse {
	t.Helper()
	// ReadResponse needs the request's method: a HEAD answer has no body.
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wire)), &http.Request{Method: strings.ToUpper(method)})
	if err != nil {
		t.Fatalf("%s %s: unreadable answer %.200q: %v", method, redactURL(target), wire, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: unreadable body: %v", method, redactURL(target), err)
	}
	if strings.EqualFold(method, "HEAD") {
		body = nil
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: body, wire: wire}
}

// rawClient sends requests one after another on one kept-alive connection,
// dialling again whenever the server closes it.
type rawClient struct {
	t    *testing.T
	addr string
	conn net.Conn
	br   *bufio.Reader
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// do sends method and target with headers and returns the answer; wire is
// left empty (the connection is shared).
func (c *rawClient) do(method, target string, headers ...string) rawResponse {
	c.t.Helper()
	for attempt := 0; ; attempt++ {
		if c.conn == nil {
			conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
			if err != nil {
				c.t.Fatal(err)
			}
			c.conn, c.br = conn, bufio.NewReader(conn)
		}
		c.conn.SetDeadline(time.Now().Add(20 * time.Second))
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, c.addr)
		for _, h := range headers {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("\r\n")
		_, err := io.WriteString(c.conn, b.String())
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(c.br, &http.Request{Method: method})
		}
		if err != nil {
			// A connection the server closed after its last answer: once
			// more on a new one.
			c.close()
			if attempt == 0 {
				continue
			}
			c.t.Fatalf("%s %s: %s", method, redactURL(target), scrub(err.Error()))
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			c.t.Fatalf("%s %s: reading the body: %s", method, redactURL(target), scrub(err.Error()))
		}
		if resp.Close {
			c.close()
		}
		return rawResponse{status: resp.StatusCode, header: resp.Header, body: body}
	}
}
