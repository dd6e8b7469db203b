package hosts

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the producer's Status to Prometheus when scraped (status.CollectorGroup).
type collector struct{ p *Producer }

var _ prometheus.Collector = collector{}

func newCollector(p *Producer) collector { return collector{p} }

var (
	filesDesc = prometheus.NewDesc("joyride_hosts_files",
		"Hosts files loaded.", nil, nil)
	recordsDesc = prometheus.NewDesc("joyride_hosts_records",
		"Records across the loaded hosts files.", nil, nil)
	badLinesDesc = prometheus.NewDesc("joyride_hosts_bad_lines",
		"Lines skipped as invalid in the loaded hosts files, as each was last read.", nil, nil)
)

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- filesDesc
	ch <- recordsDesc
	ch <- badLinesDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Status()
	ch <- prometheus.MustNewConstMetric(filesDesc, prometheus.GaugeValue, float64(st.Files))
	ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.GaugeValue, float64(st.Records))
	ch <- prometheus.MustNewConstMetric(badLinesDesc, prometheus.GaugeValue, float64(st.BadLines))
}
