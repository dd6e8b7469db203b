package cluster

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

// healthReports lists the node's health reports in the bus's history: "kind: message".
func (n *testNode) healthReports() []string {
	var out []string
	for _, e := range n.bus.History(events.Filter{Families: []events.Family{events.FamilyHealth}}) {
		h := e.(*events.HealthEvent)
		if h.Component == "cluster" {
			out = append(out, string(h.Kind)+": "+h.Message)
		}
	}
	return out
}

func TestHealth(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	assert.Equal(t, []string{"healthy: started; no seeds to join"}, a.healthReports(), "no seeds: healthy at start")

	b := tc.add("b") // joins a
	require.True(t, waitFor(5*time.Second, func() bool { return len(b.healthReports()) > 0 }))
	assert.Equal(t, []string{"healthy: joined: 2 of 2 known nodes alive"}, b.healthReports(), "healthy once joined")

	// A node whose only seed does not answer is unhealthy, and healthy once a member is found.
	free, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	down := free.LocalAddr().String()
	require.NoError(t, free.Close())
	c := tc.add("c", func(cfg *Config) { cfg.Join = []string{down} })
	require.True(t, waitFor(5*time.Second, func() bool { return len(c.healthReports()) > 0 }))
	reports := c.healthReports()
	assert.Contains(t, reports[0], "unhealthy: no member: ")
	require.NoError(t, c.c.ForceSync(context.Background()), "nothing to sync with is no error")
	c.c.AddPeer("a", a.addr())
	require.True(t, waitFor(5*time.Second, func() bool { return len(c.healthReports()) == 2 }), "%v", c.healthReports())
	assert.Regexp(t, `^healthy: joined: \d of \d known nodes alive$`, c.healthReports()[1])
}

// TestHealthWhenAPeerJoinsDuringASlowJoin: a join to a seed that accepts and never answers takes memberlist's TCP
// timeout; a peer that joins this node meanwhile makes it healthy, and the slow join failing afterwards must not
// make it unhealthy again, since it has a live member (only a later change of a member's state would set it back).
func TestHealthWhenAPeerJoinsDuringASlowJoin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	// The first connection (the join at start) fails at once, so that the node is alone; each later one (a join
	// from the rejoin loop) is held, unanswered, until the test closes it.
	held := make(chan net.Conn, 16)
	go func() {
		for first := true; ; first = false {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if first {
				_ = conn.Close()
				continue
			}
			held <- conn
		}
	}()
	next := func(what string) net.Conn {
		t.Helper()
		select {
		case conn := <-held:
			t.Cleanup(func() { _ = conn.Close() })
			return conn
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
			return nil
		}
	}
	health := func(n *testNode) events.HealthKind {
		n.c.healthMu.Lock()
		defer n.c.healthMu.Unlock()
		return n.c.health
	}

	tc := newTestCluster(t)
	a := tc.add("a", func(cfg *Config) { cfg.Join = []string{ln.Addr().String()} })
	assert.Equal(t, events.Unhealthy, health(a), "the seed refused the join at start: alone")
	slow := next("join from the rejoin loop") // it started while a had no member

	tc.add("b") // joins a
	require.True(t, waitFor(5*time.Second, func() bool { return health(a) == events.Healthy }), "%v", a.healthReports())
	require.NoError(t, slow.Close()) // the slow join fails now, after b joined
	// The next join to the seed starts only once the slow one has ended, and its callback runs as it ends.
	next("the next join from the rejoin loop")
	reports := a.healthReports()
	require.Len(t, reports, 2, "alone, then joined, and no unhealthy report while b is alive: %q", reports)
	assert.Contains(t, reports[0], "unhealthy: no member: ")
	assert.Regexp(t, `^healthy: joined: `, reports[1])
}

func TestHealthWhenOff(t *testing.T) {
	bus := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth}})
	cfg := testConfig()
	cfg.Enabled = false
	c, err := NewCluster(cfg, nil, bus, dnsstore.New())
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	e := w.Expect(t, "healthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
	assert.Equal(t, "DNS synchronisation is off", e.Message, "off is no failure: readiness must not wait for it")
	require.NoError(t, c.Stop(context.Background()))
}

// TestStatusCompat checks the JSON of Status against joyride-python's /dns/cluster object, field by field and
// type by type.
func TestStatusCompat(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a", func(c *Config) { c.DNSPort = 5353 })
	b := tc.add("b", func(c *Config) { c.DNSPort = 5354 })
	b.set("docker:web", "web.lab.test=10.0.0.7")
	tc.members(2, 5*time.Second)
	require.True(t, waitFor(5*time.Second, func() bool { return a.c.Status().Stats.LastSync != nil }))
	// Each node's DNS port travels in its metadata, for `joyride setup`.
	assert.Equal(t, 5353, a.c.Status().DNSPort)
	require.Len(t, a.c.Status().Members, 1)
	assert.Equal(t, 5354, a.c.Status().Members[0].DNSPort)

	r := Reporter(a.c)
	assert.Equal(t, "cluster", r.Name)
	raw, err := json.Marshal(r.Status())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))

	assert.Equal(t, "a", got["node_id"])
	assert.Equal(t, true, got["running"])
	st := got["statistics"].(map[string]any)
	for _, k := range []string{"nodes_discovered", "nodes_active", "dns_records_synced", "sync_operations"} {
		assert.IsType(t, float64(0), st[k], "statistics.%s is a number", k)
	}
	assert.Equal(t, float64(1), st["nodes_active"], "b")
	lastSync, ok := st["last_sync"].(string)
	require.True(t, ok, "statistics.last_sync is an ISO string once synced: %v", st["last_sync"])
	_, err = time.Parse(time.RFC3339Nano, lastSync)
	assert.NoError(t, err)
	assert.Equal(t, float64(1), got["discovered_nodes"])
	nodes := got["nodes"].([]any)
	require.Len(t, nodes, 1)
	node := nodes[0].(map[string]any)
	assert.Equal(t, "b", node["node_id"])
	assert.Equal(t, b.host, node["ip_address"])
	_, err = time.Parse(time.RFC3339Nano, node["last_seen"].(string))
	assert.NoError(t, err)
	assert.Equal(t, b.addr(), node["metadata"].(map[string]any)["address"])
	assert.Equal(t, float64(5354), node["metadata"].(map[string]any)["dns_port"])
	swim := got["swim_cluster"].(map[string]any)
	assert.Equal(t, float64(2), swim["alive_members"], "this node included, as joyride-python's")
	assert.Equal(t, map[string]any{"alive": float64(2), "suspect": float64(0), "failed": float64(0), "left": float64(0)},
		swim["member_counts"])
	assert.IsType(t, float64(0), swim["dns_version"])
	require.NotNil(t, r.Sync)
	assert.NoError(t, r.Sync(context.Background()), "Sync is ForceSync")
}

// A node that never synced, or does not run, still has every field, with joyride-python's types.
func TestStatusCompatStopped(t *testing.T) {
	c, err := NewCluster(testConfig(), nil, eventstest.NewBus(t), dnsstore.New())
	require.NoError(t, err)
	raw, err := json.Marshal(c.Status())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Nil(t, got["statistics"].(map[string]any)["last_sync"], "null until synced")
	assert.Contains(t, got["statistics"], "last_sync")
	assert.Equal(t, []any{}, got["nodes"], "a list, never null")
	assert.Equal(t, float64(0), got["swim_cluster"].(map[string]any)["alive_members"])
	assert.Error(t, Reporter(c).Sync(context.Background()), "no sync without a running node")
}

func TestExplain(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	b := tc.add("b")
	tc.members(2, 5*time.Second)
	tests := []struct {
		name, source string
		want         []status.Provenance
	}{
		{name: "a member's source", source: events.PeerSource("b", "docker:abc"),
			want: []status.Provenance{{Kind: "peer", Node: "b", Address: b.addr(), Source: "docker:abc"}}},
		{name: "a source with slashes", source: events.PeerSource("b", "hosts:/app/hosts/lab"),
			want: []status.Provenance{{Kind: "peer", Node: "b", Address: b.addr(), Source: "hosts:/app/hosts/lab"}}},
		{name: "a node not known (any more): no address", source: events.PeerSource("z", "static:config"),
			want: []status.Provenance{{Kind: "peer", Node: "z", Source: "static:config"}}},
		{name: "not a peer's source", source: "docker:abc"},
		{name: "no node", source: "node:/docker:abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, a.c.Explain(tt.source, "web.lab.test"))
		})
	}
}
