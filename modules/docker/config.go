package docker

import (
	"time"

	"github.com/joyride-dns/joyride/pkg/ttl"
)

// Config is the Docker producer's configuration (koanf section "docker").
type Config struct {
	// Host is a Docker endpoint URL ("unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"). Empty means
	// DOCKER_HOST, then Socket, then the Podman sockets.
	Host string `koanf:"host"`
	// Socket is the Docker socket path used when Host and DOCKER_HOST are empty.
	Socket string `koanf:"socket" validate:"required"`
	// HostIP is the IPv4 address container records point at; joyride-python's HOSTIP. Empty means the address of
	// the interface holding the default route.
	HostIP string `koanf:"host_ip" validate:"omitempty,ipv4"`
	// HostIP6 adds AAAA records; HOSTIP6.
	HostIP6 string `koanf:"host_ip6" validate:"omitempty,ipv6"`
	// Labels are the label keys whose values name records (comma or space separated names).
	Labels []string `koanf:"labels" validate:"min=1,dive,required"`
	// TTL of container records unless a container's joyride.host.ttl label says otherwise.
	TTL uint32 `koanf:"ttl" validate:"ttl"`
	// AllowedDomains are the domains a label may claim names in; "*" (dnsname.AnyDomain) allows any name. It must
	// be set: New refuses an empty list, because whoever can start a container could otherwise take over any name.
	// Joyride's configuration fills it with the DNS zones when the user leaves it empty (config's derive).
	AllowedDomains []string `koanf:"allowed_domains" validate:"dive,required"`
	// StopGrace keeps a stopped container's records this long, so a restart does not produce a cached NXDOMAIN.
	StopGrace time.Duration `koanf:"stop_grace" validate:"min=0"`
	// Traefik derives names from Traefik router rules; TraefikExposedByDefault mirrors Traefik's own setting.
	Traefik                 bool `koanf:"traefik"`
	TraefikExposedByDefault bool `koanf:"traefik_exposed_by_default"`
	// TraefikRuleSyntax is the rule syntax of routers without a ruleSyntax label; v3 is Traefik v3's default.
	TraefikRuleSyntax string `koanf:"traefik_rule_syntax" validate:"oneof=v2 v3"`
	// AddressCheckInterval re-detects an auto-detected host address (DHCP); 0 disables.
	AddressCheckInterval time.Duration `koanf:"address_check_interval" validate:"min=0"`
	// MaxBackoff caps the reconnect backoff while the engine is unreachable: it is the retry policy's cap
	// (pkg/retry), and an open circuit probes the engine every two MaxBackoffs.
	MaxBackoff time.Duration `koanf:"max_backoff" validate:"min=100ms"`
}

// DefaultConfig reads both joyride.host.name and the CoreDNS-based joyride's coredns.host.name. It leaves
// AllowedDomains empty, which New refuses: no default is safe for every application, so the embedder chooses.
func DefaultConfig() Config {
	return Config{
		Socket:                  "/var/run/docker.sock",
		Labels:                  []string{"joyride.host.name", "coredns.host.name"},
		TTL:                     ttl.Default,
		TraefikExposedByDefault: true,
		TraefikRuleSyntax:       "v3",
		AddressCheckInterval:    time.Minute,
		MaxBackoff:              30 * time.Second,
	}
}
