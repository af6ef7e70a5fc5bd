package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/privatevideo/privatevideo/internal/fleettest"
	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server of the test's own, on a free port, so that
// the test can kill, pause and restart it without touching the shared one.
type redisServer struct {
	port int
	args []string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server. It needs REDIS_URL like every test here,
// the sign that Redis is installed; once that is set, a missing redis-server
// fails the test. With persistent, every write is in the append-only file
// before it is answered, so the data survives a kill.
func startRedis(t *testing.T, persistent bool) *redisServer {
	t.Helper()
	if persistent {
		return startRedisWith(t, "--appendonly", "yes", "--appendfsync", "always")
	}
	return startRedisWith(t, "--appendonly", "no")
}

// startRedisWith starts a redis-server with extra arguments.
func startRedisWith(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: set it (e.g. redis://127.0.0.1:6379/0) to test the Redis store")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{port: port, args: append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--save", "", "--daemonize", "no", "--loglevel", "warning",
	}, extra...)}
	s.start(t)
	t.Cleanup(func() {
		if s.cmd != nil {
			s.cmd.Process.Signal(syscall.SIGCONT) // a paused server dies too
			s.kill()
		}
	})
	return s
}

func (s *redisServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server (it must be installed when REDIS_URL is set): %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not start: %v", s.port, err)
		}
	}
}

func (s *redisServer) kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

func (s *redisServer) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling redis-server: %v", err)
	}
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// client returns a client of the server as an application would build it.
func (s *redisServer) client(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// A killed server: connections drop and new ones are refused. The data is in
// the append-only file, so the restarted server has every token; the test
// proves that the redemptions refused meanwhile consumed nothing, and that
// the store serves again with no restart of the middleware (go-redis
// reconnects).
func TestOutageServerKilled(t *testing.T) {
	srv := startRedis(t, true)
	fleettest.RunOutage(t, newStore(t, srv.client(t)), fleettest.Outage{
		Cut:     func(*testing.T) { srv.kill() },
		Restore: func(t *testing.T) { srv.start(t) },
	})
}

// A hung server (SIGSTOP): connections stay open and nothing answers, the
// case only a deadline ends. Redemptions get 503 within the store timeout
// while sessions play on. When the server resumes it runs what it had
// received, the refused redemptions included: those tokens are either still
// issued or redeemed for the very client that was refused, whose retry
// within the grace window gets in; no other client ever does.
func TestOutageServerHung(t *testing.T) {
	srv := startRedis(t, false)
	fleettest.RunOutage(t, newStore(t, srv.client(t)), fleettest.Outage{
		Cut:           func(t *testing.T) { srv.signal(t, syscall.SIGSTOP) },
		Restore:       func(t *testing.T) { srv.signal(t, syscall.SIGCONT) },
		LateExecution: true,
	})
}

// Links lost to a hung server: SIGSTOP for fleettest.StallDuration, then
// SIGCONT. The server runs, when it resumes, the redemptions it received
// while the middleware gave up on them, so their tokens are spent for
// viewers who got 503. With the grace alone, a viewer who opened the link
// early in the stall comes back after the grace and finds it used; the
// retry window lets each of them back in, and nobody else.
func TestStallLostLinks(t *testing.T) {
	srv := startRedis(t, false)
	fleettest.RunStalls(t, newStore(t, srv.client(t)), fleettest.Outage{
		Cut:           func(t *testing.T) { srv.signal(t, syscall.SIGSTOP) },
		Restore:       func(t *testing.T) { srv.signal(t, syscall.SIGCONT) },
		LateExecution: true,
	})
}

// WithRevocationCheck while the server hangs: KeepPlaying plays on,
// StopPlaying refuses with 503.
func TestRevocationCheckDuringOutage(t *testing.T) {
	srv := startRedis(t, false)
	fleettest.RunRevocationOutage(t, newStore(t, srv.client(t)), fleettest.Outage{
		Cut:     func(t *testing.T) { srv.signal(t, syscall.SIGSTOP) },
		Restore: func(t *testing.T) { srv.signal(t, syscall.SIGCONT) },
	})
}
