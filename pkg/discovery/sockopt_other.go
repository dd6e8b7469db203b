//go:build !unix || solaris

package discovery

import "syscall"

// control sets nothing on Windows, Solaris and illumos (x/sys has no SO_REUSEPORT for the latter two): Go
// already sets SO_BROADCAST on UDP sockets, and without port sharing only one node per host binds the port.
func control(_, _ string, _ syscall.RawConn) error { return nil }
