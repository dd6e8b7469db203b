// Command joyride is the Joyride DNS server and its tools: `joyride run` assembles the modules the configuration
// enables into one fx application and runs it until SIGINT or SIGTERM; `joyride config print` and
// `joyride config validate` show and check the configuration; `joyride version` prints the build.
//
// Exit codes: 0 success or a graceful stop; 1 a start or stop failure (one line "joyride: <reason>" on stderr);
// 2 an invalid configuration or command line (one line per problem on stderr); a module that stops the
// application with fx.Shutdowner and an exit code ends the process with that code. Logs go to stdout.
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
