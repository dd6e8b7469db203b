// Package metrics is the metrics handler: Prometheus metrics from the bus's events and counters, the store, and
// the collectors other modules add to status.CollectorGroup, served as GET /metrics through the HTTP module.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module registers the metrics and provides the /metrics route.
var Module = fx.Module("metrics",
	fx.Provide(New, fx.Private),
	fx.Invoke(func(*Handler) {}),
)

// Params are the handler's dependencies.
type Params struct {
	fx.In
	Bus        *events.Bus
	Store      *dnsstore.Store
	Service    status.Service
	Collectors []prometheus.Collector `group:"joyride.collectors"`
}

// Handler keeps the registry. (Skeleton: filled in by the metrics work.)
type Handler struct{}

// New registers the metrics.
func New(p Params) (*Handler, error) { return &Handler{}, nil }
