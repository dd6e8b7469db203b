package integration

// `joyride setup`'s snippets in the real forwarders Debian packages (dnsmasq, unbound; Pi-hole's file is
// dnsmasq's), each run in the foreground on its own loopback address with the snippet as printed, against a
// running node: the zone's names are answered through them, and a name added after a miss is answered within
// what the snippet promises about negative caching.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// forwarderProgram returns the path of a forwarder's program. It skips the test when the program is missing,
// unless JOYRIDE_REQUIRE_FORWARDERS is set (.ci/run installs them and sets it), which makes that a failure.
func forwarderProgram(t *testing.T, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if path := filepath.Join("/usr/sbin", name); fileExists(path) {
		return path // root's programs, when the test's PATH lacks sbin
	}
	if os.Getenv("JOYRIDE_REQUIRE_FORWARDERS") != "" {
		t.Fatalf("%s is not installed and JOYRIDE_REQUIRE_FORWARDERS is set (apt-get install dnsmasq-base unbound)", name)
	}
	t.Skipf("%s is not installed (apt-get install dnsmasq-base unbound; JOYRIDE_REQUIRE_FORWARDERS makes this a failure)", name)
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startForwarder runs program with args in the foreground until the test ends, and waits until it answers
// ready, a name of the zone, through addr.
func startForwarder(t *testing.T, addr, ready string, program string, args ...string) {
	t.Helper()
	cmd := exec.Command(program, args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	var log strings.Builder
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("%s output:\n%s", filepath.Base(program), log.String())
			mu.Unlock()
		}
	})
	dnstest.Eventually(t, "udp", addr, dnstest.Query(ready, dns.TypeA), func(r *dns.Msg) bool {
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
	}, filepath.Base(program)+" answers "+ready)
}

// ask queries addr as a stub resolver (glibc's) does: the same query, from the same socket with the same ID, sent
// again after a second without a reply, three times. dnsmasq takes such a repeat for a retry and then asks every
// server of the domain, not only the one that answered last.
func ask(t *testing.T, addr, name string) *dns.Msg {
	t.Helper()
	r, err := tryAsk(addr, name)
	require.NoError(t, err, "query %s at %s", name, addr)
	return r
}

func tryAsk(addr, name string) (*dns.Msg, error) {
	conn, err := new(dns.Client).Dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	m := dnstest.Query(name, dns.TypeA)
	for range 3 {
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		if err = conn.WriteMsg(m); err != nil {
			continue
		}
		var r *dns.Msg
		if r, err = conn.ReadMsg(); err == nil && r.Id == m.Id {
			return r, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("no reply to query %d for %s", m.Id, name)
	}
	return nil, err
}

// unboundConfig is an unbound that runs in the foreground as the current user, in dir, on addr's port, with
// the validator a stock unbound has (the root's trust anchor: nothing is reachable here, so only names the
// snippet declares insecure resolve), and the snippet included as printed.
func unboundConfig(dir, ip string, port int, snippet string) string {
	return fmt.Sprintf(`server:
    interface: %s
    port: %d
    username: ""
    chroot: ""
    directory: %q
    pidfile: %q
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    do-ip6: no
    so-reuseport: no
    module-config: "validator iterator"
    trust-anchor: ". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"
remote-control:
    control-enable: no
include: %q
`, ip, port, dir, filepath.Join(dir, "unbound.pid"), snippet)
}

func TestSetupForwarders(t *testing.T) {
	p, hosts := startHTTP(t, nil, "dns.zones=lab.test")
	writeFile(t, filepath.Join(hosts, "lab"), "10.0.0.7 app.lab.test\n")
	p.eventually(t, "app.lab.test", dnstest.Query("app.lab.test.", dns.TypeA), answersA("10.0.0.7"))

	tests := []struct {
		kind, program, ip string
		// negative is how long the snippet lets the forwarder answer "no such name" for a name that now exists.
		negative time.Duration
		args     func(dir, ip string, port int, snippet string) []string
	}{
		{kind: "dnsmasq", program: "dnsmasq", ip: "127.0.0.31", args: dnsmasqArgs},
		{kind: "pihole", program: "dnsmasq", ip: "127.0.0.32", args: dnsmasqArgs},
		{kind: "unbound", program: "unbound", ip: "127.0.0.33", negative: 5 * time.Second,
			args: func(dir, ip string, port int, snippet string) []string {
				conf := filepath.Join(dir, "unbound.conf")
				writeFile(t, conf, unboundConfig(dir, ip, port, snippet))
				return []string{"-d", "-c", conf}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			program := forwarderProgram(t, tt.program)
			code, snippet, errOut := cliRun(t, nil, "setup", tt.kind, "--url=http://"+p.http)
			require.Equal(t, 0, code, errOut)
			assert.Empty(t, errOut)
			assert.Contains(t, snippet, "Nodes: "+p.udp+" (this node).", "the node's bound address, from its API")
			dir := t.TempDir()
			file := filepath.Join(dir, "joyride.conf")
			writeFile(t, file, snippet)
			port := freePort(t, []string{tt.ip}, 0)
			addr := tt.ip + ":" + itoa(port)
			startForwarder(t, addr, "app.lab.test.", program, tt.args(dir, tt.ip, port, file)...)
			assert.True(t, answersA("10.0.0.7")(ask(t, addr, "app.lab.test.")))

			// A miss, then the name appears: the forwarder answers it within what the snippet promises.
			late := tt.kind + "-late.lab.test."
			require.Equal(t, dns.RcodeNameError, ask(t, addr, late).Rcode, "%s does not exist yet", late)
			writeFile(t, filepath.Join(hosts, tt.kind), "10.0.0.9 "+late+"\n")
			p.eventually(t, late, dnstest.Query(late, dns.TypeA), answersA("10.0.0.9"))
			if tt.negative == 0 {
				assert.True(t, answersA("10.0.0.9")(ask(t, addr, late)), "no negative caching: answered at once")
				return
			}
			began := time.Now()
			require.Eventually(t, func() bool {
				r, err := tryAsk(addr, late)
				return err == nil && answersA("10.0.0.9")(r)
			},
				tt.negative+3*time.Second, 100*time.Millisecond, "answered within the snippet's %s", tt.negative)
			t.Logf("%s answered %s %v after the node did", tt.kind, late, time.Since(began).Round(10*time.Millisecond))
		})
	}
	p.stop(t)
}

// dnsmasqArgs runs dnsmasq in the foreground with nothing but the snippet: no /etc/resolv.conf, no /etc/hosts, no
// DHCP, on ip alone, as root without dropping to a user that may not exist.
func dnsmasqArgs(dir, ip string, port int, snippet string) []string {
	return []string{"--keep-in-foreground", "--conf-file=" + snippet, "--pid-file=" + filepath.Join(dir, "dnsmasq.pid"),
		"--user=" + currentUser(), "--no-resolv", "--no-hosts", "--port=" + itoa(port), "--listen-address=" + ip,
		"--bind-interfaces", "--log-facility=-", "--log-queries"}
}

// currentUser is the name dnsmasq keeps running as (root drops to "nobody" otherwise).
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

// A cluster node's snippet forwards to every member, each at its address and DNS port (from /dns/cluster): with
// the node that printed it stopped, the forwarder still answers through the other.
func TestSetupForwardsToEveryClusterNode(t *testing.T) {
	program := forwarderProgram(t, "dnsmasq")
	ips := []string{"127.0.0.41", "127.0.0.42"}
	c := newTestCluster(t, ips...)
	a := c.node(t, "a", ips[0], nil, "10.0.0.41 a.lab.test\n").start(t)
	b := c.node(t, "b", ips[1], []string{c.gossip(ips[0])}, "10.0.0.42 b.lab.test\n").start(t)
	a.answers(t, "b.lab.test.", "10.0.0.42", 10*time.Second)

	var snippet string
	require.Eventually(t, func() bool {
		code, out, _ := cliRun(t, nil, "setup", "dnsmasq", "--url=http://"+a.p.http)
		snippet = out
		return code == 0 && strings.Contains(out, "server=/lab.test/"+ips[1]+"#")
	}, 10*time.Second, 200*time.Millisecond, "b's DNS address in a's snippet: %s", snippet)
	assert.Contains(t, snippet, "# Nodes: "+a.dns+" (this node), "+b.dns+" (b).\n")
	assert.Contains(t, snippet, "server=/lab.test/"+ips[0]+"#"+itoa(c.dnsPort)+"\n")
	assert.Contains(t, snippet, "server=/lab.test/"+ips[1]+"#"+itoa(c.dnsPort)+"\n")

	dir := t.TempDir()
	file := filepath.Join(dir, "joyride.conf")
	writeFile(t, file, snippet)
	ip := "127.0.0.43"
	port := freePort(t, []string{ip}, 0)
	addr := ip + ":" + itoa(port)
	startForwarder(t, addr, "a.lab.test.", program, dnsmasqArgs(dir, ip, port, file)...)
	a.p.stop(t)
	require.Eventually(t, func() bool {
		r, err := tryAsk(addr, "b.lab.test.")
		return err == nil && answersA("10.0.0.42")(r)
	},
		10*time.Second, 200*time.Millisecond, "b answers through the forwarder with a stopped")
	b.p.stop(t)
}

// Without a node at the configuration's URL, setup describes this node from the configuration and says so; a
// node named with --url must answer.
func TestSetupWithoutANode(t *testing.T) {
	closed := itoa(freePort(t, []string{"127.0.0.1"}, 0))
	env := []string{"JOYRIDE_DNS_ZONES=lab.test", "DNS_PORT=5399", "JOYRIDE_HTTP_PORT=" + closed}
	code, out, errOut := cliRun(t, env, "setup", "dnsmasq")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "joyride: cannot reach the node at http://127.0.0.1:"+closed+": connection refused (is `joyride run` running "+
		"there, with the http module?); using the configuration alone (this node, no cluster members)", oneLine(t, errOut))
	assert.Contains(t, out, "\nserver=/lab.test/127.0.0.1#5399\n")

	code, out, errOut = cliRun(t, env, "setup", "unbound", "--url=127.0.0.1:"+closed)
	assert.Equal(t, 3, code)
	assert.Empty(t, out)
	assert.Contains(t, oneLine(t, errOut), "connection refused")

	code, _, errOut = cliRun(t, []string{"JOYRIDE_HTTP_PORT=" + closed}, "setup", "coredns")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "joyride: dns.zones is empty: Joyride then answers any name, and there is no zone to forward; set dns.zones\n")
}
