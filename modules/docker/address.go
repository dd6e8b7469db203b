package docker

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
)

// routeProbe is TEST-NET-1 (RFC 5737): a valid unicast address that is never on a local network, so the kernel
// resolves it through the default route.
const routeProbe = "192.0.2.1:9"

// DetectAddress returns the IPv4 address of the interface holding the default route: the source address the
// kernel picks for an off-host destination. Connecting a UDP socket only selects the route; no packet is sent.
func DetectAddress() (netip.Addr, error) {
	c, err := net.Dial("udp4", routeProbe)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("docker: detect host address (no default route?): %w", err)
	}
	defer c.Close()
	ua, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, fmt.Errorf("docker: detect host address: unexpected local address %v", c.LocalAddr())
	}
	a, ok := netip.AddrFromSlice(ua.IP)
	if a = a.Unmap(); !ok || !a.Is4() || a.IsUnspecified() {
		return netip.Addr{}, errors.New("docker: detect host address: no IPv4 source address for the default route")
	}
	return a, nil
}

// podmanSockets are tried, in order, when neither Config.Host, DOCKER_HOST nor Config.Socket names an engine
// that exists: Podman's rootful socket, then the rootless one of the current user.
func podmanSockets(getenv func(string) string) []string {
	socks := []string{"/run/podman/podman.sock"}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, filepath.Join(d, "podman", "podman.sock"))
	}
	return append(socks, filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "podman", "podman.sock"))
}

// endpoint picks the engine address: Config.Host, then DOCKER_HOST, then Config.Socket if it exists, then the
// first Podman socket that exists, and Config.Socket when none does (the loop retries until it appears).
func endpoint(cfg Config, getenv func(string) string, exists func(string) bool) string {
	if cfg.Host != "" {
		return cfg.Host
	}
	if h := getenv("DOCKER_HOST"); h != "" {
		return h
	}
	if exists(cfg.Socket) {
		return "unix://" + cfg.Socket
	}
	for _, s := range podmanSockets(getenv) {
		if exists(s) {
			return "unix://" + s
		}
	}
	return "unix://" + cfg.Socket
}

func socketExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Type() == os.ModeSocket
}
