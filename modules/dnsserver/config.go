package dnsserver

import "time"

// Config is the DNS server's configuration (koanf section "dns").
type Config struct {
	// BindAddress and Port are where UDP and TCP are served; joyride-python's DNS_BIND_ADDRESS and DNS_PORT.
	// Port 0 picks a free port (tests read it back from the Server).
	BindAddress string `koanf:"bind_address" validate:"required,ip"`
	Port        int    `koanf:"port" validate:"min=0,max=65535"`
	// Zones Joyride is authoritative for. Inside them a missing name gets NXDOMAIN with the zone's SOA; outside
	// them (every name, without zones) names that are not records are REFUSED, or forwarded (see Forwarders):
	// never NXDOMAIN, which Joyride has no authority to give there.
	Zones []string `koanf:"zones" validate:"dive,zone"`
	// Forwarders are upstream resolvers ("host:port") for names outside the zones, asked for queries with RD
	// set from clients in ForwardAllow. Empty means no recursion.
	Forwarders     []string      `koanf:"forwarders" validate:"dive,hostport"`
	ForwardTimeout time.Duration `koanf:"forward_timeout" validate:"min=10ms"`
	// ForwardAllow lists the client networks (CIDR prefixes) whose queries with RD set may be forwarded; other
	// clients get REFUSED for names outside the zones, so that Joyride on a public interface is no open
	// resolver. Empty forwards for nobody. The default is the local networks (BIND's allow-recursion localnets,
	// dnsmasq's --local-service).
	ForwardAllow []string `koanf:"forward_allow" validate:"dive,cidr"`
	// NegativeTTL is the SOA minimum and TTL, so resolvers cache "missing" only briefly (RFC 2308): a restarting
	// container must not stay NXDOMAIN downstream.
	NegativeTTL uint32 `koanf:"negative_ttl" validate:"max=86400"`
	// UDPSize is the EDNS0 payload size advertised and honoured.
	UDPSize uint16 `koanf:"udp_size" validate:"min=512"`
	// Nameserver is the host name in the zones' SOA MNAME and NS records; empty means "ns.<zone>".
	Nameserver string `koanf:"nameserver"`
	// Addresses are this node's IP addresses: the zones' nameserver name answers A and AAAA with them unless
	// the store holds address records for it. Empty means BindAddress when it is a specific address; with a
	// wildcard BindAddress (0.0.0.0, ::) the nameserver name then has no address records (NODATA).
	Addresses []string `koanf:"addresses" validate:"dive,ip"`
	// Hostmaster is the SOA RNAME; empty means "hostmaster.<zone>".
	Hostmaster string `koanf:"hostmaster"`
}

// DefaultConfig matches joyride-python's listener (0.0.0.0:5353) and RFC 8467's 1232-byte EDNS payload.
func DefaultConfig() Config {
	return Config{
		BindAddress:    "0.0.0.0",
		Port:           5353,
		ForwardTimeout: 2 * time.Second,
		ForwardAllow:   LocalNetworks(),
		NegativeTTL:    30,
		UDPSize:        1232,
	}
}

// LocalNetworks are the networks the default ForwardAllow trusts: loopback, private (RFC 1918), unique local
// (RFC 4193) and link-local addresses, IPv4 and IPv6.
func LocalNetworks() []string {
	return []string{
		"127.0.0.0/8", "::1/128",
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
		"169.254.0.0/16", "fe80::/10",
	}
}
