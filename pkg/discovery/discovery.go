package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
)

// DefaultPort is joyride-python's DISCOVERY_PORT, for callers to configure: Port 0 means a free port, for tests.
const DefaultPort = 8889

// Defaults for the zero values of Config.
const (
	// DefaultBindAddress receives broadcasts on every interface: a socket bound to a specific address does not
	// receive datagrams sent to a broadcast address.
	DefaultBindAddress = "0.0.0.0"
	// DefaultTarget is the limited broadcast address, which reaches the LAN of every interface's route to it
	// without knowing the netmask.
	DefaultTarget = "255.255.255.255"
	// DefaultInterval is short enough that a node starting next to running ones is found in seconds, and long
	// enough that a LAN of dozens of nodes exchanges a handful of small datagrams a second.
	DefaultInterval = 10 * time.Second
)

const (
	// MaxSkew bounds how far an announcement's time may be from the receiver's clock. With a key it limits how
	// long a captured announcement can be replayed; it also drops announcements queued for minutes somewhere.
	MaxSkew = 2 * time.Minute

	minKeyLen  = 16   // as the smallest AES key the cluster accepts
	maxTracked = 1024 // (node, address) pairs remembered for throttling: bounds memory under a flood of IDs
	// fullSweeps is how many times per interval a full table is swept: often enough that a real peer is
	// reported soon after a flood's entries expire, rarely enough that a flood cannot make every datagram
	// walk the table.
	fullSweeps = 10
	// readRetry paces the receive loop after a read error that is not the socket closing, so that a persistent
	// error cannot spin a core.
	readRetry = 100 * time.Millisecond
)

// Config configures an Announcer. Port 0 lets the system pick a port (tests); the other zero values take the
// defaults above.
type Config struct {
	// NodeID names this node; announcements carrying it are its own and ignored. 1..128 printable ASCII.
	NodeID string
	// Advertise is host:port of this node's gossip listener, what peers are told to join. The host must not be
	// a wildcard address.
	Advertise string
	// Port is the UDP discovery port, the same on every node; 0 picks a free one (tests).
	Port int
	// BindAddress is the IPv4 address the discovery socket binds to; default DefaultBindAddress.
	BindAddress string
	// Target is the IPv4 address announcements are sent to, at Port; default DefaultTarget.
	Target string
	// Interval is the mean time between announcements (each is jittered by ±20% so that nodes started together
	// do not announce in lockstep), and the least time between two reports of the same peer; default
	// DefaultInterval.
	Interval time.Duration
	// Key, when set (at least 16 bytes, normally the cluster's gossip key), authenticates announcements with
	// HMAC-SHA256; announcements without a valid MAC under it are ignored. When not set, keyed announcements
	// are ignored too: they come from a cluster this node could not join. SetKeys changes it while the
	// Announcer runs.
	Key []byte
}

// keyset is the MAC keys in use: send authenticates this node's announcements, an announcement is taken when
// authenticated under any of accept. Both are empty without a key.
type keyset struct {
	send   []byte
	accept [][]byte
}

func newKeyset(keys [][]byte) (*keyset, error) {
	ks := &keyset{}
	for i, k := range keys {
		if len(k) < minKeyLen {
			return nil, fmt.Errorf("discovery: key of %d bytes, want at least %d", len(k), minKeyLen)
		}
		if i == 0 {
			ks.send = macKey(k)
		}
		ks.accept = append(ks.accept, macKey(k))
	}
	return ks, nil
}

// Peer is what a node announces: its ID and the address of its gossip listener.
type Peer struct {
	NodeID string
	Addr   string
}

// Announcer announces this node by UDP broadcast and reports the peers it hears. Create it with New; it uses the
// network only between Start and Stop.
type Announcer struct {
	cfg    Config
	target netip.Addr
	keys   atomic.Pointer[keyset]
	log    *zap.Logger
	found  func(Peer)

	mu   sync.Mutex // serialises Start and Stop
	conn net.PacketConn
	send background.Loop
	recv background.Loop
	// local is the bound address, apart from mu so that Addr never waits for a Stop that waits for found.
	local atomic.Pointer[netip.AddrPort]
}

// New checks cfg and returns a stopped Announcer that will call found for each peer it hears, at most once per
// Interval for the same (NodeID, Addr). found runs on the receive loop, one call at a time and with no lock of
// the Announcer held: it should be quick (hand the peer to a channel or a join queue, never join in it), since
// datagrams that arrive while it runs queue in the socket's buffer and are dropped when it fills; Stop waits
// for it, so it must not call Stop. log may be nil and is named "discovery". New does no I/O.
func New(cfg Config, log *zap.Logger, found func(Peer)) (*Announcer, error) {
	if found == nil {
		return nil, errors.New("discovery: a found func is required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.BindAddress == "" {
		cfg.BindAddress = DefaultBindAddress
	}
	if cfg.Target == "" {
		cfg.Target = DefaultTarget
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if err := checkNodeID(cfg.NodeID); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if err := checkAddr(cfg.Advertise); err != nil {
		return nil, fmt.Errorf("discovery: advertise: %w", err)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("discovery: port %d is not in 0..65535", cfg.Port)
	}
	if ip, err := netip.ParseAddr(cfg.BindAddress); err != nil || !ip.Unmap().Is4() {
		return nil, fmt.Errorf("discovery: bind address %q is not an IPv4 address (IPv6 has no broadcast)", cfg.BindAddress)
	}
	target, err := netip.ParseAddr(cfg.Target)
	if err != nil || !target.Unmap().Is4() || target.IsUnspecified() {
		return nil, fmt.Errorf("discovery: target %q is not a specific IPv4 address (IPv6 has no broadcast)", cfg.Target)
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("discovery: interval %v is negative", cfg.Interval)
	}
	var keys [][]byte
	if len(cfg.Key) > 0 {
		keys = [][]byte{cfg.Key}
	}
	ks, err := newKeyset(keys)
	if err != nil {
		return nil, err
	}
	cfg.Key = append([]byte(nil), cfg.Key...)
	a := &Announcer{
		cfg:    cfg,
		target: target.Unmap(),
		log:    log.Named("discovery"),
		found:  found,
	}
	a.keys.Store(ks)
	return a, nil
}

// SetKeys changes the keys while the Announcer runs, as the cluster's keyring changes during a key rotation:
// announcements are sent authenticated under the first key and taken when authenticated under any. No key at
// all makes the Announcer unkeyed.
func (a *Announcer) SetKeys(keys ...[]byte) error {
	ks, err := newKeyset(keys)
	if err != nil {
		return err
	}
	a.keys.Store(ks)
	return nil
}

// Start binds the discovery socket and starts the send and receive loops, which run until Stop. The socket
// shares its port (SO_REUSEADDR, SO_REUSEPORT) so that several nodes on one host, as in tests on 127.0.0.x,
// all hear the broadcasts. A failure releases the socket.
func (a *Announcer) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != nil {
		return errors.New("discovery: already started")
	}
	lc := net.ListenConfig{Control: control}
	addr := net.JoinHostPort(a.cfg.BindAddress, strconv.Itoa(a.cfg.Port))
	conn, err := lc.ListenPacket(ctx, "udp4", addr)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if err := ctx.Err(); err != nil {
		_ = conn.Close()
		return fmt.Errorf("discovery: start on %s: %w", conn.LocalAddr(), err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	target := netip.AddrPortFrom(a.target, local.Port()) // the bound port, which Port 0 leaves to the system
	a.conn = conn
	a.local.Store(&local)
	a.recv.Start(func(ctx context.Context) { a.receive(ctx, conn) })
	a.send.Start(func(ctx context.Context) { a.announce(ctx, conn, target) })
	a.log.Info("announcing for LAN discovery", zap.Stringer("listen", local), zap.Stringer("target", target),
		zap.String("advertise", a.cfg.Advertise), zap.Bool("keyed", a.keys.Load().send != nil))
	return nil
}

// Stop ends both loops and closes the socket, waiting for the loops until ctx ends (the socket is closed
// either way, so a loop left behind ends on its own). It is safe when not started or after a failed Start,
// and the Announcer may be started again.
func (a *Announcer) Stop(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		return nil
	}
	a.send.Cancel()
	a.recv.Cancel()
	err := a.conn.Close() // unblocks the receive loop's read
	a.conn = nil
	a.local.Store(nil)
	if werr := errors.Join(a.send.Wait(ctx), a.recv.Wait(ctx)); werr != nil {
		return fmt.Errorf("discovery: stop: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("discovery: stop: %w", err)
	}
	return nil
}

// Addr is the address the discovery socket is bound to, with the port the system chose for Port 0; the zero
// AddrPort when not started.
func (a *Announcer) Addr() netip.AddrPort {
	if p := a.local.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// announce sends this node's announcement at once, so that a new node is found without waiting an interval,
// and then every jittered interval until ctx ends.
func (a *Announcer) announce(ctx context.Context, conn net.PacketConn, target netip.AddrPort) {
	to := net.UDPAddrFromAddrPort(target)
	self := message{nodeID: a.cfg.NodeID, addr: a.cfg.Advertise}
	failing := false
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			self.sent = now.UnixMilli()
			_, err := conn.WriteTo(encode(self, a.keys.Load().send), to)
			switch {
			case err != nil && ctx.Err() != nil:
				return // Stop closed the socket
			case err != nil && !failing:
				// Logged once per outage: a host without a route to the target fails every time.
				a.log.Warn("cannot send discovery announcement", zap.Stringer("target", target), zap.Error(err))
			case err == nil && failing:
				a.log.Info("discovery announcements are sent again", zap.Stringer("target", target))
			}
			failing = err != nil
			t.Reset(jitter(a.cfg.Interval))
		}
	}
}

// jitter returns d ±20%.
func jitter(d time.Duration) time.Duration {
	return d*8/10 + rand.N(d*4/10+1)
}

// receive reads announcements until the socket is closed and reports the peers that pass the checks.
func (a *Announcer) receive(ctx context.Context, conn net.PacketConn) {
	f := newFilter(a.cfg.NodeID, a.cfg.Advertise, nil, a.cfg.Interval)
	buf := make([]byte, MaxMessageSize+1) // one byte more, so that a longer datagram shows as too long
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			a.log.Debug("discovery read failed", zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(readRetry):
			}
			continue
		}
		f.macKeys = a.keys.Load().accept
		p, report, err := f.accept(buf[:n], time.Now())
		switch {
		case errors.Is(err, errImpostor):
			a.log.Warn("another node announces this node's ID", zap.String("node_id", p.NodeID),
				zap.String("addr", p.Addr), zap.Stringer("from", from))
		case err != nil:
			a.log.Debug("ignored datagram", zap.Stringer("from", from), zap.Error(err))
		case report:
			a.log.Debug("found peer", zap.String("node_id", p.NodeID), zap.String("addr", p.Addr))
			a.found(p)
		}
	}
}

var (
	errImpostor = errors.New("this node's ID with another address")
	errKey      = errors.New("not authenticated by this node's key")
)

// filter decides which datagrams become reports. It belongs to the receive loop alone, so it needs no lock.
type filter struct {
	self, advertise string
	macKeys         [][]byte // an announcement authenticated under any is taken; none: only unkeyed ones
	every           time.Duration
	// reported holds when each (node, address) was last reported, or for this node's own ID with another
	// address, last warned about; entries older than every are swept out.
	reported map[Peer]time.Time
	swept    time.Time
}

func newFilter(self, advertise string, macKey []byte, every time.Duration) *filter {
	f := &filter{self: self, advertise: advertise, every: every, reported: make(map[Peer]time.Time)}
	if macKey != nil {
		f.macKeys = [][]byte{macKey}
	}
	return f
}

// accept checks one datagram received at now. It reports p when report is true; err says why a datagram was
// dropped (errImpostor, with p set, is worth a warning). This node's own announcements and peers reported
// less than an interval ago give neither.
func (f *filter) accept(b []byte, now time.Time) (p Peer, report bool, err error) {
	m, body, err := decode(b)
	if err != nil {
		return Peer{}, false, err
	}
	if !f.authentic(m, body) {
		return Peer{}, false, errKey
	}
	ms, skew := now.UnixMilli(), MaxSkew.Milliseconds()
	if m.sent < ms-skew || m.sent > ms+skew {
		return Peer{}, false, fmt.Errorf("announcement of %s from %v, more than %v from now",
			m.nodeID, time.UnixMilli(m.sent).UTC(), MaxSkew)
	}
	p = Peer{NodeID: m.nodeID, Addr: m.addr}
	if p.NodeID == f.self && p.Addr == f.advertise {
		return Peer{}, false, nil
	}
	if !f.due(p, now) {
		return Peer{}, false, nil
	}
	if p.NodeID == f.self {
		return p, false, errImpostor
	}
	return p, true, nil
}

// authentic says whether m is authenticated under one of the filter's keys, or, without keys, unkeyed.
func (f *filter) authentic(m message, body []byte) bool {
	if len(f.macKeys) == 0 {
		return authentic(m, body, nil)
	}
	for _, k := range f.macKeys {
		if authentic(m, body, k) {
			return true
		}
	}
	return false
}

// due records p as reported at now unless it was reported less than an interval ago. When the table is full
// even after sweeping, new pairs are dropped rather than reported unthrottled: only a flood of made-up IDs
// fills it, and it empties an interval after the flood ends.
func (f *filter) due(p Peer, now time.Time) bool {
	if last, ok := f.reported[p]; ok && now.Sub(last) < f.every {
		return false
	}
	since := now.Sub(f.swept)
	if since >= f.every || (len(f.reported) >= maxTracked && since >= f.every/fullSweeps) {
		for q, last := range f.reported {
			if now.Sub(last) >= f.every {
				delete(f.reported, q)
			}
		}
		f.swept = now
	}
	if _, ok := f.reported[p]; !ok && len(f.reported) >= maxTracked {
		return false
	}
	f.reported[p] = now
	return true
}
