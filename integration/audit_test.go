package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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

// auditLines reads the audit log at path as JSON objects; a file that does not exist has none.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "%s: line %q is JSON", path, sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// change is an audit line as the tests compare it: "record_updated web.lab.test. 10.0.0.12 (was 10.0.0.10)".
func change(l map[string]any) string {
	s := fmt.Sprintf("%s %s %s", l["kind"], l["name"], l["value"])
	if prev, ok := l["previous"].(map[string]any); ok {
		s += fmt.Sprintf(" (was %s)", prev["value"])
	}
	return s
}

// replaceFile writes content to path at once, by renaming a dot-file (which the hosts module ignores) over it,
// so that the hosts module reads it once, whole.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	writeFile(t, tmp, content)
	require.NoError(t, os.Rename(tmp, path))
}

// auditStatus is the audit module's entry in /status.
func auditStatus(t *testing.T, p *proc) map[string]any {
	t.Helper()
	r := p.call(t, "GET", "/status", nil)
	require.Equal(t, http.StatusOK, r.code)
	st, ok := r.json(t)["modules"].(map[string]any)["audit"].(map[string]any)
	require.True(t, ok, "/status has the audit module: %s", r.body)
	return st
}

// eventuallyAudit polls /status until check accepts the audit module's entry.
func eventuallyAudit(t *testing.T, p *proc, what string, within time.Duration, check func(map[string]any) bool) map[string]any {
	t.Helper()
	var (
		mu sync.Mutex // the condition runs on a goroutine of testify's
		st map[string]any
	)
	if !assert.Eventually(t, func() bool {
		got := auditStatus(t, p)
		mu.Lock()
		st = got
		mu.Unlock()
		return check(got)
	}, within, 20*time.Millisecond, what) {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s: the audit status was last %v", what, st)
	}
	return st
}

func written(n int) func(map[string]any) bool {
	return func(st map[string]any) bool { return st["lines_written"] == float64(n) }
}

// TestAuditLog runs joyride with an audit log and a hosts file that is created, changed and removed: each change
// is a line, with the record, what it was before an update, its source and node, and the correlation ID of the
// hosts FileEvent in /events that caused it. A log file deleted under the node is started anew at its path.
func TestAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "audit.jsonl")
	p, hosts := startHTTP(t, []string{"JOYRIDE_AUDIT_PATH=" + path, "JOYRIDE_DNS_ZONES=lab.test"})
	file := filepath.Join(hosts, "lab")
	host, err := os.Hostname()
	require.NoError(t, err)

	steps := []struct {
		name  string
		do    func()
		check dnstest.Case
		kind  string // of the hosts FileEvent
		want  []string
	}{
		{"created", func() { replaceFile(t, file, "10.0.0.10 web.lab.test\n10.0.0.11 db.lab.test\n") },
			dnstest.Case{Qname: "db.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeSuccess}, "file_created",
			[]string{"record_added db.lab.test. 10.0.0.11", "record_added web.lab.test. 10.0.0.10"}},
		{"changed", func() { replaceFile(t, file, "10.0.0.12 web.lab.test\n10.0.0.13 api.lab.test\n") },
			dnstest.Case{Qname: "api.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeSuccess}, "file_changed",
			[]string{"record_added api.lab.test. 10.0.0.13", "record_removed db.lab.test. 10.0.0.11",
				"record_updated web.lab.test. 10.0.0.12 (was 10.0.0.10)"}},
		{"removed", func() { require.NoError(t, os.Remove(file)) },
			dnstest.Case{Qname: "api.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError}, "file_deleted",
			[]string{"record_removed api.lab.test. 10.0.0.13", "record_removed web.lab.test. 10.0.0.12"}},
	}
	total := 0
	for _, st := range steps {
		st.do()
		p.eventually(t, st.name, dnstest.Query(st.check.Qname, st.check.Qtype), func(m *dns.Msg) bool {
			return m.Rcode == st.check.Rcode
		})
		total += len(st.want)
		eventuallyAudit(t, p, st.name, 10*time.Second, written(total))
	}

	lines := auditLines(t, path)
	require.Len(t, lines, total)
	var fileEvents []any
	for _, e := range p.call(t, "GET", "/events?family=hosts&limit=1000", nil).json(t)["events"].([]any) {
		if e := e.(map[string]any); strings.HasPrefix(e["summary"].(string), file+" ") {
			fileEvents = append(fileEvents, e)
		}
	}
	require.Len(t, fileEvents, len(steps), "one hosts FileEvent per step: %v", fileEvents)
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			fe := fileEvents[i].(map[string]any)
			require.Equal(t, st.kind, fe["kind"])
			var got []string
			for _, l := range lines {
				if l["correlation_id"] == fe["correlation_id"] {
					got = append(got, change(l))
					assert.Equal(t, "hosts:"+file, l["source"])
					assert.Equal(t, host, l["node"], "this node's source is owned by this node")
					assert.Equal(t, "A", l["type"])
					assert.Equal(t, float64(60), l["ttl"])
					ts, err := time.Parse(time.RFC3339Nano, l["time"].(string))
					require.NoError(t, err)
					assert.WithinDuration(t, time.Now(), ts, time.Minute)
				}
			}
			assert.Equal(t, st.want, got, "the lines whose correlation ID is the FileEvent's")
		})
	}

	st := auditStatus(t, p)
	assert.Equal(t, map[string]any{"path": path, "state": "writing", "node": host, "lines_written": float64(total),
		"lines_dropped": float64(0), "write_errors": float64(0), "rotations": float64(0), "queued": float64(0),
		"retry": map[string]any{"state": "closed", "failures": float64(0), "retries": float64(0)}}, st)
	m := scrapeMetrics(t, p)
	assert.Equal(t, float64(total), m.Sum("joyride_audit_lines_written_total"))
	assert.Equal(t, 1.0, m.Sum("joyride_audit_writing"))

	// The log file deleted under the node: the next lines start a new file at the path.
	require.NoError(t, os.Remove(path))
	replaceFile(t, filepath.Join(hosts, "more"), "10.0.0.50 new.lab.test\n")
	eventuallyAudit(t, p, "after the file was deleted", 10*time.Second, written(total+1))
	lines = auditLines(t, path)
	require.Len(t, lines, 1)
	assert.Equal(t, "record_added new.lab.test. 10.0.0.50", change(lines[0]))
	p.stop(t)
}

// TestAuditRotation: with a small max_size the log rotates, keeps max_files files, none past the size, and no
// line is split: the files hold the newest lines, in order.
func TestAuditRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	p, hosts := startHTTP(t, []string{"JOYRIDE_AUDIT_PATH=" + path, "JOYRIDE_AUDIT_MAX_SIZE=1024", "JOYRIDE_AUDIT_MAX_FILES=3"})
	var b strings.Builder
	var want []string
	for i := range 40 {
		fmt.Fprintf(&b, "10.0.1.%d n%02d.lab.test\n", i, i)
		want = append(want, fmt.Sprintf("record_added n%02d.lab.test. 10.0.1.%d", i, i))
	}
	replaceFile(t, filepath.Join(hosts, "many"), b.String())
	st := eventuallyAudit(t, p, "40 lines", 10*time.Second, written(40))
	assert.Greater(t, st["rotations"], float64(2))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"}, names, "max_files files, the current one included")
	var got []string
	for _, name := range []string{"audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.LessOrEqual(t, fi.Size(), int64(1024), name)
		lines := auditLines(t, filepath.Join(dir, name))
		assert.NotEmpty(t, lines, name)
		for _, l := range lines {
			got = append(got, change(l))
		}
	}
	require.NotEmpty(t, got)
	assert.Equal(t, want[len(want)-len(got):], got, "the newest lines, in order, none split or lost between files")
	p.stop(t)
}

// logCount counts p's log lines with message msg whose field key is value.
func (p *proc) logCount(msg, key, value string, also func(map[string]any) bool) int {
	n := 0
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg && e[key] == value && (also == nil || also(e)) {
			n++
		}
	}
	return n
}

// TestAuditFailures: a path under a regular file, a full disk (/dev/full, which fails every write for root too)
// and a deleted directory are each reported at once and once: an unhealthy HealthEvent and its one error line at
// the first failure, however often the writer retries. The retries follow the retry policy, capped at 1 s: the
// gaps between the audit's retry events on /events are the policy's (requireBackoff), the status and the metrics
// show the path's circuit, and its opening is one warning whatever the number of failed probes. The node is ready
// meanwhile. The lines are kept and written by the first probe after the problem clears, an open interval after
// the last failure, with one healthy line and one recovered line.
func TestAuditFailures(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares base and returns the audit path; broken breaks it once the node runs (nil: it starts
		// broken); fix clears the problem.
		setup  func(t *testing.T, base string) string
		broken func(t *testing.T, base string)
		fix    func(t *testing.T, base string)
		errMsg string
	}{
		{
			name: "a path under a regular file",
			setup: func(t *testing.T, base string) string {
				writeFile(t, filepath.Join(base, "logs"), "not a directory\n")
				return filepath.Join(base, "logs", "audit.jsonl")
			},
			fix:    func(t *testing.T, base string) { require.NoError(t, os.Remove(filepath.Join(base, "logs"))) },
			errMsg: "not a directory",
		},
		{
			name: "a full disk",
			setup: func(t *testing.T, base string) string {
				path := filepath.Join(base, "audit.jsonl")
				require.NoError(t, os.Symlink("/dev/full", path))
				return path
			},
			fix:    func(t *testing.T, base string) { require.NoError(t, os.Remove(filepath.Join(base, "audit.jsonl"))) },
			errMsg: "no space left on device",
		},
		{
			name: "a deleted directory",
			setup: func(t *testing.T, base string) string {
				require.NoError(t, os.Mkdir(filepath.Join(base, "logs"), 0o755))
				return filepath.Join(base, "logs", "audit.jsonl")
			},
			broken: func(t *testing.T, base string) { require.NoError(t, os.RemoveAll(filepath.Join(base, "logs"))) },
			fix:    func(t *testing.T, base string) { require.NoError(t, os.Mkdir(filepath.Join(base, "logs"), 0o755)) },
			errMsg: "no such file or directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			path := tt.setup(t, base)
			p, hosts := startHTTP(t, []string{"JOYRIDE_AUDIT_PATH=" + path})
			if tt.broken != nil {
				replaceFile(t, filepath.Join(hosts, "before"), "10.0.0.1 before.lab.test\n")
				eventuallyAudit(t, p, "the line before", 10*time.Second, written(1))
				tt.broken(t, base)
			}
			replaceFile(t, filepath.Join(hosts, "lab"), "10.0.0.10 web.lab.test\n10.0.0.11 db.lab.test\n")
			p.eventually(t, "the hosts file is served", dnstest.Query("db.lab.test.", dns.TypeA), func(m *dns.Msg) bool {
				return len(m.Answer) == 1
			})
			unhealthy := func(e map[string]any) bool {
				return e["msg"] == "health/unhealthy" && e["component"] == "audit"
			}
			e := p.logs.wait(t, "the audit log reported unhealthy", 10*time.Second, unhealthy)
			assert.Equal(t, "error", e["level"])
			assert.Contains(t, e["message"], tt.errMsg)
			assert.Contains(t, e["message"], path)

			// Retried under the policy: the failed attempts, the circuit opening, and two probes.
			evs := p.waitRetries(t, "two probes", "audit", 20*time.Second, func(evs []retryEvent) bool {
				return count(evs, "circuit_half_open") >= 2
			})
			requireBackoff(t, evs)
			assert.Contains(t, evs[0].Summary, path+" attempt_failed after 1 failures") // the error, cut short
			st := auditStatus(t, p)
			assert.Equal(t, "failing", st["state"])
			assert.Contains(t, st["error"], tt.errMsg)
			assert.Equal(t, float64(2), st["queued"], "the lines are kept")
			r, _ := st["retry"].(map[string]any)
			require.NotNil(t, r, "the status shows the path's circuit: %v", st)
			assert.Contains(t, []any{"open", "half_open"}, r["state"])
			assert.GreaterOrEqual(t, r["failures"], 5.0)
			health, _ := p.component(t, "audit")
			assert.Equal(t, "unhealthy", health["state"])
			assert.Contains(t, health["message"], tt.errMsg, "the first failure's report, not said again")
			p.eventuallyJSON(t, "ready while the audit log fails", "/ready", http.StatusOK, func(map[string]any) bool { return true })
			m := scrapeMetrics(t, p)
			assert.GreaterOrEqual(t, m.Sum("joyride_audit_write_errors_total"), 5.0)
			assert.Equal(t, 0.0, m.Sum("joyride_audit_writing"))
			assert.Equal(t, 1.0, m.Sum("joyride_retry_circuit", "source", "audit", "target", path, "state", "open")+
				m.Sum("joyride_retry_circuit", "source", "audit", "target", path, "state", "half_open"))
			assert.GreaterOrEqual(t, m.Sum("joyride_retry_failures_total", "source", "audit", "target", path), 5.0)

			tt.fix(t, base)
			p.logs.wait(t, "the audit log healthy again", 10*time.Second, func(e map[string]any) bool {
				return e["msg"] == "health/healthy" && e["component"] == "audit" && e["source"] == "audit" &&
					strings.Contains(e["message"].(string), "again")
			})
			before := 0
			if tt.broken != nil {
				before = 1
			}
			eventuallyAudit(t, p, "the kept lines written", 10*time.Second, written(before+2))
			var got []string
			for _, l := range auditLines(t, path) {
				got = append(got, change(l))
			}
			assert.Equal(t, []string{"record_added db.lab.test. 10.0.0.11", "record_added web.lab.test. 10.0.0.10"}, got)
			st = auditStatus(t, p)
			assert.Equal(t, "writing", st["state"])
			assert.Equal(t, "closed", st["retry"].(map[string]any)["state"])

			// Written by a probe, made an open interval after the last failed one.
			evs = p.waitRetries(t, "recovered", "audit", 10*time.Second, func(evs []retryEvent) bool {
				return len(evs) > 0 && evs[len(evs)-1].Kind == "recovered"
			})
			n := len(evs)
			require.GreaterOrEqual(t, n, 3)
			assert.Equal(t, []string{"circuit_opened", "circuit_half_open"}, []string{evs[n-3].Kind, evs[n-2].Kind}, "%v", evs)
			gap := evs[n-2].Timestamp.Sub(evs[n-3].Timestamp)
			assert.GreaterOrEqual(t, gap, 1400*time.Millisecond, "the open interval, 2s ±20%%: %v", evs)
			assert.LessOrEqual(t, gap, 3200*time.Millisecond, "the open interval, 2s ±20%%: %v", evs)

			// One line per change of state, never one per try: the failure (at once), the circuit opening, the
			// recovery of the circuit and that of the log.
			assert.Equal(t, 1, p.logCount("health/unhealthy", "component", "audit", nil), "one line for the failure")
			assert.Equal(t, 1, p.logCount("retry/circuit_opened", "source", "audit", func(e map[string]any) bool {
				return e["level"] == "warn"
			}), "one warning for the circuit, not one per failed probe")
			assert.Zero(t, p.logCount("retry/attempt_failed", "source", "audit", nil), "the tries at debug level only")
			assert.Equal(t, 1, p.logCount("retry/recovered", "source", "audit", nil))
			assert.Equal(t, 1, p.logCount("health/healthy", "component", "audit", func(e map[string]any) bool {
				return strings.Contains(e["message"].(string), "again")
			}))
			p.stop(t)
		})
	}
}

// TestAuditReloadRetargets: a reload that moves a failing audit log (its circuit open) to a path that works
// writes the kept lines there, and the reload's own; the new path is the breaker's target, closed, and the old one
// is gone from /status and /metrics; the module is healthy again.
func TestAuditReloadRetargets(t *testing.T) {
	dir := t.TempDir()
	full, good := filepath.Join(dir, "full.jsonl"), filepath.Join(dir, "good.jsonl")
	require.NoError(t, os.Symlink("/dev/full", full))
	file := filepath.Join(dir, "joyride.yaml")
	p := startWithConfig(t, file, static("10.0.0.1", "audit:\n  path: "+full+"\n"))
	p.waitRetries(t, "the circuit open", "audit", 20*time.Second, func(evs []retryEvent) bool {
		return count(evs, "circuit_opened") >= 1
	})
	assert.Contains(t, []any{"open", "half_open"}, auditStatus(t, p)["retry"].(map[string]any)["state"])

	saveAs(t, file, static("10.0.0.1", "audit:\n  path: "+good+"\n"))
	p.reloadEvent(t, "configuration_changed", 1)
	st := eventuallyAudit(t, p, "the kept line and the reload's", 10*time.Second, written(2))
	var got []string
	for _, l := range auditLines(t, good) {
		got = append(got, fmt.Sprintf("%s %v", l["kind"], l["name"])+fmt.Sprint(l["key"]))
	}
	assert.Equal(t, []string{"record_added a.lab.test.<nil>", "configuration_changed <nil>audit.path"}, got)
	assert.Equal(t, good, st["path"])
	assert.Equal(t, "writing", st["state"])
	assert.Equal(t, map[string]any{"state": "closed", "failures": float64(0), "retries": float64(0)}, st["retry"])
	m := scrapeMetrics(t, p)
	assert.Equal(t, 1.0, m.Sum("joyride_retry_circuit", "source", "audit", "target", good, "state", "closed"))
	assert.Zero(t, m.Sum("joyride_retry_circuit", "source", "audit", "target", full), "the old path forgotten")
	health, _ := p.component(t, "audit")
	assert.Equal(t, "healthy", health["state"])
	assert.Equal(t, "writing the audit log "+good+" again", health["message"])
	p.stop(t)
}

// TestAuditLargeHostsFile: every change of a 100,000-line hosts file, loaded and then edited whole, reaches the
// audit log, although the records handler publishes at most record_events per-record events for it; and DNS
// keeps answering all the while.
func TestAuditLargeHostsFile(t *testing.T) {
	const n = 100_000
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	p, hosts := startHTTP(t, []string{"JOYRIDE_AUDIT_PATH=" + path})
	replaceFile(t, filepath.Join(hosts, "probe"), "10.0.0.1 probe.lab.test\n")
	p.eventually(t, "the probe is served", dnstest.Query("probe.lab.test.", dns.TypeA), func(m *dns.Msg) bool {
		return len(m.Answer) == 1
	})
	eventuallyAudit(t, p, "the probe's line", 10*time.Second, written(1))

	// Queries for the probe while the big file is applied and audited: every one must be answered.
	stop := make(chan struct{})
	var (
		wg              sync.WaitGroup
		queries, failed int
		slowest         time.Duration
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &dns.Client{Timeout: 2 * time.Second}
		for range 100_000 { // bounded; stopped long before
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			m, _, err := c.Exchange(dnstest.Query("probe.lab.test.", dns.TypeA), p.udp)
			slowest = max(slowest, time.Since(start))
			queries++
			if err != nil || len(m.Answer) != 1 {
				failed++
			}
			time.Sleep(time.Millisecond)
		}
	}()
	big := func(second byte) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%d.%d.%d.%d host-%d.big.test\n", second, i>>16&255, i>>8&255, i&255, i)
		}
		return b.String()
	}
	replaceFile(t, filepath.Join(hosts, "big"), big(10))
	eventuallyAudit(t, p, "every added record", 2*time.Minute, written(1+n))
	replaceFile(t, filepath.Join(hosts, "big"), big(11))
	st := eventuallyAudit(t, p, "every updated record", 2*time.Minute, written(1+2*n))
	close(stop)
	wg.Wait()

	assert.Equal(t, float64(0), st["lines_dropped"])
	kinds := map[string]int{}
	names := map[string]bool{}
	for _, l := range auditLines(t, path) {
		kinds[l["kind"].(string)]++
		if l["kind"] == "record_updated" {
			names[l["name"].(string)] = true
			assert.True(t, strings.HasPrefix(l["value"].(string), "11."), "%v", l)
			assert.True(t, strings.HasPrefix(l["previous"].(map[string]any)["value"].(string), "10."), "%v", l)
		}
	}
	assert.Equal(t, map[string]int{"record_added": 1 + n, "record_updated": n}, kinds)
	assert.Len(t, names, n, "each record's update, once")
	assert.True(t, names["host-0.big.test."] && names[fmt.Sprintf("host-%d.big.test.", n-1)], "the first and the last")
	assert.Positive(t, queries)
	assert.Zero(t, failed, "of %d queries during the load and the edit", queries)
	t.Logf("%d queries during two 100,000-record changes, the slowest answered in %v", queries, slowest)
	p.stop(t)
}
