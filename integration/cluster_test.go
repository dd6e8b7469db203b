package integration

// Tests of the cluster module as it runs: the real binary as three processes, one per loopback address
// (127.0.0.11-13), all on the same DNS port and the same gossip port, sharing their hosts files. Everything is
// checked with DNS queries to each node and, where a query cannot tell, with the nodes' logs. memberlist's timings
// are cut to a fraction of a second so that failure detection takes about one; LAN discovery is off (it
// broadcasts beyond loopback).

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// failedGrace keeps a failed node's records this long on the others: a withdrawal sooner than this after a
// graceful stop cannot have come from failure detection.
const failedGrace = time.Second

// testNode is one joyride process of a test cluster, with its own address and hosts directory.
type testNode struct {
	id, ip string
	dns    string // the address it serves DNS at
	hosts  string // its hosts file
	env    []string
	p      *proc
}

// testCluster is the ports every node of one test uses, on its own address.
type testCluster struct {
	dnsPort, gossipPort int
}

// newTestCluster picks a DNS port and a gossip port that are free, for UDP and TCP, on every address in ips.
func newTestCluster(t *testing.T, ips ...string) *testCluster {
	t.Helper()
	dnsPort := freePort(t, ips, 0)
	return &testCluster{dnsPort: dnsPort, gossipPort: freePort(t, ips, dnsPort)}
}

// freePort returns a port other than not that is free for UDP and TCP on every address in ips. The kernel picks
// it on the first address; the others are tried, and another is picked if one is taken.
func freePort(t *testing.T, ips []string, not int) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ips[0], "0"))
		require.NoError(t, err)
		port := pc.LocalAddr().(*net.UDPAddr).Port
		require.NoError(t, pc.Close())
		if port != not && portFree(ips, port) {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0
}

func portFree(ips []string, port int) bool {
	for _, ip := range ips {
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		ln, err := net.Listen("tcp", addr)
		_ = pc.Close()
		if err != nil {
			return false
		}
		_ = ln.Close()
	}
	return true
}

// gossip is the gossip address of the node at ip.
func (c *testCluster) gossip(ip string) string {
	return net.JoinHostPort(ip, strconv.Itoa(c.gossipPort))
}

// node prepares a node: its ID, its address, the seeds it joins, the hosts file it starts with, and more
// environment (a cluster key). It does not start it.
func (c *testCluster) node(t *testing.T, id, ip string, join []string, hosts string, env ...string) *testNode {
	t.Helper()
	dir := t.TempDir()
	n := &testNode{id: id, ip: ip, dns: net.JoinHostPort(ip, itoa(c.dnsPort)), hosts: filepath.Join(dir, "hosts")}
	writeFile(t, n.hosts, hosts)
	n.env = append([]string{
		"NODE_ID=" + id,
		"DNS_BIND_ADDRESS=" + ip,
		"DNS_PORT=" + itoa(c.dnsPort),
		"SWIM_PORT=" + itoa(c.gossipPort),
		"HOSTS_DIRECTORY=" + dir,
		"JOYRIDE_MODULES_DOCKER=false",
		"JOYRIDE_DNS_ZONES=lab.test",
		"JOYRIDE_CLUSTER_BIND_ADDRESS=" + ip,
		"JOYRIDE_CLUSTER_ADVERTISE_ADDRESS=" + ip,
		"JOYRIDE_CLUSTER_JOIN=" + strings.Join(join, ","),
		"JOYRIDE_CLUSTER_DISCOVERY=false",
		"JOYRIDE_CLUSTER_SHARE=hosts",
		"JOYRIDE_CLUSTER_PROBE_INTERVAL=200ms",
		"JOYRIDE_CLUSTER_PROBE_TIMEOUT=100ms",
		"JOYRIDE_CLUSTER_GOSSIP_INTERVAL=50ms",
		"JOYRIDE_CLUSTER_SUSPICION_MULT=2",
		"JOYRIDE_CLUSTER_REJOIN_INTERVAL=1s",
		"JOYRIDE_CLUSTER_FAILED_GRACE=" + failedGrace.String(),
	}, env...)
	return n
}

// start runs the node and waits until it serves.
func (n *testNode) start(t *testing.T) *testNode {
	t.Helper()
	n.p = start(t, n.env, "--profile", "cluster")
	require.Equal(t, n.dns, n.p.udp, "DNS on the node's own address and the cluster's port")
	return n
}

// threeNodes starts nodes a, b and c on 127.0.0.11-13, each joining the other two, with the hosts files
// "10.0.0.1x <id>.lab.test" and "10.0.1.1x www.<id>.lab.test", and waits until every node answers every name.
func threeNodes(t *testing.T, c *testCluster, env ...string) []*testNode {
	t.Helper()
	ips := []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}
	var nodes []*testNode
	for i, id := range []string{"a", "b", "c"} {
		var join []string
		for j, ip := range ips {
			if j != i {
				join = append(join, c.gossip(ip))
			}
		}
		hosts := fmt.Sprintf("10.0.0.1%d %s.lab.test\n10.0.1.1%d www.%s.lab.test\n", i+1, id, i+1, id)
		nodes = append(nodes, c.node(t, id, ips[i], join, hosts, env...).start(t))
	}
	began := time.Now()
	for i, owner := range nodes {
		for _, n := range nodes {
			n.answers(t, owner.id+".lab.test.", fmt.Sprintf("10.0.0.1%d", i+1), 10*time.Second)
			n.answers(t, "www."+owner.id+".lab.test.", fmt.Sprintf("10.0.1.1%d", i+1), 10*time.Second)
		}
	}
	t.Logf("every node answered every node's names %v after the last one started", time.Since(began).Round(time.Millisecond))
	return nodes
}

// lookup asks the node for name's A records once; ok is false when no reply came.
func (n *testNode) lookup(name string) (rcode int, addrs []string, ok bool) {
	c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
	r, _, err := c.Exchange(dnstest.Query(name, dns.TypeA), n.dns)
	if err != nil {
		return 0, nil, false
	}
	for _, rr := range r.Answer {
		if a, isA := rr.(*dns.A); isA {
			addrs = append(addrs, a.A.String())
		}
	}
	return r.Rcode, addrs, true
}

// answers waits until the node answers name with exactly the address ip.
func (n *testNode) answers(t *testing.T, name, ip string, within time.Duration) {
	t.Helper()
	n.until(t, name, within, func(rcode int, addrs []string) bool {
		return rcode == dns.RcodeSuccess && len(addrs) == 1 && addrs[0] == ip
	}, "never answered "+name+" with "+ip)
}

// absent waits until the node answers NXDOMAIN for name.
func (n *testNode) absent(t *testing.T, name string, within time.Duration) {
	t.Helper()
	n.until(t, name, within, func(rcode int, _ []string) bool { return rcode == dns.RcodeNameError }, "still answers "+name)
}

// until asks the node for name until check accepts the reply, for up to within.
func (n *testNode) until(t *testing.T, name string, within time.Duration, check func(rcode int, addrs []string) bool, what string) {
	t.Helper()
	var mu sync.Mutex // the condition runs in a goroutine of testify's
	var last string
	ok := assert.Eventually(t, func() bool {
		rcode, addrs, replied := n.lookup(name)
		mu.Lock()
		defer mu.Unlock()
		last = fmt.Sprintf("replied=%v rcode=%s addrs=%v", replied, dns.RcodeToString[rcode], addrs)
		return replied && check(rcode, addrs)
	}, within, 20*time.Millisecond)
	if !ok {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("node %s %s within %v; last: %s", n.id, what, within, last)
	}
}

// requireAbsent requires NXDOMAIN for name from the node now.
func (n *testNode) requireAbsent(t *testing.T, name string) {
	t.Helper()
	rcode, addrs, ok := n.lookup(name)
	require.True(t, ok, "node %s answers", n.id)
	require.Equal(t, dns.RcodeNameError, rcode, "node %s: %s is unknown, got %v", n.id, name, addrs)
}

// nodeEvent reports whether the node logged the node event kind ("node_left", "node_failed") about id.
func (n *testNode) nodeEvent(kind, id string) bool {
	for _, line := range strings.Split(n.p.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"node/`+kind+`"`) && strings.Contains(line, `"node_id":"`+id+`"`) {
			return true
		}
	}
	return false
}

func TestClusterSharesHostsFiles(t *testing.T) {
	c := newTestCluster(t, "127.0.0.11", "127.0.0.12", "127.0.0.13")
	nodes := threeNodes(t, c)
	a, b, cn := nodes[0], nodes[1], nodes[2]

	// An edit on b: a changed address, a new name and a removed one reach a and c.
	began := time.Now()
	writeFile(t, b.hosts, "10.0.2.12 b.lab.test\n10.0.3.12 new.b.lab.test\n")
	for _, n := range nodes {
		n.answers(t, "b.lab.test.", "10.0.2.12", 5*time.Second)
		n.answers(t, "new.b.lab.test.", "10.0.3.12", 5*time.Second)
		n.absent(t, "www.b.lab.test.", 5*time.Second)
	}
	t.Logf("hosts file edit on b answered by all in %v", time.Since(began).Round(time.Millisecond))

	// kill -9 of c: memberlist finds it dead (a probe, then suspicion_mult × probe_interval) and its names go
	// from a and b after failed_grace, not before.
	require.NoError(t, cn.p.cmd.Process.Signal(syscall.SIGKILL))
	began = time.Now()
	for _, n := range []*testNode{a, b} {
		n.absent(t, "c.lab.test.", 6*time.Second)
		n.absent(t, "www.c.lab.test.", time.Second)
	}
	gone := time.Since(began)
	t.Logf("after SIGKILL, c's names gone from a and b in %v (failed_grace %v)", gone.Round(time.Millisecond), failedGrace)
	assert.GreaterOrEqual(t, gone, failedGrace, "a failed node's names are kept for failed_grace")
	assert.True(t, a.nodeEvent("node_failed", "c"), "a logged c as failed")
	a.answers(t, "b.lab.test.", "10.0.2.12", time.Second)
	<-cn.p.exited

	// c again, same environment: a new epoch, its names back everywhere, and the others' names on c.
	began = time.Now()
	cn.start(t)
	for _, n := range nodes {
		n.answers(t, "c.lab.test.", "10.0.0.13", 5*time.Second)
		n.answers(t, "www.c.lab.test.", "10.0.1.13", 5*time.Second)
		n.answers(t, "a.lab.test.", "10.0.0.11", 5*time.Second)
		n.answers(t, "new.b.lab.test.", "10.0.3.12", 5*time.Second)
	}
	t.Logf("c restarted and in sync with a and b in %v", time.Since(began).Round(time.Millisecond))

	// SIGTERM of b: it leaves, and a and c withdraw its names at once, well within failed_grace, which a
	// failure would have waited for after detecting it.
	require.NoError(t, b.p.cmd.Process.Signal(syscall.SIGTERM))
	began = time.Now()
	for _, n := range []*testNode{a, cn} {
		n.absent(t, "b.lab.test.", failedGrace)
		n.absent(t, "new.b.lab.test.", failedGrace)
	}
	t.Logf("after SIGTERM, b's names gone from a and c in %v", time.Since(began).Round(time.Millisecond))
	require.Equal(t, 0, b.p.wait(t, 20*time.Second), "b's exit code after SIGTERM")
	for _, n := range []*testNode{a, cn} {
		assert.True(t, n.nodeEvent("node_left", "b"), "node %s logged b as left", n.id)
		assert.False(t, n.nodeEvent("node_failed", "b"), "node %s did not take b for failed", n.id)
	}
	a.answers(t, "c.lab.test.", "10.0.0.13", time.Second)
	cn.answers(t, "a.lab.test.", "10.0.0.11", time.Second)
}

// A process given the node_id of a live node does not join: it exits non-zero naming the live node's address, and
// the live node's names stay answered everywhere without a moment's withdrawal.
func TestClusterDuplicateNodeID(t *testing.T) {
	c := newTestCluster(t, "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14")
	nodes := threeNodes(t, c)
	a := nodes[0]

	dup := c.node(t, "a", "127.0.0.14", []string{c.gossip(a.ip)}, "10.0.9.14 a.lab.test\n10.0.9.14 dup.lab.test\n")
	began := time.Now()
	dup.p = launch(t, dup.env, "run", "--profile", "cluster")
	code := dup.p.wait(t, 20*time.Second)
	t.Logf("the duplicate exited with %d in %v", code, time.Since(began).Round(time.Millisecond))
	assert.NotEqual(t, 0, code, "exit code of a node with a live node's ID")
	stderr := dup.p.stderr.String()
	assert.Contains(t, stderr, `node_id "a"`)
	assert.Contains(t, stderr, c.gossip(a.ip), "the error names the live node's address")

	for _, n := range nodes {
		n.answers(t, "a.lab.test.", "10.0.0.11", time.Second)
		n.requireAbsent(t, "dup.lab.test.")
		assert.False(t, n.nodeEvent("node_left", "a") || n.nodeEvent("node_failed", "a"), "node %s saw a go", n.id)
	}
}

// The node that refused a duplicate keeps running when it is later left alone: only the node that booted later
// gives way (it once did not: the refusing side recorded the conflict too, and its first failed rejoin once alone
// shut it down, naming the duplicate long gone).
func TestClusterRefusedDuplicateThenAlone(t *testing.T) {
	c := newTestCluster(t, "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14")
	nodes := threeNodes(t, c, "JOYRIDE_LOG_LEVEL=debug")
	a := nodes[0]
	dup := c.node(t, "a", "127.0.0.14", []string{c.gossip(a.ip)}, "10.0.9.14 dup.lab.test\n")
	dup.p = launch(t, dup.env, "run", "--profile", "cluster")
	require.NotEqual(t, 0, dup.p.wait(t, 20*time.Second))

	nodes[1].p.stop(t)
	nodes[2].p.stop(t)
	alone := time.Now()
	// Two failed rejoins of a after it was left alone: the rejoin loop has run while a had no member.
	const stopping = "stopping: another live node uses this node's ID"
	failures := 0
	entry := a.p.logs.wait(t, "a's second failed rejoin while alone", 10*time.Second, func(e map[string]any) bool {
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(e["time"]))
		if e["logger"] == "cluster" && e["msg"] == "join" && e["error"] != nil && at.After(alone) {
			failures++
		}
		return failures == 2 || e["msg"] == stopping
	})
	require.NotEqual(t, stopping, entry["msg"], "a stopped after it refused a duplicate and was left alone: %v", entry["error"])
	select {
	case <-a.p.exited:
		t.Fatalf("a exited: %v", a.p.err)
	default:
	}
	a.answers(t, "a.lab.test.", "10.0.0.11", time.Second)
}

// With a cluster key every node syncs as without; a node with another key never joins: neither side sees the
// other's names, and the stranger says why.
func TestClusterKeyed(t *testing.T) {
	key, other := keygen(t), keygen(t)
	require.NotEqual(t, key, other)
	c := newTestCluster(t, "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14")
	nodes := threeNodes(t, c, "JOYRIDE_CLUSTER_KEY="+key)
	for _, n := range nodes {
		assert.NotContains(t, n.p.logs.String(), "neither encrypted nor authenticated", "node %s is keyed", n.id)
	}

	// The stranger runs at debug level: a failed join is a debug line of the cluster's (the seed logs an error).
	stranger := c.node(t, "d", "127.0.0.14", []string{c.gossip(nodes[0].ip)}, "10.0.0.14 d.lab.test\n",
		"JOYRIDE_CLUSTER_KEY="+other, "JOYRIDE_LOG_LEVEL=debug").start(t)
	// Two failed joins, so that "never" covers a retry: the one at start, then one of the rejoin loop's.
	failures := 0
	stranger.p.logs.wait(t, "the stranger's second failed join", 10*time.Second, func(e map[string]any) bool {
		if e["logger"] == "cluster" && e["msg"] == "join" && strings.Contains(fmt.Sprint(e["error"]), "no installed keys could decrypt") {
			failures++
		}
		return failures == 2
	})
	nodes[0].p.logs.wait(t, "the seed's error about the stranger", time.Second, func(e map[string]any) bool {
		msg, _ := e["msg"].(string)
		return e["level"] == "error" && strings.Contains(msg, "no installed keys could decrypt")
	})
	stranger.answers(t, "d.lab.test.", "10.0.0.14", time.Second)
	stranger.requireAbsent(t, "a.lab.test.")
	for _, n := range nodes {
		n.requireAbsent(t, "d.lab.test.")
		n.answers(t, "a.lab.test.", "10.0.0.11", time.Second)
	}
}

// keygen runs `joyride cluster keygen` and returns the key it printed.
func keygen(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(binary, "cluster", "keygen").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}
