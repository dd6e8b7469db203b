package cluster

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Node is one peer as joyride-python's /dns/cluster listed it: its ID, address, when it was last seen alive, and
// metadata (here the member's gossip address, state, records, priority and DNS port).
type Node struct {
	NodeID    string         `json:"node_id"`
	IPAddress string         `json:"ip_address"`
	LastSeen  string         `json:"last_seen"` // ISO 8601, as joyride-python's
	Metadata  map[string]any `json:"metadata"`
}

// SwimCluster is joyride-python's membership summary. Its counts include this node, as its did.
type SwimCluster struct {
	AliveMembers int `json:"alive_members"`
	// MemberCounts counts the members by joyride-python's state names: alive, suspect, failed, left.
	MemberCounts map[string]int `json:"member_counts"`
	// DNSVersion is this node's change counter: it grows with every change to the records it shares.
	DNSVersion uint64 `json:"dns_version"`
}

// compat fills joyride-python's fields from Members. running says whether this node is a member itself; head is
// its change counter.
func (s *Status) compat(running bool, head uint64) {
	counts := map[string]int{"alive": 0, "suspect": 0, "failed": 0, "left": 0}
	if running {
		counts["alive"] = 1
	}
	s.Nodes = make([]Node, 0, len(s.Members))
	for _, m := range s.Members {
		state := m.State
		if state == "dead" {
			state = "failed"
		}
		counts[state]++
		host, _, err := net.SplitHostPort(m.Address)
		if err != nil {
			host = m.Address
		}
		seen := m.LastSeen
		if seen.IsZero() {
			seen = m.Since
		}
		s.Nodes = append(s.Nodes, Node{NodeID: m.NodeID, IPAddress: host, LastSeen: seen.Format(time.RFC3339Nano),
			Metadata: map[string]any{"address": m.Address, "state": m.State, "records": m.Records, "priority": m.Priority,
				"answered": m.Answered, "dns_port": m.DNSPort}})
	}
	s.DiscoveredNodes = len(s.Nodes)
	s.Stats.NodesActive = counts["alive"] + counts["suspect"]
	if running {
		s.Stats.NodesActive-- // this node
	}
	s.SwimCluster = SwimCluster{AliveMembers: counts["alive"], MemberCounts: counts, DNSVersion: head}
}

// Reporter is the cluster node as the operator's window sees it: its Status (/dns/cluster), Explain for peers'
// records, and Sync (POST /dns/sync).
func Reporter(c *Cluster) status.Reporter {
	return status.Reporter{Name: moduleName, Status: func() any { return c.Status() }, Explain: c.Explain,
		Sync: c.ForceSync}
}

// Explain tells why a peer's source ("node:<id>/<source>") holds records: the owning node, its gossip address as
// this node last saw it, and the source on that node. It returns nil for a source that is not a peer's.
func (c *Cluster) Explain(source, _ string) []status.Provenance {
	rest, ok := strings.CutPrefix(source, events.PeerPrefix)
	if !ok {
		return nil
	}
	node, own, ok := strings.Cut(rest, "/")
	if !ok || node == "" {
		return nil
	}
	pv := status.Provenance{Kind: "peer", Node: node, Source: own}
	c.mu.Lock()
	if m := c.members[node]; m != nil {
		pv.Address = m.addr
	}
	c.mu.Unlock()
	return []status.Provenance{pv}
}

// setHealth reports the node's health on the bus when it changed: healthy once started without seeds or joined
// to one, unhealthy while a node told to join seeds has no member (alone). healthMu keeps the reports in the
// order of the changes, whichever goroutine (memberlist's, a join's) makes them. Unhealthy is dropped while a
// member is alive: a join that fails (after memberlist's TCP timeout) may have started before a peer joined this
// node, and only a member's change of state reports healthy again. Counting under healthMu makes the count and
// the report one step: a member that comes alive after it reports healthy after it.
func (c *Cluster) setHealth(ctx context.Context, kind events.HealthKind, msg string) {
	c.reportHealth(ctx, kind, msg, false)
}

// retryHealth reports what the joins' circuit breaker says of the health (producer.Retries): unhealthy when it
// opens, said even though the node is unhealthy already (alone), so that the health names the open circuit;
// healthy when it recovers. As alone, it says nothing for a node without seeds.
func (c *Cluster) retryHealth(ctx context.Context, kind events.HealthKind, msg string) {
	if len(c.cfg.Join) > 0 {
		c.reportHealth(ctx, kind, msg, kind == events.Unhealthy)
	}
}

// reportHealth is setHealth, and restate reports an unhealthy node again with a new message.
func (c *Cluster) reportHealth(ctx context.Context, kind events.HealthKind, msg string, restate bool) {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	if (c.health == kind && !restate) || (kind == events.Unhealthy && len(c.aliveAddrs()) > 0) {
		return
	}
	c.health = kind
	producer.Health(ctx, c.bus, c.log, moduleName, kind, msg)
}
