package cluster

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

// memberStates are the states joyride_cluster_members reports, each even when no member is in it, so that an
// alert on a state sees it go from 0.
var memberStates = []string{"alive", "suspect", "dead", "left"}

var (
	membersDesc = prometheus.NewDesc("joyride_cluster_members",
		"The other cluster members as this node sees them, by state.", []string{"state"}, nil)
	discoveredDesc = prometheus.NewDesc("joyride_cluster_nodes_discovered_total",
		"Nodes that joined the cluster as this node saw it.", nil, nil)
	syncsDesc = prometheus.NewDesc("joyride_cluster_sync_operations_total",
		"Full state exchanges with peers (push/pull, received or made by joining).", nil, nil)
	syncedDesc = prometheus.NewDesc("joyride_cluster_records_synced_total",
		"Peer records received and applied.", nil, nil)
	rejectedDesc = prometheus.NewDesc("joyride_cluster_rejected_messages_total",
		"Peer messages or records refused (malformed, or outside the allowed domains).", nil, nil)
	lastSyncDesc = prometheus.NewDesc("joyride_cluster_last_sync_timestamp_seconds",
		"When a peer's records were last applied, in Unix seconds; 0 before the first.", nil, nil)
	sharedDesc = prometheus.NewDesc("joyride_cluster_shared_records",
		"Records this node shares with its peers.", nil, nil)
)

// newCollector exports the node's Status to Prometheus when scraped (status.CollectorGroup), and the circuit
// breaker of its joins (retry.Metrics) once started.
func newCollector(c *Cluster) prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		collectStatus(c.Status(), ch)
		c.retries.Collect(ch)
	}, append([]*prometheus.Desc{membersDesc, discoveredDesc, syncsDesc, syncedDesc, rejectedDesc, lastSyncDesc,
		sharedDesc}, c.retries.Descs()...)...)
}

func collectStatus(st Status, ch chan<- prometheus.Metric) {
	byState := make(map[string]int, len(memberStates))
	for _, m := range st.Members {
		byState[m.State]++
	}
	for _, s := range memberStates {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(byState[s]), s)
	}
	lastSync := 0.0
	if st.Stats.LastSync != nil {
		lastSync = float64(st.Stats.LastSync.UnixNano()) / 1e9
	}
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{discoveredDesc, prometheus.CounterValue, float64(st.Stats.NodesDiscovered)},
		{syncsDesc, prometheus.CounterValue, float64(st.Stats.SyncOperations)},
		{syncedDesc, prometheus.CounterValue, float64(st.Stats.RecordsSynced)},
		{rejectedDesc, prometheus.CounterValue, float64(st.Stats.Rejected)},
		{lastSyncDesc, prometheus.GaugeValue, lastSync},
		{sharedDesc, prometheus.GaugeValue, float64(st.Records)},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
}
