// Package events is Joyride's in-process event bus and the typed events that flow on it.
//
// Producers (Docker, hosts files, the cluster, the fx lifecycle) publish validated event structs; handlers
// (records, logging, and later sync, metrics, audit) subscribe to the families, kinds and sources they want.
//
// # Publishing
//
// Publish fills an event's ID, timestamp and correlation ID, then runs the publish middleware chain. Validation
// is the first link: the family must be registered (FamilySpec; an embedding application registers its own with
// Register), the kind must belong to it and the struct's `validate` tags (go-playground/validator) must hold. An
// invalid event is returned to the publisher as an error naming the field, rule and value, and reaches no
// handler. Middleware added with Use (metrics, logging — see Observe) runs after validation.
//
// A kind is declared once: as a typed constant, which the family's FamilySpec lists (builtinFamilies for
// Joyride's own). The structs carry no list of their kinds in a tag; the family check is the kind check. The
// two structs of one family have kind types of their own, so a FileEvent cannot be given a HostsRecordEvent's
// kind by mistake.
//
// A FileEvent's family is its producer's (Source): the hosts and Traefik-file producers publish the same struct,
// and a subscriber to the hosts family does not receive Traefik's files as hosts files.
//
// # Delivery and back-pressure
//
// Every subscription has its own unbounded FIFO queue and its own goroutine, so events reach each subscriber in
// global publish order and a slow subscriber never stalls the publisher or any other subscriber. Publish never
// blocks on a subscriber.
//
// When a subscriber's queue is longer than its limit (Config.QueueLimit, or WithQueueLimit), events of
// informational kinds (FamilySpec.Informational: per-record hosts events, error reports and failed retry
// attempts) are dropped for that subscriber and counted (Subscription.Dropped, Stats.Dropped), with one warning
// each time the queue crosses the limit. Events that carry state — snapshots, container and node changes, DNS store changes, system and
// health changes — are always queued: losing one would leave a consumer with wrong records, so the queue grows
// instead, and memory is the cost of a stuck handler.
//
// A handler that returns an error or panics is counted and reported as an ErrorEvent; a panic is recovered and
// delivery continues with the next event.
//
// # Errors are handled once
//
// An error that cannot be returned to a caller is published as an ErrorEvent, and the logging module is where it
// becomes a log line; whoever publishes it does not log it too. It is logged where it happened only when it
// cannot be published: the bus is stopped, or (here) the failed event was itself an error report, which
// reporting again could loop for ever. Every module that consumes an error follows the same rule. Error reports
// are informational, so a logging subscriber far behind its queue limit drops some (counted in Stats.Dropped,
// with a warning) rather than holding up memory.
//
// Delivery tracing (Logging, a line per subscriber per event) is middleware that nothing installs by default:
// the embedding application or the operator (the logging module's trace_deliveries) chooses it.
//
// # Correlation
//
// A handler's context carries the delivered event's correlation ID; events published with that context inherit
// it. A container start, the DNSEvent it causes and the sync that follows therefore share one correlation ID.
//
// # History
//
// The bus keeps the last Config.HistorySize accepted events. History returns them for a dashboard; WithReplay
// queues them to a late subscriber ahead of anything new, with no gap and no duplicate.
//
// History keeps a record snapshot only up to 256 records: a larger one (a big hosts file, a peer's full record
// set) is kept as a copy of its event without the snapshot (Snapshotter.WithoutSnapshot, so an embedding
// application's own events that carry records are covered as well as Joyride's), because it would otherwise hold
// megabytes for as long as the event stays in history, after the records handler has put the state in the
// store. A list of record changes (ChangeCarrier: the source_replaced DNSEvent's Changes, which the audit log
// consumes) is kept under the same bound, and its event keeps its counts. Subscribers receive every event whole;
// only what History returns and what WithReplay replays lacks them, and a consumer that needs the current records
// reads the store. A nil snapshot is never mistaken for "no records": consumers ignore it, whereas an empty
// snapshot removes the source's records.
//
// # Lifecycle
//
// NewBus validates its Config (start from DefaultConfig: a zero Config is invalid, not a default) and starts
// nothing: events published before Start are queued and delivered once it runs. Stop refuses new events only
// after everything published before it, and anything handlers publish while draining, has been delivered; if its
// context ends first, delivery is cancelled and Stop returns the context's error at once, even while a handler
// that ignores its context is still running (its goroutine ends when the handler returns). Module ties Start
// and Stop to fx and needs a Config supplied like every module's: the bus is constructed before every module
// that depends on it, so it starts first and stops last.
package events
