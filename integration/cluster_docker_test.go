package integration

// A cluster of Joyride containers of the test-built image on a bridge network the test creates: what the
// in-process cluster tests (modules/cluster) simulate with a dropping transport, done with real sockets,
// `docker network disconnect` for a partition and `docker kill` for a crash.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// clusterTimings make failure detection take about a second and let the rejoin loop retry every second; the
// nodes log at debug level, shown only when a test fails.
var clusterTimings = []string{
	"JOYRIDE_CLUSTER_GOSSIP_INTERVAL=50ms",
	"JOYRIDE_CLUSTER_PROBE_INTERVAL=200ms",
	"JOYRIDE_CLUSTER_PROBE_TIMEOUT=100ms",
	"JOYRIDE_CLUSTER_SUSPICION_MULT=2",
	"JOYRIDE_CLUSTER_PUSH_PULL_INTERVAL=2s",
	"JOYRIDE_CLUSTER_GOSSIP_TO_THE_DEAD=2s",
	"JOYRIDE_CLUSTER_REJOIN_INTERVAL=1s",
	"JOYRIDE_CLUSTER_FAILED_GRACE=0s",
	"JOYRIDE_LOG_LEVEL=debug",
}

// clusterPort is cluster.port's default, which every node keeps: each container has an address of its own.
const clusterPort = "8890"

// testNetwork is a user-defined bridge network with a subnet of its own.
type testNetwork struct {
	name   string
	prefix string // "10.213.7.": the subnet's first three octets
}

func (n testNetwork) ip(host int) string { return n.prefix + strconv.Itoa(host) }

// broadcast is the subnet's broadcast address.
func (n testNetwork) broadcast() string { return n.ip(255) }

// createNetwork creates an internal bridge network (nothing on it reaches beyond it; the host reaches the
// containers through the bridge) on a free 10.213.x.0/24, removed when the test ends.
func createNetwork(t *testing.T, label string) testNetwork {
	t.Helper()
	name := "joyride-it-" + runID + "-" + label
	var errs []string
	for range 8 {
		prefix := fmt.Sprintf("10.213.%d.", rand.N(250)+1)
		_, err := dockerRun("network", "create", "--driver", "bridge", "--internal", "--subnet", prefix+"0/24",
			"--label", testLabel+"="+runID, name)
		if err == nil {
			t.Cleanup(func() { _, _ = dockerRun("network", "rm", name) })
			return testNetwork{name: name, prefix: prefix}
		}
		// Another network (another run's, or the machine's) holds that subnet: try another.
		errs = append(errs, err.Error())
	}
	t.Fatalf("docker network create: no free subnet:\n%s", strings.Join(errs, "\n"))
	return testNetwork{}
}

// clusterNode is one Joyride container on a test network, with a hosts directory of its own.
type clusterNode struct {
	id, container, ip string
	dnsAddr           string // ip:5353, the image's DNS port
	hosts             string // mounted at /app/hosts
	addr              string // the address of its own name, 10.0.1.<host>
}

// runClusterNode starts the image's joyride on the cluster profile without the docker module (one engine runs
// every node here, so every node would publish the same containers): the node shares its hosts files.
func runClusterNode(t *testing.T, image string, net testNetwork, id string, host int, env ...string) *clusterNode {
	t.Helper()
	n := &clusterNode{id: id, container: "joyride-it-" + runID + "-node-" + id, ip: net.ip(host),
		dnsAddr: net.ip(host) + ":5353", hosts: t.TempDir(), addr: "10.0.1." + strconv.Itoa(host)}
	// t.TempDir is 0700; the image's user 65532 must read it.
	require.NoError(t, os.Chmod(n.hosts, 0o755))
	writeFile(t, filepath.Join(n.hosts, "own"), n.addr+" "+n.name("own")+"\n")
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("docker", "logs", n.container).CombinedOutput()
			t.Logf("node %s logs:\n%s", id, logs)
		}
		_, _ = dockerRun("rm", "-f", n.container)
	})
	args := []string{"run", "-d", "--name", n.container, "--label", testLabel + "=" + runID,
		"--network", net.name, "--ip", n.ip, "-v", n.hosts + ":/app/hosts:ro",
		"-e", "JOYRIDE_MODULES_DOCKER=false", "-e", "JOYRIDE_DNS_ZONES=" + dockerZone,
		"-e", "JOYRIDE_CLUSTER_SHARE=hosts", "-e", "NODE_ID=" + id}
	for _, e := range append(append([]string{}, clusterTimings...), env...) {
		args = append(args, "-e", e)
	}
	dockerCLI(t, append(args, image, "run", "--profile", "cluster")...)
	return n
}

// name is a DNS name this node's hosts files publish.
func (n *clusterNode) name(what string) string { return dockerName(n.id + "-" + what) }

// seeds are the gossip addresses of the nodes at hosts, for cluster.join.
func seeds(net testNetwork, hosts ...int) string {
	var s []string
	for _, h := range hosts {
		s = append(s, net.ip(h)+":"+clusterPort)
	}
	return strings.Join(s, ",")
}

// answers waits until node answers name with ip.
func (n *clusterNode) answers(t *testing.T, name, ip string) time.Duration {
	t.Helper()
	return n.await(t, fmt.Sprintf("node %s answers %s", n.id, name), qA(name), answersA(ip), dnstest.EventuallyTimeout)
}

// lacks waits until node answers NXDOMAIN for name.
func (n *clusterNode) lacks(t *testing.T, name string) time.Duration {
	t.Helper()
	return n.await(t, fmt.Sprintf("node %s answers NXDOMAIN for %s", n.id, name), qA(name), nxdomain, dnstest.EventuallyTimeout)
}

// await polls node with m until check accepts the reply, for up to timeout, and returns how long that took.
func (n *clusterNode) await(t *testing.T, what string, m *dns.Msg, check func(*dns.Msg) bool, timeout time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	var last atomic.Pointer[string]
	ok := assert.Eventually(t, func() bool {
		r, err := dns.Exchange(m.Copy(), n.dnsAddr)
		if err != nil {
			s := err.Error()
			last.Store(&s)
			return false
		}
		s := r.String()
		last.Store(&s)
		return check(r)
	}, timeout, 20*time.Millisecond, what)
	if !ok {
		l := "(none)"
		if p := last.Load(); p != nil {
			l = *p
		}
		t.Fatalf("%s: not within %v; last reply or error:\n%s", what, timeout, l)
	}
	return time.Since(begin)
}

// TestDockerCluster runs three nodes that share their hosts files and proves, from the host, that every node
// answers every node's names; that a partition withdraws the cut-off node's names, heals by itself after the
// reconnect, carries the changes of both sides and keeps a deletion deleted; that a crash withdraws the node's
// names and a restart brings them back; and, with two more nodes, that LAN discovery forms a cluster on a bridge.
func TestDockerCluster(t *testing.T) {
	requireDocker(t)
	image := joyrideImage(t)
	net := createNetwork(t, "cluster")

	// Every node lists the other two as seeds, as a fixed cluster would.
	a := runClusterNode(t, image, net, "a", 11, "JOYRIDE_CLUSTER_DISCOVERY=false", "JOYRIDE_CLUSTER_JOIN="+seeds(net, 12, 13))
	b := runClusterNode(t, image, net, "b", 12, "JOYRIDE_CLUSTER_DISCOVERY=false", "JOYRIDE_CLUSTER_JOIN="+seeds(net, 11, 13))
	c := runClusterNode(t, image, net, "c", 13, "JOYRIDE_CLUSTER_DISCOVERY=false", "JOYRIDE_CLUSTER_JOIN="+seeds(net, 11, 12))
	nodes := []*clusterNode{a, b, c}
	// a's second file, deleted during the partition.
	writeFile(t, filepath.Join(a.hosts, "gone"), "10.0.1.99 "+a.name("gone")+"\n")

	t.Run("every node answers every node's names", func(t *testing.T) {
		for _, q := range nodes {
			for _, owner := range nodes {
				q.answers(t, owner.name("own"), owner.addr)
			}
			q.answers(t, a.name("gone"), "10.0.1.99")
		}
	})

	t.Run("partition: disconnect, changes on both sides, reconnect", func(t *testing.T) {
		dockerCLI(t, "network", "disconnect", net.name, c.container)
		connected := false
		t.Cleanup(func() {
			if !connected { // so that the next subtests find c on the network
				_, _ = dockerRun("network", "connect", "--ip", c.ip, net.name, c.container)
			}
		})
		for _, q := range []*clusterNode{a, b} {
			t.Logf("c's name gone from %s after %v", q.id, q.lacks(t, c.name("own")))
		}
		// While c is cut off: a adds a file and deletes one, c adds a file.
		writeFile(t, filepath.Join(a.hosts, "new"), "10.0.1.50 "+a.name("new")+"\n")
		require.NoError(t, os.Remove(filepath.Join(a.hosts, "gone")))
		writeFile(t, filepath.Join(c.hosts, "new"), "10.0.1.51 "+c.name("new")+"\n")
		// A few gossip intervals: a's joins of c (its rejoin loop), whose dials wait for memberlist's TCP timeout
		// (10 s) while c's packets vanish, run beside a's loop and do not hold a's own changes back.
		took := b.await(t, "b answers a's name added during the partition", qA(a.name("new")), answersA("10.0.1.50"),
			3*time.Second)
		t.Logf("a's change reached b during the partition after %v", took)
		b.lacks(t, a.name("gone"))

		dockerCLI(t, "network", "connect", "--ip", c.ip, net.name, c.container)
		connected = true
		// Nobody is told to join: the rejoin loops heal the partition.
		begin := time.Now()
		for _, q := range nodes {
			q.answers(t, c.name("own"), c.addr)
			q.answers(t, c.name("new"), "10.0.1.51")
			q.answers(t, a.name("new"), "10.0.1.50")
		}
		t.Logf("healed everywhere %v after the reconnect", time.Since(begin))
		// c's copy from before the partition still had a's deleted file: the deletion wins everywhere, also after
		// a full state exchange (push_pull_interval, 2s) has run.
		require.Never(t, func() bool {
			for _, q := range nodes {
				if r, err := dns.Exchange(qA(a.name("gone")), q.dnsAddr); err == nil && !nxdomain(r) {
					t.Logf("node %s answers the deleted name:\n%v", q.id, r)
					return true
				}
			}
			return false
		}, 3*time.Second, 100*time.Millisecond, "a name deleted during the partition came back")
	})

	t.Run("crash: kill, then start again", func(t *testing.T) {
		dockerCLI(t, "kill", b.container)
		for _, q := range []*clusterNode{a, c} {
			t.Logf("b's name gone from %s after %v", q.id, q.lacks(t, b.name("own")))
		}
		dockerCLI(t, "start", b.container)
		begin := time.Now()
		for _, q := range nodes {
			q.answers(t, b.name("own"), b.addr)
		}
		t.Logf("b's name back everywhere %v after the start", time.Since(begin))
		// The restarted node has the others' names back: it joined its seeds.
		b.answers(t, a.name("own"), a.addr)
		b.answers(t, c.name("new"), "10.0.1.51")
		b.lacks(t, a.name("gone"))
	})

	t.Run("discovery by broadcast on the bridge, no seeds", func(t *testing.T) {
		env := []string{"JOYRIDE_CLUSTER_DISCOVERY=true", "JOYRIDE_CLUSTER_DISCOVERY_ADDRESS=" + net.broadcast()}
		d := runClusterNode(t, image, net, "d", 21, env...)
		e := runClusterNode(t, image, net, "e", 22, env...)
		d.answers(t, e.name("own"), e.addr)
		e.answers(t, d.name("own"), d.addr)
		// a, b and c have discovery off and no seed of d's or e's: they stay a cluster of their own.
		r := dnstest.Exchange(t, "udp", a.dnsAddr, qA(d.name("own")))
		require.True(t, nxdomain(r), "a has d's name:\n%v", r)
	})
}
