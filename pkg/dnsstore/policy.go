package dnsstore

import (
	"fmt"
	"strings"
	"time"
)

// Origin is the node that owns a source, and that node's rank under the Priority policy. The zero Origin is
// this node: Store.SetPolicy says which node that is. Only a cluster's peers' sources have another.
type Origin struct {
	Node     string
	Priority int
}

// Policy decides what a name answers when sources of several nodes publish it (see doc.go, Origins and policies). Sources of
// one node are always answered together: a policy chooses a node, never a source.
type Policy uint8

const (
	// All answers every node's records, merged like any sources'. It is the zero Policy.
	All Policy = iota
	// Newest answers the node that set its records at the name last, by each record's SetAt (the owner's clock);
	// of nodes that set them at the same time, the lowest node ID.
	Newest
	// Priority answers the node with the highest Origin.Priority; of equals, the newest, then the lowest node ID.
	Priority
)

var policyNames = [...]string{"all", "newest", "priority"}

// String is the policy's name in the configuration: "all", "newest" or "priority".
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy returns the policy named s ("all", "newest" or "priority", case-insensitive), the names the
// cluster configuration uses.
func ParsePolicy(s string) (Policy, error) {
	for i, name := range policyNames {
		if strings.EqualFold(s, name) {
			return Policy(i), nil
		}
	}
	return All, fmt.Errorf("dnsstore: unknown policy %q (want all, newest or priority)", s)
}

// SetPolicy sets the policy and this node's Origin (the one a source replaced with the zero Origin has), and
// applies them to every name that sources of two or more nodes publish. Until it is called the policy is All.
// The cost is that of re-merging those names, once; lookups never pay for a policy.
func (s *Store) SetPolicy(p Policy, local Origin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == s.policy && local == s.local {
		return
	}
	s.policy, s.local = p, local
	old := s.cur.Load()
	w := &writer{old: old, names: old.names.txn(), policy: p, local: local}
	old.names.each(func(name string, n *node) bool {
		if len(n.sources) > 1 {
			c := w.nodeIn(name)
			c.records = w.merge(n.sources)
			w.linkWild(c)
		}
		return true
	})
	names, reverse := w.commitNames()
	s.cur.Store(&Snapshot{gen: old.gen + 1, count: old.count, names: names, sources: old.sources, bulks: old.bulks,
		reverse: reverse})
}

// merge returns the records a name answers from its sources' records: under All every source's, under another
// policy only those of the node it chooses.
func (w *writer) merge(srcs []sourceRecords) []Record {
	if len(srcs) > 1 && w.policy != All {
		srcs = w.chosen(srcs)
	}
	return mergeSources(srcs)
}

// claim is what one node publishes at a name, as far as a policy is concerned.
type claim struct {
	node     string
	priority int       // the highest of its sources' (a node gives all of them the same)
	at       time.Time // the latest SetAt of its records at the name
}

// chosen returns the sources at a name (at least two) of the node the policy chooses: srcs itself when they all
// belong to one node. Everything it compares is known alike to every node (the owners, their priorities and
// the owners' SetAt), and it breaks every tie, so that all nodes answer the same.
func (w *writer) chosen(srcs []sourceRecords) []sourceRecords {
	claims := make([]claim, 0, 2)
	owner := make([]int, len(srcs)) // index in claims of each source's node
	for i, sr := range srcs {
		o := w.originOf(sr.source)
		j := 0
		for j < len(claims) && claims[j].node != o.Node {
			j++
		}
		if j == len(claims) {
			claims = append(claims, claim{node: o.Node, priority: o.Priority})
		}
		c := &claims[j]
		c.priority = max(c.priority, o.Priority)
		for _, r := range sr.recs {
			if at := r.SetAt(); at.After(c.at) {
				c.at = at
			}
		}
		owner[i] = j
	}
	if len(claims) == 1 {
		return srcs
	}
	win := 0
	for j := 1; j < len(claims); j++ {
		if w.policy.prefers(claims[j], claims[win]) {
			win = j
		}
	}
	out := make([]sourceRecords, 0, len(srcs))
	for i, sr := range srcs {
		if owner[i] == win {
			out = append(out, sr)
		}
	}
	return out
}

// prefers reports whether the policy answers a rather than b (two different nodes).
func (p Policy) prefers(a, b claim) bool {
	if p == Priority && a.priority != b.priority {
		return a.priority > b.priority
	}
	if !a.at.Equal(b.at) {
		return a.at.After(b.at)
	}
	return a.node < b.node
}

// originOf returns the Origin of a source at this point of the write, the zero Origin resolved to this node's.
func (w *writer) originOf(source string) Origin {
	var o Origin
	if source == w.source && w.newSet != nil {
		o = w.newSet.origin
	} else if set, ok := w.old.sources.get(source); ok {
		o = set.origin
	}
	if o == (Origin{}) {
		return w.local
	}
	return o
}
