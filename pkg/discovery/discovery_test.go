package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tests bind the loopback broadcast address itself and send to it: Linux routes 127.255.255.255 on lo, a
// socket bound to it receives what is sent there (one bound to 127.0.0.x does not), and nothing either sends
// or hears leaves the host.
const (
	loopBroadcast = "127.255.255.255"
	testInterval  = 50 * time.Millisecond
	waitFor       = 10 * time.Second // generous: the machine is small and shared
	tick          = 5 * time.Millisecond
)

func TestNew(t *testing.T) {
	valid := func() Config { return Config{NodeID: "node-a", Advertise: "127.0.0.2:7946"} }
	tests := []struct {
		name    string
		change  func(*Config)
		noFound bool
		wantErr string
	}{
		{name: "all set", change: func(c *Config) {
			*c = Config{NodeID: "n", Advertise: "node-a.lan:7946", Port: 1, BindAddress: "127.0.0.1",
				Target: loopBroadcast, Interval: time.Second, Key: testKey}
		}},
		{name: "no found func", change: func(*Config) {}, noFound: true, wantErr: "found func"},
		{name: "no node ID", change: func(c *Config) { c.NodeID = "" }, wantErr: "node ID of 0 bytes"},
		{name: "node ID with a tab", change: func(c *Config) { c.NodeID = "a\tb" }, wantErr: "printable ASCII"},
		{name: "no advertise", change: func(c *Config) { c.Advertise = "" }, wantErr: "advertise"},
		{name: "wildcard advertise", change: func(c *Config) { c.Advertise = "0.0.0.0:7946" }, wantErr: "wildcard"},
		{name: "advertise port 0", change: func(c *Config) { c.Advertise = "127.0.0.2:0" }, wantErr: "port is not"},
		{name: "negative port", change: func(c *Config) { c.Port = -1 }, wantErr: "port -1"},
		{name: "port too big", change: func(c *Config) { c.Port = 65536 }, wantErr: "port 65536"},
		{name: "bind address not an IP", change: func(c *Config) { c.BindAddress = "lan" }, wantErr: "bind address"},
		{name: "IPv6 bind address", change: func(c *Config) { c.BindAddress = "::" }, wantErr: "IPv6 has no broadcast"},
		{name: "IPv6 target", change: func(c *Config) { c.Target = "ff02::1" }, wantErr: "target"},
		{name: "wildcard target", change: func(c *Config) { c.Target = "0.0.0.0" }, wantErr: "target"},
		{name: "negative interval", change: func(c *Config) { c.Interval = -time.Second }, wantErr: "interval"},
		{name: "short key", change: func(c *Config) { c.Key = []byte("short") }, wantErr: "key of 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.change(&cfg)
			found := func(Peer) {}
			if tt.noFound {
				found = nil
			}
			a, err := New(cfg, nil, found)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.False(t, a.Addr().IsValid(), "New binds nothing")
		})
	}
	t.Run("zero values take the defaults", func(t *testing.T) {
		a, err := New(valid(), nil, func(Peer) {})
		require.NoError(t, err)
		assert.Equal(t, DefaultBindAddress, a.cfg.BindAddress)
		assert.Equal(t, DefaultTarget, a.cfg.Target)
		assert.Equal(t, DefaultInterval, a.cfg.Interval)
		assert.Nil(t, a.keys.Load().send)
	})
}

func TestFilter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	peer := message{nodeID: "node-b", addr: "127.0.0.3:7946", sent: now.UnixMilli()}
	at := func(m message, d time.Duration) message { m.sent = now.Add(d).UnixMilli(); return m }
	own := message{nodeID: "node-a", addr: "127.0.0.2:7946", sent: now.UnixMilli()}
	impostor := message{nodeID: "node-a", addr: "127.0.0.9:7946", sent: now.UnixMilli()}
	other := []byte("another key of sixteen bytes+")
	tests := []struct {
		name       string
		readerKey  []byte
		in         []byte
		wantReport bool
		wantErr    error  // errors.Is
		wantErrMsg string // or ErrorContains
	}{
		{name: "a peer", in: encode(peer, nil), wantReport: true},
		{name: "a keyed peer", readerKey: testKey, in: encode(peer, macKey(testKey)), wantReport: true},
		{name: "its own announcement", in: encode(own, nil)},
		{name: "its own ID at another address", in: encode(impostor, nil), wantErr: errImpostor},
		{name: "wrong key", readerKey: testKey, in: encode(peer, macKey(other)), wantErr: errKey},
		{name: "keyed to an unkeyed node", in: encode(peer, macKey(testKey)), wantErr: errKey},
		{name: "unkeyed to a keyed node", readerKey: testKey, in: encode(peer, nil), wantErr: errKey},
		{name: "sent a minute ago", in: encode(at(peer, -time.Minute), nil), wantReport: true},
		{name: "sent a minute ahead", in: encode(at(peer, time.Minute), nil), wantReport: true},
		{name: "stale", in: encode(at(peer, -MaxSkew-time.Millisecond), nil), wantErrMsg: "more than 2m0s from now"},
		{name: "from the future", in: encode(at(peer, MaxSkew+time.Millisecond), nil), wantErrMsg: "more than 2m0s"},
		{name: "garbage", in: []byte{0xff, 0, 1}, wantErr: errDatagram},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFilter(own.nodeID, own.addr, macKey(tt.readerKey), time.Second)
			p, report, err := f.accept(tt.in, now)
			switch {
			case tt.wantErr != nil:
				assert.ErrorIs(t, err, tt.wantErr)
			case tt.wantErrMsg != "":
				assert.ErrorContains(t, err, tt.wantErrMsg)
			default:
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.wantReport, report)
			if report {
				assert.Equal(t, Peer{NodeID: peer.nodeID, Addr: peer.addr}, p)
			}
		})
	}
}

func TestFilterThrottles(t *testing.T) {
	const every = time.Second
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		steps []struct {
			id, addr string
			after    time.Duration
			want     bool
		}
	}{
		{name: "once per interval per peer", steps: []struct {
			id, addr string
			after    time.Duration
			want     bool
		}{
			{"b", "127.0.0.3:7946", 0, true},
			{"b", "127.0.0.3:7946", every / 2, false},
			{"b", "127.0.0.3:7946", every - time.Millisecond, false},
			{"b", "127.0.0.3:7946", every, true},
			{"b", "127.0.0.3:7946", every + every/2, false},
		}},
		{name: "a new address or another node is reported at once", steps: []struct {
			id, addr string
			after    time.Duration
			want     bool
		}{
			{"b", "127.0.0.3:7946", 0, true},
			{"b", "127.0.0.4:7946", time.Millisecond, true},
			{"c", "127.0.0.3:7946", 2 * time.Millisecond, true},
			{"b", "127.0.0.3:7946", 3 * time.Millisecond, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFilter("a", "127.0.0.2:7946", nil, every)
			for i, s := range tt.steps {
				now := start.Add(s.after)
				m := message{nodeID: s.id, addr: s.addr, sent: now.UnixMilli()}
				_, report, err := f.accept(encode(m, nil), now)
				require.NoError(t, err)
				assert.Equal(t, s.want, report, "step %d: %s %s after %v", i, s.id, s.addr, s.after)
			}
		})
	}
}

// TestFilterBoundsMemory floods the filter with made-up node IDs: the table stops at maxTracked, the excess is
// dropped rather than reported, and once an interval has passed new peers are reported again.
func TestFilterBoundsMemory(t *testing.T) {
	const every = time.Second
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f := newFilter("a", "127.0.0.2:7946", nil, every)
	reported := 0
	for i := range 3 * maxTracked {
		m := message{nodeID: fmt.Sprintf("flood-%d", i), addr: "127.0.0.3:7946", sent: now.UnixMilli()}
		if _, report, _ := f.accept(encode(m, nil), now); report {
			reported++
		}
	}
	assert.Equal(t, maxTracked, reported)
	assert.Len(t, f.reported, maxTracked)

	later := now.Add(every)
	m := message{nodeID: "real", addr: "127.0.0.4:7946", sent: later.UnixMilli()}
	_, report, err := f.accept(encode(m, nil), later)
	require.NoError(t, err)
	assert.True(t, report, "the flood's entries expire after an interval")
	assert.Len(t, f.reported, 1)
}

// recorder collects the peers an Announcer reports.
type recorder struct {
	mu    sync.Mutex
	peers []Peer
}

func (r *recorder) found(p Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.peers = append(r.peers, p)
}

// ids lists the node IDs reported so far, each once, sorted.
func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, p := range r.peers {
		ids = append(ids, p.NodeID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func (r *recorder) has(p Peer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.peers, p)
}

// node is an Announcer under test with what it reported.
type node struct {
	*Announcer
	cfg Config
	got *recorder
}

// self is what the node announces.
func (n node) self() Peer { return Peer{NodeID: n.cfg.NodeID, Addr: n.cfg.Advertise} }

// startNode starts an Announcer on the loopback broadcast address and port (0: a free one), advertising
// 127.0.0.<i+1>:7946 as node-<i>, stopped when the test ends.
func startNode(t *testing.T, i int, port uint16, key []byte) node {
	t.Helper()
	cfg := Config{
		NodeID:      fmt.Sprintf("node-%d", i),
		Advertise:   fmt.Sprintf("127.0.0.%d:7946", i+1),
		Port:        int(port),
		BindAddress: loopBroadcast,
		Target:      loopBroadcast,
		Interval:    testInterval,
		Key:         key,
	}
	return startConfig(t, cfg)
}

func startConfig(t *testing.T, cfg Config) node {
	t.Helper()
	got := &recorder{}
	a, err := New(cfg, zaptest.NewLogger(t), got.found)
	require.NoError(t, err)
	require.NoError(t, a.Start(t.Context()))
	t.Cleanup(func() { assert.NoError(t, a.Stop(context.Background())) })
	return node{Announcer: a, cfg: cfg, got: got}
}

var barriers atomic.Int64

// barrier sends n a valid announcement of a node ID never used before, from a plain socket, and waits until n
// reports it. A socket delivers datagrams in order, so n has then also processed everything that reached its
// socket before: what it has not reported by now, it never will.
func barrier(t *testing.T, n node) {
	t.Helper()
	p := Peer{NodeID: fmt.Sprintf("barrier-%d", barriers.Add(1)), Addr: "127.0.0.200:7946"}
	m := message{nodeID: p.NodeID, addr: p.Addr, sent: time.Now().UnixMilli()}
	send(t, n.Addr().Port(), encode(m, macKey(n.cfg.Key)))
	require.Eventually(t, func() bool { return n.got.has(p) }, waitFor, tick, "%s never got %s", n.cfg.NodeID, p.NodeID)
}

// send sends each datagram to the loopback broadcast address at port from a plain UDP socket.
func send(t *testing.T, port uint16, datagrams ...[]byte) {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(loopBroadcast), port))
	for _, d := range datagrams {
		_, err := c.WriteTo(d, to)
		require.NoError(t, err)
	}
}

func TestFindEachOther(t *testing.T) {
	tests := []struct {
		name  string
		nodes int
		key   []byte
	}{
		{name: "two", nodes: 2},
		{name: "three", nodes: 3},
		{name: "three keyed", nodes: 3, key: testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := []node{startNode(t, 0, 0, tt.key)}
			port := nodes[0].Addr().Port()
			for i := 1; i < tt.nodes; i++ {
				nodes = append(nodes, startNode(t, i, port, tt.key))
			}
			for _, n := range nodes {
				for _, peer := range nodes {
					if peer.cfg.NodeID == n.cfg.NodeID {
						continue
					}
					require.Eventually(t, func() bool { return n.got.has(peer.self()) }, waitFor, tick,
						"%s never found %s", n.cfg.NodeID, peer.cfg.NodeID)
				}
			}
			for _, n := range nodes {
				assert.NotContains(t, n.got.ids(), n.cfg.NodeID, "%s reported itself", n.cfg.NodeID)
			}
		})
	}
}

// TestIgnoresAnnouncements runs a listener next to a sender it must not report and a witness that shares the
// sender's key: once the witness has heard the sender, the listener has received the announcement too, and a
// barrier proves it has processed it.
func TestIgnoresAnnouncements(t *testing.T) {
	other := []byte("another key of sixteen bytes+")
	tests := []struct {
		name        string
		listenerKey []byte
		senderKey   []byte
		// self makes the listener its own sender.
		self bool
		// sender, when set, makes the sender's config from the listener's; else the sender is node-1 with senderKey.
		sender func(listener Config) Config
	}{
		{name: "its own announcements", self: true},
		{name: "its own ID at another address", sender: func(l Config) Config {
			l.Advertise = "127.0.0.99:7946"
			return l
		}},
		{name: "wrong key", listenerKey: testKey, senderKey: other},
		{name: "keyed to an unkeyed node", senderKey: testKey},
		{name: "unkeyed to a keyed node", listenerKey: testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listener := startNode(t, 0, 0, tt.listenerKey)
			port := listener.Addr().Port()
			sender := listener
			switch {
			case tt.self:
			case tt.sender != nil:
				cfg := listener.cfg
				cfg.Port = int(port)
				sender = startConfig(t, tt.sender(cfg))
			default:
				sender = startNode(t, 1, port, tt.senderKey)
			}
			witness := startNode(t, 2, port, sender.cfg.Key)
			require.Eventually(t, func() bool { return witness.got.has(sender.self()) }, waitFor, tick)
			barrier(t, listener)
			assert.False(t, listener.got.has(sender.self()), "reported %v", sender.self())
			assert.NotContains(t, listener.got.ids(), sender.cfg.NodeID)
		})
	}
}

// TestIgnoresGarbage sends datagrams that are not valid announcements from a plain socket: the node reports
// none of them and goes on working.
func TestIgnoresGarbage(t *testing.T) {
	now := time.Now()
	liar := message{nodeID: "liar", addr: "127.0.0.66:7946", sent: now.UnixMilli()}
	stale := liar
	stale.sent = now.Add(-MaxSkew - time.Minute).UnixMilli()
	long := append(encode(liar, nil), make([]byte, MaxMessageSize)...)
	next := encode(liar, nil)
	next[len(magic)]++
	tests := []struct {
		name      string
		key       []byte
		datagrams [][]byte
	}{
		{name: "empty", datagrams: [][]byte{{}}},
		{name: "random bytes", datagrams: [][]byte{[]byte("\x00\xff\x13\x37 not an announcement")}},
		{name: "truncated", datagrams: [][]byte{encode(liar, nil)[:headerLen+2]}},
		{name: "too long", datagrams: [][]byte{long}},
		{name: "a later version", datagrams: [][]byte{next}},
		{name: "stale", datagrams: [][]byte{encode(stale, nil)}},
		{name: "forged MAC", key: testKey, datagrams: [][]byte{
			append(liar.appendBody(nil, true), make([]byte, macLen)...)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, 0, 0, tt.key)
			send(t, n.Addr().Port(), tt.datagrams...)
			barrier(t, n)
			assert.NotContains(t, n.got.ids(), liar.nodeID)
			barrier(t, n) // still reading
		})
	}
}

func TestStop(t *testing.T) {
	cfg := Config{NodeID: "node-0", Advertise: "127.0.0.1:7946", BindAddress: loopBroadcast, Target: loopBroadcast,
		Interval: testInterval}
	tests := []struct {
		name string
		// start starts a (or fails to), returning Start's error.
		start   func(t *testing.T, a *Announcer) error
		wantErr string
	}{
		{name: "never started", start: func(*testing.T, *Announcer) error { return nil }},
		{name: "started", start: func(t *testing.T, a *Announcer) error { return a.Start(t.Context()) }},
		{name: "started twice", wantErr: "already started", start: func(t *testing.T, a *Announcer) error {
			require.NoError(t, a.Start(t.Context()))
			return a.Start(t.Context())
		}},
		{name: "restarted", start: func(t *testing.T, a *Announcer) error {
			require.NoError(t, a.Start(t.Context()))
			require.NoError(t, a.Stop(t.Context()))
			return a.Start(t.Context())
		}},
		{name: "start with an expired context", wantErr: "context canceled", start: func(t *testing.T, a *Announcer) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return a.Start(ctx)
		}},
		{name: "port taken by a socket that does not share it", wantErr: "address already in use",
			start: func(t *testing.T, a *Announcer) error {
				c, err := net.ListenPacket("udp4", net.JoinHostPort(loopBroadcast, "0"))
				require.NoError(t, err)
				defer c.Close()
				a.cfg.Port = c.LocalAddr().(*net.UDPAddr).Port
				return a.Start(t.Context())
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(cfg, zaptest.NewLogger(t), func(Peer) {})
			require.NoError(t, err)
			err = tt.start(t, a)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.NoError(t, a.Stop(t.Context()))
			assert.False(t, a.Addr().IsValid(), "no address once stopped")
			require.NoError(t, a.Stop(t.Context()), "a second Stop is harmless")
			goleak.VerifyNone(t) // both loops have ended
		})
	}
}

func TestJitter(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
	}{
		{name: "test interval", d: testInterval},
		{name: "default interval", d: DefaultInterval},
		{name: "a nanosecond", d: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 1000 {
				got := jitter(tt.d)
				require.GreaterOrEqual(t, got, tt.d*8/10)
				require.LessOrEqual(t, got, tt.d*12/10+1)
			}
		})
	}
}

// TestSetKeys rotates a running node's keys as a cluster key rotation does: with the new key added it hears
// peers keyed with either, and with the new key first it is heard by peers that hold only the new key.
func TestSetKeys(t *testing.T) {
	next := []byte("the next key, sixteen bytes or more")
	a := startNode(t, 0, 0, testKey)
	port := a.Addr().Port()
	b := startNode(t, 1, port, next) // a node already on the next key only
	c := startNode(t, 2, port, testKey)
	require.Eventually(t, func() bool { return c.got.has(a.self()) }, waitFor, tick, "the old key is in use")
	barrier(t, a)
	require.False(t, a.got.has(b.self()), "a does not take the next key yet")

	require.NoError(t, a.SetKeys(testKey, next))
	require.Eventually(t, func() bool { return a.got.has(b.self()) }, waitFor, tick, "a takes the added key")
	require.NoError(t, a.SetKeys(next, testKey))
	require.Eventually(t, func() bool { return b.got.has(a.self()) }, waitFor, tick, "a sends under its first key")

	require.ErrorContains(t, a.SetKeys([]byte("short")), "key of 5 bytes")
}
