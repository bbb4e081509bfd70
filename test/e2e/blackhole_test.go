package e2e

import (
	"net"
	"sync"
	"testing"
)

// blackhole is a TCP relay to the API server that can be cut like a network: while cut it
// accepts connections and reads what either side sends but delivers nothing, as a link that
// drops every packet would (no reset, no refusal: the client finds out only by its own
// timeouts, e.g. HTTP/2 pings). Healed, what was held back flows on, as retransmissions would.
type blackhole struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   chan struct{} // closed while the link is up
	conns  []net.Conn
}

// newBlackhole listens on a free port of 127.0.0.1 and relays to target (host:port).
func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target, open: make(chan struct{})}
	close(b.open)
	go b.serve()
	t.Cleanup(b.close)
	return b
}

// Addr is the relay's address.
func (b *blackhole) Addr() string { return b.ln.Addr().String() }

// cut stops delivering anything, in both directions, on every connection, old and new.
func (b *blackhole) cut() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.open:
		b.open = make(chan struct{})
	default: // already cut
	}
}

// heal delivers again, what was held back first.
func (b *blackhole) heal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.open:
	default:
		close(b.open)
	}
}

func (b *blackhole) waitOpen() {
	b.mu.Lock()
	open := b.open
	b.mu.Unlock()
	<-open
}

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.relay(c)
	}
}

func (b *blackhole) relay(c net.Conn) {
	b.waitOpen() // a connection made during a cut gets nowhere until the link is back
	up, err := net.Dial("tcp", b.target)
	if err != nil {
		_ = c.Close()
		return
	}
	b.mu.Lock()
	b.conns = append(b.conns, c, up)
	b.mu.Unlock()
	go b.pipe(up, c)
	b.pipe(c, up)
}

// pipe copies src to dst, holding each chunk while the link is cut.
func (b *blackhole) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			b.waitOpen()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (b *blackhole) close() {
	b.heal()
	_ = b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		_ = c.Close()
	}
}
