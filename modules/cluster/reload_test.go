package cluster

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// reload changes the node's configuration with edit and applies it, as the configuration watcher would.
func (n *testNode) reload(edit func(*Config)) {
	n.t.Helper()
	edit(&n.cfg)
	require.NoError(n.t, n.c.Apply(n.t.Context(), n.cfg))
}

// A policy or priority changed on the running nodes takes effect for a name several nodes publish, on every node.
func TestReloadPolicy(t *testing.T) {
	tc := newTestCluster(t)
	prio := map[string]int{"a": 10, "b": 1, "c": 5}
	for _, name := range []string{"a", "b", "c"} {
		tc.add(name, func(c *Config) {
			c.Priority = prio[name]
			// No periodic full exchange during the test: a new priority travels in the metadata.
			c.PushPullInterval = time.Hour
		})
	}
	tc.members(3, 5*time.Second)
	a, b := tc.nodes[0], tc.nodes[1]
	a.set("docker:1", "app.lab.test=10.0.0.1")
	tc.converge([]string{"app.lab.test=10.0.0.1"}, 3*time.Second)
	time.Sleep(5 * time.Millisecond) // b's record is set at a later millisecond
	b.set("docker:1", "app.lab.test=10.0.0.2")
	tc.answer("app.lab.test", []string{"10.0.0.1", "10.0.0.2"}, 3*time.Second)

	steps := []struct {
		name  string
		nodes []*testNode
		edit  func(*Config)
		want  []string
	}{
		{"priority on every node: a ranks highest", tc.nodes, func(c *Config) { c.Policy = "priority" }, []string{"10.0.0.1"}},
		{"b raised above a", []*testNode{b}, func(c *Config) { c.Priority = 20 }, []string{"10.0.0.2"}},
		{"a raised above b", []*testNode{a}, func(c *Config) { c.Priority = 30 }, []string{"10.0.0.1"}},
		{"newest on every node: b set it last", tc.nodes, func(c *Config) { c.Policy = "newest" }, []string{"10.0.0.2"}},
		{"all on every node", tc.nodes, func(c *Config) { c.Policy = "all" }, []string{"10.0.0.1", "10.0.0.2"}},
	}
	for _, s := range steps {
		for _, n := range s.nodes {
			n.reload(s.edit)
		}
		tc.answer("app.lab.test", s.want, 3*time.Second)
		for _, n := range tc.nodes {
			assert.Equal(t, n.cfg.Policy, n.c.Status().Policy, "%s: %s", s.name, n.name)
		}
	}
	require.True(t, waitFor(time.Second, func() bool {
		for _, m := range b.c.Status().Members {
			if m.NodeID == "a" && m.Priority != 30 {
				return false
			}
		}
		return true
	}), "b sees a's new priority")
}

// The allowed domains and the shared kinds change on running nodes: peers' records are filed again under the
// new domains, and sources of a kind no longer shared are withdrawn from the peers.
func TestReloadDomainsAndShare(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a", func(c *Config) { c.Share = []string{"docker"} })
	b := tc.add("b", func(c *Config) { c.AllowedDomains = []string{"lab.test"} })
	tc.members(2, 5*time.Second)
	a.set("docker:1", "x.lab.test=10.0.0.1", "y.other.test=10.0.0.2")
	a.set("hosts:/etc/hosts", "h.lab.test=10.0.0.3")
	require.True(t, waitFor(3*time.Second, func() bool { return slices.Equal(b.answers(), []string{"x.lab.test=10.0.0.1"}) }),
		"b: %v", b.answers())

	b.reload(func(c *Config) { c.AllowedDomains = []string{"lab.test", "other.test"} })
	require.True(t, waitFor(3*time.Second, func() bool {
		return slices.Equal(b.answers(), []string{"x.lab.test=10.0.0.1", "y.other.test=10.0.0.2"})
	}), "b, other.test allowed: %v", b.answers())

	a.reload(func(c *Config) { c.Share = []string{"docker", "hosts"} })
	require.True(t, waitFor(3*time.Second, func() bool {
		return slices.Equal(b.answers(), []string{"h.lab.test=10.0.0.3", "x.lab.test=10.0.0.1", "y.other.test=10.0.0.2"})
	}), "b, hosts shared: %v", b.answers())

	a.reload(func(c *Config) { c.Share = []string{"hosts"} })
	require.True(t, waitFor(3*time.Second, func() bool { return slices.Equal(b.answers(), []string{"h.lab.test=10.0.0.3"}) }),
		"b, docker no longer shared: %v", b.answers())

	b.reload(func(c *Config) { c.AllowedDomains = []string{"other.test"} })
	require.True(t, waitFor(3*time.Second, func() bool { return len(b.answers()) == 0 }), "b: %v", b.answers())
	assert.Equal(t, []string{"h.lab.test=10.0.0.3", "x.lab.test=10.0.0.1", "y.other.test=10.0.0.2"}, a.answers(),
		"a's own records are untouched")
}

// keyringFiles writes each node's keyring file with keys, the primary first.
func keyringFiles(t *testing.T, files map[string]string, keys ...string) {
	t.Helper()
	for _, f := range files {
		require.NoError(t, os.WriteFile(f, []byte(strings.Join(keys, "\n")+"\n"), 0o600))
	}
}

func testKeyID(s string) string {
	k, _ := base64.StdEncoding.DecodeString(s)
	return keyID(k)
}

// rotationCluster starts nodes a, b and c with cluster.key k1.
func rotationCluster(t *testing.T) *testCluster {
	tc := newTestCluster(t)
	for _, name := range []string{"a", "b", "c"} {
		tc.add(name, func(c *Config) { c.Key = testKey(1) })
	}
	tc.members(3, 5*time.Second)
	return tc
}

// flowing checks that gossip flows between every node: a new record on one node reaches all, no node is
// declared failed, and every node still has the other two as members.
func (tc *testCluster) flowing(step int, want *[]string) {
	tc.t.Helper()
	n := tc.nodes[step%len(tc.nodes)]
	rec := "step" + string(rune('0'+step)) + ".lab.test=10.0.0.1"
	*want = append(*want, rec)
	n.set("docker:"+string(rune('0'+step)), rec)
	tc.converge(*want, 5*time.Second)
	tc.members(3, time.Second)
	for _, n := range tc.nodes {
		for _, o := range tc.nodes {
			require.NotContains(tc.t, n.nodeEvents(o.name), "node_failed "+o.name, "step %d", step)
		}
	}
}

// keyrings waits until every node holds exactly keys (IDs, the primary first) and sees every member with them.
func (tc *testCluster) keyrings(keys ...string) {
	tc.t.Helper()
	var last []string
	ok := waitFor(5*time.Second, func() bool {
		last = nil
		for _, n := range tc.nodes {
			st := n.c.Status()
			last = append(last, n.name+":"+strings.Join(st.Keyring, ","))
			if !slices.Equal(st.Keyring, keys) {
				return false
			}
			for _, m := range st.Members {
				if !slices.Equal(m.Keys, keys) {
					return false
				}
			}
		}
		return true
	})
	require.True(tc.t, ok, "keyrings never became %v: %v", keys, last)
}

// A key rotation by reload, in the documented steps (the new key added to every node's keyring file as second,
// then made primary, then the old one removed), keeps gossip flowing at every step; at the end only the new key
// is held, and a node that has only the old key is refused.
func TestReloadKeyRotation(t *testing.T) {
	tc := rotationCluster(t)
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range tc.nodes {
		files[n.name] = filepath.Join(dir, n.name)
	}
	k1, k2 := testKey(1), testKey(2)
	steps := [][]string{{k1, k2}, {k2, k1}, {k2}}
	var want []string
	tc.flowing(0, &want)
	for i, keys := range steps {
		keyringFiles(t, files, keys...)
		for _, n := range tc.nodes {
			n.reload(func(c *Config) { c.Key, c.KeyringFile = "", files[n.name] })
		}
		tc.flowing(i+1, &want)
	}
	tc.keyrings(testKeyID(k2))

	stale := tc.add("old", func(c *Config) { c.Key = k1 })
	stale.set("docker:1", "stale.lab.test=10.6.6.6")
	tc.nodes = tc.nodes[:3]
	require.Never(t, func() bool { return tc.nodes[0].c.ml.NumMembers() != 3 }, time.Second, 50*time.Millisecond,
		"a node with only the old key joined")
	for _, n := range tc.nodes {
		require.Equal(t, want, n.answers(), n.name)
	}
}

// The key changed directly, one node at a time, without the first step (cluster.key k1 becomes k2): a node does
// not send with the new key until every live node holds it, nor drop the old one while a node sends with it, so
// gossip keeps flowing all along.
func TestReloadKeyChangedNodeByNode(t *testing.T) {
	tc := rotationCluster(t)
	k1, k2 := testKey(1), testKey(2)
	var want []string
	tc.flowing(0, &want)
	for i, n := range tc.nodes {
		n.reload(func(c *Config) { c.Key = k2 })
		if i < len(tc.nodes)-1 {
			require.Equal(t, testKeyID(k1), n.c.Status().Keyring[0], "%s switched before every node held the new key", n.name)
		}
		tc.flowing(i+1, &want)
	}
	tc.keyrings(testKeyID(k2))
}

// A reload that would turn encryption on or off, or is invalid, changes nothing, not even its valid keys.
func TestReloadRefused(t *testing.T) {
	tc := newTestCluster(t)
	keyed := tc.add("a", func(c *Config) { c.Key = testKey(1) })
	plain := tc.add("b", func(c *Config) { c.Join = nil })
	tests := []struct {
		name string
		node *testNode
		edit func(*Config)
		want string
	}{
		{"encryption off", keyed, func(c *Config) { c.Key = "" }, "turning encryption on or off needs a restart"},
		{"encryption on", plain, func(c *Config) { c.Key = testKey(1) }, "turning encryption on or off needs a restart"},
		{"a bad policy", plain, func(c *Config) { c.Policy = "loudest" }, "cluster.policy"},
		{"no allowed domains", plain, func(c *Config) { c.AllowedDomains = nil }, "cluster.allowed_domains"},
		{"a missing keyring file", keyed, func(c *Config) { c.Key, c.KeyringFile = "", "/nonexistent/keys" }, "cluster.keyring_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.node.cfg
			cfg.Policy = "priority"
			tt.edit(&cfg)
			require.ErrorContains(t, tt.node.c.Apply(t.Context(), cfg), tt.want)
			assert.Equal(t, "all", tt.node.c.Status().Policy, "nothing applied")
		})
	}
	require.Error(t, plain.c.Apply(t.Context(), "not a cluster.Config"))
	assert.Len(t, keyed.c.Status().Keyring, 1)
}

func TestPlanKeys(t *testing.T) {
	k := func(b byte) []byte {
		key := make([]byte, 32)
		for i := range key {
			key[i] = b
		}
		return key
	}
	id := func(b byte) string { return keyID(k(b)) }
	tests := []struct {
		name          string
		want, held    [][]byte
		peers         []peerKeys
		ring          [][]byte
		waiting, kept []string
	}{
		{name: "alone: the configured keys", want: [][]byte{k(2), k(1)}, held: [][]byte{k(1)},
			ring: [][]byte{k(2), k(1)}},
		{name: "a new key is held at once, used once every peer holds it", want: [][]byte{k(2), k(1)}, held: [][]byte{k(1)},
			peers: []peerKeys{{"b", []string{id(1), id(2)}}, {"c", []string{id(1)}}},
			ring:  [][]byte{k(1), k(2)}, waiting: []string{"c"}},
		{name: "every peer holds the new primary", want: [][]byte{k(2), k(1)}, held: [][]byte{k(1), k(2)},
			peers: []peerKeys{{"b", []string{id(1), id(2)}}, {"c", []string{id(2), id(1)}}},
			ring:  [][]byte{k(2), k(1)}},
		{name: "an old key is kept while a peer sends with it", want: [][]byte{k(2)}, held: [][]byte{k(2), k(1)},
			peers: []peerKeys{{"b", []string{id(1), id(2)}}, {"c", []string{id(2)}}},
			ring:  [][]byte{k(2), k(1)}, kept: []string{id(1)}},
		{name: "and removed once none does", want: [][]byte{k(2)}, held: [][]byte{k(2), k(1)},
			peers: []peerKeys{{"b", []string{id(2), id(1)}}, {"c", []string{id(2)}}},
			ring:  [][]byte{k(2)}},
		{name: "the key replaced directly: the old one stays primary until every peer holds the new",
			want: [][]byte{k(2)}, held: [][]byte{k(1)}, peers: []peerKeys{{"b", []string{id(1)}}},
			ring: [][]byte{k(1), k(2)}, waiting: []string{"b"}, kept: []string{id(1)}},
		{name: "a peer that does not advertise its keys follows the operator", want: [][]byte{k(2)},
			held: [][]byte{k(1), k(2)}, peers: []peerKeys{{"b", nil}}, ring: [][]byte{k(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, waiting, kept := planKeys(tt.want, tt.held, tt.peers)
			assert.Equal(t, tt.ring, ring)
			assert.Equal(t, tt.waiting, waiting)
			assert.Equal(t, tt.kept, kept)
		})
	}
}

// The module adds its reload.Target, which covers the live keys only.
func TestModuleReloadTarget(t *testing.T) {
	cfg := testConfig()
	cfg.NodeID, cfg.BindAddress, cfg.Port = "solo", "127.0.0."+strconv.Itoa(firstHost(t)), 0
	var c *Cluster
	var targets reload.Targets
	app := fxtest.New(t, fx.NopLogger,
		fx.Supply(zap.NewNop(), events.DefaultConfig(), cfg),
		events.Module, dnsstore.Module, Module,
		fx.Populate(&c, &targets),
	)
	app.RequireStart()
	defer app.RequireStop()
	require.Len(t, targets.Targets, 1)
	target := targets.Targets[0]
	assert.Equal(t, "cluster", target.Module)
	for _, k := range []string{"cluster.policy", "cluster.priority", "cluster.key", "cluster.keyring_file"} {
		assert.True(t, target.Covers(k), k)
	}
	for _, k := range []string{"cluster.port", "cluster.bind_address", "cluster.node_id", "cluster.join", "cluster.enabled"} {
		assert.False(t, target.Covers(k), "%s needs a restart", k)
	}
	cfg.Policy = "newest"
	require.NoError(t, target.Apply(t.Context(), cfg))
	assert.Equal(t, "newest", c.Status().Policy)
}
