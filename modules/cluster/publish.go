package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
)

// live reports whether the records of owner are answered: a member alive or suspected, or dead for less than
// failed_grace. A node that left, or that this node never saw as a member, is not. Callers hold mu.
func (c *Cluster) live(owner string) bool {
	m, ok := c.members[owner]
	return ok && (m.up() || (m.state == memberlist.StateDead && time.Since(m.since) < c.cfg.FailedGrace))
}

// reconcile makes the store hold, for every owner marked dirty, what its copy says when it is live and nothing
// when it is not, publishing one snapshot per source that differs.
func (c *Cluster) reconcile(ctx context.Context) {
	type pub struct {
		owner, source string
		f             filed // zero: withdrawn
		recs          []wireRecord
	}
	var pubs []pub
	c.mu.Lock()
	domains := c.domains
	for owner := range c.dirty {
		delete(c.dirty, owner)
		was := c.published[owner]
		want := map[string]*entry{}
		o := c.owners[owner]
		if o != nil && c.live(owner) {
			for s, e := range o.sources {
				if !e.deleted {
					want[events.PeerSource(owner, s)] = e
				}
			}
		}
		// The owner's priority as its metadata says now: memberlist orders metadata updates, and a change of
		// priority (a reload on the owner) re-files every source of the owner.
		var priority int
		if m := c.members[owner]; m != nil {
			priority = m.meta.Priority
		}
		for src, e := range want {
			f := filed{version{o.epoch, e.counter}, priority}
			if was[src] != f {
				pubs = append(pubs, pub{owner, src, f, e.records})
			}
		}
		for src := range was {
			if _, ok := want[src]; !ok {
				pubs = append(pubs, pub{owner: owner, source: src})
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(pubs, func(a, b pub) int { return strings.Compare(a.source, b.source) })
	for _, p := range pubs {
		recs, outside := allowed(domains, p.recs)
		if len(outside) > 0 {
			c.report(ctx, "outside:"+p.source, fmt.Sprintf("node %q: source %q: %d name(s) outside cluster.allowed_domains "+
				"dropped: %s", p.owner, strings.TrimPrefix(p.source, events.PeerSource(p.owner, "")), len(outside),
				strings.Join(outside[:min(5, len(outside))], ", ")))
		}
		err := c.bus.Publish(ctx, &events.SyncEvent{
			Metadata: events.Metadata{Source: moduleName}, Kind: events.DNSRecordSynced, NodeID: p.owner,
			Snapshot: &events.RecordSnapshot{Source: p.source, Records: recs, Node: p.owner, Priority: p.f.priority},
		})
		c.mu.Lock()
		if err != nil {
			if !errors.Is(err, events.ErrClosed) {
				c.log.Error("publishing a peer's records", zap.String("source", p.source), zap.Error(err))
			}
			c.mu.Unlock()
			continue
		}
		if c.published[p.owner] == nil {
			c.published[p.owner] = map[string]filed{}
		}
		if p.f == (filed{}) {
			delete(c.published[p.owner], p.source)
			if len(c.published[p.owner]) == 0 {
				delete(c.published, p.owner)
			}
		} else {
			c.published[p.owner][p.source] = p.f
		}
		c.stats.RecordsSynced += len(recs)
		now := time.Now()
		c.stats.LastSync = &now
		c.mu.Unlock()
	}
}

// allowed splits records into those inside domains, as events.Records, and the names of the others.
func allowed(domains dnsname.Domains, recs []wireRecord) ([]events.Record, []string) {
	out := make([]events.Record, 0, len(recs))
	var outside []string
	for _, r := range recs {
		if !domains.Allows(r.Name) {
			outside = append(outside, r.Name)
			continue
		}
		er := events.Record{Name: r.Name, Type: r.Type, Value: r.Value, TTL: r.TTL}
		if r.SetAt != 0 {
			er.SetAt = time.UnixMilli(r.SetAt).UTC()
		}
		out = append(out, er)
	}
	return out, outside
}

// report publishes an error about what a peer sent, at most once a minute per key, so that a hostile or broken
// peer cannot flood the bus or the log.
func (c *Cluster) report(ctx context.Context, key, msg string) {
	c.mu.Lock()
	c.stats.Rejected++
	c.mu.Unlock()
	if !c.due(key) {
		return
	}
	err := c.bus.Publish(ctx, &events.ErrorEvent{
		Metadata: events.Metadata{Source: moduleName}, Kind: events.ErrorInput, Module: moduleName, Message: msg,
	})
	if err != nil {
		c.log.Warn("rejected from a peer", zap.String("message", msg))
	}
}

func (c *Cluster) publishNode(ctx context.Context, kind events.ClusterKind, node, addr string) {
	if err := c.bus.Publish(ctx, &events.NodeEvent{
		Metadata: events.Metadata{Source: moduleName}, Kind: kind, NodeID: node, Address: addr,
	}); err != nil && !errors.Is(err, events.ErrClosed) {
		c.log.Warn("publishing a node event", zap.String("kind", string(kind)), zap.Error(err))
	}
}

// due reports whether what key names may be said now: once a minute per key. The keys are kept in a bounded map
// (a hostile peer could invent many causes), cleared when it is full.
func (c *Cluster) due(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if last, seen := c.reported[key]; seen && now.Sub(last) < time.Minute {
		return false
	}
	if len(c.reported) > 1000 {
		clear(c.reported)
	}
	c.reported[key] = now
	return true
}
