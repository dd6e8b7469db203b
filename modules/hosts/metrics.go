package hosts

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

var (
	filesDesc    = prometheus.NewDesc("joyride_hosts_files", "Hosts files loaded.", nil, nil)
	recordsDesc  = prometheus.NewDesc("joyride_hosts_records", "Records across the loaded hosts files.", nil, nil)
	badLinesDesc = prometheus.NewDesc("joyride_hosts_bad_lines",
		"Lines skipped as invalid in the loaded hosts files, as each was last read.", nil, nil)
)

// newCollector exports the producer's Status to Prometheus when scraped (status.CollectorGroup), and each
// directory's circuit breaker (retry.Metrics).
func newCollector(p *Producer) prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		st := p.Status()
		ch <- prometheus.MustNewConstMetric(filesDesc, prometheus.GaugeValue, float64(st.Files))
		ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.GaugeValue, float64(st.RecordsCount))
		ch <- prometheus.MustNewConstMetric(badLinesDesc, prometheus.GaugeValue, float64(st.BadLines))
		p.retries.Collect(ch)
	}, append([]*prometheus.Desc{filesDesc, recordsDesc, badLinesDesc}, p.retries.Descs()...)...)
}
