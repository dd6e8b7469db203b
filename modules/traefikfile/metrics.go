package traefikfile

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

// newCollector exports each directory's circuit breaker to Prometheus when scraped (status.CollectorGroup,
// retry.Metrics).
func newCollector(p *Producer) prometheus.Collector {
	return status.NewCollector(p.retries.Collect, p.retries.Descs()...)
}
