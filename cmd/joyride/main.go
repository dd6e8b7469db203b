// Command joyride is the Joyride DNS server and its tools:
//
//   - `joyride run` assembles the modules the configuration enables into one fx application and runs it until
//     SIGINT or SIGTERM; it reloads its configuration file when the file changes or on SIGHUP (config/watcher);
//   - `joyride config print` and `joyride config validate` show and check the configuration;
//   - `joyride status`, `ready`, `records` and `explain NAME` ask a running node's HTTP API (--url, by default the
//     configuration's http.host and http.port) and print tables, or the API's JSON with --json;
//   - `joyride setup dnsmasq|pihole|unbound|systemd-resolved|coredns` prints the lines that make a resolver
//     forward the zones to every node;
//   - `joyride check` (or `doctor`) checks what the enabled modules need: the Docker engine and labels, the DNS
//     port, the hosts files;
//   - `joyride cluster keygen` prints a cluster key; `joyride version` the build.
//
// Exit codes:
//
//   - 0: success, or a graceful stop of run;
//   - 1: run failed to start or stop (one line "joyride: <reason>" on stderr); check found a problem; ready found
//     the node not ready; explain found no records for the name;
//   - 2: an invalid configuration or command line (one line per problem on stderr);
//   - 3: the node's API cannot be reached (connection refused, no answer within --timeout, a host name that
//     does not resolve);
//   - 4: the node answered with an error, or with something that is not Joyride's API;
//   - a module that stops run with fx.Shutdowner and an exit code ends the process with that code.
//
// Logs go to stdout; every command but run writes its result to stdout and its errors to stderr.
package main

import (
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Set at build time: go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)".
var (
	version string
	commit  string
)

func main() {
	if p, ok := gcPercent(os.Environ()); ok {
		debug.SetGCPercent(p)
	}
	// Registered for the whole process: a signal that arrives while the application is still being built is kept
	// and handled as soon as serve runs, instead of killing the process half-started.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	// SIGHUP reloads the configuration; one pending is enough, as a reload reads the file as it is then.
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	os.Exit(execute(&cli{env: os.Environ(), stdout: os.Stdout, stderr: os.Stderr, signals: signals, hangups: hangups},
		os.Args[1:]))
}
