//go:build unix && !solaris

package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// control lets every node on the host bind the discovery port (SO_REUSEADDR, SO_REUSEPORT: for broadcast
// datagrams each socket sharing the port gets its own copy) and send to a broadcast address (SO_BROADCAST,
// which Go sets on UDP sockets already, set here so as not to depend on it).
func control(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT, unix.SO_BROADCAST} {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, 1); serr != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
