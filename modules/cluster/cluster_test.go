package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/retry"
)

// Each test ends with every running node answering the same records, asserted by converge.

func TestJoinWithRecordsAlreadyPresent(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	a.set("docker:1", "app.lab.test=10.0.0.1")
	b := tc.add("b")
	b.set("hosts:/etc/hosts.d/b", "nas.lab.test=10.0.0.2")
	tc.add("c")
	tc.members(3, 5*time.Second)
	tc.converge([]string{"app.lab.test=10.0.0.1", "nas.lab.test=10.0.0.2"}, 5*time.Second)
}

func TestAddAndRemoveSeenByAll(t *testing.T) {
	for _, size := range []int{5, 9} {
		t.Run(fmt.Sprintf("nodes=%d", size), func(t *testing.T) {
			tc := newTestCluster(t)
			for i := range size {
				tc.add(fmt.Sprintf("n%d", i))
			}
			tc.members(size, 10*time.Second)
			src := tc.nodes[2]
			src.set("docker:c1", "web.lab.test=10.0.0.3")
			tc.converge([]string{"web.lab.test=10.0.0.3"}, 3*time.Second)
			src.set("docker:c1", "web.lab.test=10.0.0.4")
			tc.converge([]string{"web.lab.test=10.0.0.4"}, 3*time.Second)
			src.set("docker:c1")
			tc.converge(nil, 3*time.Second)
		})
	}
}

// The same name from two nodes: removing one node's record keeps the other's (records are removed by owner and
// source, never by name).
func TestSameNameTwoOwners(t *testing.T) {
	tc := newTestCluster(t)
	a, b := tc.add("a"), tc.add("b")
	tc.members(2, 5*time.Second)
	a.set("docker:x", "app.lab.test=10.0.0.1")
	b.set("docker:x", "app.lab.test=10.0.0.2")
	tc.converge([]string{"app.lab.test=10.0.0.1", "app.lab.test=10.0.0.2"}, 3*time.Second)
	a.set("docker:x")
	tc.converge([]string{"app.lab.test=10.0.0.2"}, 3*time.Second)
}

// A change dropped for one node (cut off while it is gossiped) reaches it once traffic flows again: memberlist
// carries each node's head in its metadata and the node pulls.
func TestDroppedChangeRepaired(t *testing.T) {
	tc := newTestCluster(t)
	a, b, c := tc.three()
	tc.net.partition([]string{c.host}, []string{a.host, b.host})
	a.set("docker:1", "late.lab.test=10.0.0.9")
	require.True(t, waitFor(3*time.Second, func() bool { return len(b.answers()) == 1 }))
	require.Empty(t, c.answers(), "the cut node got the change")
	tc.net.heal()
	tc.converge([]string{"late.lab.test=10.0.0.9"}, 5*time.Second)
}

// A deletion made while a node is partitioned away is never undone by that node's older copy when it returns.
func TestDeletionDuringPartitionNotResurrected(t *testing.T) {
	tc := newTestCluster(t)
	a, b, c := tc.three()
	a.set("docker:1", "gone.lab.test=10.0.0.1")
	a.set("docker:2", "stays.lab.test=10.0.0.2")
	tc.converge([]string{"gone.lab.test=10.0.0.1", "stays.lab.test=10.0.0.2"}, 3*time.Second)
	tc.net.partition([]string{c.host}, []string{a.host, b.host})
	a.set("docker:1")
	require.True(t, waitFor(3*time.Second, func() bool { return len(b.answers()) == 1 }))
	tc.net.heal()
	tc.converge([]string{"stays.lab.test=10.0.0.2"}, 10*time.Second)
	// A full exchange with the node that was away brings nothing back.
	require.NoError(t, c.c.ForceSync(t.Context()))
	require.NoError(t, b.c.ForceSync(t.Context()))
	tc.converge([]string{"stays.lab.test=10.0.0.2"}, time.Second)
}

func TestGracefulLeaveWithdrawsAtOnce(t *testing.T) {
	tc := newTestCluster(t)
	// With a failure grace of a minute, only the leave itself can withdraw b's records within the test.
	grace := func(c *Config) { c.FailedGrace = time.Minute }
	a, b := tc.add("a", grace), tc.add("b", grace)
	tc.add("c", grace)
	tc.members(3, 5*time.Second)
	b.set("docker:1", "b.lab.test=10.0.0.2")
	a.set("docker:1", "a.lab.test=10.0.0.1")
	tc.converge([]string{"a.lab.test=10.0.0.1", "b.lab.test=10.0.0.2"}, 3*time.Second)
	b.stop()
	tc.converge([]string{"a.lab.test=10.0.0.1"}, time.Second)
}

// A node killed without leaving: its records go once it is declared dead (failed_grace 0), and come back when it
// returns with the same state (a partition, not a restart).
func TestDeadNodeRecordsGoAndReturn(t *testing.T) {
	tc := newTestCluster(t)
	a, b, c := tc.three()
	c.set("docker:1", "c.lab.test=10.0.0.3")
	a.set("docker:1", "a.lab.test=10.0.0.1")
	tc.converge([]string{"a.lab.test=10.0.0.1", "c.lab.test=10.0.0.3"}, 3*time.Second)
	tc.net.partition([]string{c.host}, []string{a.host, b.host})
	require.True(t, waitFor(10*time.Second, func() bool {
		return fmt.Sprint(a.answers()) == "[a.lab.test=10.0.0.1]" && fmt.Sprint(b.answers()) == "[a.lab.test=10.0.0.1]"
	}), "the cut node's records stayed: %v %v", a.answers(), b.answers())
	tc.net.heal()
	tc.converge([]string{"a.lab.test=10.0.0.1", "c.lab.test=10.0.0.3"}, 10*time.Second)
}

// A node killed and restarted with the same name on the same address: its new state replaces the old at once,
// whether or not it was declared dead first.
func TestRestartReplacesState(t *testing.T) {
	for _, declaredDead := range []bool{false, true} {
		t.Run(fmt.Sprintf("declared_dead=%v", declaredDead), func(t *testing.T) {
			tc := newTestCluster(t)
			a, b := tc.add("a"), tc.add("b")
			c := tc.add("c")
			tc.members(3, 5*time.Second)
			c.set("docker:old", "old.lab.test=10.0.0.3")
			tc.converge([]string{"old.lab.test=10.0.0.3"}, 3*time.Second)
			c.kill()
			if declaredDead {
				require.True(t, waitFor(10*time.Second, func() bool { return len(a.answers()) == 0 && len(b.answers()) == 0 }))
			}
			require.NoError(t, c.start())
			c.set("docker:new", "new.lab.test=10.0.0.3")
			tc.members(3, 10*time.Second)
			tc.converge([]string{"new.lab.test=10.0.0.3"}, 10*time.Second)
		})
	}
}

// With a failure grace, a node that leaves gracefully still has its records withdrawn at once, while a node that
// fails keeps them for the grace.
func TestLeaveAndFailureWithGrace(t *testing.T) {
	tc := newTestCluster(t)
	grace := func(c *Config) { c.FailedGrace = time.Minute }
	a, b, c := tc.add("a", grace), tc.add("b", grace), tc.add("c", grace)
	tc.members(3, 5*time.Second)
	b.set("docker:1", "b.lab.test=10.0.0.2")
	c.set("docker:1", "c.lab.test=10.0.0.3")
	tc.converge([]string{"b.lab.test=10.0.0.2", "c.lab.test=10.0.0.3"}, 3*time.Second)
	b.stop()
	tc.converge([]string{"c.lab.test=10.0.0.3"}, 2*time.Second)
	require.Equal(t, []string{"node_joined b", "node_left b"}, a.nodeEvents("b"))
	c.kill()
	require.True(t, waitFor(10*time.Second, func() bool {
		st := a.c.Status()
		return len(st.Members) == 2 && st.Members[1].NodeID == "c" && st.Members[1].State == "dead"
	}), "c never declared dead: %+v", a.c.Status().Members)
	require.Equal(t, []string{"c.lab.test=10.0.0.3"}, a.answers(), "a failed node's records went before the grace")
	// a may also have been the node whose probe suspected c first (TestSuspectedEvent).
	require.Equal(t, []string{"node_joined c", "node_failed c"},
		slices.DeleteFunc(a.nodeEvents("c"), func(e string) bool { return e == "node_suspected c" }))
}

// A node restarted on a new address with the same name takes its place once the old address is found dead.
func TestRestartOnNewAddress(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	b := tc.add("b")
	tc.members(2, 5*time.Second)
	b.set("docker:1", "b.lab.test=10.0.0.2")
	tc.converge([]string{"b.lab.test=10.0.0.2"}, 3*time.Second)
	b.kill()
	moved := tc.add("b") // the next address, same name
	moved.set("docker:2", "moved.lab.test=10.0.0.5")
	require.True(t, waitFor(15*time.Second, func() bool {
		return slices.Equal(a.answers(), []string{"moved.lab.test=10.0.0.5"})
	}), "a answers %v", a.answers())
	tc.converge([]string{"moved.lab.test=10.0.0.5"}, 5*time.Second)
}

// Two live nodes with one node_id: the newcomer's start fails naming the other's address, and the first one's
// records stay everywhere.
func TestDuplicateNodeID(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	b := tc.add("b")
	tc.members(2, 5*time.Second)
	b.set("docker:1", "b.lab.test=10.0.0.2")
	tc.converge([]string{"b.lab.test=10.0.0.2"}, 3*time.Second)

	dup := &testNode{t: t, name: "b", host: "127.0.0." + strconv.Itoa(tc.hosts+5), cfg: testConfig(), net: tc.net}
	dup.cfg.NodeID, dup.cfg.BindAddress, dup.cfg.Join = "b", dup.host, []string{a.addr()}
	err := dup.start()
	require.Error(t, err)
	require.Contains(t, err.Error(), b.addr(), "the error does not name the other node's address")
	require.Contains(t, err.Error(), `"b"`)
	time.Sleep(500 * time.Millisecond) // what the newcomer might have spread, had it spread anything
	tc.converge([]string{"b.lab.test=10.0.0.2"}, time.Second)
	require.Equal(t, 2, a.c.ml.NumMembers())
}

// Whole cluster restarted within a moment: the nodes form one cluster again (memberlist issue #311) and answer
// every node's records.
func TestWholeClusterRestart(t *testing.T) {
	tc := newTestCluster(t)
	var nodes []*testNode
	for i := range 3 {
		n := tc.add(fmt.Sprintf("n%d", i))
		nodes = append(nodes, n)
	}
	// Every node lists every other as a seed, as a fixed setup would.
	var seeds []string
	for _, n := range nodes {
		seeds = append(seeds, n.addr())
	}
	for _, n := range nodes {
		n.cfg.Join = seeds
	}
	tc.members(3, 5*time.Second)
	for _, n := range nodes {
		n.kill()
	}
	// Started in reverse order: the first seed of each is the last to come up.
	for i := len(nodes) - 1; i >= 0; i-- {
		require.NoError(t, nodes[i].start())
		nodes[i].set("docker:1", fmt.Sprintf("n%d.lab.test=10.0.0.%d", i, i+1))
	}
	tc.members(3, 10*time.Second)
	tc.converge([]string{"n0.lab.test=10.0.0.1", "n1.lab.test=10.0.0.2", "n2.lab.test=10.0.0.3"}, 5*time.Second)
}

// A seed down when a node starts: the node starts anyway and joins when the seed comes up.
func TestSeedDownAtStart(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	seed := a.addr()
	a.kill()
	b := tc.add("b", func(c *Config) { c.Join = []string{seed} })
	b.set("docker:1", "b.lab.test=10.0.0.2")
	require.NoError(t, a.start())
	a.set("docker:1", "a.lab.test=10.0.0.1")
	tc.members(2, 10*time.Second)
	tc.converge([]string{"a.lab.test=10.0.0.1", "b.lab.test=10.0.0.2"}, 5*time.Second)
}

// A seed that stays down: the node's failed joins follow the retry policy (capped at rejoin_interval), its
// circuit opens after five (an event; the health names it; Status shows it), and once the seed is up a probe
// joins it and the circuit closes.
func TestSeedDownCircuit(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	seed := a.addr()
	a.kill()
	b := tc.add("b", func(c *Config) { c.Join = []string{seed} }) // rejoin_interval 1s: probes every 2s ±20 %
	w := eventstest.NewWatcher(t, b.bus, events.Filter{Families: []events.Family{events.FamilyRetry, events.FamilyHealth}})
	kind := func(k events.RetryKind, from retry.State) func(events.Event) bool {
		return func(e events.Event) bool {
			re, ok := e.(*events.RetryEvent)
			return ok && re.Kind == k && re.From == string(from)
		}
	}
	opened := w.Expect(t, "the circuit open", kind(events.CircuitOpened, retry.Closed)).(*events.RetryEvent)
	assert.Equal(t, "seeds", opened.Target)
	assert.Equal(t, 5, opened.Failures)
	var failed []*events.RetryEvent
	for _, e := range w.Events() {
		if re, ok := e.(*events.RetryEvent); ok && re.Kind == events.AttemptFailed {
			failed = append(failed, re)
		}
	}
	require.Len(t, failed, 4, "four failed joins before the fifth opened the circuit; the first at start")
	for i, re := range failed {
		assert.Equal(t, i+1, re.Failures)
		assert.LessOrEqual(t, re.Delay, time.Second, "capped at rejoin_interval")
	}
	w.Expect(t, "the health names the open circuit", func(e events.Event) bool {
		he, ok := e.(*events.HealthEvent)
		return ok && he.Kind == events.Unhealthy && strings.HasPrefix(he.Message, "seeds: circuit open after 5 failures")
	})
	w.Expect(t, "a probe", kind(events.CircuitHalfOpen, retry.Open))
	st := b.c.Status().Retry
	assert.Contains(t, []retry.State{retry.Open, retry.HalfOpen}, st.State)
	assert.GreaterOrEqual(t, st.Failures, 5)

	require.NoError(t, a.start())
	a.set("docker:1", "a.lab.test=10.0.0.1")
	rec := w.Expect(t, "recovered", kind(events.Recovered, retry.HalfOpen)).(*events.RetryEvent)
	assert.GreaterOrEqual(t, rec.Failures, 5)
	tc.members(2, 10*time.Second)
	tc.converge([]string{"a.lab.test=10.0.0.1"}, 5*time.Second)
	assert.Equal(t, retry.Closed, b.c.Status().Retry.State)
}

// A change of 200 names on one container does not fit a packet: it travels as a notice and a pull.
func TestChangeBiggerThanAPacket(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	for _, n := range []string{"b", "c", "d", "e"} {
		tc.add(n)
	}
	tc.members(5, 5*time.Second)
	var pairs []string
	for i := range 200 {
		pairs = append(pairs, fmt.Sprintf("svc%03d.lab.test=10.0.%d.%d", i, i/250, i%250+1))
	}
	a.set("docker:big", pairs...)
	tc.converge(pairs, 5*time.Second)
}

// In steady state, push/pull changes nothing in the store: its generation, which keys the DNS answer cache,
// stays the same.
func TestSteadyStateKeepsStoreGeneration(t *testing.T) {
	tc := newTestCluster(t)
	fast := func(c *Config) { c.PushPullInterval = 100 * time.Millisecond }
	a, b := tc.add("a", fast), tc.add("b", fast)
	tc.members(2, 5*time.Second)
	a.set("docker:1", "a.lab.test=10.0.0.1")
	tc.converge([]string{"a.lab.test=10.0.0.1"}, 3*time.Second)
	gen := b.store.Snapshot().Generation()
	before := b.c.Status().Stats.SyncOperations
	require.True(t, waitFor(5*time.Second, func() bool { return b.c.Status().Stats.SyncOperations >= before+5 }),
		"no push/pull happened")
	require.Equal(t, gen, b.store.Snapshot().Generation(), "push/pull changed the store")
}

// A peer holding 10,000 records: a node that joins it has them all.
func TestPeerWithManyRecordsJoins(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	pairs := make([]string, 10_000)
	for i := range pairs {
		pairs[i] = fmt.Sprintf("h%05d.lab.test=10.%d.%d.%d", i, i>>16, (i>>8)&255, i&255)
	}
	a.set("hosts:/etc/hosts.d/big", pairs...)
	b := tc.add("b")
	require.True(t, waitFor(10*time.Second, func() bool { return b.store.Snapshot().Len() == 10_000 }),
		"b holds %d records", b.store.Snapshot().Len())
	require.Equal(t, a.answers(), b.answers())
}

// A partition longer than memberlist's gossip to the dead (30 s in production): each side declares the other
// dead and stops gossiping to it, and only the rejoin loop brings the sides together again.
func TestLongPartitionHeals(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t)
	prod := func(c *Config) { c.GossipToTheDead = 30 * time.Second; c.RejoinInterval = 2 * time.Second }
	a, b, c := tc.add("a", prod), tc.add("b", prod), tc.add("c", prod)
	tc.members(3, 5*time.Second)
	c.set("docker:1", "c.lab.test=10.0.0.3")
	tc.converge([]string{"c.lab.test=10.0.0.3"}, 3*time.Second)
	tc.net.partition([]string{c.host}, []string{a.host, b.host})
	require.True(t, waitFor(10*time.Second, func() bool { return len(a.answers()) == 0 && len(b.answers()) == 0 }))
	a.set("docker:1", "a.lab.test=10.0.0.1")
	time.Sleep(32 * time.Second) // longer than GossipToTheDead: memberlist alone would never heal this
	tc.net.heal()
	tc.members(3, 10*time.Second)
	tc.converge([]string{"a.lab.test=10.0.0.1", "c.lab.test=10.0.0.3"}, 10*time.Second)
}

// An add delivered late, after the deletion that followed it, changes nothing: on the node it reaches, and on
// every node after push/pull.
func TestStaleAddAfterDelete(t *testing.T) {
	tc := newTestCluster(t)
	a, b := tc.add("a"), tc.add("b")
	tc.add("c")
	tc.members(3, 5*time.Second)
	a.set("docker:1", "old.lab.test=10.0.0.1")
	tc.converge([]string{"old.lab.test=10.0.0.1"}, 3*time.Second)
	late := encode(msgDelta, wireOwner{Node: "a", Epoch: a.c.epoch, Sources: []wireSource{
		src("docker:1", 1, rec("old.lab.test.", "10.0.0.1"))}})
	a.set("docker:1")
	tc.converge(nil, 3*time.Second)
	(&delegate{b.c}).NotifyMsg(late)
	require.NoError(t, b.c.ForceSync(t.Context()))
	time.Sleep(100 * time.Millisecond) // a resurrection would have been published by now
	tc.converge(nil, time.Second)
	require.Contains(t, b.syncEvents(), "cluster_state_changed")
}

// A node restarted before it is found dead, whose producers load a moment after its start: its peers answer its
// records the whole time. (Announcing the new epoch at once would replace them with the empty state it starts
// with, until its producers' load followed.)
func TestRestartWithoutGap(t *testing.T) {
	tc := newTestCluster(t)
	a, _, c := tc.three()
	c.set("docker:1", "c.lab.test=10.0.0.3")
	tc.converge([]string{"c.lab.test=10.0.0.3"}, 3*time.Second)
	c.kill()
	require.NoError(t, c.start())
	missing := 0
	for start := time.Now(); time.Since(start) < 2*time.Second; time.Sleep(5 * time.Millisecond) {
		if len(a.lookup("c.lab.test")) == 0 {
			missing++
		}
		if time.Since(start) > 100*time.Millisecond && len(c.answers()) == 0 {
			c.set("docker:1", "c.lab.test=10.0.0.3") // the producers' first load
		}
	}
	require.Zero(t, missing, "a answered c.lab.test with nothing during c's restart")
	tc.converge([]string{"c.lab.test=10.0.0.3"}, 3*time.Second)
}

// A node cut off is suspected before it is declared dead, by the node whose probe of it failed: node_suspected
// (from memberlist's log line, its only word on suspicion: this test fails if an upgrade rewords it).
func TestSuspectedEvent(t *testing.T) {
	tc := newTestCluster(t)
	a, b, c := tc.three()
	tc.net.partition([]string{c.host}, []string{a.host, b.host})
	require.True(t, waitFor(10*time.Second, func() bool {
		return slices.Contains(a.nodeEvents("c"), "node_suspected c") || slices.Contains(b.nodeEvents("c"), "node_suspected c")
	}), "no node_suspected: a %v, b %v", a.nodeEvents("c"), b.nodeEvents("c"))
	for _, n := range []*testNode{a, b} {
		events := n.nodeEvents("c")
		if i := slices.Index(events, "node_suspected c"); i >= 0 {
			require.NotContains(t, events[:i], "node_failed c", "%s suspected c after declaring it dead", n.name)
		}
	}
}

// A copy left behind a node that is suspected at that moment is still brought up to date by a pull, without
// waiting for push/pull (switched off here): suspicion, which a loaded machine's slow probes cause, once dropped
// the pending pull for good.
func TestBehindSuspectedNodeIsPulled(t *testing.T) {
	tc := newTestCluster(t)
	noPushPull := func(c *Config) { c.PushPullInterval = 0 }
	a, b := tc.add("a", noPushPull), tc.add("b", noPushPull)
	tc.members(2, 5*time.Second)
	b.set("docker:1", "b.lab.test=10.0.0.2")
	tc.converge([]string{"b.lab.test=10.0.0.2"}, 3*time.Second)
	a.c.suspected("b")
	a.c.mu.Lock()
	copyOfB := a.c.owners["b"]
	delete(copyOfB.sources, "docker:1") // as if the delta had never arrived
	copyOfB.head = 0
	a.c.behind["b"] = time.Now().Add(-time.Hour)
	a.c.mu.Unlock()
	require.True(t, waitFor(5*time.Second, func() bool {
		a.c.mu.Lock()
		defer a.c.mu.Unlock()
		return a.c.owners["b"].head >= 1
	}), "a's copy of the suspected b was never pulled")
}
