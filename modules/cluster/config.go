package cluster

import (
	"time"
)

// Config is the cluster module's configuration (koanf section "cluster"). The defaults suit nodes on one LAN;
// the timing keys are memberlist's, named as memberlist names them.
type Config struct {
	// Enabled is joyride-python's ENABLE_DNS_SYNC: false keeps the module in the application but starts nothing,
	// and Status says synchronisation is off.
	Enabled bool `koanf:"enabled"`
	// NodeID names this node in the cluster (NODE_ID). Empty means a stable default: the ID kept in DataDir when
	// that is set (created once from the host's name), else the host's name. Never one that changes per process.
	// It may not contain "/": peers' sources are named "node:<node id>/<source>".
	NodeID string `koanf:"node_id" validate:"omitempty,max=128,printascii,excludes=/"`
	// BindAddress is the address the gossip listeners (UDP and TCP, the same port) bind to.
	BindAddress string `koanf:"bind_address" validate:"required,ip"`
	// AdvertiseAddress is the address peers reach this node at; empty means BindAddress, or the address of the
	// default route's interface when BindAddress is a wildcard.
	AdvertiseAddress string `koanf:"advertise_address" validate:"omitempty,ip"`
	// Port is the gossip port, UDP and TCP (SWIM_PORT); 0 picks a free one, for tests.
	Port int `koanf:"port" validate:"min=0,max=65535"`
	// Join lists seed nodes, "host:port" (host names are resolved at every attempt).
	Join []string `koanf:"join" validate:"dive,hostport"`
	// Share lists the kinds of this node's own sources sent to peers: docker (containers), traefik (Traefik
	// dynamic-configuration files), hosts (hosts files), static (records of the configuration).
	Share []string `koanf:"share" validate:"dive,oneof=docker traefik hosts static"`
	// AllowedDomains are the domains a peer may publish names in; "*" allows any. Joyride's configuration fills it
	// with the DNS zones when empty (config's derive); an embedder must set it.
	AllowedDomains []string `koanf:"allowed_domains" validate:"dive,required"`
	// DataDir keeps the node ID and the boot epoch across restarts; empty keeps nothing (the epoch then comes from
	// the clock).
	DataDir string `koanf:"data_dir"`
	// Discovery finds peers on the LAN by UDP broadcast on DiscoveryPort (joyride-python's DISCOVERY_PORT).
	Discovery bool `koanf:"discovery"`
	// DiscoveryPort is the UDP port of LAN discovery; it must differ from Port.
	DiscoveryPort int `koanf:"discovery_port" validate:"min=0,max=65535"`
	// DiscoveryAddress is where discovery announcements are sent: the limited broadcast address by default.
	DiscoveryAddress string `koanf:"discovery_address" validate:"required,ip"`
	// Key is the base64 of a 16, 24 or 32-byte AES key that encrypts and authenticates all cluster traffic.
	Key string `koanf:"key" validate:"omitempty,base64"`
	// KeyringFile is a file of base64 keys, one per line, the first the primary; it is read at start and again
	// when it changes, for rotation without downtime (add a key everywhere, make it primary, remove the old one).
	KeyringFile string `koanf:"keyring_file"`
	// Policy answers a name that several nodes publish: all (every node's records), newest (the node that set it
	// last), priority (the node with the highest Priority; newest among equals).
	Policy string `koanf:"policy" validate:"oneof=all newest priority"`
	// Priority is this node's rank under the priority policy.
	Priority int `koanf:"priority"`
	// DNSPort is the port this node's DNS server answers on, as peers list it (/dns/cluster) for `joyride
	// setup` to forward the zones to every node; 0 means unknown. Joyride's configuration fills it from dns.port
	// (config's derive); set it where clients reach DNS on another port (a container's published port).
	DNSPort int `koanf:"dns_port" validate:"min=0,max=65535"`
	// FailedGrace keeps the records of a node declared dead this long before they are withdrawn.
	FailedGrace time.Duration `koanf:"failed_grace" validate:"min=0"`
	// RejoinInterval is how often (jittered) the node joins the seeds, the discovered peers and the peers last
	// seen alive that are not members now, so that a partition heals by itself. It caps the retry policy
	// (pkg/retry) of a node that has no member and fails to join.
	RejoinInterval time.Duration `koanf:"rejoin_interval" validate:"min=100ms"`
	// TombstoneTTL is how long a node remembers a deletion after learning it. A copy older than the deletion
	// that shows up later is still recognised as stale by its version, so this only bounds memory.
	TombstoneTTL time.Duration `koanf:"tombstone_ttl" validate:"min=1s"`

	// memberlist's timing.
	GossipInterval   time.Duration `koanf:"gossip_interval" validate:"min=1ms"`
	ProbeInterval    time.Duration `koanf:"probe_interval" validate:"min=1ms"`
	ProbeTimeout     time.Duration `koanf:"probe_timeout" validate:"min=1ms"`
	SuspicionMult    int           `koanf:"suspicion_mult" validate:"min=1"`
	PushPullInterval time.Duration `koanf:"push_pull_interval" validate:"min=0"`
	// GossipToTheDead is how long a dead node is still gossiped to; memberlist's GossipToTheDeadTime.
	GossipToTheDead time.Duration `koanf:"gossip_to_the_dead" validate:"min=0"`
}

// DefaultConfig is a LAN node on port 8890 that shares its containers and Traefik routes, finds peers by
// broadcast, and answers every node's address for a name several nodes publish. AllowedDomains is empty, which
// New refuses: the embedder chooses (Joyride's configuration derives it from the DNS zones).
func DefaultConfig() Config {
	return Config{
		Enabled:          true,
		BindAddress:      "0.0.0.0",
		Port:             8890,
		Share:            []string{"docker", "traefik"},
		Discovery:        true,
		DiscoveryPort:    8889,
		DiscoveryAddress: "255.255.255.255",
		Policy:           "all",
		RejoinInterval:   30 * time.Second,
		TombstoneTTL:     time.Hour,
		GossipInterval:   200 * time.Millisecond,
		ProbeInterval:    time.Second,
		ProbeTimeout:     500 * time.Millisecond,
		SuspicionMult:    4,
		PushPullInterval: 30 * time.Second,
		GossipToTheDead:  30 * time.Second,
	}
}
