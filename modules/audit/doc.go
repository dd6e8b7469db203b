// Package audit is the audit log handler: an append-only file of JSON lines, one for every change of a record in
// the store (added, updated, removed) and every configuration change (configuration_changed, and
// configuration_rejected), each with the correlation ID and the time of the event that caused it, so that "why
// did this name change at 03:12?" has an answer: the line names the record, what it was before, the source that
// owns it (docker:<id>, hosts:<path>, node:<peer>/…) and the node that owns the source, and its correlation ID
// leads to the container or file event in /events and in the log. It is off until audit.path is set.
//
// # Where every change comes from
//
// The records handler applies each snapshot to the store and publishes per-record DNSEvents, but at most
// record_events of them per snapshot, so that a 100,000-line hosts file does not put 100,000 events on the bus
// (each one a trip through validation, the history, every subscriber's queue and the log). The audit log must see
// every change all the same. So the records handler's one source_replaced DNSEvent per snapshot, which is never
// capped, carries the snapshot's whole change list (events.RecordChange: the kind, the record, and for an update
// the record it replaced), and this handler reads only that event. One event however large the change: the bus
// costs the same as before. The list is made from the one diff the store computed (dnsstore.Diff), and only when
// read (DNSEvent.SetChanges and RecordChanges): this handler reads it only while the log is on, so a node without
// audit.path never builds it (about 12 MB of short-lived heap for 100,000 changes, which Go would otherwise keep
// as RSS after the first load).
// What must not keep or print 100,000 entries does not: the bus's history keeps a long list only as the event
// without it (events.ChangeCarrier, beside Snapshotter's rule for large snapshots), the logging module and
// /events show its counts (Added, Updated, Removed), and the event stream sends the same summary.
//
// The alternatives were worse. A per-record event for every change, uncapped, is exactly the flood the cap
// exists to prevent. A side channel from the records handler to the audit (a value group of listeners) would be
// a second way for modules to meet besides the bus, and would lose the bus's one order between record changes
// and configuration events. Reading the store on source_replaced and diffing it against a copy would keep a
// second copy of every record, and a second diff, in this module.
//
// # Lines
//
// A record line: time (the event's, UTC), kind (record_added, record_updated, record_removed), name, type, value,
// ttl, previous (value and ttl, for an update), source, node, correlation_id, event_id (the source_replaced
// event's). A configuration line: time, kind (configuration_changed, configuration_rejected), key, from, to,
// restart and failed when set, error and message when the event has them, node, correlation_id, event_id; one
// line per changed key, or one for a rejection that names no key. Values are as the event carries them, a
// credential already masked. A node's records are audited from its start: loading a hosts file or listing the
// containers at start adds records to an empty store, and those are changes too.
//
// The node is the peer for a "node:<peer>/…" source, and this node for its own. This node's name cannot be asked
// of the cluster module (modules import no other module), so it is Config.Node, which Joyride's configuration
// derives from cluster.node_id when that is set, and otherwise the host's name, the cluster's own default. Only a
// cluster whose ID is generated in cluster.data_dir (the host's name and a random suffix) differs from it: set
// cluster.node_id, or audit.node, there.
//
// # Never slowing the bus or DNS
//
// The bus calls Handle on the audit's own subscription goroutine; Handle reads the event's change list (built
// then, once, for every reader) and appends it, as is, to the writer's queue, and returns: the bus's and the
// other subscribers' goroutines never wait for it. The
// writer goroutine encodes the lines and writes them in chunks of 64 KiB. The queue holds at most
// Config.QueueSize lines (250,000 by default: a 100,000-line hosts file replaced by a different one is 200,000
// changes), counted until they are written; the lines of an event past that bound are dropped and counted
// (joyride_audit_lines_dropped_total, Status.LinesDropped), never waited for: waiting would only move the backlog
// into the bus's queue for this subscriber, which is unbounded for state events. DNS answers read the store and
// never touch this module.
//
// # Rotation
//
// By size: before a chunk would take the file past Config.MaxSize, the file becomes Path.1, Path.1 becomes
// Path.2 and so on, files past Config.MaxFiles (the current one included) are removed, and a new file is started;
// a line is never split across files. The rotation is written here, in a hundred lines, rather than taken from
// gopkg.in/natefinch/lumberjack.v2 (v2.2.1), which cannot meet the failure rules below: it keeps writing to a file
// deleted under it (it never looks at the path again), it cannot undo a partial write, its Close leaves its
// cleanup goroutine running (a leak per reconfiguration, and goleak fails the tests: natefinch/lumberjack#56,
// #205, open), its cleanup of old files is asynchronous, and its size is in whole megabytes.
//
// # Failures
//
// A full disk, an unwritable file, a path under something that is not a directory, a deleted directory: every
// open, write and rotation error puts the writer in the failing state. It is never fatal, and never makes the
// node unready: the module's first load is its start, whatever the disk says, because a node that cannot write
// its audit log still answers DNS correctly. A failing log keeps its lines in the queue (up to the bound); the
// new lines that arrive meanwhile do not each cause a try.
//
// It is retried under Joyride's one retry policy (pkg/retry), like the Docker engine, the watched directories
// and the cluster's seeds, with the path as the target and a cap of 1 s (retryCap): tries 0.25, 0.5, 1 and 1 s
// after the failures, ±20 %; the fifth failure in a row opens the circuit, and a probe is then made every open
// interval, 2 s ±20 %. A try is one stat and one open, cheap enough to make that often, and every second the log
// is not written is lines held in memory and an audit trail behind the changes: so writing resumes within about
// 2 s (2.4 s at most) of the disk having room again. The cap is not a setting: the sources whose cap is one
// (docker.max_backoff, poll_interval, rejoin_interval) retry something remote or polled, where a longer cap
// spares the other side; a local disk has no other side to spare. Each failed try and each transition of the
// circuit is a RetryEvent of source "audit" (producer.Retries), Status.Retry shows the breaker, and the metrics
// joyride_retry_circuit and joyride_retry_failures_total have it with source="audit". A reload that changes
// audit.path makes the new path a new source, its breaker closed, and forgets the old one (Retries.Retarget) in
// the Status and the metrics; new rotation limits on the same path keep its breaker. A reload tries the log at
// once, whatever the schedule: the operator who changed it wants to know now whether that helped.
//
// The health is the writer's own, not the one producer.Retries reports (unhealthy when a circuit opens, healthy
// when it recovers). Those other sources can wait for the circuit: Docker and the cluster keep serving what they
// know, and a directory that cannot be listed keeps its files' records. An audit log that is not written is the
// loss of what this module is for, from the first line that is not written, and an operator who relies on it
// must be told at once, not after five tries: the module turns unhealthy at the first failure, with one
// HealthEvent for the component "audit" naming the path and the error (the logging module writes it as the one
// error line; the health module shows it in /status and publishes health_check_failed), and healthy with one
// HealthEvent when writing resumes (or the log is switched off, or moved to a path that works). Retries gets a
// health function that reports nothing: with its own it would say unhealthy a second time when the circuit
// opens, a second error line for the same failure. So the log holds one line per change of state, never one per
// try: the failure (health/unhealthy, at once), the circuit opening (retry/circuit_opened, a warning, after five
// failures: the log is now only probed), and the recovery, which is two changes at once, the circuit's
// (retry/recovered) and the log's (health/healthy), as for every source under the policy. The tries and the
// failed probes are RetryEvents the logging module writes at debug level only.
//
// Metrics: joyride_audit_write_errors_total (each failed try), joyride_audit_lines_written_total,
// joyride_audit_lines_dropped_total, joyride_audit_rotations_total, joyride_audit_queued_lines and
// joyride_audit_writing (1 while the log is written), and the retry policy's two with source="audit".
//
// Before each chunk the writer checks that the path still names the open file: a file deleted or moved away
// under it (another program's rotation) is reopened at the path rather than written on as an inode nobody can
// read, and a file truncated in place (copytruncate) is measured again. A write that fails part-way is cut back
// off, and a file found ending in a partial line (a crash mid-write) gets a newline before the next line, so one
// broken line never takes the next with it. The directory is created when a path is first opened; one that
// disappears later is waited for, not created again: a directory that vanishes under a running service is most
// often a volume that was unmounted or replaced, and creating it again would quietly write the audit log on the
// disk underneath (the root file system, or a container's layer), where nobody looks for it and where it can fill
// what the host needs. Writing resumes as soon as the directory is back.
//
// # Lifecycle, fx and reload
//
// NewHandler (New under fx) validates the Config and subscribes; it starts nothing. Start names the node, reports
// the module's first load with a healthy HealthEvent (pkg/status: readiness waits for every Reporter's module),
// and starts the writer, whose first pass opens the file; Stop lets the writer write what is queued, closes the
// file and waits, bounded by the stop context. Lines that reach the handler after Stop (the bus drains after
// the modules stop) are dropped and counted; that last pass is no try of the retry policy. Module provides the
// *Handler privately, its status.Reporter "audit" (Status: path, state, error, node, lines written, dropped,
// queued, the path's breaker), its collector, and a reload.Target for audit.path, audit.max_size and
// audit.max_files: a new path takes the next line (its directory created), an empty one switches the log off
// (what was queued is dropped and counted), and new limits apply at the next write. audit.queue_size and
// audit.node need a restart.
package audit
