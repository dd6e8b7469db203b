package cluster

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// network is the loopback "network" of an in-process test cluster: it drops traffic between chosen addresses,
// in both directions, packets and streams alike, as a partition would.
type network struct {
	mu  sync.Mutex
	cut map[[2]string]bool
}

func newNetwork() *network { return &network{cut: map[[2]string]bool{}} }

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// partition cuts every address of one side from every address of the other.
func (n *network) partition(side, other []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range side {
		for _, b := range other {
			n.cut[pair(a, b)] = true
		}
	}
}

// heal restores all traffic.
func (n *network) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

func (n *network) blocked(a, b string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cut[pair(a, b)]
}

// wrap returns the transport wrapper for the node at host.
func (n *network) wrap(host string) func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	return func(inner memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
		t := &filtered{NodeAwareTransport: inner, net: n, host: host,
			packets: make(chan *memberlist.Packet), streams: make(chan net.Conn), stop: make(chan struct{})}
		go t.forward()
		return t
	}
}

// filtered is a memberlist transport that drops what the network cuts.
type filtered struct {
	memberlist.NodeAwareTransport
	net     *network
	host    string
	packets chan *memberlist.Packet
	streams chan net.Conn
	stop    chan struct{}
	once    sync.Once
}

var errCut = errors.New("partitioned")

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func (t *filtered) forward() {
	for {
		select {
		case <-t.stop:
			return
		case p := <-t.NodeAwareTransport.PacketCh():
			if t.net.blocked(t.host, hostOf(p.From.String())) {
				continue
			}
			select {
			case t.packets <- p:
			case <-t.stop:
				return
			}
		case c := <-t.NodeAwareTransport.StreamCh():
			if t.net.blocked(t.host, hostOf(c.RemoteAddr().String())) {
				_ = c.Close()
				continue
			}
			select {
			case t.streams <- c:
			case <-t.stop:
				_ = c.Close()
				return
			}
		}
	}
}

func (t *filtered) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *filtered) StreamCh() <-chan net.Conn           { return t.streams }

func (t *filtered) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.net.blocked(t.host, hostOf(addr)) {
		return time.Now(), nil // lost on the way
	}
	return t.NodeAwareTransport.WriteTo(b, addr)
}

func (t *filtered) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.net.blocked(t.host, hostOf(a.Addr)) {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteToAddress(b, a)
}

func (t *filtered) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.net.blocked(t.host, hostOf(addr)) {
		return nil, errCut
	}
	return t.NodeAwareTransport.DialTimeout(addr, timeout)
}

func (t *filtered) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.net.blocked(t.host, hostOf(a.Addr)) {
		return nil, errCut
	}
	return t.NodeAwareTransport.DialAddressTimeout(a, timeout)
}

// Shutdown stops forwarding, and drains the inner transport while it shuts down: its listeners wait to hand over
// what they read, and memberlist reads no more.
func (t *filtered) Shutdown() error {
	t.once.Do(func() { close(t.stop) })
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.NodeAwareTransport.PacketCh():
			case c := <-t.NodeAwareTransport.StreamCh():
				_ = c.Close()
			case <-done:
				return
			}
		}
	}()
	err := t.NodeAwareTransport.Shutdown()
	close(done)
	return err
}
