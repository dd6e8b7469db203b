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
	Enabled bool     `json:"enabled"`
	Running bool     `json:"running"`
	NodeID  string   `json:"node_id"`
	Address string   `json:"address"`
	Policy  string   `json:"policy"`
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
	// Answered tells whether this node answers the member's records now (alive, suspect, or dead within
	// cluster.failed_grace).
	Answered bool `json:"answered"`
}

// Status returns the node's view of the cluster, its members sorted by ID.
func (c *Cluster) Status() Status {
	ml := c.running.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Enabled: c.cfg.Enabled, Running: ml != nil, NodeID: c.id, Policy: c.cfg.Policy, Stats: c.stats,
		Retry: c.retries.Status(retryTarget)}
	if ml != nil {
		s.Address = c.addr
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
			Priority: m.meta.Priority, Answered: c.live(name)}
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
