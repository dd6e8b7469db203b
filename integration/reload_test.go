package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// startWithConfig runs the binary on the hosts-only profile with the configuration file file, written with
// content first unless content is empty (the caller made it), with the HTTP API and its metrics on loopback.
func startWithConfig(t *testing.T, file, content string, set ...string) *proc {
	t.Helper()
	if content != "" {
		saveAs(t, file, content)
	}
	var flags []string
	for _, kv := range set {
		flags = append(flags, "--set", kv)
	}
	return start(t, nil, append([]string{"--profile", "hosts-only", "--config", file,
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories=" + t.TempDir(),
		"--set", "modules.http=true", "--set", "modules.metrics=true"}, flags...)...)
}

// saveAs writes path as editors do: a temporary file renamed over it.
func saveAs(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// static is a configuration file with one static record, a.lab.test A addr, and extra lines after it.
func static(addr string, extra ...string) string {
	return fmt.Sprintf("records:\n  - name: a.lab.test\n    type: A\n    value: %s\n%s", addr, strings.Join(extra, ""))
}

// answersA polls until a.lab.test answers with addr.
func (p *proc) answersA(t *testing.T, name, addr string) {
	t.Helper()
	p.eventually(t, name+" answers "+addr, dnstest.Query(name+".", dns.TypeA), func(m *dns.Msg) bool {
		return m.Rcode == dns.RcodeSuccess && len(m.Answer) == 1 && m.Answer[0].(*dns.A).A.String() == addr
	})
}

// reloadEvent waits for the log line of the n-th (from 1) configuration event of kind.
func (p *proc) reloadEvent(t *testing.T, kind string, n int) map[string]any {
	t.Helper()
	seen := 0
	return p.logs.wait(t, fmt.Sprintf("configuration event %s number %d", kind, n), 15*time.Second, func(e map[string]any) bool {
		if e["msg"] == "system/"+kind {
			seen++
		}
		return seen == n && e["msg"] == "system/"+kind
	})
}

// changedKeys are the keys of a configuration_changed log line, with " (restart)" after those needing one.
func changedKeys(e map[string]any) []string {
	var out []string
	changes, _ := e["changes"].([]any)
	for _, c := range changes {
		m := c.(map[string]any)
		k := m["key"].(string)
		if m["restart"] == true {
			k += " (restart)"
		}
		out = append(out, k)
	}
	return out
}

// TestReloadApplies: a save is applied while the node answers; a key that needs a restart is reported and the
// node keeps its old value. A querier asks throughout and must get an answer every time.
func TestReloadApplies(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joyride.yaml")
	auditLog := filepath.Join(t.TempDir(), "audit.jsonl")
	p := startWithConfig(t, file, static("10.0.0.1", "dns:\n  zones: [lab.test]\n  negative_ttl: 30\n"), "audit.path="+auditLog)
	p.answersA(t, "a.lab.test", "10.0.0.1")

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failures []string
	var asked int
	wg.Go(func() {
		c := &dns.Client{Timeout: 2 * time.Second}
		for i := 0; i < 20000 && ctx.Err() == nil; i++ {
			asked++
			m, _, err := c.Exchange(dnstest.Query("a.lab.test.", dns.TypeA), p.udp)
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1:
				failures = append(failures, m.String())
			}
		}
	})

	saveAs(t, file, static("10.0.0.2",
		"  - name: b.lab.test\n    type: A\n    value: 10.0.0.3\n",
		"dns:\n  zones: [lab.test]\n  negative_ttl: 7\n",
		"log:\n  level: debug\n  format: console\n"))
	e := p.reloadEvent(t, "configuration_changed", 1)
	assert.Equal(t, "warn", e["level"], "a key waits for a restart")
	assert.ElementsMatch(t, []string{"log.level", "log.format (restart)", "dns.negative_ttl", "records"}, changedKeys(e))
	p.answersA(t, "a.lab.test", "10.0.0.2")
	p.answersA(t, "b.lab.test", "10.0.0.3")
	// The records the reload changed share its correlation ID: the audit log and /events tie them to it.
	var corr []any
	for _, ev := range p.call(t, "GET", "/events?family=dns&limit=1000", nil).json(t)["events"].([]any) {
		m := ev.(map[string]any)
		if strings.Contains(m["summary"].(string), "a.lab.test. A 10.0.0.2") {
			corr = append(corr, m["correlation_id"])
		}
	}
	assert.Equal(t, []any{e["correlation_id"]}, corr, "the change of a.lab.test, correlated with the reload")
	// The audit log has the reload, one line per key, and the records it changed, under the same correlation ID.
	var lines []map[string]any
	require.Eventually(t, func() bool {
		lines = nil
		data, _ := os.ReadFile(auditLog)
		for l := range strings.Lines(string(data)) {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m), l)
			if m["correlation_id"] == e["correlation_id"] {
				lines = append(lines, m)
			}
		}
		return len(lines) == 6
	}, 10*time.Second, 50*time.Millisecond, "4 keys and 2 records in the audit log: %v", lines)
	var audited []string
	for _, l := range lines {
		if l["key"] != nil {
			audited = append(audited, fmt.Sprintf("%s %s restart=%v", l["kind"], l["key"], l["restart"] == true))
		} else {
			audited = append(audited, fmt.Sprintf("%s %s %s", l["kind"], l["name"], l["value"]))
		}
	}
	assert.ElementsMatch(t, []string{
		"configuration_changed dns.negative_ttl restart=false", "configuration_changed log.level restart=false",
		"configuration_changed records restart=false", "configuration_changed log.format restart=true",
		"record_updated a.lab.test. 10.0.0.2", "record_added b.lab.test. 10.0.0.3",
	}, audited)

	p.eventually(t, "negative TTL 7", dnstest.Query("missing.lab.test.", dns.TypeA), func(m *dns.Msg) bool {
		return m.Rcode == dns.RcodeNameError && len(m.Ns) == 1 && m.Ns[0].(*dns.SOA).Minttl == 7
	})
	stop()
	wg.Wait()
	assert.Empty(t, failures, "every one of %d queries during the reload answered", asked)
	assert.Positive(t, asked)

	// log.level is live, log.format is not: debug lines appear, still JSON.
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.logs.wait(t, "a debug line after the reload", 10*time.Second, func(e map[string]any) bool {
		return e["level"] == "debug" && e["msg"] == "configuration unchanged"
	})
	st := p.call(t, "GET", "/status", nil).json(t)
	cfg := st["modules"].(map[string]any)["config"].(map[string]any)
	assert.Equal(t, []any{"log.format"}, cfg["restart_pending"])
}

// TestReloadRejectsInvalidFile: an invalid save is rejected with `joyride config validate`'s error, as an event
// and a metric; the node keeps serving what it served; the next valid save is applied.
func TestReloadRejectsInvalidFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joyride.yaml")
	p := startWithConfig(t, file, static("10.0.0.1"))
	p.answersA(t, "a.lab.test", "10.0.0.1")

	saveAs(t, file, static("10.0.0.9", "log:\n  level: loud\n"))
	e := p.reloadEvent(t, "configuration_rejected", 1)
	assert.Equal(t, "error", e["level"])
	validate := exec.Command(binary, "config", "validate", "--profile", "hosts-only", file)
	out, err := validate.CombinedOutput()
	require.Error(t, err, "config validate rejects the file too: %s", out)
	assert.Equal(t, strings.TrimSpace(string(out)), e["error"], "the same error as config validate")
	assert.Contains(t, e["error"], file+":6", "it names the file and line")

	r := p.query(t, "udp", dnstest.Query("a.lab.test.", dns.TypeA))
	require.Len(t, r.Answer, 1)
	assert.Equal(t, "10.0.0.1", r.Answer[0].(*dns.A).A.String(), "the running configuration stays")
	require.Eventually(t, func() bool {
		return scrapeMetrics(t, p).Sum("joyride_config_reloads_total", "result", "rejected") == 1
	}, 10*time.Second, 50*time.Millisecond, "the rejection is counted")

	saveAs(t, file, static("10.0.0.9"))
	p.reloadEvent(t, "configuration_changed", 1)
	p.answersA(t, "a.lab.test", "10.0.0.9")
}

// TestReloadRapidSaves: ten saves in a row end with the last one served.
func TestReloadRapidSaves(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joyride.yaml")
	p := startWithConfig(t, file, static("10.0.0.100"))
	p.answersA(t, "a.lab.test", "10.0.0.100")
	for i := 1; i <= 10; i++ {
		saveAs(t, file, static(fmt.Sprintf("10.0.0.%d", i)))
	}
	p.answersA(t, "a.lab.test", "10.0.0.10")
	// And it stays there: no reload of an older save comes after it.
	p.reloadEvent(t, "configuration_changed", 1)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.logs.wait(t, "the SIGHUP reload", 10*time.Second, func(e map[string]any) bool {
		return e["msg"] == "SIGHUP: reloading the configuration"
	})
	p.answersA(t, "a.lab.test", "10.0.0.10")
}

// TestReloadConfigMapSwap: Kubernetes mounts a ConfigMap as a symlink into a directory it swaps atomically.
func TestReloadConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name, "joyride.yaml"), []byte(content), 0o644))
		require.NoError(t, os.Symlink(name, filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	version("..2026_11_30_1", static("10.0.0.1"))
	file := filepath.Join(dir, "joyride.yaml")
	require.NoError(t, os.Symlink("..data/joyride.yaml", file))
	p := startWithConfig(t, file, "")
	p.answersA(t, "a.lab.test", "10.0.0.1")

	version("..2026_11_30_2", static("10.0.0.2"))
	p.answersA(t, "a.lab.test", "10.0.0.2")
}

// TestReloadHangup: SIGHUP reloads, and does not end the process as it would by default.
func TestReloadHangup(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joyride.yaml")
	p := startWithConfig(t, file, static("10.0.0.1"))
	p.answersA(t, "a.lab.test", "10.0.0.1")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.logs.wait(t, "the SIGHUP reload", 10*time.Second, func(e map[string]any) bool {
		return e["msg"] == "SIGHUP: reloading the configuration"
	})
	require.Eventually(t, func() bool {
		return scrapeMetrics(t, p).Sum("joyride_config_reloads_total", "result", "unchanged") >= 2
	}, 10*time.Second, 50*time.Millisecond, "the start's reading and SIGHUP's")
	p.answersA(t, "a.lab.test", "10.0.0.1")
	select {
	case <-p.exited:
		t.Fatal("SIGHUP ended the process")
	default:
	}
	p.stop(t)
}

// TestReloadClusterKey: three real processes change cluster.key in their configuration files one after the other,
// the new key replacing the old outright. Gossip keeps flowing at every step (the rotation safeguard holds the
// new key back until every live member has it), the end state is the new key alone on every node, and a node
// that still has only the old key is refused.
func TestReloadClusterKey(t *testing.T) {
	oldKey, newKey := keygen(t), keygen(t)
	c := newTestCluster(t, "127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24")
	ips := []string{"127.0.0.21", "127.0.0.22", "127.0.0.23"}
	keyed := func(key string) string { return "cluster:\n  key: " + key + "\n" }
	var nodes []*testNode
	var files []string
	for i, id := range []string{"a", "b", "c"} {
		var join []string
		for j, ip := range ips {
			if j != i {
				join = append(join, c.gossip(ip))
			}
		}
		file := filepath.Join(t.TempDir(), "joyride.yaml")
		saveAs(t, file, keyed(oldKey))
		files = append(files, file)
		n := c.node(t, id, ips[i], join, fmt.Sprintf("10.0.2.%d %s.lab.test\n", i+1, id), "JOYRIDE_CONFIG="+file)
		nodes = append(nodes, n.start(t))
	}
	for i := range nodes {
		for _, n := range nodes {
			n.answers(t, nodes[i].id+".lab.test.", fmt.Sprintf("10.0.2.%d", i+1), 10*time.Second)
		}
	}
	keyring := func(n *testNode) []any {
		st := n.p.call(t, "GET", "/status", nil).json(t)
		ring, _ := st["dns_sync_cluster"].(map[string]any)["keyring"].([]any)
		return ring
	}
	oldRing := keyring(nodes[0])
	require.Len(t, oldRing, 1)

	for step, n := range nodes {
		saveAs(t, files[step], keyed(newKey))
		e := n.p.reloadEvent(t, "configuration_changed", 1)
		assert.Equal(t, []string{"cluster.key"}, changedKeys(e), "node %s", n.id)
		// A record added on the node that just changed reaches every node, and one of every node reaches it.
		name := fmt.Sprintf("step%d.%s.lab.test", step, n.id)
		writeFile(t, n.hosts, fmt.Sprintf("10.0.2.%d %s.lab.test\n10.0.3.%d %s\n", step+1, n.id, step+1, name))
		for _, other := range nodes {
			other.answers(t, name+".", fmt.Sprintf("10.0.3.%d", step+1), 15*time.Second)
		}
	}
	for _, n := range nodes {
		require.Eventually(t, func() bool {
			ring := keyring(n)
			return len(ring) == 1 && ring[0] != oldRing[0]
		}, 15*time.Second, 100*time.Millisecond, "node %s holds the new key alone", n.id)
	}

	stranger := c.node(t, "d", "127.0.0.24", []string{c.gossip(nodes[0].ip)}, "10.0.2.4 d.lab.test\n",
		"JOYRIDE_CLUSTER_KEY="+oldKey, "JOYRIDE_LOG_LEVEL=debug").start(t)
	stranger.p.logs.wait(t, "the stranger's failed join", 10*time.Second, func(e map[string]any) bool {
		return e["logger"] == "cluster" && e["msg"] == "join" && strings.Contains(fmt.Sprint(e["error"]), "no installed keys could decrypt")
	})
	for _, n := range nodes {
		n.requireAbsent(t, "d.lab.test.")
	}
}

// TestReloadHostsDirectories: the watched directories change with the file; a name in a directory kept is served
// throughout, a removed directory's names go, a new one's come.
func TestReloadHostsDirectories(t *testing.T) {
	kept, gone, added := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(kept, "lab"), "10.0.4.1 kept.lab.test\n")
	writeFile(t, filepath.Join(gone, "lab"), "10.0.4.2 gone.lab.test\n")
	writeFile(t, filepath.Join(added, "lab"), "10.0.4.3 added.lab.test\n")
	dirs := func(ds ...string) string {
		return "dns:\n  zones: [lab.test]\nhosts:\n  directories: [" + strings.Join(ds, ", ") + "]\n"
	}
	file := filepath.Join(t.TempDir(), "joyride.yaml")
	saveAs(t, file, dirs(kept, gone))
	p := start(t, nil, "--profile", "hosts-only", "--config", file,
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0")
	p.answersA(t, "kept.lab.test", "10.0.4.1")
	p.answersA(t, "gone.lab.test", "10.0.4.2")

	saveAs(t, file, dirs(kept, added))
	p.reloadEvent(t, "configuration_changed", 1)
	p.answersA(t, "added.lab.test", "10.0.4.3")
	p.eventually(t, "gone.lab.test is gone", dnstest.Query("gone.lab.test.", dns.TypeA), func(m *dns.Msg) bool {
		return m.Rcode == dns.RcodeNameError
	})
	p.answersA(t, "kept.lab.test", "10.0.4.1")
	// The kept directory's file was not announced again: its records did not change.
	keptFile := `"path":"` + filepath.Join(kept, "lab") + `"`
	announced := 0
	for l := range strings.Lines(p.logs.String()) {
		if strings.Contains(l, `"msg":"hosts/file_`) && strings.Contains(l, keptFile) {
			announced++
		}
	}
	assert.Equal(t, 1, announced, "the kept file, announced at start only")
}
