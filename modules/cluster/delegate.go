package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
)

// delegate is the Cluster as memberlist sees it: its Delegate, EventDelegate, MergeDelegate and
// ConflictDelegate. memberlist calls these from its own goroutines, some while it holds its locks, so none of
// them blocks on the bus, the store or the network (the one exception, NotifyMerge's ping of a node whose name is
// claimed again, is bounded by the probe timeout and happens only on a join): they update the state under mu and
// wake the loop.
type delegate struct{ c *Cluster }

func (c *Cluster) conflict() error {
	if p := c.conflictErr.Load(); p != nil {
		return *p
	}
	return nil
}

// NodeMeta is this node's epoch, head, priority, DNS port and key IDs.
func (d *delegate) NodeMeta(limit int) []byte {
	c := d.c
	c.mu.Lock()
	m := meta{Priority: c.self.priority, Leaving: c.leaving, DNSPort: c.cfg.DNSPort, Keys: c.keyIDs}
	if c.announced {
		m.Epoch, m.Head = c.epoch, c.self.head
	}
	c.mu.Unlock()
	b, _ := json.Marshal(m)
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg receives a delta or a notice.
func (d *delegate) NotifyMsg(b []byte) {
	c := d.c
	kind, w, err := decodeMessage(b)
	if err != nil {
		c.report(context.Background(), "msg:"+err.Error()[:min(40, len(err.Error()))], "cluster message rejected: "+err.Error())
		return
	}
	if w.Node == c.ID() {
		d.ownClaim(w)
		return
	}
	now := time.Now()
	relay := false
	c.mu.Lock()
	o := c.ownerLocked(w.Node, now)
	switch kind {
	case msgNotice:
		if o.epoch < w.Epoch || (o.epoch == w.Epoch && o.head < w.Head) {
			c.behind[w.Node] = now.Add(-time.Hour) // pull at the next tick
			relay = true
		}
	case msgDelta:
		switch o.applyDelta(w.Epoch, w.Priority, w.Sources[0], now) {
		case deltaApplied:
			c.dirty[w.Node] = struct{}{}
			relay = true
		case deltaNewer:
			c.behind[w.Node] = now.Add(-time.Hour)
		}
	}
	c.mu.Unlock()
	if relay {
		// Passed on with its owner's version, unchanged (a delta, or a notice this node had not heard):
		// memberlist sends a broadcast to a few nodes only. Queued
		// without mu held: the queue asks memberlist for the member count under memberlist's lock, and memberlist
		// calls the delegates, which take mu, under that lock.
		name := w.Node + "\x00notice"
		if kind == msgDelta {
			name = w.Node + "\x00" + w.Sources[0].Source
		}
		c.queue.QueueBroadcast(&broadcast{name: name, msg: slices.Clone(b)})
		c.poke()
	}
}

// ownClaim handles a message about this node's own sources. Its own deltas relayed back, and copies of its state
// as peers hold it (maybe from before its restart), are expected; what this node never sent (a later epoch, a
// version it has not reached, other records at a version it made) means another node uses its ID, or a forgery.
func (d *delegate) ownClaim(w wireOwner) {
	c := d.c
	c.mu.Lock()
	forged := w.Epoch > c.epoch || (w.Epoch == c.epoch && w.Head > c.self.head)
	for _, s := range w.Sources {
		if w.Epoch != c.epoch {
			break
		}
		e, has := c.self.sources[s.Source]
		forged = forged || s.Counter > c.self.head ||
			(has && e.counter == s.Counter && (e.deleted != s.Deleted || !slices.Equal(e.records, s.Records)))
	}
	c.mu.Unlock()
	if forged {
		c.report(context.Background(), "self:"+w.Node, fmt.Sprintf("a peer sent records as this node (%q) that this node "+
			"did not publish: another node with the same node_id, or a forgery; dropped", w.Node))
	}
}

// GetBroadcasts hands memberlist the queued deltas and notices.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	if d.c.queue == nil {
		return nil
	}
	return d.c.queue.GetBroadcasts(overhead, limit)
}

// LocalState is the full state for push/pull: this node's sources and its copies of every other node's.
func (d *delegate) LocalState(join bool) []byte {
	c := d.c
	c.mu.Lock()
	s := wireState{Version: 1, Owners: make([]wireOwner, 0, len(c.owners)+1)}
	if c.announced {
		s.Owners = append(s.Owners, c.self.wire(c.id))
	}
	for name, o := range c.owners {
		if o.epoch != 0 {
			s.Owners = append(s.Owners, o.wire(name))
		}
	}
	c.mu.Unlock()
	return encode(msgState, s)
}

// MergeRemoteState merges a peer's full state.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	c := d.c
	s, err := decodeState(buf)
	if err != nil {
		c.report(context.Background(), "state:"+err.Error()[:min(40, len(err.Error()))], "cluster state rejected: "+err.Error())
		return
	}
	now := time.Now()
	c.mu.Lock()
	c.stats.SyncOperations++
	var claims []wireOwner
	for _, w := range s.Owners {
		if w.Node == c.id {
			claims = append(claims, w)
			continue
		}
		if c.ownerLocked(w.Node, now).merge(w, now) {
			c.dirty[w.Node] = struct{}{}
		}
	}
	c.mu.Unlock()
	for _, w := range claims {
		d.ownClaim(w)
	}
	c.poke()
}

// NotifyJoin: a node joined, or came back.
func (d *delegate) NotifyJoin(n *memberlist.Node) {
	d.c.memberState(n, memberlist.StateAlive, events.NodeJoined)
}

// NotifyLeave: a node left gracefully (its records go at once) or was declared dead (after failed_grace).
// memberlist does not say which (the Node it passes keeps its old State), so a node says it is leaving in its
// metadata first (Stop); a node that left without that word is taken as failed.
func (d *delegate) NotifyLeave(n *memberlist.Node) {
	var m meta
	_ = json.Unmarshal(n.Meta, &m)
	if m.Leaving {
		d.c.memberState(n, memberlist.StateLeft, events.NodeLeft)
		return
	}
	d.c.memberState(n, memberlist.StateDead, events.NodeFailed)
}

// NotifyUpdate: a node's metadata changed: its head moved, it restarted, or it is leaving.
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.c.memberState(n, memberlist.StateAlive, "") }

// NotifyMerge refuses a join that would make two live nodes share an ID: the newcomer's start then fails with
// an error naming the other's address, and the first node's records are untouched.
func (d *delegate) NotifyMerge(peers []*memberlist.Node) error {
	c := d.c
	own := c.address()
	for _, p := range peers {
		addr := p.Address()
		if p.State == memberlist.StateDead || p.State == memberlist.StateLeft {
			continue
		}
		var other string
		c.mu.Lock()
		if p.Name == c.id && addr != own {
			other = addr
		} else if m, ok := c.members[p.Name]; ok && m.addr != addr && m.up() {
			other = m.addr
		}
		c.mu.Unlock()
		if other == "" {
			continue
		}
		// A node restarted on a new address before the old one was found dead is no duplicate: the old
		// address does not answer.
		if host, port, err := net.SplitHostPort(other); err == nil && d.answers(p.Name, host, port) {
			err := fmt.Errorf("cluster: node_id %q is already used by the live node at %s: give every node its own "+
				"cluster.node_id (NODE_ID)", p.Name, other)
			if p.Name == c.id && c.newcomer(p) {
				c.conflictErr.Store(&err)
			}
			return err
		}
	}
	return nil
}

// newcomer reports whether this node, rather than other (a node with the same ID), is the one to give way: the
// one that booted later, by the epochs in their metadata (both refuse the join; only the newcomer stops).
func (c *Cluster) newcomer(other *memberlist.Node) bool {
	var m meta
	_ = json.Unmarshal(other.Meta, &m)
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Epoch == 0 {
		// The other has not announced its epoch: it started a moment ago (or is no Joyride node). This node gives
		// way only if it has not announced either.
		return !c.announced
	}
	return c.epoch > m.Epoch
}

func (d *delegate) answers(name, host, port string) bool {
	addr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
	if err != nil {
		return false
	}
	_, err = d.c.ml.Ping(name, addr)
	return err == nil
}

// NotifyConflict: a node announces an ID that a live member at another address has. memberlist keeps the
// member; the newcomer learns it at its join (NotifyMerge).
func (d *delegate) NotifyConflict(existing, other *memberlist.Node) {
	d.c.report(context.Background(), "conflict:"+other.Address(), fmt.Sprintf("node %s at %s uses the node_id of the "+
		"live node at %s; ignored", strings.ToValidUTF8(other.Name, "?"), other.Address(), existing.Address()))
}

// ownerLocked returns this node's copy of owner's sources, a new empty one if there is none. Callers hold mu.
func (c *Cluster) ownerLocked(owner string, now time.Time) *ownerState {
	o := c.owners[owner]
	if o == nil {
		o = newOwner(0, 0)
		o.created = now
		c.owners[owner] = o
	}
	return o
}

// memberState records what memberlist says of n and publishes kind (when not empty).
func (c *Cluster) memberState(n *memberlist.Node, state memberlist.NodeStateType, kind events.ClusterKind) {
	if n.Name == c.id {
		return
	}
	var m meta
	_ = json.Unmarshal(n.Meta, &m) // a node without metadata has nothing to pull
	now := time.Now()
	c.mu.Lock()
	cur, ok := c.members[n.Name]
	if !ok {
		cur = &member{}
		c.members[n.Name] = cur
	}
	if cur.state != state || !ok {
		cur.since = now
	}
	cur.addr, cur.state, cur.meta = n.Address(), state, m
	if state == memberlist.StateAlive {
		cur.lastAlive = now
	}
	if c.isBehind(n.Name, m) && state == memberlist.StateAlive {
		if _, waiting := c.behind[n.Name]; !waiting {
			c.behind[n.Name] = now
		}
	}
	c.dirty[n.Name] = struct{}{}
	alive, changed := c.aliveLocked()
	known := len(c.members) + 1
	c.mu.Unlock()
	c.poke()
	if alive > 0 {
		c.setHealth(context.Background(), events.Healthy, fmt.Sprintf("joined: %d of %d known nodes alive", alive+1, known))
	}
	if kind != "" {
		c.publishNode(context.Background(), kind, n.Name, n.Address())
	}
	if changed {
		if err := c.bus.Publish(context.Background(), &events.SyncEvent{
			Metadata: events.Metadata{Source: moduleName}, Kind: events.ClusterStateChanged, NodeID: c.ID(),
			Message: fmt.Sprintf("%d of %d known nodes alive, this one included", alive+1, len(c.members)+1),
		}); err != nil && !errors.Is(err, events.ErrClosed) {
			c.log.Warn("publishing the cluster state", zap.Error(err))
		}
	}
}

// aliveLocked counts the other members alive or suspected and reports whether the count changed since it was
// last counted. Callers hold mu.
func (c *Cluster) aliveLocked() (int, bool) {
	n := 0
	for _, m := range c.members {
		if m.up() {
			n++
		}
	}
	return n, c.numNodes.Swap(int32(n+1)) != int32(n+1)
}
