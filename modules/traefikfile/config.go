package traefikfile

import (
	"time"

	"github.com/joyride-dns/joyride/pkg/ttl"
)

// Config is the Traefik file-provider producer's configuration (koanf section "traefikfile").
type Config struct {
	// Directories hold Traefik dynamic-configuration files (*.yml, *.yaml), the ones Traefik's file provider
	// reads; every file is a source. A missing directory is looked for every PollInterval. At least one is needed.
	Directories []string `koanf:"directories" validate:"dive,required"`
	// HostIP is the IPv4 address the routers' names point at (the machine running Traefik); empty means the
	// address of the interface holding the default route, re-checked every PollInterval. Joyride's configuration
	// fills HostIP and HostIP6 with docker's when both are empty.
	HostIP string `koanf:"host_ip" validate:"omitempty,ipv4"`
	// HostIP6 adds AAAA records.
	HostIP6 string `koanf:"host_ip6" validate:"omitempty,ipv6"`
	// TTL of every record.
	TTL uint32 `koanf:"ttl" validate:"ttl"`
	// AllowedDomains are the domains a router may claim names in; "*" (dnsname.AnyDomain) allows any name. As
	// with docker's, New refuses an empty list; Joyride's configuration fills it with the DNS zones when the user
	// leaves it empty.
	AllowedDomains []string `koanf:"allowed_domains" validate:"dive,required"`
	// RuleSyntax is the syntax of routers without ruleSyntax; v3 is Traefik v3's default.
	RuleSyntax string `koanf:"rule_syntax" validate:"oneof=v2 v3"`
	// PollInterval is how often the directories are rescanned (also where fsnotify works, as a safety net) and
	// an auto-detected host address re-checked. It caps the retry policy (pkg/retry) of a directory that vanished
	// or cannot be listed.
	PollInterval time.Duration `koanf:"poll_interval" validate:"min=100ms"`
	// Debounce waits for a burst of writes to settle before a rescan.
	Debounce time.Duration `koanf:"debounce" validate:"min=0"`
}

// DefaultConfig leaves Directories and AllowedDomains empty, which New refuses: no default fits every
// application, so the embedder chooses them.
func DefaultConfig() Config {
	return Config{
		TTL:          ttl.Default,
		RuleSyntax:   "v3",
		PollInterval: 5 * time.Second,
		Debounce:     100 * time.Millisecond,
	}
}
