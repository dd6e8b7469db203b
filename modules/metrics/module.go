package metrics

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module registers the metrics and provides the /metrics route.
var Module = fx.Module("metrics",
	fx.Provide(New, fx.Private),
	status.ProvideRoute(route),
	fx.Invoke(func(*Handler) {}),
)

// Params are the handler's dependencies. Health is optional: without the health module there is no
// joyride_ready. The logger is optional too.
type Params struct {
	fx.In
	Logger     *zap.Logger `optional:"true"`
	Bus        *events.Bus
	Store      *dnsstore.Store
	Service    status.Service
	Health     status.Health          `optional:"true"`
	Collectors []prometheus.Collector `group:"joyride.collectors"`
}

// Handler serves the registry in Prometheus' exposition formats. The registry is its own, not the process-wide
// default, so that only what is registered here is served and two applications in one process (tests) do not
// collide.
type Handler struct {
	http.Handler
	registry *prometheus.Registry
}

// New registers the Go runtime's and the process's collectors, the handler's own (the bus's events, the
// store's records, build information, health) and every module's, and installs the observer that counts events
// on the bus. It starts nothing: every value is read when scraped.
func New(p Params) (*Handler, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newEventCollector(p.Bus),
		newRecordCollector(p.Store),
		newBuildInfo(p.Service),
	}
	if p.Health != nil {
		cs = append(cs, newHealthCollector(p.Health))
	}
	for _, c := range append(cs, p.Collectors...) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register %T: %w", c, err)
		}
	}
	log := zap.NewNop()
	if p.Logger != nil {
		log = p.Logger.Named("metrics")
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector that fails loses its own metrics, not the whole scrape; the error is logged and counted
		// in promhttp_metric_handler_errors_total.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      zap.NewStdLog(log),
		Registry:      reg,
	})
	return &Handler{Handler: h, registry: reg}, nil
}

// route is the handler as the HTTP module serves it.
func route(h *Handler) status.Route { return status.Route{Pattern: "GET /metrics", Handler: h} }
