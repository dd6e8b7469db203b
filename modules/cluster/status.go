package cluster

import (
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/joyride-dns/joyride/pkg/retry"
)

// Status is what a node knows of the cluster, for the HTTP API's /dns/cluster and the dashboard.
type Status struct {
	Enabled bool   `json:"enabled"`
	Running bool   `json:"running"`
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Policy  string `json:"policy"`
	// DNSPort is the port this node answers DNS on (Config.DNSPort; 0 unknown).
	DNSPort int `json:"dns_port"`
	// Keyring names this node's encryption keys by their IDs (never the keys), the primary first; a key rotation
	// is complete on a node when every member's Keys start with the same primary.
	Keyring []string `json:"keyring,omitempty"`
	Members []Member `json:"members"`
	Stats   Stats    `json:"statistics"`
	// Records is the number of records this node shares; Members has each peer's.
	Records int `json:"records"`
	// joyride-python's /dns/cluster fields, from Members (report.go).
	DiscoveredNodes int         `json:"discovered_nodes"`
	Nodes           []Node      `json:"nodes"`
	SwimCluster     SwimCluster `json:"swim_cluster"`
	// Retry is the circuit breaker of joining while this node has no member (pkg/retry): its state, the failed
	// joins in a row and when the next is due.
	Retry retry.Status `json:"retry"`
}

// Member is one node as this node sees it.
type Member struct {
	NodeID   string    `json:"node_id"`
	Address  string    `json:"address"`
	State    string    `json:"state"` // alive, suspect, dead, left
	Since    time.Time `json:"since"`
	LastSeen time.Time `json:"last_seen"`
	Records  int       `json:"records"`
	Priority int       `json:"priority"`
	// DNSPort is the port the member answers DNS on, at Address's host, as its metadata says; 0 when it does not
	// say (a node older than the field). `joyride setup` forwards the zones there.
	DNSPort int `json:"dns_port"`
	// Keys are the IDs of the member's keys, the primary first, as it advertises them.
	Keys []string `json:"keys,omitempty"`
	// Answered tells whether this node answers the member's records now (alive, suspect, or dead within
	// cluster.failed_grace).
	Answered bool `json:"answered"`
}

// Status returns the node's view of the cluster, its members sorted by ID.
func (c *Cluster) Status() Status {
	ml := c.running.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Enabled: c.cfg.Enabled, Running: ml != nil, NodeID: c.id, Policy: c.policy.String(), DNSPort: c.cfg.DNSPort,
		Stats: c.stats, Retry: c.retries.Status(retryTarget)}
	if ml != nil {
		s.Address, s.Keyring = c.addr, slices.Clone(c.keyIDs)
	}
	var head uint64
	if c.self != nil {
		s.Records = c.self.records()
		head = c.self.head
	}
	if ml == nil {
		s.compat(false, head)
		return s
	}
	for name, m := range c.members {
		mem := Member{NodeID: name, Address: m.addr, State: stateName(m.state), Since: m.since, LastSeen: m.lastAlive,
			Priority: m.meta.Priority, DNSPort: m.meta.DNSPort, Keys: slices.Clone(m.meta.Keys), Answered: c.live(name)}
		if o := c.owners[name]; o != nil {
			mem.Records = o.records()
		}
		s.Members = append(s.Members, mem)
	}
	slices.SortFunc(s.Members, func(a, b Member) int { return strings.Compare(a.NodeID, b.NodeID) })
	s.compat(true, head)
	return s
}

func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead:
		return "dead"
	}
	return "left"
}
