package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
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
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// moduleName is the cluster's name on the bus and in errors.
const moduleName = "cluster"

// Cluster is one node: its memberlist, its own shared sources, and its copies of every peer's.
//
// memberlist calls the delegates (delegate.go) from its own goroutines; they only update the state under mu and
// wake the loop, which does everything that takes time or talks to the bus: reading local sources from the
// store, putting peers' records in the store, pulling states, rejoining.
type Cluster struct {
	// cfg is the configuration the node was built with. The keys a reload changes (Apply) are not read from it
	// but from the fields below that are under mu.
	cfg   Config
	log   *zap.Logger
	bus   *events.Bus
	store *dnsstore.Store

	// wrap, when set (tests), wraps the network transport: dropping traffic between chosen nodes.
	wrap func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
	// exit is called when this node finds another live node using its ID after start: it must stop.
	exit func(error)

	mu sync.Mutex
	// The live settings (reload.go): what Apply changes.
	domains     dnsname.Domains
	share       []string // store source prefixes of the shared kinds
	policy      dnsstore.Policy
	priority    int
	keys        [][]byte // the configured keys, the primary first; what the keyring holds follows (syncKeys)
	keyringFile string
	keyIDs      []string // the IDs of the keys in the keyring, the primary first, as the metadata advertises them
	keyState    string   // the keyring's state last logged (syncKeys)
	// keysMu keeps one syncKeys at a time (the loop's and Apply's).
	keysMu sync.Mutex

	id        string
	addr      string // this node's gossip address
	epoch     uint64
	self      *ownerState
	owners    map[string]*ownerState
	members   map[string]*member
	published map[string]map[string]filed // owner → store source → what the store holds of it
	dirty     map[string]struct{}         // owners whose store records need reconciling
	local     map[string]struct{}         // local sources to read from the store again
	behind    map[string]time.Time        // owners whose copy is behind their metadata, since when
	seeds     map[string]struct{}         // addresses to rejoin: seeds, discovered peers, members last seen
	reported  map[string]time.Time        // rate limit of error reports
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
	updating   atomic.Bool     // a metadata update is under way
	// numNodes is the live members, this node included, as last counted: the broadcast queue's retransmit count,
	// and what cluster_state_changed is published on a change of.
	numNodes atomic.Int32
	stats    Stats
	// running is the memberlist from Start to Stop, for the methods other goroutines call (Status, ForceSync).
	running atomic.Pointer[memberlist.Memberlist]
	// conflictErr is set when a join found another live node using this node's ID.
	conflictErr atomic.Pointer[error]
	// health is the state last reported on the bus (report.go); healthMu orders the reports.
	healthMu sync.Mutex
	health   events.HealthKind
	// retry is the circuit breaker of joining while this node has no member (pkg/retry, capped at
	// RejoinInterval): Start, then the loop, own it; retries is what Status, the metrics and the bus see of it.
	retry   *retry.Breaker
	retries *producer.Retries
	// rejoined carries the result of the loop's rejoin back to it.
	rejoined chan error

	ml    *memberlist.Memberlist
	queue *memberlist.TransmitLimitedQueue
	disc  *discovery.Announcer
	// discovered are addresses LAN discovery found, joined by the loop (the announcer's callback must be quick).
	discovered []string
	// keyring is the keyring file's content last applied, to notice a rotation (under mu).
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

// filed is what the store holds of a peer's source: the owner's version and the priority it was filed with. A
// zero filed makes reconcile file the source again, whatever its version (the allowed domains changed).
type filed struct {
	v        version
	priority int
}

// member is what this node knows of another: from memberlist, kept after it dies so its records can return.
type member struct {
	addr      string
	state     memberlist.NodeStateType
	since     time.Time // of the state
	meta      meta
	lastAlive time.Time
}

// up reports whether memberlist has the member alive or suspected: a member whose records are answered and
// that is joined, pulled from and counted as live.
func (m *member) up() bool {
	return m.state == memberlist.StateAlive || m.state == memberlist.StateSuspect
}

// Stats are counters of the node's synchronisation since start: joyride-python's statistics, and Rejected.
type Stats struct {
	NodesDiscovered int `json:"nodes_discovered"`
	// NodesActive is the other members alive or suspected, as Status counts them.
	NodesActive    int `json:"nodes_active"`
	RecordsSynced  int `json:"dns_records_synced"`
	SyncOperations int `json:"sync_operations"`
	// LastSync is null until a peer's records were first put in the store, as joyride-python's.
	LastSync *time.Time `json:"last_sync"`
	Rejected int        `json:"rejected_messages"`
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
		policy: policy, priority: cfg.Priority, keyringFile: cfg.KeyringFile, share: sharePrefixes(cfg.Share),
		retry: retry.New(retry.For(cfg.RejoinInterval))}
	c.retries = producer.NewRetries(moduleName, bus, c.log, c.retryHealth)
	return c, nil
}

// Start joins the cluster: it binds the gossip port, joins the seeds (a seed that is down is retried by the rejoin
// loop; only another live node with this node's ID fails start), and starts the loop. Records shared before
// Start are read from the store.
func (c *Cluster) Start(ctx context.Context) error {
	if !c.cfg.Enabled {
		c.log.Info("DNS synchronisation is off (cluster.enabled, ENABLE_DNS_SYNC)")
		c.setHealth(ctx, events.Healthy, "DNS synchronisation is off")
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
	c.healthMu.Lock()
	c.health = "" // starting: nothing reported for this run yet
	c.healthMu.Unlock()
	c.mu.Lock()
	c.id, c.epoch, c.leaving = id, epoch, false
	c.announced, c.started, c.settledGen, c.settledAt = false, time.Now(), 0, time.Now()
	c.self = newOwner(epoch, c.priority)
	c.owners = make(map[string]*ownerState)
	c.members = make(map[string]*member)
	c.published = make(map[string]map[string]filed)
	c.dirty = make(map[string]struct{})
	c.local = make(map[string]struct{})
	c.behind = make(map[string]time.Time)
	c.seeds = make(map[string]struct{})
	c.inflight = make(map[string]bool)
	c.reported = make(map[string]time.Time)
	c.stats = Stats{}
	for _, s := range c.cfg.Join {
		c.seeds[s] = struct{}{}
	}
	policy, origin := c.policy, dnsstore.Origin{Node: id, Priority: c.priority}
	c.mu.Unlock()
	c.wake = make(chan struct{}, 1)
	c.rejoined = make(chan error, 1)
	c.retries.Track(retryTarget)
	c.store.SetPolicy(policy, origin)

	// Local sources: the records handler announces every source it replaces; the ones already in the store are
	// read once below.
	c.sub = c.bus.Subscribe(moduleName, events.Filter{
		Families: []events.Family{events.FamilyDNS, events.FamilySync},
		Kinds:    []events.Kind{events.Kind(events.DNSSourceReplaced), events.Kind(events.SyncForced)},
	}, c.handle)
	c.mu.Lock()
	for _, s := range c.store.Snapshot().Sources() {
		if c.sharedLocked(s) {
			c.local[s] = struct{}{}
		}
	}
	c.mu.Unlock()
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
	if c.ring == nil {
		c.log.Warn("cluster traffic is neither encrypted nor authenticated: anyone who can reach the gossip port " +
			"can publish names; set cluster.key or cluster.keyring_file")
	}
	c.log.Info("cluster node started", zap.String("node_id", id), zap.String("address", c.address()),
		zap.Strings("join", c.cfg.Join), zap.Strings("share", c.cfg.Share), zap.Stringer("policy", policy))
	first, err := c.joinSeeds(ctx)
	if err != nil {
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
	go c.run(loopCtx, first)
	c.running.Store(ml)
	if len(c.cfg.Join) == 0 {
		// Nothing to wait for: the first load is the start (pkg/status). With seeds it is the first join.
		c.setHealth(ctx, events.Healthy, "started; no seeds to join")
	}
	return nil
}

// seedWait bounds how long Start waits for the seeds: a seed host that is down without refusing connections
// costs memberlist's TCP timeout per address, and start-up has a deadline of its own.
const seedWait = 3 * time.Second

// joinSeeds joins the seeds, waiting up to seedWait, and returns when the rejoin loop's first rejoin is. A seed
// that is down is no error: it is the first failure of the retry policy, and the rejoin loop retries; another
// live node with this node's ID is an error, returned when found in time, else it stops the application through
// exit.
func (c *Cluster) joinSeeds(ctx context.Context) (time.Duration, error) {
	if len(c.cfg.Join) == 0 {
		return c.rejoinDelay(true), nil
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
			return 0, err
		}
		if joinErr != nil && c.ml.NumMembers() < 2 {
			c.alone(joinErr)
			e := c.retry.Failure(joinErr)
			c.retries.Report(ctx, retryTarget, e)
			return e.Delay, nil
		}
		if e, ok := c.retry.Success(); ok { // a Start after a Stop that left it failing
			c.retries.Report(ctx, retryTarget, e)
		}
		return c.rejoinDelay(true), nil
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
	// The seeds are still being joined: the first rejoin finds them in flight and looks again soon after.
	return c.rejoinDelay(false), nil
}

// startDiscovery announces this node's gossip address on the LAN and learns its peers', authenticated with the
// keyring's keys when there are (sent under the primary, taken under any; syncKeys keeps them in step).
func (c *Cluster) startDiscovery(ctx context.Context, id string) error {
	d, err := discovery.New(discovery.Config{
		NodeID: id, Advertise: c.address(), Port: c.cfg.DiscoveryPort, Target: c.cfg.DiscoveryAddress,
		Interval: max(c.cfg.RejoinInterval/3, time.Second),
	}, c.log, func(p discovery.Peer) { c.AddPeer(p.NodeID, p.Addr) })
	if err != nil {
		return fmt.Errorf("cluster.discovery: %w", err)
	}
	if c.ring != nil {
		if err := d.SetKeys(c.ring.GetKeys()...); err != nil {
			return fmt.Errorf("cluster.discovery: %w", err)
		}
	}
	if err := d.Start(ctx); err != nil {
		return fmt.Errorf("cluster.discovery: %w", err)
	}
	c.mu.Lock()
	c.disc = d
	c.mu.Unlock()
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
	c.mu.Lock()
	disc := c.disc
	c.disc = nil
	c.mu.Unlock()
	if disc != nil {
		if err := disc.Stop(ctx); err != nil {
			c.log.Warn("stopping discovery", zap.Error(err))
		}
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
	c.mu.Lock()
	keys, file := c.keys, c.keyringFile
	c.mu.Unlock()
	if len(keys) > 0 {
		ring, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			return nil, fmt.Errorf("cluster: keyring: %w", err)
		}
		mc.Keyring, c.ring = ring, ring
		c.mu.Lock()
		c.keyIDs = keyIDs(ring.GetKeys())
		if file != "" {
			b, _ := os.ReadFile(file) // read a moment ago by keys(); a change is applied later
			c.keyring, c.keyringCheck = string(b), time.Now()
		}
		c.mu.Unlock()
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

// sharedLocked reports whether source is of a kind this node shares. Callers hold mu.
func (c *Cluster) sharedLocked(source string) bool {
	for _, p := range c.share {
		if strings.HasPrefix(source, p) {
			return true
		}
	}
	return false
}

// sharePrefixes are the store source prefixes of the kinds cluster.share lists.
func sharePrefixes(kinds []string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k + ":"
	}
	return out
}
