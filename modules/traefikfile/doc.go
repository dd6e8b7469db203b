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
// # Live configuration
//
// Apply (and the reload.Target Module adds for the configuration watcher, pkg/reload) changes every key while the
// producer runs: directories, host_ip, host_ip6, ttl, allowed_domains, rule_syntax, poll_interval and debounce.
// It checks the Config as NewProducer does and opens a watcher for it, so an error (a path that is not a
// directory, no directories) changes nothing; then it swaps in the new settings and replaces the goroutine
// (background.Loop.Restart: the old one, and its address re-check, have returned before the new one starts). The
// new watcher's first batch lists every present directory in full, and every file is read and parsed again with
// the new rules (allowed domains and rule syntax may differ): it is published only when its records change, so
// the names of a file whose records stay are served throughout, with no removal and re-addition, while a new
// TTL, host address or rule publishes it again and a file of a new directory is file_created. Then the files
// outside the new directories are removed (so a name that moved from a removed directory to a new one never goes
// missing), and every file whose records the settings changed without its being parsed again (one that is not
// valid YAML now keeps its names) is published again. Apply returns then; if its context ends first it returns
// that error, but the new configuration stands and its load goes on. With host_ip emptied the address is
// detected (the last one stays until detection finds another); set, it replaces the detected one. A stopped
// producer keeps the Config for its next Start. Explain reads the settings through an atomic pointer.
//
// # Health and the operator's window
//
// Once the watcher's first batch is published (delivered even when no directory is there yet, which the message
// names), the producer reports the "traefikfile" component healthy with a HealthEvent: its first load is done
// (pkg/status). The first batch after an Apply is reported again; one cut short by a stop is not. While a
// directory's circuit is open (five failed looks in a row) the component is unhealthy, with a message naming the
// directory, and healthy again once no circuit is open or a reload no longer watches the failing directory; every
// failed look and transition is a RetryEvent, and Status (retry, by directory) and the metrics (joyride_retry_*)
// carry each directory's breaker. Module also provides a status.Reporter: its Status, and Explain, which reads the
// file again (bounded like a load) and returns every router whose rule names the asked name, with the rule, found
// by the same walk over the routers that loading uses (walkRouters).
package traefikfile
