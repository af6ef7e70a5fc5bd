package pgstore_test

import (
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/privatevideo/privatevideo/internal/fleettest"
	"github.com/privatevideo/privatevideo/store/pgstore"
)

// proxy is a TCP proxy between the store's pool and PostgreSQL, which a test
// cuts (every connection closed, new ones closed at once), stalls (bytes
// held, as by a network partition that drops packets) or pauses (bytes held
// and then delivered, as when the network returns before TCP gives up) and
// then restores.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	mode   proxyMode
	conns  map[net.Conn]struct{}
	held   map[net.Conn]struct{} // accepted while stalled or paused, never forwarded
	wg     sync.WaitGroup
}

type proxyMode uint8

const (
	proxyUp      proxyMode = iota
	proxyCut               // every connection closed, new ones too
	proxyStalled           // bytes held; leaving it drops them with their connections
	proxyPaused            // bytes held; leaving it delivers them, in order
)

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &proxy{l: l, target: target, conns: make(map[net.Conn]struct{}), held: make(map[net.Conn]struct{})}
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

func (p *proxy) addr() (string, uint16) {
	a := p.l.Addr().(*net.TCPAddr)
	return a.IP.String(), uint16(a.Port)
}

func (p *proxy) accept() {
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
		if mode == proxyStalled || mode == proxyPaused {
			p.held[c] = struct{}{}
		}
		p.mu.Unlock()
		switch mode {
		case proxyCut:
			c.Close()
		case proxyStalled, proxyPaused:
			// Held, unanswered, until the proxy is restored or cut. (Over
			// a connection opened during a pause, pgx sends no statement:
			// it waits for the server's answer to its startup message.)
		default:
			p.wg.Add(1)
			go p.forward(c)
		}
	}
}

// forward connects c to the target and copies both ways until either side
// closes.
func (p *proxy) forward(c net.Conn) {
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
	both.Add(2)
	go func() { defer both.Done(); p.copy(s, c) }()
	go func() { defer both.Done(); p.copy(c, s) }()
	both.Wait()
	p.drop(c)
	p.drop(s)
}

// copy copies from src to dst; while the proxy is stalled or paused it
// holds what it read. A connection that lived through a stall is dropped
// with what it held, as a partition's retransmissions would give up; one
// that lived through a pause delivers it, and then what followed (a close
// included), as retransmissions would once the network returns.
func (p *proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			during := proxyUp
			for p.mode == proxyStalled || p.mode == proxyPaused {
				if during == proxyUp {
					during = p.mode
				}
				p.cond.Wait()
			}
			deliver := during == proxyUp || during == proxyPaused && p.mode == proxyUp
			p.mu.Unlock()
			if !deliver {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: the other side closes too
		}
	}
}

func (p *proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// set switches the proxy's mode. Leaving a stall or entering a cut closes
// every connection; leaving a pause, those accepted during it.
func (p *proxy) set(mode proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	closing := p.held
	if mode == proxyCut || p.mode == proxyStalled {
		closing = p.conns
	}
	for c := range closing {
		c.Close()
		delete(p.conns, c)
		delete(p.held, c)
	}
	p.mode = mode
	p.cond.Broadcast()
}

// proxiedStore returns a store on a pool that reaches PostgreSQL through a
// fresh proxy, on a table migrated and dropped through a direct pool.
func proxiedStore(t *testing.T) (*pgstore.Store, *proxy) {
	t.Helper()
	direct := testPool(t)
	table := newStore(t, direct).Table()
	cfg := poolConfig(t)
	target := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	p := startProxy(t, target)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = p.addr()
	cfg.ConnConfig.Fallbacks = nil
	cfg.MaxConns = 8
	st, err := pgstore.New(connect(t, cfg), pgstore.WithTable(table))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return st, p
}

// Connections cut: every open connection closes and new ones are refused,
// as when the database restarts or fails over. Redemptions get 503 within
// the store timeout and consume nothing; sessions play on; when connections
// are accepted again the pool reconnects with no restart of the middleware,
// and the refused tokens redeem.
func TestOutageConnectionsCut(t *testing.T) {
	st, p := proxiedStore(t)
	fleettest.RunOutage(t, st, fleettest.Outage{
		Cut:     func(*testing.T) { p.set(proxyCut) },
		Restore: func(*testing.T) { p.set(proxyUp) },
	})
}

// The network stalls: connections stay open and nothing answers, the case
// only a deadline ends (pgx closes a connection whose context ends). The
// held bytes never reach the database, so nothing is consumed.
func TestOutageNetworkStalled(t *testing.T) {
	st, p := proxiedStore(t)
	fleettest.RunOutage(t, st, fleettest.Outage{
		Cut:     func(*testing.T) { p.set(proxyStalled) },
		Restore: func(*testing.T) { p.set(proxyUp) },
	})
}

// Links lost to a network that pauses for fleettest.StallDuration and then
// delivers what it held, as TCP does when the network returns before it
// gives up: the database runs, late, the redemptions whose connections the
// pool had already closed, so their tokens are spent for viewers who got
// 503. With the grace alone, a viewer who opened the link early in the stall
// comes back after the grace and finds it used; the retry window lets each
// of them back in, and nobody else. A stall that drops what it held runs
// nothing late, and loses no link either way.
func TestStallLostLinks(t *testing.T) {
	t.Run("Paused", func(t *testing.T) {
		st, p := proxiedStore(t)
		fleettest.RunStalls(t, st, fleettest.Outage{
			Cut:           func(*testing.T) { p.set(proxyPaused) },
			Restore:       func(*testing.T) { p.set(proxyUp) },
			LateExecution: true,
		})
	})
	t.Run("Stalled", func(t *testing.T) {
		st, p := proxiedStore(t)
		fleettest.RunStalls(t, st, fleettest.Outage{
			Cut:     func(*testing.T) { p.set(proxyStalled) },
			Restore: func(*testing.T) { p.set(proxyUp) },
		})
	})
}

// WithRevocationCheck while the connections are cut: KeepPlaying plays on,
// StopPlaying refuses with 503.
func TestRevocationCheckDuringOutage(t *testing.T) {
	st, p := proxiedStore(t)
	fleettest.RunRevocationOutage(t, st, fleettest.Outage{
		Cut:     func(*testing.T) { p.set(proxyCut) },
		Restore: func(*testing.T) { p.set(proxyUp) },
	})
}
