package integration

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// scrapeMetrics GETs /metrics from p's HTTP API and parses it with Prometheus' text parser.
func scrapeMetrics(t *testing.T, p *proc) statustest.Scrape {
	t.Helper()
	r := p.call(t, "GET", "/metrics", nil)
	require.Equal(t, 200, r.code, "GET /metrics: %s", r.body)
	require.Contains(t, r.header.Get("Content-Type"), "text/plain")
	return statustest.Parse(t, bytes.NewReader(r.body))
}

// TestMetrics scrapes the real binary: DNS queries asked with dns.Exchange counted by type and rcode and timed,
// a hosts file's records, files and bad lines, the bus's events by family, the build's version, and the Go
// runtime's and the process's metrics.
func TestMetrics(t *testing.T) {
	p, hosts := startHTTP(t, []string{"SEMANTIC_VERSION=2.7.1", "JOYRIDE_DNS_ZONES=lab.test"})
	writeFile(t, filepath.Join(hosts, "lab"), "10.0.0.10 web.lab.test\n10.0.0.11 db.lab.test\nnot a hosts line\n")
	p.eventually(t, "the hosts file is served", dnstest.Query("db.lab.test.", dns.TypeA), func(m *dns.Msg) bool {
		return len(m.Answer) == 1
	})

	before := scrapeMetrics(t, p)
	queries := []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"web.lab.test.", dns.TypeA, dns.RcodeSuccess},
		{"web.lab.test.", dns.TypeA, dns.RcodeSuccess},
		{"web.lab.test.", dns.TypeA, dns.RcodeSuccess},
		{"web.lab.test.", dns.TypeAAAA, dns.RcodeSuccess}, // no AAAA: NOERROR without answers
		{"missing.lab.test.", dns.TypeA, dns.RcodeNameError},
		{"missing.lab.test.", dns.TypeTXT, dns.RcodeNameError},
	}
	for _, q := range queries {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		resp, err := dns.Exchange(m, p.udp)
		require.NoError(t, err)
		require.Equal(t, q.rcode, resp.Rcode, "%s %s", q.name, dns.TypeToString[q.qtype])
	}
	delta := func(s statustest.Scrape, typ, rcode string) float64 {
		return s.Sum("joyride_dns_queries_total", "type", typ, "rcode", rcode) -
			before.Sum("joyride_dns_queries_total", "type", typ, "rcode", rcode)
	}
	var after statustest.Scrape
	// The server counts a batch of replies once it has sent them, so a scrape may come just before the count.
	require.Eventually(t, func() bool {
		after = scrapeMetrics(t, p)
		return delta(after, "A", "NOERROR") == 3 && delta(after, "AAAA", "NOERROR") == 1 &&
			delta(after, "A", "NXDOMAIN") == 1 && delta(after, "TXT", "NXDOMAIN") == 1
	}, 10*time.Second, 50*time.Millisecond, "queries by type and rcode")
	assert.Equal(t, float64(len(queries)),
		after.Series["joyride_dns_answer_duration_seconds_count"]-before.Series["joyride_dns_answer_duration_seconds_count"],
		"every answer timed")
	assert.Positive(t, after.Series["joyride_dns_answer_duration_seconds_sum"])
	assert.Equal(t, 1.0, after.Series["joyride_dns_serving"])

	assert.Equal(t, 2.0, after.Series[`joyride_records{source_kind="hosts"}`])
	assert.Equal(t, 1.0, after.Series["joyride_hosts_files"])
	assert.Equal(t, 2.0, after.Series["joyride_hosts_records"])
	assert.Equal(t, 1.0, after.Series["joyride_hosts_bad_lines"])

	for _, family := range []string{"hosts", "system", "dns"} {
		assert.Positive(t, after.Sum("joyride_events_published_total", "family", family), "published %s events", family)
		assert.Positive(t, after.Sum("joyride_events_delivered_total", "family", family), "delivered %s events", family)
	}
	assert.Contains(t, after.Families, "joyride_events_queue_depth")
	assert.Zero(t, after.Sum("joyride_events_dropped_total"))

	assert.Equal(t, 1.0, after.Sum("joyride_build_info", "version", "2.7.1"))
	for _, name := range []string{
		"go_goroutines", "go_gc_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes",
		"process_open_fds", "joyride_module_health",
	} {
		assert.Contains(t, after.Families, name)
	}
	require.Eventually(t, func() bool { return scrapeMetrics(t, p).Series["joyride_ready"] == 1 },
		10*time.Second, 50*time.Millisecond, "joyride_ready once every module has loaded")
	assert.Equal(t, 1.0, scrapeMetrics(t, p).Series[`joyride_module_health{module="hosts",state="healthy"}`])
	assert.NotContains(t, after.Families, "joyride_docker_connected", "the docker module is off")
	assert.NotContains(t, after.Families, "joyride_cluster_members", "the cluster module is off")
}
