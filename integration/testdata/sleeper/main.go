// Command sleeper is the only process of the integration tests' container image (and bench/docker's): it waits
// for SIGTERM or SIGINT and exits, so `docker stop` returns at once instead of waiting out the stop timeout that
// a PID 1 without signal handlers would.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
