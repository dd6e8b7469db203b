package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/status"
)

var recordsDesc = prometheus.NewDesc("joyride_records",
	"DNS records in the store, by source kind (docker, hosts, traefik, static, node: a peer's); a record two "+
		"sources publish counts in each.",
	[]string{"source_kind"}, nil)

// sourceKind is the part of a store source before its colon: "docker:<id>" is docker, "node:<id>/…" node.
func sourceKind(source string) string {
	kind, _, _ := strings.Cut(source, ":")
	return kind
}

// newRecordCollector counts the store's records by source kind when scraped, from the snapshot of the moment:
// nothing is counted as records change.
func newRecordCollector(store *dnsstore.Store) prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		snap := store.Snapshot()
		kinds := make(map[string]int)
		for _, src := range snap.Sources() {
			kinds[sourceKind(src)] += snap.SourceLen(src)
		}
		for kind, n := range kinds {
			ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.GaugeValue, float64(n), kind)
		}
	}, recordsDesc)
}
