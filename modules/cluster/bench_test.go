package cluster

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/miekg/dns"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
)

// The benchmarks run in-process clusters on 127.0.0.x at LAN timings: memberlist's gossip, probe, suspicion,
// push/pull and gossip-to-the-dead as DefaultConfig sets them, and its rejoin interval and failed grace too
// (setup needs no rejoin: a node joins its seed in Start). Each reports its time as ns/op, with the figure the
// issue's targets name as a custom metric. Results, and the machine they ran on: docs/benchmarks.md.

// lan gives a node DefaultConfig's timings in place of the tests' short ones.
func lan(c *Config) {
	d := DefaultConfig()
	c.GossipInterval, c.ProbeInterval, c.ProbeTimeout = d.GossipInterval, d.ProbeInterval, d.ProbeTimeout
	c.SuspicionMult, c.PushPullInterval, c.GossipToTheDead = d.SuspicionMult, d.PushPullInterval, d.GossipToTheDead
	c.RejoinInterval, c.FailedGrace = d.RejoinInterval, d.FailedGrace
}

// newBenchCluster is a test cluster with room for size nodes on consecutive addresses (firstHost hands out 12).
func newBenchCluster(b *testing.B, size int) *testCluster {
	hostMu.Lock()
	defer hostMu.Unlock()
	if nextHost+size > 250 {
		nextHost = 10
	}
	h := nextHost
	nextHost += max(size, 12)
	if nextHost > 250 {
		nextHost = 10
	}
	return &testCluster{t: b, net: newNetwork(), hosts: h}
}

// startLAN starts size nodes at LAN timings and waits until each sees all the others.
func startLAN(b *testing.B, size int) (*testCluster, []*testNode) {
	b.Helper()
	tc := newBenchCluster(b, size)
	nodes := make([]*testNode, size)
	for i := range nodes {
		nodes[i] = tc.add("n"+strconv.Itoa(i), lan)
	}
	tc.members(size, 60*time.Second)
	return tc, nodes
}

// stopAll stops the nodes, so that a benchmark making many clusters does not keep them running to its end.
func stopAll(nodes []*testNode) {
	for _, n := range nodes {
		n.stop()
	}
}

// changePairs is what a source holds at change i: count names of the node named owner, each with an address
// that differs from the one it had at change i-1.
func changePairs(owner string, count, i int) []string {
	pairs := make([]string, count)
	for j := range pairs {
		pairs[j] = fmt.Sprintf("h%d.%s.lab.test=10.%d.%d.%d", j, owner, i/250%250, i%250, j%250+1)
	}
	return pairs
}

// hostsPairs are count names of one large hosts file.
func hostsPairs(count int) []string {
	pairs := make([]string, count)
	for i := range pairs {
		pairs[i] = fmt.Sprintf("host%d.lab.test=10.%d.%d.%d", i, i>>16&255, i>>8&255, i&255)
	}
	return pairs
}

// answersAll reports whether n answers every "name=address" of pairs, and only that address. It looks at the
// last name first: a source is replaced at once, so that is enough to tell a node that has not got it yet.
func answersAll(pairs []string) func(*testNode) bool {
	return func(n *testNode) bool {
		for i := len(pairs) - 1; i >= 0; i-- {
			name, addr, _ := strings.Cut(pairs[i], "=")
			got := n.lookup(name)
			if len(got) != 1 || got[0] != addr {
				return false
			}
		}
		return true
	}
}

// holds reports whether n's store has count records of the source peer shares as source.
func holds(peer, source string, count int) func(*testNode) bool {
	return func(n *testNode) bool {
		set := n.store.Snapshot().SourceRecords(events.PeerSource(peer, source))
		return len(set) == count
	}
}

// waitAll polls every millisecond until ok holds for every node, and fails b after within. A node found done is
// not polled again: what it answers is replaced at once, never in parts.
func waitAll(b *testing.B, nodes []*testNode, within time.Duration, ok func(*testNode) bool) {
	b.Helper()
	pending := append([]*testNode(nil), nodes...)
	deadline := time.Now().Add(within)
	for {
		rest := pending[:0]
		for _, n := range pending {
			if !ok(n) {
				rest = append(rest, n)
			}
		}
		pending = rest
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d nodes not there within %s, the first %s", len(pending), len(nodes), within, pending[0].name)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle is the pause, timer stopped, between two changes: the previous change's retransmissions and metadata
// updates are over (memberlist sends a broadcast within a few gossip intervals of 200 ms).
const settle = time.Second

// reportTimes reports the mean and the worst of times in milliseconds, as "ms/<what>" and "ms/<what>-worst".
func reportTimes(b *testing.B, times []time.Duration, what string) {
	var sum, worst time.Duration
	for _, d := range times {
		sum += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(sum.Microseconds())/1e3/float64(len(times)), "ms/"+what)
	b.ReportMetric(float64(worst.Microseconds())/1e3, "ms/"+what+"-worst")
}

// BenchmarkConvergence: a change to one source on one node, until every node's store answers it. One name fits a
// packet (a delta broadcast, relayed); 200 names do not (a notice, and every node pulls the owner's state). The
// source node changes with each iteration.
func BenchmarkConvergence(b *testing.B) {
	for _, names := range []int{1, 200} {
		for _, size := range []int{3, 5, 20} {
			b.Run(fmt.Sprintf("names=%d/nodes=%d", names, size), func(b *testing.B) {
				_, nodes := startLAN(b, size)
				var times []time.Duration
				for b.Loop() {
					b.StopTimer()
					time.Sleep(settle)
					src := nodes[len(times)%size]
					pairs := changePairs(src.name, names, len(times))
					b.StartTimer()
					start := time.Now()
					src.set("docker:bench", pairs...)
					waitAll(b, nodes, 30*time.Second, answersAll(pairs))
					times = append(times, time.Since(start))
				}
				reportTimes(b, times, "converge")
			})
		}
	}
}

// BenchmarkCatchUp: a node joins a peer that shares a hosts file of 10,000 names, until the joiner's store has all
// of them. The time runs from the joiner's Start (bind, join: a push/pull over TCP) to the last record in its
// store; each iteration is a new cluster of two. stream-B/catch-up is what the two send over TCP meanwhile.
func BenchmarkCatchUp(b *testing.B) {
	const count = 10_000
	const source = "hosts:/etc/hosts.bench"
	pairs := hostsPairs(count)
	var times, joins []time.Duration
	m := &meter{}
	var sent int64
	for b.Loop() {
		b.StopTimer()
		tc := newBenchCluster(b, 2)
		tc.tap = m.tap
		holder := tc.add("holder", lan)
		holder.set(source, pairs...)
		waitAll(b, []*testNode{holder}, 10*time.Second, func(n *testNode) bool { return n.c.Status().Records == count })
		r := m.read()
		b.StartTimer()
		start := time.Now()
		joiner := tc.add("joiner", lan)
		joins = append(joins, time.Since(start))
		waitAll(b, []*testNode{joiner}, 30*time.Second, holds("holder", source, count))
		times = append(times, time.Since(start))
		b.StopTimer()
		sent += m.read().streamBytes - r.streamBytes
		stopAll(tc.nodes)
		b.StartTimer()
	}
	reportTimes(b, times, "catch-up")
	reportTimes(b, joins, "start")
	b.ReportMetric(float64(sent)/float64(len(times)), "stream-B/catch-up")
}

// liveHeap is the live heap after two full collections (the second frees what sweeping left from the first).
func liveHeap() int64 {
	var m runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkPeerRecordsHeap: the heap a node grows by when it holds a peer's 10,000 records (its store and its
// cluster copy, which share the names and values), as the growth of a node joining a peer with 10,000 records
// less that of a node joining a peer with none; and, for the split, the heap of a store alone holding the same
// records as the node's records handler stores them.
func BenchmarkPeerRecordsHeap(b *testing.B) {
	const count = 10_000
	const source = "hosts:/etc/hosts.bench"
	pairs := hostsPairs(count)
	// joinerHeap is the heap growth of a node joining a holder that shares records.
	joinerHeap := func(records []string) int64 {
		tc := newBenchCluster(b, 2)
		holder := tc.add("holder", lan)
		defer stopAll(tc.nodes)
		if len(records) > 0 {
			holder.set(source, records...)
			waitAll(b, []*testNode{holder}, 10*time.Second, func(n *testNode) bool { return n.c.Status().Records == len(records) })
		}
		// The holder keeps some 1 MB more for a few seconds after it shares 10,000 records; not the joiner's.
		time.Sleep(3 * time.Second)
		before := liveHeap()
		joiner := tc.add("joiner", lan)
		tc.members(2, 10*time.Second)
		waitAll(b, []*testNode{joiner}, 30*time.Second, holds("holder", source, len(records)))
		return liveHeap() - before
	}
	var node, empty, store int64
	for b.Loop() {
		empty += joinerHeap(nil)
		node += joinerHeap(pairs)

		setAt := time.UnixMilli(time.Now().UnixMilli()).UTC()
		before := liveHeap()
		s := dnsstore.New()
		recs := make([]dnsstore.Record, 0, count)
		for _, p := range pairs {
			name, addr, _ := strings.Cut(p, "=")
			r, err := dnsstore.NewRecord(dns.Fqdn(name), "A", addr, 60)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, r.WithSetAt(setAt))
		}
		s.ReplaceOwnedFrom(events.PeerSource("holder", source), dnsstore.Origin{Node: "holder"}, recs)
		store += liveHeap() - before
		runtime.KeepAlive(s)
	}
	n := float64(b.N)
	b.ReportMetric(float64(node-empty)/n/count, "heap-B/record")
	b.ReportMetric(float64(store)/n/count, "store-B/record")
	b.ReportMetric(float64(empty)/n/1024, "KiB/empty-node")
}

// meter counts what nodes send: packets as they are written, and streams both ways on the connections nodes dial.
// Every stream has one dialer, so a stream's bytes are counted once, whichever side writes them.
type meter struct {
	packets, packetBytes, streams, streamBytes atomic.Int64
}

type meterReading struct{ packets, packetBytes, streams, streamBytes int64 }

func (m *meter) read() meterReading {
	return meterReading{m.packets.Load(), m.packetBytes.Load(), m.streams.Load(), m.streamBytes.Load()}
}

func (r meterReading) sub(o meterReading) meterReading {
	return meterReading{r.packets - o.packets, r.packetBytes - o.packetBytes, r.streams - o.streams, r.streamBytes - o.streamBytes}
}

func (m *meter) tap(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	return &metered{NodeAwareTransport: t, m: m}
}

// metered is a node's own transport, counted; the network's filter wraps it, so what the filter drops is not.
type metered struct {
	memberlist.NodeAwareTransport
	m *meter
}

func (t *metered) packet(b []byte) {
	t.m.packets.Add(1)
	t.m.packetBytes.Add(int64(len(b)))
}

func (t *metered) stream(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	t.m.streams.Add(1)
	return &meteredConn{Conn: c, m: t.m}, nil
}

func (t *metered) WriteTo(b []byte, addr string) (time.Time, error) {
	t.packet(b)
	return t.NodeAwareTransport.WriteTo(b, addr)
}

func (t *metered) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.packet(b)
	return t.NodeAwareTransport.WriteToAddress(b, a)
}

func (t *metered) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.stream(t.NodeAwareTransport.DialTimeout(addr, timeout))
}

func (t *metered) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.stream(t.NodeAwareTransport.DialAddressTimeout(a, timeout))
}

type meteredConn struct {
	net.Conn
	m *meter
}

func (c *meteredConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.m.streamBytes.Add(int64(n))
	return n, err
}

func (c *meteredConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.m.streamBytes.Add(int64(n))
	return n, err
}

// BenchmarkBytesPerChange: what all five nodes of a cluster at steady state send in a window of 3 s that starts
// with a one-record change, less what they send in the 3 s window just before it, with no change. With push/pull
// every 30 s (the default) a push/pull may fall in either window (memberlist's first one comes 30 to 60 s after a
// node starts); with it off (push_pull_interval 0) the idle traffic is probes alone. B/push-pull is one full
// exchange, measured once at the start. ns/op is the change's convergence.
func BenchmarkBytesPerChange(b *testing.B) {
	const window = 3 * time.Second
	for _, pushPull := range []time.Duration{DefaultConfig().PushPullInterval, 0} {
		b.Run("push_pull="+pushPull.String(), func(b *testing.B) {
			m := &meter{}
			tc := newBenchCluster(b, 5)
			tc.tap = m.tap
			nodes := make([]*testNode, 5)
			for i := range nodes {
				nodes[i] = tc.add("n"+strconv.Itoa(i), lan, func(c *Config) { c.PushPullInterval = pushPull })
			}
			tc.members(5, 60*time.Second)
			src := nodes[2]
			src.set("docker:bench", changePairs(src.name, 1, 0)...)
			waitAll(b, nodes, 30*time.Second, answersAll(changePairs(src.name, 1, 0)))
			// One full exchange with each of the four others: the size of a push/pull in this cluster.
			r := m.read()
			if err := nodes[0].c.ForceSync(context.Background()); err != nil {
				b.Fatal(err)
			}
			pp := m.read().sub(r)
			time.Sleep(settle)
			var idle, changed meterReading
			i := 1
			for b.Loop() {
				b.StopTimer()
				r0 := m.read()
				time.Sleep(window)
				r1 := m.read()
				pairs := changePairs(src.name, 1, i)
				b.StartTimer()
				start := time.Now()
				src.set("docker:bench", pairs...)
				waitAll(b, nodes, window, answersAll(pairs))
				b.StopTimer()
				time.Sleep(time.Until(start.Add(window)))
				r2 := m.read()
				idle, changed = idle.add(r1.sub(r0)), changed.add(r2.sub(r1))
				i++
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(changed.packetBytes+changed.streamBytes-idle.packetBytes-idle.streamBytes)/n, "B/change")
			b.ReportMetric(float64(changed.packets-idle.packets)/n, "packets/change")
			b.ReportMetric(float64(changed.streams-idle.streams)/n, "streams/change")
			b.ReportMetric(float64(idle.packetBytes+idle.streamBytes)/n, "B/idle-window")
			b.ReportMetric(float64(changed.streamBytes-idle.streamBytes)/n, "stream-B/change")
			b.ReportMetric(float64(pp.streamBytes)/float64(pp.streams), "B/push-pull")
		})
	}
}

func (r meterReading) add(o meterReading) meterReading {
	return meterReading{r.packets + o.packets, r.packetBytes + o.packetBytes, r.streams + o.streams, r.streamBytes + o.streamBytes}
}

// BenchmarkDeadNodeWithdrawn: a node of five is killed (no leave); the time until no other node answers its
// record: failure detection (probe, suspicion) and the failed grace, at LAN timings. Each iteration is a new
// cluster.
func BenchmarkDeadNodeWithdrawn(b *testing.B) {
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		tc, nodes := startLAN(b, 5)
		victim, others := nodes[4], nodes[:4]
		pairs := changePairs(victim.name, 1, len(times))
		victim.set("docker:bench", pairs...)
		waitAll(b, others, 30*time.Second, answersAll(pairs))
		time.Sleep(settle)
		b.StartTimer()
		start := time.Now()
		victim.kill()
		name, _, _ := strings.Cut(pairs[0], "=")
		waitAll(b, others, 120*time.Second, func(n *testNode) bool { return len(n.lookup(name)) == 0 })
		times = append(times, time.Since(start))
		b.StopTimer()
		stopAll(tc.nodes)
		b.StartTimer()
	}
	reportTimes(b, times, "withdrawn")
}
