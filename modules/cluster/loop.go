package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
)

// handle receives, from the bus, the local sources the records handler replaced and requests for a full sync.
func (c *Cluster) handle(ctx context.Context, e events.Event) error {
	switch ev := e.(type) {
	case *events.DNSEvent:
		c.mu.Lock()
		shared := c.sharedLocked(ev.Owner)
		if shared {
			c.local[ev.Owner] = struct{}{}
		}
		c.mu.Unlock()
		if shared {
			c.poke()
		}
	case *events.SyncEvent:
		if ev.Source != moduleName {
			// In the background: this subscription also carries the local changes, which must not wait on dials.
			c.joinInBackground(c.aliveAddrs(), nil)
		}
	}
	return nil
}

// aliveAddrs are the gossip addresses of the other members alive or suspected, as memberlist last told (not memberlist's
// Members: the nodes it returns are its own, which it changes under a lock their reader does not hold).
func (c *Cluster) aliveAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addrs []string
	for _, m := range c.members {
		if m.up() {
			addrs = append(addrs, m.addr)
		}
	}
	slices.Sort(addrs)
	return addrs
}

// poke wakes the loop without waiting.
func (c *Cluster) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run is the loop: local changes, the store, catching up, failure grace, rejoining, tombstones. first is when
// the first rejoin is.
func (c *Cluster) run(ctx context.Context, first time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(max(c.cfg.GossipInterval, 20*time.Millisecond))
	defer tick.Stop()
	rejoin := time.NewTimer(first)
	defer rejoin.Stop()
	lastMeta := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-tick.C:
			c.settle()
			c.catchUp()
			c.expire()
		case <-rejoin.C:
			if !c.rejoin(ctx) {
				rejoin.Reset(c.rejoinDelay(len(c.aliveAddrs()) > 0))
			}
		case err := <-c.rejoined:
			rejoin.Reset(c.afterRejoin(ctx, err))
		}
		c.readLocal()
		c.joinDiscovered()
		c.mu.Lock()
		sendMeta := c.metaDirty && time.Since(lastMeta) >= c.cfg.GossipInterval
		if sendMeta {
			c.metaDirty = false
		}
		c.mu.Unlock()
		if sendMeta && !c.updating.Swap(true) {
			lastMeta = time.Now()
			// UpdateNode waits until the new metadata is sent to one member (or the timeout, when alone): beside
			// the loop, one at a time.
			go func() {
				defer c.updating.Store(false)
				_ = c.ml.UpdateNode(c.cfg.GossipInterval)
			}()
		} else if sendMeta {
			c.mu.Lock()
			c.metaDirty = true // an update is under way: the next one carries this change
			c.mu.Unlock()
		}
		c.reconcile(ctx)
	}
}

// rejoinDelay is when the next rejoin is, unless a join failed while this node had no member (that is retried
// under the retry policy, afterRejoin): RejoinInterval jittered by up to a quarter either way, or about a second
// while this node has no member and had nothing to join (a discovered peer or a member just lost may give it
// something soon).
func (c *Cluster) rejoinDelay(joined bool) time.Duration {
	d := c.cfg.RejoinInterval
	if !joined {
		d = min(d, time.Second)
	}
	return d - d/4 + rand.N(d/2+1)
}

// joinDiscovered joins the addresses discovery found since the last time.
func (c *Cluster) joinDiscovered() {
	c.mu.Lock()
	addrs := c.discovered
	c.discovered = nil
	c.mu.Unlock()
	slices.Sort(addrs)
	c.joinInBackground(slices.Compact(addrs), nil)
}

// readLocal reads the local sources marked changed from the store and makes a new version of each that differs
// from what this node last shared: a delta broadcast, or a notice when it does not fit a packet. A source of a
// kind no longer shared (cluster.share changed) is shared as deleted.
func (c *Cluster) readLocal() {
	c.mu.Lock()
	if len(c.local) == 0 {
		c.mu.Unlock()
		return
	}
	names := c.local
	c.local = make(map[string]struct{})
	c.mu.Unlock()

	snap := c.store.Snapshot()
	for name := range names {
		recs := snap.SourceRecords(name)
		wire := make([]wireRecord, len(recs))
		for i, r := range recs {
			wire[i] = fromStore(r, r.SetAt().UnixMilli())
		}
		c.mu.Lock()
		if !c.sharedLocked(name) {
			wire = nil
		}
		cur, ok := c.self.sources[name]
		if (!ok && len(wire) == 0) || (ok && !cur.deleted && slices.Equal(cur.records, wire)) || (ok && cur.deleted && len(wire) == 0) {
			c.mu.Unlock()
			continue
		}
		c.self.head++
		s := wireSource{Source: name, Counter: c.self.head, Deleted: len(wire) == 0, Records: wire}
		c.self.sources[name] = newEntry(s, time.Now())
		delta := wireOwner{Node: c.id, Epoch: c.epoch, Priority: c.self.priority, Sources: []wireSource{s}}
		c.metaDirty = true
		c.mu.Unlock()
		c.broadcast(delta)
	}
}

// How long this node's own sources must stay unchanged after Start before it announces its new epoch, and the
// longest it waits for that.
const (
	settleQuiet = 300 * time.Millisecond
	settleMax   = 3 * time.Second
)

// settle announces this node's state once its local sources have settled: the store unchanged for settleQuiet,
// or settleMax after Start. Announcing is making the epoch and head known in the metadata and sending a notice:
// every peer then pulls the state, which replaces what it had of an earlier boot.
func (c *Cluster) settle() {
	now := time.Now()
	gen := c.store.Snapshot().Generation()
	c.mu.Lock()
	if c.announced {
		c.mu.Unlock()
		return
	}
	if gen != c.settledGen {
		c.settledGen, c.settledAt = gen, now
	}
	if now.Sub(c.settledAt) < settleQuiet && now.Sub(c.started) < settleMax {
		c.mu.Unlock()
		return
	}
	c.announced, c.metaDirty = true, true
	notice := wireOwner{Node: c.id, Epoch: c.epoch, Head: c.self.head, Priority: c.self.priority}
	c.mu.Unlock()
	c.log.Debug("state announced", zap.Uint64("epoch", notice.Epoch), zap.Uint64("changes", notice.Head))
	c.queue.QueueBroadcast(&broadcast{name: notice.Node + "\x00notice", msg: encode(msgNotice, notice)})
}

// broadcast queues a change of this node's: the delta itself when it fits a packet, else a notice that makes
// every node that hears it pull this node's state. A newer change to a source replaces its queued older one.
func (c *Cluster) broadcast(delta wireOwner) {
	c.mu.Lock()
	announced := c.announced
	c.mu.Unlock()
	if c.queue == nil || !announced {
		return // the state travels whole once announced
	}
	msg := encode(msgDelta, delta)
	name := delta.Node + "\x00" + delta.Sources[0].Source
	if len(msg) > maxBroadcast {
		notice := wireOwner{Node: delta.Node, Epoch: delta.Epoch, Head: delta.Sources[0].Counter, Priority: delta.Priority}
		msg, name = encode(msgNotice, notice), delta.Node+"\x00notice"
	}
	c.queue.QueueBroadcast(&broadcast{name: name, msg: msg})
}

// catchUp pulls the state of every member this node's copy has been behind for two gossip intervals (time for
// the deltas in flight to arrive): memberlist carries each node's epoch and head in its metadata reliably, where
// it sends user messages only a few times, so no change is missed for long.
func (c *Cluster) catchUp() {
	c.mu.Lock()
	grace := 2 * c.cfg.GossipInterval
	var addrs []string
	var owners []string
	for o, since := range c.behind {
		m, ok := c.members[o]
		if !ok || !m.up() {
			// A suspected node is still pulled from: dropping it here would leave the copy behind, with nothing
			// to bring it up to date, until the next push/pull.
			delete(c.behind, o)
			continue
		}
		if !c.isBehind(o, m.meta) {
			delete(c.behind, o)
			continue
		}
		if time.Since(since) >= grace {
			addrs = append(addrs, m.addr)
			owners = append(owners, o)
			c.behind[o] = time.Now() // the next attempt after another grace
		}
	}
	c.mu.Unlock()
	for i, a := range addrs {
		c.log.Debug("pulling state", zap.String("node_id", owners[i]), zap.String("address", a))
	}
	c.joinInBackground(addrs, nil)
}

// isBehind reports whether this node's copy of owner is older than m says the owner is. Callers hold mu.
func (c *Cluster) isBehind(owner string, m meta) bool {
	o, ok := c.owners[owner]
	if !ok {
		return m.Epoch != 0
	}
	return o.epoch < m.Epoch || (o.epoch == m.Epoch && o.head < m.Head)
}

// expire reconciles owners whose failure grace ended, collects old tombstones and forgotten nodes, and keeps the
// keyring in step with the keyring file and the members' keys.
func (c *Cluster) expire() {
	now := time.Now()
	c.checkKeyring(now)
	c.syncKeys()
	cutoff := now.Add(-c.cfg.TombstoneTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, m := range c.members {
		if m.state == memberlist.StateSuspect && now.Sub(m.since) > c.suspicionMax() {
			m.state = memberlist.StateAlive // refuted: memberlist says nothing of a refutation either
		}
		if m.state == memberlist.StateDead && !m.since.IsZero() && now.Sub(m.since) >= c.cfg.FailedGrace {
			if _, done := c.published[name]; done && len(c.published[name]) > 0 {
				c.dirty[name] = struct{}{}
			}
		}
		if (m.state == memberlist.StateDead || m.state == memberlist.StateLeft) && m.since.Before(cutoff) {
			// Forgotten: a node gone longer than tombstone_ttl comes back with a full state anyway.
			delete(c.members, name)
			delete(c.owners, name)
			c.dirty[name] = struct{}{}
		}
	}
	c.self.collect(cutoff)
	for name, o := range c.owners {
		o.collect(cutoff)
		if _, member := c.members[name]; !member && o.created.Before(cutoff) {
			delete(c.owners, name)
		}
	}
	if len(c.dirty) > 0 {
		c.poke()
	}
}

// join joins (or pulls the state of) the given addresses: a push/pull over TCP with each.
func (c *Cluster) join(addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	n, err := c.ml.Join(addrs)
	c.mu.Lock()
	c.stats.SyncOperations += n
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("join", zap.Strings("addresses", addrs), zap.Error(err))
	}
	return err
}

// rejoin joins the seeds, the discovered peers and the peers last seen alive that are not members now, as Serf's
// reconnect loop does, so that a partition longer than memberlist's gossip to the dead heals by itself. Its
// result reaches the loop on rejoined; it reports whether a join was started. While this node has no member the
// join is an attempt of the retry policy (a probe when the circuit is open).
func (c *Cluster) rejoin(ctx context.Context) bool {
	alive := c.aliveAddrs()
	c.mu.Lock()
	targets := map[string]bool{}
	for a := range c.seeds {
		targets[a] = true
	}
	for _, m := range c.members {
		if !m.up() && !m.lastAlive.IsZero() {
			targets[m.addr] = true
		}
	}
	c.mu.Unlock()
	for _, a := range alive {
		delete(targets, a)
	}
	if len(targets) == 0 {
		return false
	}
	if len(alive) == 0 {
		if e, ok := c.retry.Attempt(); ok {
			c.retries.Report(ctx, retryTarget, e)
		}
	}
	return c.joinInBackground(slices.Sorted(maps.Keys(targets)), func(err error) {
		// The loop waits for this result before it schedules the next rejoin (one at a time, so the buffer of
		// one always has room).
		defer func() { c.rejoined <- err }()
		// Counted now, not when the join started: it may have taken memberlist's TCP timeout, and a peer may
		// have joined this node meanwhile.
		if err == nil || len(c.aliveAddrs()) > 0 {
			return
		}
		if conflict := c.conflict(); conflict != nil && c.exit != nil {
			c.exit(conflict)
			return
		}
		c.alone(err)
	})
}

// retryTarget names the cluster's joins in its RetryEvents, Status and metrics.
const retryTarget = "seeds"

// afterRejoin takes a rejoin's result and returns when the next one is: RejoinInterval (jittered) while this node
// has a member, which a healthy cluster refreshes at; after a join that failed while it has none, the retry
// policy's delay (pkg/retry, capped at RejoinInterval): soon at first, then less and less often, and once the
// circuit is open a probe every open interval.
func (c *Cluster) afterRejoin(ctx context.Context, err error) time.Duration {
	if err == nil || len(c.aliveAddrs()) > 0 {
		if e, ok := c.retry.Success(); ok {
			c.retries.Report(ctx, retryTarget, e)
		}
		return c.rejoinDelay(true)
	}
	e := c.retry.Failure(err)
	c.retries.Report(ctx, retryTarget, e)
	return e.Delay
}

// joinInBackground joins (or pulls the state of) the addresses not already being joined, in a goroutine of its
// own, and then calls then (if not nil) with the result; it reports whether it started a join. The loop never
// waits for a join: one to an address whose packets are dropped takes memberlist's TCP timeout (10 s on a LAN),
// and meanwhile this node's own changes must keep flowing.
func (c *Cluster) joinInBackground(addrs []string, then func(error)) bool {
	c.mu.Lock()
	var todo []string
	for _, a := range addrs {
		if !c.inflight[a] {
			c.inflight[a] = true
			todo = append(todo, a)
		}
	}
	c.mu.Unlock()
	if len(todo) == 0 {
		return false
	}
	c.joins.Add(1)
	go func() {
		defer c.joins.Done()
		err := c.join(todo)
		c.mu.Lock()
		for _, a := range todo {
			delete(c.inflight, a)
		}
		c.mu.Unlock()
		if then != nil {
			then(err)
		}
	}()
	return true
}

// alone says, at most once a minute, why a node that has no member could not join any: a seed that is down, a
// wrong key (memberlist logs that at debug level only, on this side).
func (c *Cluster) alone(err error) {
	if len(c.cfg.Join) > 0 {
		// A node told to join seeds that has none is not what its operator asked for.
		c.setHealth(context.Background(), events.Unhealthy, "no member: no seed, discovered peer or former member "+
			"could be joined: "+err.Error())
	}
	if !c.due("alone") {
		return
	}
	c.log.Warn("this node has no member: no seed, discovered peer or former member could be joined", zap.Error(err))
}

// ForceSync exchanges the full state with every live member now (the bus's sync_forced).
func (c *Cluster) ForceSync(ctx context.Context) error {
	if c.running.Load() == nil {
		return errors.New("cluster: synchronisation is not running")
	}
	addrs := c.aliveAddrs()
	err := c.join(addrs)
	if len(addrs) > 0 && err != nil {
		return fmt.Errorf("cluster: sync: %w", err)
	}
	return nil
}

// AddPeer adds a peer's gossip address to the ones the rejoin loop tries (LAN discovery) and has the loop join it
// soon. It does not wait.
func (c *Cluster) AddPeer(node, addr string) {
	c.mu.Lock()
	_, known := c.seeds[addr]
	c.seeds[addr] = struct{}{}
	m, member := c.members[node]
	if !member || m.state != memberlist.StateAlive || m.addr != addr {
		c.discovered = append(c.discovered, addr)
	}
	if !known {
		c.stats.NodesDiscovered++
	}
	c.mu.Unlock()
	if !known {
		c.publishNode(context.Background(), events.NodeDiscovered, node, addr)
	}
	c.poke()
}

// broadcast is a queued memberlist broadcast; its name makes a newer change to a source replace the queued one.
type broadcast struct {
	name string
	msg  []byte
}

func (b *broadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*broadcast)
	return ok && o.name == b.name
}
func (b *broadcast) Name() string    { return b.name }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       {}
