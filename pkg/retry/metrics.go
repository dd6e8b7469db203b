package retry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// states are the values of the circuit gauge's state label, each sent for every target, so that an alert on
// state="open" sees it go from 0 to 1.
var states = []State{Closed, Open, HalfOpen}

// Metrics are the Prometheus metrics of one module's breakers, for the module's collector (status.CollectorGroup):
//
//	joyride_retry_circuit{source="docker",target="unix:///var/run/docker.sock",state="open"} 1
//	joyride_retry_failures_total{source="docker",target="unix:///var/run/docker.sock"} 7
//
// Every module describes the same two metrics with its own source label, so they read as one series per source
// and target on /metrics.
type Metrics struct {
	circuit, failures *prometheus.Desc
}

// NewMetrics describes the metrics of the breakers of module (the source label, the events' Source).
func NewMetrics(module string) Metrics {
	src := prometheus.Labels{"source": module}
	return Metrics{
		circuit: prometheus.NewDesc("joyride_retry_circuit",
			"The circuit breaker of a retried source: 1 for its state (closed, open, half_open), 0 for the others.",
			[]string{"target", "state"}, src),
		failures: prometheus.NewDesc("joyride_retry_failures_total",
			"Failed attempts at a source, each retried under the retry policy.", []string{"target"}, src),
	}
}

// Descs are the descriptions to pass to status.NewCollector.
func (m Metrics) Descs() []*prometheus.Desc { return []*prometheus.Desc{m.circuit, m.failures} }

// Collect sends the metrics of target's breaker, whose status is s.
func (m Metrics) Collect(ch chan<- prometheus.Metric, target string, s Status) {
	for _, st := range states {
		v := 0.0
		if s.State == st {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.circuit, prometheus.GaugeValue, v, target, string(st))
	}
	ch <- prometheus.MustNewConstMetric(m.failures, prometheus.CounterValue, float64(s.Retries), target)
}
