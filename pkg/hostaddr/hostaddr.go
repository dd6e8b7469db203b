// Package hostaddr finds the address this host is reached at, for records that point at the host itself (a
// container's name, a Traefik route) when the operator did not set one. It is a leaf package so that every
// producer detects the address the same way without importing another producer.
package hostaddr

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// routeProbe is TEST-NET-1 (RFC 5737): a valid unicast address that is never on a local network, so the kernel
// resolves it through the default route.
const routeProbe = "192.0.2.1:9"

// Detect returns the IPv4 address of the interface holding the default route: the source address the kernel
// picks for an off-host destination. Connecting a UDP socket only selects the route; no packet is sent.
func Detect() (netip.Addr, error) {
	c, err := net.Dial("udp4", routeProbe)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect host address (no default route?): %w", err)
	}
	defer c.Close()
	ua, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, fmt.Errorf("detect host address: unexpected local address %v", c.LocalAddr())
	}
	a, ok := netip.AddrFromSlice(ua.IP)
	if a = a.Unmap(); !ok || !a.Is4() || a.IsUnspecified() {
		return netip.Addr{}, errors.New("detect host address: no IPv4 source address for the default route")
	}
	return a, nil
}
