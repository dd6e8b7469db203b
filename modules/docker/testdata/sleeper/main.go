// Command sleeper is the only process of the test image: it waits for SIGTERM or SIGINT and exits, so that
// `docker stop` returns at once. As PID 1 it would otherwise ignore SIGTERM and wait for the stop timeout.
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
