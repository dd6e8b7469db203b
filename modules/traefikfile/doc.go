// Package traefikfile publishes the host names of Traefik's file-provider routers: the services Traefik routes
// that Docker does not know about (a NAS, a VM, a printer's web page). Every HTTP and TCP router rule in the
// watched directories' *.yml and *.yaml files is read with traefikrule.Parse (v2 or v3 syntax, per-router
// ruleSyntax; HostRegexp and templates are logged as skipped, never guessed), and each Host or HostSNI name
// points at the host address: the machine where Traefik, and therefore the route, runs.
//
// # Events
//
// Each file is one store source, "traefik:<absolute path>", published as a FileEvent (file_created,
// file_changed, file_deleted with an empty snapshot) in the traefikfile family, carrying the whole snapshot, so
// the records handler applies it like a hosts file; one function (loop.publish) puts them on the bus. A file
// whose content did not change is not re-published. A file that is not valid YAML keeps the records it last had,
// with a warning naming the file and line, so a half-saved edit does not make names vanish; a bad rule or name
// only skips that value.
//
// # Watching
//
// pkg/dirwatch, shared with the hosts producer, watches the directories: fsnotify (debounced) where it works,
// a rescan every PollInterval everywhere (also finding directories that appear later), a directory that
// vanished or cannot be listed retried under the retry policy (pkg/retry, capped at PollInterval) and a problem
// logged once. The files of a directory that cannot be listed keep their records. A file that keeps changing is
// read at most once a second. Without a configured host_ip the address of the default-route interface is used
// and re-checked every PollInterval.
//
// # Lifecycle and concurrency
//
// NewProducer (New under fx, which ties Start and Stop to the lifecycle) checks the configuration and does no
// I/O. Start refuses a path that exists but is not a directory and starts one goroutine on a context the
// Producer owns; it runs the watcher, which loads the files, and, when the address is detected, a second
// goroutine that re-checks it. The two share the per-file state under one mutex; publishing never blocks, so
// holding it is short. Stop cancels the context, which closes fsnotify, and waits for both within its own
// context; it is safe without a Start. A Producer started again (without fx) keeps what it published:
// unchanged files are not announced again, and files deleted while it was stopped have their records removed.
// Module provides the *Producer (for its Status) and needs the *events.Bus, a *zap.Logger, the Config and the
// fx.Lifecycle.
//
// # Health and the operator's window
//
// Once the watcher's first batch is published (delivered even when no directory is there yet, which the message
// names), the producer reports the "traefikfile" component healthy with a HealthEvent: its first load is done
// (pkg/status). While a directory's circuit is open (five failed looks in a row) the component is unhealthy,
// with a message naming the directory, and healthy again once no circuit is open; every failed look and
// transition is a RetryEvent, and Status (retry, by directory) and the metrics (joyride_retry_*) carry each
// directory's breaker. Module also provides a status.Reporter: its Status, and Explain, which reads the file again
// (bounded like a load) and returns every router whose rule names the asked name, with the rule, found by the
// same walk over the routers that loading uses (walkRouters).
package traefikfile
