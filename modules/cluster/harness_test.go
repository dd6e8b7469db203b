package cluster

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
)

// testConfig is a node on 127.0.0.x with timings short enough for tests: failures are detected in about a
// second, deltas gossiped every 20 ms.
func testConfig() Config {
	c := DefaultConfig()
	c.AllowedDomains = []string{"lab.test"}
	c.Discovery = false
	c.Share = []string{"docker", "traefik", "hosts", "static"}
	c.GossipInterval = 20 * time.Millisecond
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.SuspicionMult = 2
	c.PushPullInterval = 3 * time.Second
	c.GossipToTheDead = 2 * time.Second
	c.RejoinInterval = time.Second
	return c
}

// testNode is one node: its own bus and store, and the cluster module between them. The records handler is not
// here (a module may not import another): apply does its part for peers' snapshots, set for local sources.
type testNode struct {
	t     testing.TB
	name  string
	host  string
	port  int
	cfg   Config
	bus   *events.Bus
	store *dnsstore.Store
	c     *Cluster
	net   *network
	tap   func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
}

// testCluster is a set of nodes on one loopback network.
type testCluster struct {
	t     testing.TB
	net   *network
	nodes []*testNode
	hosts int
	// tap, when set (benchmarks), wraps each node's own transport inside the network's filter.
	tap func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
}

func newTestCluster(t testing.TB) *testCluster {
	return &testCluster{t: t, net: newNetwork(), hosts: firstHost(t)}
}

var hostMu sync.Mutex
var nextHost = 10

// firstHost hands each test cluster its own range of 127.0.0.x, so clusters of tests run one after another never
// hear each other's stragglers.
func firstHost(t testing.TB) int {
	hostMu.Lock()
	defer hostMu.Unlock()
	h := nextHost
	nextHost += 12
	if nextHost > 250 {
		nextHost = 10
	}
	return h
}

// add starts a node named name on the next address, joining the first node unless it is the first. edit may
// change its configuration.
func (tc *testCluster) add(name string, edit ...func(*Config)) *testNode {
	tc.t.Helper()
	host := "127.0.0." + strconv.Itoa(tc.hosts+len(tc.nodes))
	cfg := testConfig()
	cfg.NodeID = name
	cfg.BindAddress = host
	cfg.Port = 0
	if len(tc.nodes) > 0 {
		cfg.Join = []string{tc.nodes[0].addr()}
	}
	for _, e := range edit {
		e(&cfg)
	}
	n := &testNode{t: tc.t, name: name, host: host, cfg: cfg, net: tc.net, tap: tc.tap}
	require.NoError(tc.t, n.start())
	tc.nodes = append(tc.nodes, n)
	return n
}

func (n *testNode) addr() string { return net.JoinHostPort(n.host, strconv.Itoa(n.port)) }

// start starts the node with a new bus and store, as a process would after a restart. The port of a previous
// run is kept, so a restarted node has the same address.
func (n *testNode) start() error {
	n.t.Helper()
	var log *zap.Logger
	if testing.Verbose() {
		log = zaptest.NewLogger(n.t).Named(n.name)
	} else {
		log = zap.NewNop()
	}
	bus, err := events.NewBus(events.DefaultConfig(), log)
	require.NoError(n.t, err)
	require.NoError(n.t, bus.Start(context.Background()))
	n.bus, n.store = bus, dnsstore.New()
	bus.Subscribe("apply", events.Filter{Families: []events.Family{events.FamilySync},
		Kinds: []events.Kind{events.Kind(events.DNSRecordSynced)}}, n.apply)
	cfg := n.cfg
	cfg.Port = n.port
	c, err := NewCluster(cfg, log, bus, n.store)
	require.NoError(n.t, err)
	c.wrap = n.net.wrap(n.host)
	if n.tap != nil {
		filter := c.wrap
		c.wrap = func(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport { return filter(n.tap(t)) }
	}
	if err := c.Start(context.Background()); err != nil {
		_ = bus.Stop(context.Background())
		return err
	}
	n.c = c
	_, port, _ := net.SplitHostPort(c.address())
	n.port, _ = strconv.Atoi(port)
	n.t.Cleanup(func() { n.stop() })
	return nil
}

// stop leaves gracefully.
func (n *testNode) stop() {
	if n.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.c.Stop(ctx)
	_ = n.bus.Stop(ctx)
	n.c = nil
}

// kill stops the node without leaving, as kill -9 would: memberlist is shut down, nothing is said.
func (n *testNode) kill() {
	if n.c == nil {
		return
	}
	n.c.running.Store(nil)
	_ = n.c.ml.Shutdown()
	n.c.cancel()
	<-n.c.done
	_ = n.bus.Stop(context.Background())
	n.c = nil
}

// apply is the records handler's part for a peer's snapshot.
func (n *testNode) apply(_ context.Context, e events.Event) error {
	snap := e.(events.Snapshotter).RecordSnapshot()
	recs := make([]dnsstore.Record, 0, len(snap.Records))
	for _, r := range snap.Records {
		rec, err := dnsstore.NewRecord(r.Name, r.Type, r.Value, r.TTL)
		if err != nil {
			return err
		}
		recs = append(recs, rec.WithSetAt(r.SetAt))
	}
	n.store.ReplaceOwnedFrom(snap.Source, dnsstore.Origin{Node: snap.Node, Priority: snap.Priority}, recs)
	return nil
}

// set replaces a local source with A records "name=address" and tells the cluster, as the records handler does.
func (n *testNode) set(source string, pairs ...string) {
	n.t.Helper()
	recs := make([]dnsstore.Record, 0, len(pairs))
	for _, p := range pairs {
		name, addr, _ := strings.Cut(p, "=")
		r, err := dnsstore.NewRecord(name, "A", addr, 60)
		require.NoError(n.t, err)
		recs = append(recs, r)
	}
	n.store.Replace(source, recs)
	require.NoError(n.t, n.bus.Publish(context.Background(), &events.DNSEvent{
		Metadata: events.Metadata{Source: "records"}, Kind: events.DNSSourceReplaced, Owner: source,
	}))
}

// answers is what the node's store answers: "name=address" for every A record, sorted, whatever its source.
func (n *testNode) answers() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range n.store.Snapshot().Records() {
		if r.Type() != dns.TypeA {
			continue
		}
		s := strings.TrimSuffix(r.Name(), ".") + "=" + r.Value()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// lookup is what the node answers for one name, following the store's policy: the addresses, sorted.
func (n *testNode) lookup(name string) []string {
	var out []string
	for _, r := range n.store.Snapshot().Lookup(dns.Fqdn(name)).Records {
		if r.Type() == dns.TypeA {
			out = append(out, r.Value())
		}
	}
	slices.Sort(out)
	return out
}

// converge waits until every running node answers exactly want. It waits at least convergeFloor whatever within
// says: these tests assert what the nodes end with, and a loaded machine (CI runs packages side by side, -race)
// can lose packets and slow gossip; speed is the benchmarks' business.
func (tc *testCluster) converge(want []string, within time.Duration) {
	tc.t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	var last map[string][]string
	ok := waitFor(within, func() bool {
		last = map[string][]string{}
		for _, n := range tc.nodes {
			if n.c == nil {
				continue
			}
			last[n.name] = n.answers()
		}
		for _, got := range last {
			if !slices.Equal(got, want) {
				return false
			}
		}
		return true
	})
	if !ok {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(last)) {
			fmt.Fprintf(&b, "\n  %s: %v", k, last[k])
		}
		tc.t.Fatalf("not every node answers %v within %s:%s", want, within, b.String())
	}
}

// three starts nodes a, b and c and waits until each sees the three.
func (tc *testCluster) three() (a, b, c *testNode) {
	tc.t.Helper()
	a, b, c = tc.add("a"), tc.add("b"), tc.add("c")
	tc.members(3, 5*time.Second)
	return a, b, c
}

// members waits until every running node sees want alive members (itself included).
func (tc *testCluster) members(want int, within time.Duration) {
	tc.t.Helper()
	require.True(tc.t, waitFor(within, func() bool {
		for _, n := range tc.nodes {
			if n.c != nil && n.c.ml.NumMembers() != want {
				return false
			}
		}
		return true
	}), "members never became %d", want)
}

const convergeFloor = 10 * time.Second

// waitFor polls cond until it holds, for at least convergeFloor (see converge) or within if longer.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(max(within, convergeFloor))
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nodeEvents lists the node events about node in the bus's history: "kind node".
func (n *testNode) nodeEvents(node string) []string {
	var out []string
	for _, e := range n.bus.History(events.Filter{Families: []events.Family{events.FamilyNode}}) {
		if ev := e.(*events.NodeEvent); ev.NodeID == node {
			out = append(out, string(ev.Kind)+" "+ev.NodeID)
		}
	}
	return out
}

// syncEvents lists the kinds of the sync events in the bus's history.
func (n *testNode) syncEvents() []string {
	var out []string
	for _, e := range n.bus.History(events.Filter{Families: []events.Family{events.FamilySync}}) {
		out = append(out, string(e.EventKind()))
	}
	return out
}
