//go:build !linux

package dnsserver

import "net"

// newBatchConn reads and writes one datagram per call: x/net batches only on Linux. Replies leave from
// whatever address the system picks, as with miekg/dns on these platforms.
func newBatchConn(conn net.PacketConn) (batchConn, bool) { return singleConn{conn}, false }
