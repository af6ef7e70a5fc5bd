//go:build unix

package main

// Stores of the tests' own, which a test may stop, stall and restart
// without touching the shared servers of REDIS_URL and DATABASE_URL: a
// redis-server on a free port, and a PostgreSQL schema of its own reached
// through a TCP proxy the test controls.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server of the test's own.
type redisServer struct {
	t    *testing.T
	port int
	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// startRedis starts a redis-server with extra arguments (appended to a
// port, a data directory of its own and no RDB snapshots). It needs
// REDIS_URL like every Redis test, the sign that Redis is installed; once
// that is set, a missing redis-server fails the test.
func startRedis(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: set it (e.g. redis://127.0.0.1:6379/0) to test the edge server on Redis")
	}
	port, _ := strconv.Atoi(strings.TrimPrefix(freeAddr(t), "127.0.0.1:"))
	s := &redisServer{t: t, port: port, args: append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--save", "", "--daemonize", "no", "--loglevel", "warning",
	}, extra...)}
	s.start()
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cmd != nil {
			s.cmd.Process.Signal(syscall.SIGCONT) // a stopped server dies too
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

// url is the server's URL for -store.
func (s *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) + "/0" }

// start starts the server (again, on the same port and data directory)
// and waits until it answers.
func (s *redisServer) start() {
	s.t.Helper()
	s.mu.Lock()
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	err := s.cmd.Start()
	s.mu.Unlock()
	if err != nil {
		s.t.Fatalf("starting redis-server (it must be installed when REDIS_URL is set): %v", err)
	}
	c := s.client()
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return
		} else if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on port %d did not start: %v", s.port, err)
		}
	}
}

// client is a direct client of the server, for the test's own reads.
func (s *redisServer) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(s.port), MaxRetries: -1})
}

// kill ends the server at once (SIGKILL): what it had not written is lost.
func (s *redisServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// signal sends sig: SIGSTOP hangs the server (connections open, nothing
// answers), SIGCONT resumes it.
func (s *redisServer) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signalling redis-server: %v", err)
	}
}

// tcpProxy sits between the edge servers and a store, and is cut (every
// connection closed, new ones closed at once) or stalled (bytes held, as by a
// partition that drops packets) by the test.
type tcpProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	mode   int
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

const (
	proxyUp = iota
	proxyCut
	proxyStalled
)

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &tcpProxy{l: l, target: target, conns: make(map[net.Conn]struct{})}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		l.Close()
		p.set(proxyCut)
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return // listener closed
		}
		p.mu.Lock()
		mode := p.mode
		if mode != proxyCut {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		switch mode {
		case proxyCut:
			c.Close()
		case proxyStalled:
			// Held, unanswered, until the proxy is restored or cut.
		default:
			p.wg.Add(1)
			go p.forward(c)
		}
	}
}

func (p *tcpProxy) forward(c net.Conn) {
	defer p.wg.Done()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	if p.mode != proxyUp {
		p.mu.Unlock()
		s.Close()
		p.drop(c)
		return
	}
	p.conns[s] = struct{}{}
	p.mu.Unlock()
	var both sync.WaitGroup
	both.Go(func() { p.copy(s, c) })
	both.Go(func() { p.copy(c, s) })
	both.Wait()
	p.drop(c)
	p.drop(s)
}

// copy copies src to dst; while the proxy is stalled it holds what it read,
// and a connection that lived through a stall is dropped with it.
func (p *tcpProxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			stalled := false
			for p.mode == proxyStalled {
				stalled = true
				p.cond.Wait()
			}
			p.mu.Unlock()
			if stalled {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *tcpProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// set switches the mode. Entering a cut or leaving a stall closes every
// connection.
func (p *tcpProxy) set(mode int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mode == proxyCut || p.mode == proxyStalled {
		for c := range p.conns {
			c.Close()
			delete(p.conns, c)
		}
	}
	p.mode = mode
	p.cond.Broadcast()
}

// pgSchema makes a schema of the test's own in the database of
// DATABASE_URL, dropped at the end, and returns DATABASE_URL with its host
// replaced by hostport (a proxy's address, or "" to keep it) and the schema
// as the connection's search_path: the edge servers' tables land there,
// apart from every other test's and run's.
func pgSchema(t *testing.T, hostport string) string {
	t.Helper()
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		t.Skip("DATABASE_URL is not set: set it (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to test the edge server on PostgreSQL")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "pvedge_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("DATABASE_URL is set but PostgreSQL does not answer: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, raw)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	if hostport != "" {
		u.Host = hostport
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.String()
}

// pgTarget is the host:port of DATABASE_URL, for a proxy in front of it.
func pgTarget(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		t.Skip("DATABASE_URL is not set: set it (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to test the edge server on PostgreSQL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}

// proxiedPG is a PostgreSQL schema of the test's own behind a proxy: the
// URL for -store, and the proxy that cuts or stalls it.
func proxiedPG(t *testing.T) (string, *tcpProxy) {
	t.Helper()
	p := startTCPProxy(t, pgTarget(t))
	return pgSchema(t, p.addr()), p
}
