package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// TestCollector runs two nodes on loopback: the members by state, the records shared and synchronised, and a
// peer that dies, as each node's collector reports them.
func TestCollector(t *testing.T) {
	tc := newTestCluster(t)
	a, b := tc.add("a"), tc.add("b")
	tc.members(2, 5*time.Second)
	a.set("docker:1", "web.lab.test=10.0.0.1", "db.lab.test=10.0.0.2")

	scrape := func(n *testNode) map[string]float64 { return statustest.Collect(t, newCollector(n.c)).Series }
	var got map[string]float64
	require.True(t, waitFor(5*time.Second, func() bool {
		got = scrape(b)
		return got["joyride_cluster_records_synced_total"] >= 2
	}), "b never counted a's records: %v", got)
	assert.Equal(t, 1.0, got[`joyride_cluster_members{state="alive"}`], "the peer; the node itself is not a member")
	assert.Equal(t, 0.0, got[`joyride_cluster_members{state="dead"}`])
	assert.Positive(t, got["joyride_cluster_sync_operations_total"], "a full state exchange at join")
	assert.Positive(t, got["joyride_cluster_last_sync_timestamp_seconds"])
	assert.Zero(t, got["joyride_cluster_rejected_messages_total"])
	assert.Equal(t, 2.0, scrape(a)["joyride_cluster_shared_records"])

	b.kill()
	require.True(t, waitFor(5*time.Second, func() bool {
		got = scrape(a)
		return got[`joyride_cluster_members{state="alive"}`] == 0
	}), "a never saw b fail: %v", got)
	assert.Equal(t, 1.0, got[`joyride_cluster_members{state="suspect"}`]+got[`joyride_cluster_members{state="dead"}`])
}

// TestCollectorStopped: a node not started reports every state, all 0, and no synchronisation.
func TestCollectorStopped(t *testing.T) {
	c, err := NewCluster(testConfig(), nil, eventstest.NewBus(t), dnsstore.New())
	require.NoError(t, err)
	want := map[string]float64{
		"joyride_cluster_nodes_discovered_total": 0, "joyride_cluster_sync_operations_total": 0,
		"joyride_cluster_records_synced_total": 0, "joyride_cluster_rejected_messages_total": 0,
		"joyride_cluster_last_sync_timestamp_seconds": 0, "joyride_cluster_shared_records": 0,
	}
	for _, s := range memberStates {
		want[`joyride_cluster_members{state="`+s+`"}`] = 0
	}
	assert.Equal(t, want, statustest.Collect(t, newCollector(c)).Series)
}
