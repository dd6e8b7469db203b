// Package hosts is the hosts-file producer: it watches directories of /etc/hosts-format files and publishes each
// file's records on the event bus, where the records handler serves them.
//
// # Files
//
// Every regular file directly inside a configured directory is one source, "hosts:<absolute path>". Dotfiles,
// editor leftovers ("*~", "*.swp", "*.swx", "*.tmp", "#*#") and subdirectories are ignored. Parse reads the
// usual format ("ADDRESS NAME [NAME...]", '#' comments, IPv4 and IPv6, LF or CRLF); names follow the record
// store's rules (dnsname.Canonical) and are published lower-case with a trailing dot. A name on several
// lines keeps all its addresses.
//
// # Lifecycle
//
// NewProducer (New under fx, which ties Start and Stop to the lifecycle) validates the configuration and does no
// I/O, so the module builds on any machine. Start checks every directory through pkg/dirwatch: a missing one is
// logged and looked for every PollInterval (the default /app/hosts does not exist on a developer machine); one
// that exists but is not a directory or cannot be read fails Start with an error naming it, and so does
// fsnotify in notify mode. Start then runs the watcher on a goroutine with a context the Producer owns; its
// first batch is the initial load. Stop cancels that context, which also closes fsnotify, and waits for the
// goroutine, or for its own context. Stop is safe without a Start. A Producer started again (without fx) keeps
// what it published: files unchanged meanwhile are not announced again, and files deleted while it was stopped,
// which the new initial scan does not list, have their records removed.
//
// # Live configuration
//
// Apply (and the reload.Target Module adds for the configuration watcher, pkg/reload) changes every key while the
// producer runs: directories, mode, poll_interval, debounce and ttl. It checks the Config and opens a watcher for
// it, so a path that is not a directory (or fsnotify failing in notify mode) is an error that changes nothing;
// then it replaces the goroutine (background.Loop.Restart: the old one has returned before the new one starts,
// so the loader is never shared). The new watcher's first batch lists every present directory in full and the
// loader reads every file again, comparing each with the hash of what it last published: a file whose records
// did not change is not announced, so the names of a directory still configured are served throughout, with no
// removal and re-addition; a file of a new directory is file_created; a new TTL is part of the hash, so every
// file read is published again with it. Only after that batch are the files outside the new directories removed
// (file_deleted, empty snapshot), so a name that moved from a removed directory to a new one never goes missing.
// Apply returns then. If its context ends first it returns that error, but the new configuration stands: past
// the replacement there is no way back, and the load goes on. A stopped producer keeps the Config for its next
// Start. The cost is one re-read of every file per Apply; a file that cannot be read then keeps its records, with
// the old TTL, until its next change.
//
// # Concurrency
//
// One goroutine runs the watcher and the loader it delivers to, so the per-file state needs no lock (Apply
// replaces the goroutine, never running two); Status, which the HTTP API reads, has its own, which also guards
// the directory list Explain reads. The watcher (pkg/dirwatch) watches the directories rather than the
// files, so new files, deletions and editors that save by renaming are seen; it debounces bursts, rescans every
// PollInterval, polls where fsnotify cannot watch, rescans everything after an fsnotify overflow and follows a
// Kubernetes ConfigMap or Secret volume through its "..data" symlink.
//
// # fx
//
// Module provides the *Producer (whose Status the HTTP API reports) and needs the *events.Bus, a *zap.Logger, the
// Config and the fx.Lifecycle. It subscribes to nothing, so the bus, constructed first, starts before it and
// drains after it stops.
//
// # Events
//
// All events have Metadata.Source "hosts", and every file event carries the file's whole snapshot:
//   - Initial load: a FileEvent FileCreated per file, then a FileEvent DirectoryScanned per directory (also sent
//     when a missing directory appears later).
//   - A new file: FileCreated; a changed file: FileChanged; a deleted file: FileDeleted with an empty snapshot,
//     which removes the source. Re-reading a file whose records did not change (touched, comments edited)
//     publishes nothing.
//   - After Apply: like an initial load, but a file whose records did not change publishes nothing; then a
//     FileDeleted per file of a directory no longer configured.
//
// The producer publishes no per-record events: the records handler derives record_added, record_updated and
// record_removed from the store's own diff when it applies a snapshot, so the record set is diffed once, in one
// place. Publish never blocks, so the loop is never held up by a slow subscriber.
//
// # Memory and speed
//
// The producer keeps no copy of any file's records: per file only a 64-bit hash of the records it last
// published (to publish nothing when a re-read finds the same), their count and its bad-line summary, and the
// watcher keeps size, mtime and inode. (It used to keep every file's records packed and DEFLATE compressed to
// diff the next load; the store already holds them.) A load is one parse, one pass to build the records and one
// to hash them; the snapshot is held only until the records handler has applied it (the bus history leaves
// out large snapshots). The names the parser makes are strings of their own, which the record store then keeps,
// and lines with the same address share their value string.
//
// # Failures and bad input
//
// Nothing already served is lost to a bad edit. A bad line (bad address, a zone, no names, a line over 64 KiB) or
// a bad name is skipped; the rest of the file loads, and FileEvent.BadLines counts them. They are logged as one
// warning per file quoting the first few with line numbers and reasons, and only when those differ from what was
// last said about the file: a log written into the directory by mistake (Joyride's own, say) is warned about
// once however it grows, so it cannot feed on its own warnings. A file that keeps changing is read at most once
// a second (its last change always is), whatever its writer does; an edit after a quiet second is read at once.
// A file that cannot be opened or read keeps its previous records until its next change. A directory that
// cannot be listed keeps its files' records; one that disappears has them removed. Both are looked at again
// under the retry policy (pkg/retry, capped at poll_interval): 0.25, 0.5, 1, 2 s after the failures, then, once
// the circuit is open, a probe every two poll_intervals, until a look lists the directory again.
//
// # Health and the operator's window
//
// Once the watcher's first batch (every present directory's files, or nothing when none is there yet) is
// published, the producer reports the "hosts" component healthy with a HealthEvent: its first load is done, and
// readiness waits for it (pkg/status). The first batch after an Apply is reported again, its message naming the
// new directories not there yet; a first batch cut short by a stop is not. A directory that does not exist yet is named in the message, not waited
// for. Module also provides a status.Reporter: Status is joyride-python's hosts_monitor (directory, the first
// of Directories, and records_count), and Explain reads a file of the watched directories again, line by line
// with Parse's line parser, up to 32 MiB, and returns each line (number, text and address) that names the asked
// name, at most 100 of them.
//
// A directory's failures are the producer's health too: while its circuit is open (five failed looks in a row)
// the component is unhealthy, with a message naming the directory ("/app/hosts: circuit open after 5 failures;
// …"), and healthy again once no directory's circuit is open, or once a reload no longer watches the failing one.
// Every failed look and transition is a RetryEvent (target the directory); Status carries each directory's breaker
// (retry), and so do the metrics (joyride_retry_circuit, joyride_retry_failures_total). A directory not there
// since Start is not failing, only not there yet: the component stays healthy.
//
// Check reads the directories once as the producer would (the same files, Parse, Records), for `joyride check`.
package hosts
