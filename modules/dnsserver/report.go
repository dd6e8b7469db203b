package dnsserver

import (
	"net"
	"slices"
	"strings"

	"github.com/joyride-dns/joyride/pkg/status"
)

// Status is what the HTTP API reports as dns_server: joyride-python's port, bind_address and running, the bound
// addresses and the counters.
type Status struct {
	// Port is the bound port while serving (Config.Port 0 picks one), else the configured one.
	Port        int    `json:"port"`
	BindAddress string `json:"bind_address"`
	Running     bool   `json:"running"`
	UDP         string `json:"udp,omitempty"` // bound addresses, while serving
	TCP         string `json:"tcp,omitempty"`
	// Zones (without the trailing dot) and Addresses are what `joyride setup` forwards to this node, and where
	// when the server binds every address.
	Zones     []string `json:"zones"`
	Addresses []string `json:"addresses"`
	Stats     Stats    `json:"statistics"`
}

// Status reports the server's state; it is safe to call at any time.
func (s *Server) Status() Status {
	set := s.settings.Load()
	cfg := set.cfg
	st := Status{Port: cfg.Port, BindAddress: cfg.BindAddress, Running: s.Running(), Stats: s.Stats(),
		Zones: []string{}, Addresses: slices.Clone(cfg.Addresses)}
	for _, z := range set.zoneNames() {
		st.Zones = append(st.Zones, strings.TrimSuffix(z, "."))
	}
	if st.Addresses == nil {
		st.Addresses = []string{}
	}
	if udp, tcp := s.Addr(); udp != nil {
		st.UDP, st.TCP = udp.String(), tcp.String()
		if a, ok := udp.(*net.UDPAddr); ok {
			st.Port = a.Port
		}
	}
	return st
}

// Reporter is the server as the operator's window sees it. Its Name is "dns", the `modules:` key and the
// component of its HealthEvents.
func Reporter(s *Server) status.Reporter {
	return status.Reporter{Name: "dns", Status: func() any { return s.Status() }}
}
