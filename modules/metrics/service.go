package metrics

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

// newBuildInfo is joyride_build_info: always 1, its labels the version the service reports (SEMANTIC_VERSION),
// the Go version and the commit the binary was built from when the build recorded it.
func newBuildInfo(svc status.Service) prometheus.Collector {
	revision := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "joyride_build_info",
		Help: "Always 1; the labels are the service's version, the Go version and the commit built.",
		ConstLabels: prometheus.Labels{
			"version": svc.Version, "goversion": runtime.Version(), "revision": revision,
		},
	})
	g.Set(1)
	return g
}

var (
	readyDesc = prometheus.NewDesc("joyride_ready",
		"1 once the node is ready (every module has finished its first load; GET /ready answers 200), else 0.",
		nil, nil)
	moduleDesc = prometheus.NewDesc("joyride_module_health",
		"1 for each module's current health state (starting, healthy, unhealthy), 0 for the others.",
		[]string{"module", "state"}, nil)
)

// newHealthCollector reports the health handler's view: readiness and each module's state.
func newHealthCollector(h status.Health) prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, flag(h.Ready()))
		for _, comp := range h.Components() {
			for _, state := range []string{status.Starting, status.Healthy, status.Unhealthy} {
				ch <- prometheus.MustNewConstMetric(moduleDesc, prometheus.GaugeValue, flag(comp.State == state),
					comp.Name, state)
			}
		}
	}, readyDesc, moduleDesc)
}

// flag is a boolean as a gauge's value.
func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
