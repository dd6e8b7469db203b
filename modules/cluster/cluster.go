package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/discovery"
	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/hostaddr"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// PeerPrefix starts the store source of every peer record: "node:<node id>/<the peer's own source>".
const PeerPrefix = "node:"

// moduleName is the cluster's name on the bus and in errors.
const moduleName = "cluster"

// Cluster is one node: its memberlist, its own shared sources, and its copies of every peer's.
//
// memberlist calls the delegates (delegate.go) from its own goroutines; they only update the state under mu and
// wake the loop, which does everything that takes time or talks to the bus: reading local sources from the
// store, putting peers' records in the store, pulling states, rejoining.
type Cluster struct {
	cfg     Config
	log     *zap.Logger
	bus     *events.Bus
	store   *dnsstore.Store
	domains dnsname.Domains
	share   []string // store source prefixes of the shared kinds
	keys    [][]byte
	policy  dnsstore.Policy

	// wrap, when set (tests), wraps the network transport: dropping traffic between chosen nodes.
	wrap func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
	// exit is called when this node finds another live node using its ID after start: it must stop.
	exit func(error)

	mu        sync.Mutex
	id        string
	addr      string // this node's gossip address
	epoch     uint64
	self      *ownerState
	owners    map[string]*ownerState
	members   map[string]*member
	published map[string]map[string]version // owner → store source → version in the store
	dirty     map[string]struct{}           // owners whose store records need reconciling
	local     map[string]struct{}           // local sources to read from the store again
	behind    map[string]time.Time          // owners whose copy is behind their metadata, since when
	seeds     map[string]struct{}           // addresses to rejoin: seeds, discovered peers, members last seen
	reported  map[string]time.Time          // rate limit of error reports
	metaDirty bool
	// announced is false until this node's own sources have settled after Start (see settle): until then peers
	// keep what they had of it, so that a node restarted before it was found dead does not replace its records
	// everywhere with the few its producers have loaded so far.
	announced  bool
	started    time.Time
	settledGen uint64
	settledAt  time.Time
	leaving    bool
	inflight   map[string]bool // addresses being joined
	joins      sync.WaitGroup  // the joins in the background
	lastAlive  int             // other members alive when last counted, for cluster_state_changed
	updating   atomic.Bool     // a metadata update is under way
	numNodes   atomic.Int32    // live members, this node included, for the broadcast queue's retransmit count
	stats      Stats
	// running is the memberlist from Start to Stop, for the methods other goroutines call (Status, ForceSync).
	running atomic.Pointer[memberlist.Memberlist]
	// conflictErr is set when a join found another live node using this node's ID.
	conflictErr atomic.Pointer[error]

	ml    *memberlist.Memberlist
	queue *memberlist.TransmitLimitedQueue
	disc  *discovery.Announcer
	// discovered are addresses LAN discovery found, joined by the loop (the announcer's callback must be quick).
	discovered []string
	// keyring is the keyring file's content last applied, to notice a rotation.
	keyring      string
	keyringCheck time.Time
	ring         *memberlist.Keyring
	sub          *events.Subscription
	wake         chan struct{}
	cancel       context.CancelFunc
	done         chan struct{}
}

// version is one owner's version of one source in the store.
type version struct{ epoch, counter uint64 }

// member is what this node knows of another: from memberlist, kept after it dies so its records can return.
type member struct {
	addr      string
	state     memberlist.NodeStateType
	since     time.Time // of the state
	meta      meta
	lastAlive time.Time
}

// Stats are counters of the node's synchronisation since start.
type Stats struct {
	NodesDiscovered int       `json:"nodes_discovered"`
	RecordsSynced   int       `json:"dns_records_synced"`
	SyncOperations  int       `json:"sync_operations"`
	LastSync        time.Time `json:"last_sync"`
	Rejected        int       `json:"rejected_messages"`
}

// NewCluster checks cfg and builds a node; it does no I/O and starts nothing. log may be nil.
func NewCluster(cfg Config, log *zap.Logger, bus *events.Bus, store *dnsstore.Store) (*Cluster, error) {
	if err := validation.Section(moduleName, cfg); err != nil {
		return nil, err
	}
	if bus == nil || store == nil {
		return nil, errors.New("cluster: an event bus and a record store are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	domains, err := dnsname.ParseDomains("cluster.allowed_domains", cfg.AllowedDomains)
	if err != nil {
		return nil, err
	}
	keys, err := cfg.keys()
	if err != nil {
		return nil, err
	}
	policy, err := dnsstore.ParsePolicy(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("cluster.policy: %w", err)
	}
	if cfg.Port != 0 && cfg.Port == cfg.DiscoveryPort {
		return nil, fmt.Errorf("cluster.port %d: must differ from cluster.discovery_port", cfg.Port)
	}
	c := &Cluster{cfg: cfg, log: log.Named(moduleName), bus: bus, store: store, domains: domains, keys: keys,
		policy: policy}
	for _, k := range cfg.Share {
		c.share = append(c.share, sourceKinds[k])
	}
	return c, nil
}

// Start joins the cluster: it binds the gossip port, joins the seeds (a seed that is down is retried by the rejoin
// loop; only another live node with this node's ID fails start), and starts the loop. Records shared before
// Start are read from the store.
func (c *Cluster) Start(ctx context.Context) error {
	if !c.cfg.Enabled {
		c.log.Info("DNS synchronisation is off (cluster.enabled, ENABLE_DNS_SYNC)")
		return nil
	}
	if c.running.Load() != nil {
		return errors.New("cluster: already started")
	}
	id, err := nodeID(c.cfg.NodeID, c.cfg.DataDir)
	if err != nil {
		return err
	}
	epoch, err := bootEpoch(c.cfg.DataDir, time.Now())
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.id, c.epoch, c.leaving = id, epoch, false
	c.announced, c.started, c.settledGen, c.settledAt = false, time.Now(), 0, time.Now()
	c.self = newOwner(epoch, c.cfg.Priority)
	c.owners = make(map[string]*ownerState)
	c.members = make(map[string]*member)
	c.published = make(map[string]map[string]version)
	c.dirty = make(map[string]struct{})
	c.local = make(map[string]struct{})
	c.behind = make(map[string]time.Time)
	c.seeds = make(map[string]struct{})
	c.inflight = make(map[string]bool)
	c.lastAlive = 0
	c.reported = make(map[string]time.Time)
	c.stats = Stats{}
	for _, s := range c.cfg.Join {
		c.seeds[s] = struct{}{}
	}
	c.mu.Unlock()
	c.wake = make(chan struct{}, 1)
	c.store.SetPolicy(c.policy, dnsstore.Origin{Node: id, Priority: c.cfg.Priority})

	// Local sources: the records handler announces every source it replaces; the ones already in the store are
	// read once below.
	c.sub = c.bus.Subscribe(moduleName, events.Filter{
		Families: []events.Family{events.FamilyDNS, events.FamilySync},
		Kinds:    []events.Kind{events.Kind(events.DNSSourceReplaced), events.Kind(events.SyncForced)},
	}, c.handle)
	for _, s := range c.store.Snapshot().Sources() {
		if c.shared(s) {
			c.local[s] = struct{}{}
		}
	}
	c.readLocal()

	// The queue exists before memberlist does: memberlist delivers messages (which relays queue) from Create on.
	c.numNodes.Store(1)
	c.queue = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return int(c.numNodes.Load()) }, RetransmitMult: 3}
	ml, err := c.createMemberlist(id)
	if err != nil {
		c.sub.Close()
		return err
	}
	c.ml = ml
	c.mu.Lock()
	c.addr = ml.LocalNode().Address()
	c.mu.Unlock()
	if len(c.keys) == 0 {
		c.log.Warn("cluster traffic is neither encrypted nor authenticated: anyone who can reach the gossip port " +
			"can publish names; set cluster.key or cluster.keyring_file")
	}
	c.log.Info("cluster node started", zap.String("node_id", id), zap.String("address", c.address()),
		zap.Strings("join", c.cfg.Join), zap.Strings("share", c.cfg.Share), zap.String("policy", c.cfg.Policy))
	if err := c.joinSeeds(ctx); err != nil {
		_ = ml.Shutdown() // no Leave: that would tell the cluster the other node, of the same name, left
		c.sub.Close()
		return err
	}
	if c.cfg.Discovery {
		if err := c.startDiscovery(ctx, id); err != nil {
			_ = ml.Leave(time.Second)
			_ = ml.Shutdown()
			c.sub.Close()
			return err
		}
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.run(loopCtx)
	c.running.Store(ml)
	return nil
}

// seedWait bounds how long Start waits for the seeds: a seed host that is down without refusing connections
// costs memberlist's TCP timeout per address, and start-up has a deadline of its own.
const seedWait = 3 * time.Second

// joinSeeds joins the seeds, waiting up to seedWait. A seed that is down is no error (the rejoin loop retries);
// another live node with this node's ID is: returned when found in time, else it stops the application through
// exit.
func (c *Cluster) joinSeeds(ctx context.Context) error {
	if len(c.cfg.Join) == 0 {
		return nil
	}
	done := make(chan struct{})
	var joinErr error
	c.joins.Add(1)
	go func() {
		defer c.joins.Done()
		defer close(done)
		joinErr = c.join(c.cfg.Join)
	}()
	select {
	case <-done:
		if err := c.conflict(); err != nil {
			return err
		}
		if joinErr != nil && c.ml.NumMembers() < 2 {
			c.alone(joinErr)
		}
		return nil
	case <-ctx.Done():
	case <-time.After(seedWait):
	}
	c.log.Info("the seeds are slow to answer; joining them in the background", zap.Strings("join", c.cfg.Join))
	go func() {
		<-done
		if err := c.conflict(); err != nil && c.exit != nil {
			c.exit(err)
		}
	}()
	return nil
}

// startDiscovery announces this node's gossip address on the LAN and learns its peers', authenticated with the
// primary key when there is one.
func (c *Cluster) startDiscovery(ctx context.Context, id string) error {
	var key []byte
	if len(c.keys) > 0 {
		key = c.keys[0]
	}
	d, err := discovery.New(discovery.Config{
		NodeID: id, Advertise: c.address(), Port: c.cfg.DiscoveryPort, Target: c.cfg.DiscoveryAddress,
		Interval: max(c.cfg.RejoinInterval/3, time.Second), Key: key,
	}, c.log, func(p discovery.Peer) { c.AddPeer(p.NodeID, p.Addr) })
	if err != nil {
		return fmt.Errorf("cluster.discovery: %w", err)
	}
	if err := d.Start(ctx); err != nil {
		return fmt.Errorf("cluster.discovery: %w", err)
	}
	c.disc = d
	return nil
}

// Stop leaves the cluster gracefully (its peers withdraw this node's records at once), stops the loop and
// withdraws the peers' records from this node's store. It honours ctx and is safe after a failed Start.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.running.Swap(nil) == nil {
		return nil
	}
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d)/2)
	}
	// A node stopping because another live node has its ID does not leave: a leave in that name would withdraw
	// the other node's records.
	if c.conflict() == nil {
		c.mu.Lock()
		c.leaving = true
		c.mu.Unlock()
		// The metadata first, so that peers withdraw this node's records at once rather than after failed_grace.
		_ = c.ml.UpdateNode(timeout / 2)
		if err := c.ml.Leave(timeout / 2); err != nil {
			c.log.Warn("leaving the cluster", zap.Error(err))
		}
	}
	if c.disc != nil {
		if err := c.disc.Stop(ctx); err != nil {
			c.log.Warn("stopping discovery", zap.Error(err))
		}
		c.disc = nil
	}
	err := c.ml.Shutdown()
	c.cancel()
	joined := make(chan struct{})
	go func() {
		<-c.done
		c.joins.Wait() // a join under way ends at its dial's timeout at the latest
		close(joined)
	}()
	select {
	case <-joined:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.sub.Close()
	c.mu.Lock()
	for o := range c.published {
		c.dirty[o] = struct{}{}
	}
	c.owners = map[string]*ownerState{}
	c.mu.Unlock()
	c.reconcile(ctx)
	return err
}

func (c *Cluster) createMemberlist(id string) (*memberlist.Memberlist, error) {
	mc := memberlist.DefaultLANConfig()
	mc.Name = id
	mc.BindAddr, mc.BindPort = c.cfg.BindAddress, c.cfg.Port
	mc.AdvertiseAddr, mc.AdvertisePort = c.advertise(), c.cfg.Port
	mc.GossipInterval = c.cfg.GossipInterval
	mc.ProbeInterval = c.cfg.ProbeInterval
	mc.ProbeTimeout = c.cfg.ProbeTimeout
	mc.SuspicionMult = c.cfg.SuspicionMult
	mc.PushPullInterval = c.cfg.PushPullInterval
	mc.GossipToTheDeadTime = c.cfg.GossipToTheDead
	// A node restarted on another address takes its name back once the old one is found dead.
	mc.DeadNodeReclaimTime = c.cfg.ProbeInterval
	mc.Logger = newMemberlistLogger(c.log.Named("memberlist"), c.suspected)
	d := &delegate{c}
	mc.Delegate, mc.Events, mc.Merge, mc.Conflict = d, d, d, d
	if len(c.keys) > 0 {
		ring, err := memberlist.NewKeyring(c.keys, c.keys[0])
		if err != nil {
			return nil, fmt.Errorf("cluster: keyring: %w", err)
		}
		mc.Keyring, c.ring = ring, ring
		if c.cfg.KeyringFile != "" {
			b, _ := os.ReadFile(c.cfg.KeyringFile) // read a moment ago by keys(); a change is applied later
			c.keyring, c.keyringCheck = string(b), time.Now()
		}
	}
	if c.wrap != nil {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{c.cfg.BindAddress}, BindPort: c.cfg.Port, Logger: mc.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		mc.Transport = c.wrap(nt)
		if mc.BindPort == 0 {
			mc.BindPort, mc.AdvertisePort = nt.GetAutoBindPort(), nt.GetAutoBindPort()
		}
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip on %s: %w", net.JoinHostPort(c.cfg.BindAddress, strconv.Itoa(c.cfg.Port)), err)
	}
	return ml, nil
}

// advertise is the address peers are told to reach this node at: the configured one, else the bound one, else
// (binding every address) the source address of the default route, rather than the first private address
// memberlist would pick, which on a Docker host may be a bridge's.
func (c *Cluster) advertise() string {
	if c.cfg.AdvertiseAddress != "" {
		return c.cfg.AdvertiseAddress
	}
	if ip, err := netip.ParseAddr(c.cfg.BindAddress); err == nil && !ip.IsUnspecified() {
		return ""
	}
	if ip, err := hostaddr.Detect(); err == nil {
		return ip.String()
	}
	return ""
}

// suspected marks a member this node's probe found unresponsive as suspect and publishes node_suspected. Only
// the node whose probe failed learns it this way (memberlist says nothing of suspicion to the others' users);
// a later alive message makes the member alive again, its death dead.
func (c *Cluster) suspected(node string) {
	c.mu.Lock()
	m, ok := c.members[node]
	if !ok || m.state != memberlist.StateAlive {
		c.mu.Unlock()
		return
	}
	m.state, m.since = memberlist.StateSuspect, time.Now()
	addr := m.addr
	c.mu.Unlock()
	c.publishNode(context.Background(), events.NodeSuspected, node, addr)
}

// suspicionMax is the longest memberlist suspects a node before declaring it dead (its suspicion timeout with
// no confirmation), plus a probe: a member still suspect after that was refuted. Callers hold mu.
func (c *Cluster) suspicionMax() time.Duration {
	n := float64(len(c.members) + 1)
	return time.Duration(6*float64(c.cfg.SuspicionMult)*max(1, math.Log10(n))*float64(c.cfg.ProbeInterval)) + c.cfg.ProbeInterval
}

// ID is this node's ID ("" before Start).
func (c *Cluster) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// address is the host:port peers reach this node's gossip at, read once at Start: memberlist's LocalNode is its
// own node state, which it changes under its lock while a reader has none.
func (c *Cluster) address() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

func (c *Cluster) shared(source string) bool {
	for _, p := range c.share {
		if strings.HasPrefix(source, p) {
			return true
		}
	}
	return false
}

// handle receives, from the bus, the local sources the records handler replaced and requests for a full sync.
func (c *Cluster) handle(ctx context.Context, e events.Event) error {
	switch ev := e.(type) {
	case *events.DNSEvent:
		if !c.shared(ev.Owner) {
			return nil
		}
		c.mu.Lock()
		c.local[ev.Owner] = struct{}{}
		c.mu.Unlock()
		c.poke()
	case *events.SyncEvent:
		if ev.Source != moduleName {
			// In the background: this subscription also carries the local changes, which must not wait on dials.
			c.joinInBackground(c.aliveAddrs(), nil)
		}
	}
	return nil
}

// aliveAddrs are the gossip addresses of the other members alive, as memberlist last told (not memberlist's
// Members: the nodes it returns are its own, which it changes under a lock their reader does not hold).
func (c *Cluster) aliveAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addrs []string
	for _, m := range c.members {
		if m.state == memberlist.StateAlive {
			addrs = append(addrs, m.addr)
		}
	}
	slices.Sort(addrs)
	return addrs
}

// poke wakes the loop without waiting.
func (c *Cluster) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run is the loop: local changes, the store, catching up, failure grace, rejoining, tombstones.
func (c *Cluster) run(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(max(c.cfg.GossipInterval, 20*time.Millisecond))
	defer tick.Stop()
	rejoin := time.NewTimer(c.rejoinDelay(true))
	defer rejoin.Stop()
	lastMeta := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-tick.C:
			c.settle()
			c.catchUp()
			c.expire()
		case <-rejoin.C:
			joined := c.rejoin()
			rejoin.Reset(c.rejoinDelay(joined))
		}
		c.readLocal()
		c.joinDiscovered()
		c.mu.Lock()
		sendMeta := c.metaDirty && time.Since(lastMeta) >= c.cfg.GossipInterval
		if sendMeta {
			c.metaDirty = false
		}
		c.mu.Unlock()
		if sendMeta && !c.updating.Swap(true) {
			lastMeta = time.Now()
			// UpdateNode waits until the new metadata is sent to one member (or the timeout, when alone): beside
			// the loop, one at a time.
			go func() {
				defer c.updating.Store(false)
				_ = c.ml.UpdateNode(c.cfg.GossipInterval)
			}()
		} else if sendMeta {
			c.mu.Lock()
			c.metaDirty = true // an update is under way: the next one carries this change
			c.mu.Unlock()
		}
		c.reconcile(ctx)
	}
}

// rejoinDelay is the next rejoin: RejoinInterval jittered by up to a quarter either way, or about a second while
// this node has no member (a cluster restarted at once must form again fast).
func (c *Cluster) rejoinDelay(joined bool) time.Duration {
	d := c.cfg.RejoinInterval
	if !joined {
		d = min(d, time.Second)
	}
	return d - d/4 + rand.N(d/2+1)
}

// joinDiscovered joins the addresses discovery found since the last time.
func (c *Cluster) joinDiscovered() {
	c.mu.Lock()
	addrs := c.discovered
	c.discovered = nil
	c.mu.Unlock()
	slices.Sort(addrs)
	c.joinInBackground(slices.Compact(addrs), nil)
}

// readLocal reads the local sources marked changed from the store and makes a new version of each that differs
// from what this node last shared: a delta broadcast, or a notice when it does not fit a packet.
func (c *Cluster) readLocal() {
	c.mu.Lock()
	if len(c.local) == 0 {
		c.mu.Unlock()
		return
	}
	names := c.local
	c.local = make(map[string]struct{})
	c.mu.Unlock()

	snap := c.store.Snapshot()
	for name := range names {
		recs := snap.SourceRecords(name)
		wire := make([]wireRecord, len(recs))
		for i, r := range recs {
			wire[i] = fromStore(r, r.SetAt().UnixMilli())
		}
		c.mu.Lock()
		cur, ok := c.self.sources[name]
		if (!ok && len(wire) == 0) || (ok && !cur.deleted && slices.Equal(cur.records, wire)) || (ok && cur.deleted && len(wire) == 0) {
			c.mu.Unlock()
			continue
		}
		c.self.head++
		s := wireSource{Source: name, Counter: c.self.head, Deleted: len(wire) == 0, Records: wire}
		c.self.sources[name] = newEntry(s, time.Now())
		delta := wireOwner{Node: c.id, Epoch: c.epoch, Priority: c.self.priority, Sources: []wireSource{s}}
		c.metaDirty = true
		c.mu.Unlock()
		c.broadcast(delta)
	}
}

// How long this node's own sources must stay unchanged after Start before it announces its new epoch, and the
// longest it waits for that.
const (
	settleQuiet = 300 * time.Millisecond
	settleMax   = 3 * time.Second
)

// settle announces this node's state once its local sources have settled: the store unchanged for settleQuiet,
// or settleMax after Start. Announcing is making the epoch and head known in the metadata and sending a notice:
// every peer then pulls the state, which replaces what it had of an earlier boot.
func (c *Cluster) settle() {
	now := time.Now()
	gen := c.store.Snapshot().Generation()
	c.mu.Lock()
	if c.announced {
		c.mu.Unlock()
		return
	}
	if gen != c.settledGen {
		c.settledGen, c.settledAt = gen, now
	}
	if now.Sub(c.settledAt) < settleQuiet && now.Sub(c.started) < settleMax {
		c.mu.Unlock()
		return
	}
	c.announced, c.metaDirty = true, true
	notice := wireOwner{Node: c.id, Epoch: c.epoch, Head: c.self.head, Priority: c.self.priority}
	c.mu.Unlock()
	c.log.Debug("state announced", zap.Uint64("epoch", notice.Epoch), zap.Uint64("changes", notice.Head))
	c.queue.QueueBroadcast(&broadcast{name: notice.Node + "\x00notice", msg: encode(msgNotice, notice)})
}

// broadcast queues a change of this node's: the delta itself when it fits a packet, else a notice that makes
// every node that hears it pull this node's state. A newer change to a source replaces its queued older one.
func (c *Cluster) broadcast(delta wireOwner) {
	c.mu.Lock()
	announced := c.announced
	c.mu.Unlock()
	if c.queue == nil || !announced {
		return // the state travels whole once announced
	}
	msg := encode(msgDelta, delta)
	name := delta.Node + "\x00" + delta.Sources[0].Source
	if len(msg) > maxBroadcast {
		notice := wireOwner{Node: delta.Node, Epoch: delta.Epoch, Head: delta.Sources[0].Counter, Priority: delta.Priority}
		msg, name = encode(msgNotice, notice), delta.Node+"\x00notice"
	}
	c.queue.QueueBroadcast(&broadcast{name: name, msg: msg})
}

// catchUp pulls the state of every member this node's copy has been behind for two gossip intervals (time for
// the deltas in flight to arrive): memberlist carries each node's epoch and head in its metadata reliably, where
// it sends user messages only a few times, so no change is missed for long.
func (c *Cluster) catchUp() {
	c.mu.Lock()
	grace := 2 * c.cfg.GossipInterval
	var addrs []string
	var owners []string
	for o, since := range c.behind {
		m, ok := c.members[o]
		if !ok || m.state != memberlist.StateAlive {
			delete(c.behind, o)
			continue
		}
		if !c.isBehind(o, m.meta) {
			delete(c.behind, o)
			continue
		}
		if time.Since(since) >= grace {
			addrs = append(addrs, m.addr)
			owners = append(owners, o)
			c.behind[o] = time.Now() // the next attempt after another grace
		}
	}
	c.mu.Unlock()
	for i, a := range addrs {
		c.log.Debug("pulling state", zap.String("node_id", owners[i]), zap.String("address", a))
	}
	c.joinInBackground(addrs, nil)
}

// isBehind reports whether this node's copy of owner is older than m says the owner is. Callers hold mu.
func (c *Cluster) isBehind(owner string, m meta) bool {
	o, ok := c.owners[owner]
	if !ok {
		return m.Epoch != 0
	}
	return o.epoch < m.Epoch || (o.epoch == m.Epoch && o.head < m.Head)
}

// expire reconciles owners whose failure grace ended, and collects old tombstones and forgotten nodes.
func (c *Cluster) expire() {
	now := time.Now()
	cutoff := now.Add(-c.cfg.TombstoneTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, m := range c.members {
		if m.state == memberlist.StateSuspect && now.Sub(m.since) > c.suspicionMax() {
			m.state = memberlist.StateAlive // refuted: memberlist says nothing of a refutation either
		}
		if m.state == memberlist.StateDead && !m.since.IsZero() && now.Sub(m.since) >= c.cfg.FailedGrace {
			if _, done := c.published[name]; done && len(c.published[name]) > 0 {
				c.dirty[name] = struct{}{}
			}
		}
		if (m.state == memberlist.StateDead || m.state == memberlist.StateLeft) && m.since.Before(cutoff) {
			// Forgotten: a node gone longer than tombstone_ttl comes back with a full state anyway.
			delete(c.members, name)
			delete(c.owners, name)
			c.dirty[name] = struct{}{}
		}
	}
	c.checkKeyring(now)
	c.self.collect(cutoff)
	for name, o := range c.owners {
		o.collect(cutoff)
		if _, member := c.members[name]; !member && o.created.Before(cutoff) {
			delete(c.owners, name)
		}
	}
	if len(c.dirty) > 0 {
		c.poke()
	}
}

// live reports whether the records of owner are answered: a member alive or suspected, or dead for less than
// failed_grace. A node that left, or that this node never saw as a member, is not. Callers hold mu.
func (c *Cluster) live(owner string) bool {
	m, ok := c.members[owner]
	if !ok {
		return false
	}
	switch m.state {
	case memberlist.StateAlive, memberlist.StateSuspect:
		return true
	case memberlist.StateDead:
		return time.Since(m.since) < c.cfg.FailedGrace
	}
	return false
}

// reconcile makes the store hold, for every owner marked dirty, what its copy says when it is live and nothing
// when it is not, publishing one snapshot per source that differs.
func (c *Cluster) reconcile(ctx context.Context) {
	type pub struct {
		owner, source string
		v             version
		recs          []wireRecord
		priority      int
	}
	var pubs []pub
	c.mu.Lock()
	for owner := range c.dirty {
		delete(c.dirty, owner)
		was := c.published[owner]
		want := map[string]*entry{}
		o := c.owners[owner]
		if o != nil && c.live(owner) {
			for s, e := range o.sources {
				if !e.deleted {
					want[PeerPrefix+owner+"/"+s] = e
				}
			}
		}
		for src, e := range want {
			v := version{o.epoch, e.counter}
			if was[src] != v {
				pubs = append(pubs, pub{owner, src, v, e.records, o.priority})
			}
		}
		for src := range was {
			if _, ok := want[src]; !ok {
				pubs = append(pubs, pub{owner: owner, source: src})
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(pubs, func(a, b pub) int { return strings.Compare(a.source, b.source) })
	for _, p := range pubs {
		recs, outside := c.allowed(p.recs)
		if len(outside) > 0 {
			c.report(ctx, "outside:"+p.source, fmt.Sprintf("node %q: source %q: %d name(s) outside cluster.allowed_domains "+
				"dropped: %s", p.owner, strings.TrimPrefix(p.source, PeerPrefix+p.owner+"/"), len(outside),
				strings.Join(outside[:min(5, len(outside))], ", ")))
		}
		err := c.bus.Publish(ctx, &events.SyncEvent{
			Metadata: events.Metadata{Source: moduleName}, Kind: events.DNSRecordSynced, NodeID: p.owner,
			Snapshot: &events.RecordSnapshot{Source: p.source, Records: recs, Node: p.owner, Priority: p.priority},
		})
		c.mu.Lock()
		if err != nil {
			if !errors.Is(err, events.ErrClosed) {
				c.log.Error("publishing a peer's records", zap.String("source", p.source), zap.Error(err))
			}
			c.mu.Unlock()
			continue
		}
		if c.published[p.owner] == nil {
			c.published[p.owner] = map[string]version{}
		}
		if p.v == (version{}) {
			delete(c.published[p.owner], p.source)
			if len(c.published[p.owner]) == 0 {
				delete(c.published, p.owner)
			}
		} else {
			c.published[p.owner][p.source] = p.v
		}
		c.stats.RecordsSynced += len(recs)
		c.stats.LastSync = time.Now()
		c.mu.Unlock()
	}
}

// allowed splits records into those inside the allowed domains, as events.Records, and the names of the others.
func (c *Cluster) allowed(recs []wireRecord) ([]events.Record, []string) {
	out := make([]events.Record, 0, len(recs))
	var outside []string
	for _, r := range recs {
		if !c.domains.Allows(r.Name) {
			outside = append(outside, r.Name)
			continue
		}
		er := events.Record{Name: r.Name, Type: r.Type, Value: r.Value, TTL: r.TTL}
		if r.SetAt != 0 {
			er.SetAt = time.UnixMilli(r.SetAt).UTC()
		}
		out = append(out, er)
	}
	return out, outside
}

// report publishes an error about what a peer sent, at most once a minute per key, so that a hostile or broken
// peer cannot flood the bus or the log.
func (c *Cluster) report(ctx context.Context, key, msg string) {
	c.mu.Lock()
	c.stats.Rejected++
	last, seen := c.reported[key]
	now := time.Now()
	if seen && now.Sub(last) < time.Minute {
		c.mu.Unlock()
		return
	}
	if len(c.reported) > 1000 {
		clear(c.reported)
	}
	c.reported[key] = now
	c.mu.Unlock()
	err := c.bus.Publish(ctx, &events.ErrorEvent{
		Metadata: events.Metadata{Source: moduleName}, Kind: events.ErrorInput, Module: moduleName, Message: msg,
	})
	if err != nil {
		c.log.Warn("rejected from a peer", zap.String("message", msg))
	}
}

// join joins (or pulls the state of) the given addresses: a push/pull over TCP with each.
func (c *Cluster) join(addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	n, err := c.ml.Join(addrs)
	c.mu.Lock()
	c.stats.SyncOperations += n
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("join", zap.Strings("addresses", addrs), zap.Error(err))
	}
	return err
}

// rejoin joins the seeds, the discovered peers and the peers last seen alive that are not members now, as Serf's
// reconnect loop does, so that a partition longer than memberlist's gossip to the dead heals by itself. It
// reports whether this node has another member.
func (c *Cluster) rejoin() bool {
	c.mu.Lock()
	alive := map[string]struct{}{}
	for _, m := range c.members {
		if m.state == memberlist.StateAlive || m.state == memberlist.StateSuspect {
			alive[m.addr] = struct{}{}
		}
	}
	var targets []string
	for a := range c.seeds {
		if _, ok := alive[a]; !ok {
			targets = append(targets, a)
		}
	}
	for _, m := range c.members {
		if (m.state == memberlist.StateDead || m.state == memberlist.StateLeft) && !m.lastAlive.IsZero() {
			if _, ok := alive[m.addr]; !ok && !slices.Contains(targets, m.addr) {
				targets = append(targets, m.addr)
			}
		}
	}
	hasMembers := len(alive) > 0
	c.mu.Unlock()
	slices.Sort(targets)
	c.joinInBackground(targets, func(err error) {
		if err == nil || hasMembers {
			return
		}
		if conflict := c.conflict(); conflict != nil && c.exit != nil {
			c.exit(conflict)
			return
		}
		c.alone(err)
	})
	return hasMembers
}

// joinInBackground joins (or pulls the state of) the addresses not already being joined, in a goroutine of its
// own, and then calls then (if not nil) with the result. The loop never waits for a join: one to an address whose
// packets are dropped takes memberlist's TCP timeout (10 s on a LAN), and meanwhile this node's own changes must
// keep flowing.
func (c *Cluster) joinInBackground(addrs []string, then func(error)) {
	c.mu.Lock()
	var todo []string
	for _, a := range addrs {
		if !c.inflight[a] {
			c.inflight[a] = true
			todo = append(todo, a)
		}
	}
	c.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	c.joins.Add(1)
	go func() {
		defer c.joins.Done()
		err := c.join(todo)
		c.mu.Lock()
		for _, a := range todo {
			delete(c.inflight, a)
		}
		c.mu.Unlock()
		if then != nil {
			then(err)
		}
	}()
}

// alone says, at most once a minute, why a node that has no member could not join any: a seed that is down, a
// wrong key (memberlist logs that at debug level only, on this side).
func (c *Cluster) alone(err error) {
	c.mu.Lock()
	last, seen := c.reported["alone"]
	now := time.Now()
	if seen && now.Sub(last) < time.Minute {
		c.mu.Unlock()
		return
	}
	c.reported["alone"] = now
	c.mu.Unlock()
	c.log.Warn("this node has no member: no seed, discovered peer or former member could be joined", zap.Error(err))
}

// ForceSync exchanges the full state with every live member now (the bus's sync_forced).
func (c *Cluster) ForceSync(ctx context.Context) error {
	if c.running.Load() == nil {
		return errors.New("cluster: synchronisation is not running")
	}
	addrs := c.aliveAddrs()
	err := c.join(addrs)
	if len(addrs) > 0 && err != nil {
		return fmt.Errorf("cluster: sync: %w", err)
	}
	return nil
}

// AddPeer adds a peer's gossip address to the ones the rejoin loop tries (LAN discovery) and has the loop join it
// soon. It does not wait.
func (c *Cluster) AddPeer(node, addr string) {
	c.mu.Lock()
	_, known := c.seeds[addr]
	c.seeds[addr] = struct{}{}
	m, member := c.members[node]
	if !member || m.state != memberlist.StateAlive || m.addr != addr {
		c.discovered = append(c.discovered, addr)
	}
	if !known {
		c.stats.NodesDiscovered++
	}
	c.mu.Unlock()
	if !known {
		c.publishNode(context.Background(), events.NodeDiscovered, node, addr)
	}
	c.poke()
}

func (c *Cluster) publishNode(ctx context.Context, kind events.ClusterKind, node, addr string) {
	if err := c.bus.Publish(ctx, &events.NodeEvent{
		Metadata: events.Metadata{Source: moduleName}, Kind: kind, NodeID: node, Address: addr,
	}); err != nil && !errors.Is(err, events.ErrClosed) {
		c.log.Warn("publishing a node event", zap.String("kind", string(kind)), zap.Error(err))
	}
}

// broadcast is a queued memberlist broadcast; its name makes a newer change to a source replace the queued one.
type broadcast struct {
	name string
	msg  []byte
}

func (b *broadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*broadcast)
	return ok && o.name == b.name
}
func (b *broadcast) Name() string    { return b.name }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       {}
