// Package health is the health handler: it turns the modules' HealthEvents into each module's health and the
// node's readiness (status.Health, for /ready, /status and the dashboard), and publishes health_check_failed and
// health_check_recovered when a module changes state.
//
// # Components
//
// Every module that provides a status.Reporter reports its health on the bus as events.HealthEvents whose
// Component is the Reporter's Name (pkg/status): healthy once its first load is done, unhealthy while it fails,
// healthy again when it recovers. The handler keeps one status.Component per name: starting until the first
// report, then healthy or unhealthy with the report's message and the time of the last change of state (Since,
// the event's timestamp). Loaded is set by the first load (below) and stays set. A component that reports
// without a Reporter (an embedding application's) is shown too, but readiness does not wait for it.
//
// # First load: records in the store
//
// A producer reports healthy right after it publishes its snapshots, but the records handler applies them to the
// store on a subscription of its own, so a healthy report alone would make the node ready before it serves those
// records (a 100,000-line hosts file takes tens of milliseconds to apply). So when the records module runs (a
// Reporter is named "records"), a component other than records is loaded only when the records handler
// acknowledges its first healthy report: a healthy HealthEvent for the component with Source "records", which
// the records handler publishes once it has taken in that report, after every snapshot published before it (the
// bus delivers to each subscription in publish order). The acknowledgement only sets Loaded: it arrives after
// the report it acknowledges, perhaps after a later unhealthy one, so the state and message follow the
// component's own reports alone, and it publishes no health_check_recovered. Components that publish no records
// (dns) are acknowledged too. The records component loads on its own report (its static records applied).
// Without the records module, a component's first healthy report is its first load.
//
// # Readiness
//
// The node is ready when
//
//   - the application has started (the system module's service_started; service_stopping ends readiness, so
//     that a load balancer stops sending queries before the listeners close), and
//   - every module that provides a Reporter has finished its first load (DNS bound, Docker listed, hosts
//     directories scanned, cluster joined when seeds are set) and the records it published then are in the
//     store, and
//   - the "dns" component is not unhealthy now.
//
// A module other than dns turning unhealthy after its first load does not make the node unready. /ready answers
// the question a Kubernetes probe or a Pi-hole operator asks: can this node answer DNS correctly? A Docker engine
// that went away, a peer that is unreachable or a hosts directory that cannot be read leave the node answering
// from what it knows, and taking it out of service would turn a degraded answer into none. The Docker engine and
// the cluster report those failures as unhealthy, visible in /status and the dashboard (the component's state
// and message), as health_check_failed events and in the metrics. The hosts module does not: a directory that
// cannot be read is logged as a warning (once until the error changes) and its files' records are kept, while
// the hosts component stays healthy. A DNS listener that died is different: the node answers nothing, so it is
// not ready until the listener serves again.
//
// Readiness needs the system module: without its service_started the node never becomes ready. Waiting names
// what readiness still waits for ("start", or a component), for /ready's message.
//
// # Events it publishes
//
// When a component goes from healthy or starting to unhealthy, a SystemEvent health_check_failed (Source
// "health", Service from status.Service.Name), and when it goes from unhealthy to healthy,
// health_check_recovered; the message names the component and its report. A first healthy report after
// starting is a first load, not a recovery, and publishes nothing; repeated reports of the same state only update
// the message. The events are published with the HealthEvent's context, so they share its correlation ID.
//
// # Lifecycle and concurrency
//
// NewHandler (and New, its fx wrapper) subscribes at once, before any module starts, so no report is missed; it
// starts nothing and has no hooks. The bus delivers from one goroutine; Ready, Waiting and Components may be
// called from any goroutine (a mutex guards the state). Module provides the handler as status.Health only and
// anchors it with an empty Invoke. Replace it with fx.Decorate of status.Health for another readiness rule.
package health
