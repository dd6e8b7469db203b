// Package traefikfile publishes the host names of Traefik's file-provider routers: the services Traefik routes
// that Docker does not know about (a NAS, a VM, a printer's web page). Every HTTP and TCP router rule in the
// watched directories' *.yml and *.yaml files is read with traefikrule.Parse (v2 or v3 syntax, per-router
// ruleSyntax; HostRegexp and templates are logged as skipped, never guessed), and each Host or HostSNI name
// points at the host address: the machine where Traefik, and therefore the route, runs.
//
// Each file is one store source, "traefik:<absolute path>", published as a FileEvent (file_created,
// file_changed, file_deleted with an empty snapshot) in the traefikfile family, whose snapshots the records
// handler applies as it does a hosts file's. A file whose content did not change is not re-published. A file
// that is not valid YAML keeps the records it last had, with a warning naming the file and line, so a half-saved
// edit does not make names vanish; a bad rule or name only skips that value.
//
// Changes are noticed with fsnotify (debounced) and by a rescan every PollInterval, which also finds
// directories that appear later and covers file systems fsnotify cannot watch. Without a configured host_ip the
// address of the default-route interface is used and re-checked at every poll.
//
// Lifecycle: New checks the configuration; OnStart refuses a path that exists but is not a directory and starts
// one goroutine that owns all state; OnStop closes fsnotify and waits for it within the stop context.
package traefikfile
