// Package records is the records handler: it applies events that carry record snapshots (containers, hosts
// files, Traefik files, cluster sync) to the store, serves the static records of the configuration as a source
// of their own, and publishes what each snapshot changed. The store keeps every record once and reports what a
// replacement changed (dnsstore.Diff); this handler turns that one diff into events, so no producer keeps a copy
// of its records to diff them itself.
//
// # Events it publishes
//
// A DNSEvent for every record the store gained, lost or changed, owned by the snapshot's source. For a hosts
// file it also publishes the per-record HostsRecordEvents (record_added, record_updated, record_removed, with the
// file's path) that subscribers of the hosts family expect: a record that took the place of one with the same
// name and type, or whose TTL changed, is an update. Like the hosts producer before it, it leaves them out for the
// files of a directory's first scan (until the hosts family's directory_scanned for that directory): loading a
// directory is not a change. Both are published with the handler's context, so they share the correlation ID of
// the event whose snapshot caused them. Config.MaxEvents caps each kind of event per snapshot, so loading a
// 100,000-line hosts file does not flood the bus; the store always gets the whole snapshot.
//
// After them, one DNSEvent of kind source_replaced (no record) for every snapshot that changed its source, never
// capped: the per-record events may be left out, so a consumer that keeps up with sources (the cluster module,
// which sends this node's sources to its peers) learns from it that one changed and reads it from the store. It
// carries every change, which RecordChanges lists (in name and type order; an update names the record it
// replaced, so an edited address or TTL says what it was), built from the store's diff on the first read only, so
// that nobody pays for a list nobody reads, and their counts, so a consumer that must see each change (the audit
// log) has them all from one event, however large the snapshot, rather than from 100,000 events on the bus. The
// bus's history keeps a long list only as the event without it (events.ChangeCarrier).
//
// # Peers' snapshots
//
// A cluster peer's records come as SyncEvents (dns_record_synced) whose snapshot names its node, its priority
// and a source "node:<node>/<the peer's source>"; each record carries the time its owner set it. The handler
// stores them as that node's (dnsstore.Origin), with those times, so that the store's policy for a name several
// nodes publish answers alike on every node. "node:" sources are trusted to the cluster alone: a sync snapshot
// whose source is not under its own node's prefix (one claiming "docker:…", "hosts:…", "static:…" or another
// node's) and any other event's snapshot with a "node:" source are dropped whole and reported as an ErrorEvent
// (bad_input) naming the source and the module that sent it, so no module can replace another's records or
// pass its own off as a peer's.
//
// # Consistency and errors
//
// Every snapshot replaces its source's records atomically, so a duplicated, replayed or reordered-by-source event
// cannot leave a stale record behind. A record the store rejects (a bad name or value) is skipped, the rest of
// the snapshot is applied, and the rejection is reported as one ErrorEvent per snapshot naming the source and the
// records: nothing already served is lost because of one bad line. Errors are handled once: reported as an
// ErrorEvent (the logging module logs it), and logged here only when that cannot be published.
//
// # Lifecycle and fx
//
// New validates the Config (from DefaultConfig, or the configuration's records section) and the static records,
// and subscribes; it starts nothing. OnStart applies the static records. The bus calls Handle from one goroutine,
// so the handler needs no lock. Module provides the *Handler privately: only the module's own Invoke and its
// status.Reporter use it.
//
// # Live configuration
//
// Apply (and the reload.Target Module adds for the configuration watcher, pkg/reload, with the keys `records` and
// `record_events`) changes the static records and MaxEvents while the handler runs. The new list goes through the
// path OnStart's took: one store replacement of StaticSource, whose diff becomes the DNSEvents and the
// source_replaced event, so a record still configured is never removed and added again (it is served throughout),
// and the same list again publishes nothing. Explain and Status follow the new list; the new cap applies from the
// next snapshot. An invalid list is refused whole, naming the bad entry by its place, and the old one stays. No
// lock is taken: the static source is written only by OnStart and Apply, which never run at once; the store takes
// writers on other goroutines; and what the bus goroutine (Handle) and the status readers share with Apply, the
// list and the cap, are swapped atomically.
//
// # Health and the operator's window
//
// Once OnStart has applied the static records, the handler reports the "records" component healthy with a
// HealthEvent: its first load is done (pkg/status). It also takes in the other components' healthy reports and
// acknowledges each component's first one with a healthy HealthEvent for that component, Source "records": the
// bus delivers to its one subscription in publish order, so by then every snapshot the component published before
// its first load was done is in the store, and the health handler counts that load done only now (modules/health).
// Its own reports and acknowledgements are not acknowledged. Its status.Reporter's Status counts the static records and
// the store's records and sources; Explain answers for StaticSource with each entry of the configuration's
// `records:` that has the name, by its place ("records[2]: app.lab.test A 10.0.0.1 ttl 300").
package records
