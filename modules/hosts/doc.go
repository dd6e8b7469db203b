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
// New validates the configuration and does no I/O. OnStart checks every directory: a missing one is logged and
// looked for every PollInterval (the default /app/hosts does not exist on a developer machine); one that exists
// but is not a directory or cannot be read fails start-up with an error naming it. OnStart then adds the
// fsnotify watches and starts the watch loop on a context the Producer owns; the loop does the initial load.
// OnStop cancels the loop, closes fsnotify and waits for the loop, or for its context.
//
// All state lives in the one loop goroutine. It watches the directories rather than the files, so new files,
// deletions and editors that save by renaming a temporary file over the original are all seen; bursts of events
// for one file are debounced. A directory that fsnotify cannot watch (network file systems, exhausted inotify
// limits) is polled in auto mode, comparing size, mtime and inode every PollInterval; a poll also notices
// files that vanished. An fsnotify queue overflow triggers a full rescan. A Kubernetes ConfigMap or Secret
// volume is followed through its "..data" symlink.
//
// # fx
//
// Module provides the *Producer (whose Status the HTTP API reports) and needs the *events.Bus, a *zap.Logger, the
// Config and the fx.Lifecycle. It subscribes to nothing, so the bus, constructed first, starts before it and
// drains after it stops.
//
// # Events
//
// All events have Metadata.Source "hosts".
//   - Initial load: a FileEvent FileCreated per file with its whole snapshot, then a FileEvent DirectoryScanned
//     per directory (also sent when a missing directory appears later).
//   - A new file: FileCreated; a changed file: FileChanged, both with the whole snapshot; a deleted file:
//     FileDeleted with an empty snapshot, which removes the source. Re-reading a file whose records did not change
//     publishes nothing.
//   - After a directory's first load, every FileEvent is followed by up to MaxRecordEvents HostsRecordEvents
//     (record_added, record_updated, record_removed) for the diff, sharing its correlation ID; how many were left
//     out is logged. They are informational: the snapshot is the state.
//
// Publish never blocks, so the loop is never held up by a slow subscriber.
//
// # Memory
//
// Between loads the watcher keeps each file's records packed (about 28 octets a record, no pointers), and
// DEFLATE compressed once that is 64 KiB or more (some 5 octets a record for the benchmark's 100,000-line
// file), to compare the next load with and diff against, not the published []events.Record; the snapshot itself
// is held only until the records handler has applied it (the bus history leaves out large snapshots). The names
// the parser makes are strings of their own, which the record store then keeps, and lines with the same address
// share their value string.
//
// # Failures
//
// Nothing already served is lost to a bad edit. A bad line (bad address, a zone, no names, a line over 64 KiB) or
// a bad name is logged with its file and line and skipped; the rest of the file loads, and FileEvent.BadLines
// counts them. A file that cannot be opened or read keeps its previous records until it can. A directory that
// cannot be listed keeps its files' records; one that disappears has them removed and is looked for again.
package hosts
