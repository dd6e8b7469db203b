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
// the event's timestamp). Loaded is set by the first healthy report and stays set. A component that reports
// without a Reporter (an embedding application's) is shown too, but readiness does not wait for it.
//
// # Readiness
//
// The node is ready when
//
//   - the application has started (the system module's service_started; service_stopping ends readiness, so
//     that a load balancer stops sending queries before the listeners close), and
//   - every module that provides a Reporter has reported healthy at least once (its first load is done: DNS
//     bound, Docker listed, hosts directories scanned, cluster joined when seeds are set), and
//   - the "dns" component is not unhealthy now.
//
// A module other than dns turning unhealthy after its first load does not make the node unready. /ready answers
// the question a Kubernetes probe or a Pi-hole operator asks: can this node answer DNS correctly? A Docker engine
// that went away, a peer that is unreachable or a hosts directory that cannot be read leave the node answering
// from what it knows, and taking it out of service would turn a degraded answer into none. Those failures are
// visible instead in /status and the dashboard (the component's state and message) and as health_check_failed
// events (and the metrics). A DNS listener that died is different: the node answers nothing, so it is not ready
// until the listener serves again.
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
