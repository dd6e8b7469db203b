package docker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

var (
	connectedDesc = prometheus.NewDesc("joyride_docker_connected",
		"1 while the container engine's event stream is open, else 0.", nil, nil)
	reconnectsDesc = prometheus.NewDesc("joyride_docker_reconnects_total",
		"Connections to the container engine made after a lost one.", nil, nil)
	containersDesc = prometheus.NewDesc("joyride_docker_containers",
		"Containers whose records are served (including those within their stop grace).", nil, nil)
)

// newCollector exports the producer's Status to Prometheus when scraped (status.CollectorGroup), and the engine's
// circuit breaker (retry.Metrics) once Start has named the endpoint.
func newCollector(p *Producer) prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		st := p.Status()
		connected := 0.0
		if st.Connected {
			connected = 1
		}
		ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, connected)
		ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(st.Reconnects))
		ch <- prometheus.MustNewConstMetric(containersDesc, prometheus.GaugeValue, float64(st.Containers))
		p.retries.Collect(ch)
	}, append([]*prometheus.Desc{connectedDesc, reconnectsDesc, containersDesc}, p.retries.Descs()...)...)
}
