// Package metrics is the metrics handler: it serves GET /metrics in Prometheus' text format (or the protobuf
// format, when a scraper asks for it) as a status.Route that the HTTP module mounts.
//
// # What it serves
//
// A registry of its own (never prometheus.DefaultRegisterer, so that only what is registered here is served and
// two applications in one process do not collide) holds:
//   - the Go runtime's and the process's collectors (go_*, process_*);
//   - the bus's events per family: an events.Observer installed with Bus.Use and Bus.UseDelivery counts what is
//     published, delivered and failed per family; the bus itself counts drops per family and the queue depth
//     (events.Stats);
//   - the store's records by source kind (the part of the source before its colon: docker, hosts, traefik,
//     static, node), counted from the snapshot of the moment at each scrape;
//   - joyride_build_info (the version status.Service reports, the Go version, the commit), and, when the health
//     module runs, joyride_ready and each module's health;
//   - every collector the other modules add to status.CollectorGroup: the DNS server's, Docker's, the hosts
//     producer's and the cluster's, each in its module's metrics.go.
//
// docs/operations.md lists every metric with its labels and the alerts worth setting.
//
// # Nothing on the hot paths
//
// Every collector reads counters that exist anyway (a module's Status, the DNS server's atomics, the store's
// snapshot) when scraped and builds labels and histograms then (prometheus.NewDesc with MustNewConstMetric and
// MustNewConstHistogram), so nothing is added per query or per record change. The DNS server's counting and
// timing are batched per UDP batch; its package documentation says how. The events observer adds a map lookup
// and an atomic addition per event and per delivery, and two clock readings per delivery (events.Observe's).
//
// # Lifecycle
//
// New registers everything and installs the observer; it starts no goroutine and does no I/O, and the module
// has no hooks: a scrape runs on the HTTP server's goroutine. A collector whose registration fails (two with
// the same metric) fails the application at start with the collector named. A collector that fails during a
// scrape loses its own metrics only (promhttp.ContinueOnError), logged and counted in
// promhttp_metric_handler_errors_total.
//
// # Replacing parts
//
// Module provides the route (status.RouteGroup) and keeps the Handler private. An embedding application adds
// its own metrics by adding collectors to status.CollectorGroup with status.ProvideCollector; the Health is
// optional (fx's optional tag), so the module also works without the health module.
package metrics
