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
		v             version
		recs          []wireRecord
		priority      int
	}
	var pubs []pub
	c.mu.Lock()
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
		for src, e := range want {
			v := version{o.epoch, e.counter}
			if was[src] != v {
				pubs = append(pubs, pub{owner, src, v, e.records, o.priority})
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
		recs, outside := c.allowed(p.recs)
		if len(outside) > 0 {
			c.report(ctx, "outside:"+p.source, fmt.Sprintf("node %q: source %q: %d name(s) outside cluster.allowed_domains "+
				"dropped: %s", p.owner, strings.TrimPrefix(p.source, events.PeerSource(p.owner, "")), len(outside),
				strings.Join(outside[:min(5, len(outside))], ", ")))
		}
		err := c.bus.Publish(ctx, &events.SyncEvent{
			Metadata: events.Metadata{Source: moduleName}, Kind: events.DNSRecordSynced, NodeID: p.owner,
			Snapshot: &events.RecordSnapshot{Source: p.source, Records: recs, Node: p.owner, Priority: p.priority},
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
			c.published[p.owner] = map[string]version{}
		}
		if p.v == (version{}) {
			delete(c.published[p.owner], p.source)
			if len(c.published[p.owner]) == 0 {
				delete(c.published, p.owner)
			}
		} else {
			c.published[p.owner][p.source] = p.v
		}
		c.stats.RecordsSynced += len(recs)
		now := time.Now()
		c.stats.LastSync = &now
		c.mu.Unlock()
	}
}

// allowed splits records into those inside the allowed domains, as events.Records, and the names of the others.
func (c *Cluster) allowed(recs []wireRecord) ([]events.Record, []string) {
	out := make([]events.Record, 0, len(recs))
	var outside []string
	for _, r := range recs {
		if !c.domains.Allows(r.Name) {
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
