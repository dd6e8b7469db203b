// Package status is the contract between the modules and the operator's window: the HTTP API, the dashboard,
// the health handler and the metrics. Modules meet on the bus and import no other module, so what the window
// reads from a module it reads through this leaf package, in value groups a module adds to:
//
//   - a Reporter (Group ReporterGroup) names the module, snapshots its state for /status and the dashboard, and
//     may explain its records (Explain) or force a synchronisation (Sync);
//   - a Route (RouteGroup) is an HTTP handler a module serves through the HTTP module (the metrics module's
//     /metrics);
//   - a prometheus.Collector (CollectorGroup) is a module's own metrics, read from its counters at scrape time so
//     that nothing is added to its hot path;
//   - Health is what the health handler provides: each module's health and the node's readiness.
//
// A module that provides a Reporter also reports its health on the bus: a HealthEvent whose Component is the
// Reporter's Name, Healthy once its first load is done (bound, listed, scanned, joined), Unhealthy while it fails.
// The node is ready once the application has started and every Reporter's module has loaded: reported Healthy
// at least once and, when the records module runs, had that report acknowledged by it, which says that what the
// module published before it is in the store (see the health module's doc).
//
// Value groups are only built when something consumes them: without the HTTP, health or metrics module, no
// Reporter, Route or Collector is constructed.
package status

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// The value groups' tags, exported so that an embedding application can add its own members.
const (
	ReporterGroup  = `group:"joyride.status"`
	RouteGroup     = `group:"joyride.routes"`
	CollectorGroup = `group:"joyride.collectors"`
)

// Reporter is one module as the operator's window sees it.
type Reporter struct {
	// Name is the module's name, as in the configuration's `modules:` and in its HealthEvents' Component.
	Name string
	// Status returns a snapshot of the module's state, encoded as a JSON object in /status and the dashboard.
	Status func() any
	// Explain, if set, tells why source holds records at name: the container and its label, the file and line,
	// the router and its rule. It returns nil for a source that is not the module's. It explains all of the
	// source's records at name in one call: an entry that gives one record (a hosts line, a static entry) says
	// which in its Value, and the HTTP API calls Explain once per source and name, however many records the
	// source has there. As an unauthenticated request may call it, it bounds what it reads and returns.
	Explain func(source, name string) []Provenance
	// Sync, if set, starts a full synchronisation with the module's peers (POST /dns/sync).
	Sync func(ctx context.Context) error
}

// Provenance is where a record comes from, as precisely as its module knows. Kind is always set; the other
// fields are those that apply.
type Provenance struct {
	Kind        string `json:"kind"` // "container", "hosts", "traefik", "static", "peer" or a module's own
	File        string `json:"file,omitempty"`
	Line        int    `json:"line,omitempty"`
	Text        string `json:"text,omitempty"` // the file's line, as written
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Label       string `json:"label,omitempty"` // "joyride.host.name=app.lab.test"
	Router      string `json:"router,omitempty"`
	Rule        string `json:"rule,omitempty"`
	// Node, Address and Source describe a record synced from a cluster peer (Kind "peer"): the node that owns it,
	// that node's gossip address as this node last saw it, and the source it has on that node ("docker:<id>"),
	// which the owner's own explain can expand.
	Node    string `json:"node,omitempty"`
	Address string `json:"address,omitempty"`
	Source  string `json:"source,omitempty"`
	// Value is the record value this entry gives, canonical as the record store keeps it ("10.0.0.1",
	// "2001:db8::1"): a hosts line gives its address, a static entry its value. The HTTP API shows an entry
	// only with the record whose Value() it is, so a name on several lines is explained line by line. It is ""
	// when the entry applies to every record of the source at the name, as a container's label or a router's
	// rule does.
	Value string `json:"value,omitempty"`
}

// Route is an HTTP handler a module serves on the HTTP module's listener.
type Route struct {
	// Pattern is a net/http ServeMux pattern with its method: "GET /metrics".
	Pattern string
	Handler http.Handler
	// Write marks a route that changes state: the HTTP module's token rule applies to it.
	Write bool
}

// Health is the node's health as the health handler keeps it.
type Health interface {
	// Ready reports whether the application has started and every reporting module has finished its first load.
	Ready() bool
	// Waiting names what readiness waits for, sorted ("start", modules not loaded yet, a critical module that
	// is unhealthy); empty when Ready is true. /ready says it.
	Waiting() []string
	// Components returns every module's health, sorted by name.
	Components() []Component
}

// Component states.
const (
	Starting  = "starting" // no health reported yet: its first load is not done
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// Component is one module's health.
type Component struct {
	Name    string    `json:"name"`
	State   string    `json:"state"` // Starting, Healthy or Unhealthy
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since,omitzero"` // when State last changed
	// Loaded is true once the module's first load is done: it reported Healthy and, with the records module, its
	// records are applied.
	Loaded bool `json:"loaded"`
}

// Provide adds what constructor f returns, a Reporter, to ReporterGroup. f takes the module's own types, e.g.
// func(p *Producer) status.Reporter.
func Provide(f any) fx.Option { return fx.Provide(fx.Annotate(f, fx.ResultTags(ReporterGroup))) }

// ProvideRoute adds what constructor f returns, a Route, to RouteGroup.
func ProvideRoute(f any) fx.Option { return fx.Provide(fx.Annotate(f, fx.ResultTags(RouteGroup))) }

// ProvideCollector adds what constructor f returns, a prometheus.Collector, to CollectorGroup.
func ProvideCollector(f any) fx.Option {
	return fx.Provide(fx.Annotate(f, fx.As(new(prometheus.Collector)), fx.ResultTags(CollectorGroup)))
}

// Service is what the window shows of the running service: joyride-python's SERVICE_NAME, ENVIRONMENT and
// SEMANTIC_VERSION, and when the process started. The application supplies it once for every module that
// shows it.
type Service struct {
	Name        string
	Environment string
	Version     string
	Started     time.Time
}

// NewCollector is a module's prometheus.Collector, for CollectorGroup: collect sends the module's metrics, read
// from its counters when scraped (with prometheus.MustNewConstMetric and the like), and descs describe every
// metric it may send.
func NewCollector(collect func(ch chan<- prometheus.Metric), descs ...*prometheus.Desc) prometheus.Collector {
	return collector{collect, descs}
}

type collector struct {
	collect func(chan<- prometheus.Metric)
	descs   []*prometheus.Desc
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
