package dnsserver

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// newBatchConn batches with recvmmsg and sendmmsg. On a wildcard address it also asks for each datagram's
// destination (session), as miekg/dns does, so that replies leave from the address that was queried.
func newBatchConn(conn net.PacketConn) (batchConn, bool) {
	session := false
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.IsUnspecified() {
		session = enableSession(conn)
	}
	return ipv4.NewPacketConn(conn), session // either family's PacketConn batches any datagram
}

// enableSession asks for each datagram's destination address. A wildcard socket may be IPv6 with IPv4
// mapped into it, so both families are tried, as miekg/dns does.
func enableSession(conn net.PacketConn) bool {
	err6 := ipv6.NewPacketConn(conn).SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
	err4 := ipv4.NewPacketConn(conn).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
	return err6 == nil || err4 == nil
}
