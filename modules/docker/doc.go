// Package docker is Joyride's container producer: it follows a Docker (or Podman) engine and publishes, for
// every running container whose labels name hosts, the records that point those names at the host.
//
// # Labels
//
//	joyride.host.name=app.lab.test            one or more names, comma or space separated
//	coredns.host.name=app.lab.test            the same, as the CoreDNS-based joyride spelled it
//	joyride.host.ip=10.0.0.5,fd00::5          optional: these addresses instead of HOSTIP/HOSTIP6
//	joyride.host.ttl=30                       optional: TTL of this container's records
//
// The name label keys are configurable (docker.labels). Every name is validated with dnsname.Canonical and
// checked against docker.allowed_domains; an invalid or refused name is logged with the container's name and
// skipped, and the container's valid names are still served. A joyride.host.ip that holds no valid address skips
// the container (serving the host's address instead would ignore what its owner asked for); an invalid
// joyride.host.ttl falls back to docker.ttl. Allowed domains exist because whoever can start a container must not
// be able to take over an unrelated name.
//
// With docker.traefik on, the hosts of Traefik router rules (traefik.http.routers.<r>.rule and
// traefik.tcp.routers.<r>.rule, v2 or v3 syntax, per-router ruleSyntax) are served too, honouring traefik.enable
// and docker.traefik_exposed_by_default like Traefik. traefikrule.Parse reads the rules; HostRegexp, placeholders and
// templates are logged as skipped, never guessed.
//
// # Records and events
//
// Each container's records are one store source, "docker:<full id>", and every event carries the whole set:
// ContainerDiscovered (found by a list, or re-published after a host address change or a reload),
// ContainerStarted (start, unpause) and ContainerStopped (die, stop, pause, destroy, kill with SIGKILL, or no name
// left after a reload) with an empty snapshot, which removes the source. Other kill signals do not stop a
// container by themselves; the die that follows a real exit does. Because sources are per container, a name that
// two containers claim keeps resolving while either runs.
// A container already served with the same records is not published again, so a re-list or a replayed engine
// event produces no duplicate.
//
// Engine events carry the container's labels, and the producer uses them rather than inspecting the container:
// after a destroy there is nothing left to inspect (joyride-python lost removals that way), and a start resolves
// without another round trip.
//
// docker.stop_grace keeps a stopped container's records that long; ContainerStopped is published when it ends.
// A restart within the grace (or a re-created compose service that claims the same name) therefore never
// produces an NXDOMAIN that downstream resolvers would cache.
//
// # Host address
//
// Names point at docker.host_ip (HOSTIP) and, when set, docker.host_ip6 (HOSTIP6, AAAA records). Without
// HOSTIP the address of the interface that holds the default route is detected (by connecting a UDP socket
// towards a TEST-NET address, which sends nothing), logged, and re-checked every
// docker.address_check_interval; when it changes (DHCP) every container is re-published with the new address.
//
// # Lifecycle, reconnect and reconcile
//
// NewProducer only checks the configuration; New, for fx, calls it and ties Start and Stop to the lifecycle,
// so the module is a thin layer over a Producer any program can run. Start picks the endpoint (docker.host,
// DOCKER_HOST, docker.socket if it exists, then Podman's rootful and rootless sockets), creates the client and
// starts one goroutine on a context the Producer owns; it does not wait for the engine, so Joyride starts and
// serves its other sources when the engine is down. The goroutine owns all state; Status may be called from
// any goroutine.
//
// A connection subscribes to container events first and lists the running containers second, so that nothing
// that happens in between is lost. The subscription also asks the engine to replay its last second of events,
// because the Docker daemon answers the request before it registers the subscriber. Every event after the
// subscription point is thus seen, in order, after the list; the last one for a container matches the engine's
// state, and a replayed event for a container that changed before the list at worst flaps it briefly.
//
// While disconnected, the records stay as they were (containers usually outlive a daemon restart). The list is
// reconciled with what is served: containers that vanished while disconnected are stopped (with
// the stop grace), new ones discovered, unchanged ones left alone. When the stream fails or ends (a daemon
// restart), the producer reports the docker component unhealthy with a HealthEvent, retries under the retry
// policy (pkg/retry: capped exponential backoff with jitter, initial 250ms, docker.max_backoff at most) and
// reconnects the same way, then reports it healthy again. Five failures in a row open the circuit: the engine
// is then probed every two max_backoffs (±20 %), and the health message says so. A connection counts as a
// success of the policy once its stream has lasted 10 s, so an engine (or socket proxy) that accepts every
// connection and drops it at once is retried ever more slowly, and its circuit opens, instead of being hammered.
// Every failed attempt and transition is a RetryEvent (target the endpoint); Status carries the breaker (retry),
// as do the metrics (joyride_retry_circuit, joyride_retry_failures_total). The healthy report follows the events of the reconciled list, so the first one says that the
// first load is done (pkg/status: readiness waits for it); an engine unreachable at start reports unhealthy and
// the node is not ready until the engine has been listed once.
//
// # Reload
//
// Module adds a reload.Target (ReloadTarget): every key but the endpoint (docker.host, docker.socket) applies
// while the producer runs (LiveKeys). Apply checks the new Config as NewProducer does and hands it to the loop
// through a channel its select reads, so the loop's goroutine still owns all state, the settings included, and
// a reload falls between two engine events. The loop then re-evaluates every container as a reconnect does: the
// tracked ones (running or within their stop grace) from the labels they were started with, which a container
// never changes; the ones it ignored by listing the running containers again (or at the next connection when the
// engine is unreachable, or when that list fails, which the loop treats as a lost stream). A container is
// published only when its records change, so nothing the change does not concern flickers. A name a container
// loses (its label key no longer read, now outside the allowed domains, Traefik switched off) is withdrawn with
// one ErrorEvent (bad_input) naming the container, the label, its value and why; a container left with no name is
// withdrawn like a stopped one (ContainerStopped, empty snapshot) and ignored while it runs. Label problems that
// the old rules found too are not logged again. A new stop grace applies to containers that stop after it; a new
// max_backoff is stored in the loop's Config; a new host address re-publishes the containers that use it, and
// host_ip emptied switches to detection (the last address stays until one is detected).
//
// Module also provides a status.Reporter: Status is docker_monitor (running, connected, endpoint, …), and
// Explain names, for a source "docker:<id>", the container, its ID and the label (key=value) that named the
// asked name. The loop's goroutine owns the containers; it copies what it publishes into a map under the
// Producer's mutex, which is what Explain reads. Stop cancels the goroutine, which closes the stream, and returns within its context; it is safe
// without a Start and twice.
//
// Names (the label rules, from a Config) and Endpoint (the engine the producer picks) are exported for `joyride
// check`, which reports what the producer would do without running it.
//
// # Tests
//
// The tests run real containers (FROM scratch images built on the spot) and assert on the events the producer
// publishes (pkg/events/eventstest): what would be served is the last snapshot per container, so they need
// neither the records handler nor the store, which the import rules keep producers away from.
//
// # Least privilege
//
// The producer only reads: GET /events, GET /containers/json, and the HEAD or GET /_ping of API version
// negotiation (the client negotiates down to the engine's version, e.g. 1.41 for Docker 20.10). It never asks
// for a container's environment, and logs, events and Status carry only the labels it reads. Mount the socket
// read-only, or put a socket proxy in front of it that allows only those reads, e.g.
// tecnativa/docker-socket-proxy with
//
//	CONTAINERS=1 EVENTS=1 PING=1 VERSION=1 POST=0   (every other section 0, the default)
//
// and point docker.host at it ("tcp://docker-proxy:2375").
package docker
