package dnsserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

func TestCounterLabels(t *testing.T) {
	for _, c := range []struct {
		name        string
		qtype       uint16
		rcode       int
		typ, rcname string
	}{
		{"common", dns.TypeA, dns.RcodeSuccess, "A", "NOERROR"},
		{"last named type", dns.TypeANY, dns.RcodeNameError, "ANY", "NXDOMAIN"},
		{"type counted as other", dns.TypeNULL, dns.RcodeRefused, "OTHER", "REFUSED"},
		{"no question", 0, dns.RcodeFormatError, "OTHER", "FORMERR"},
		{"extended rcode", dns.TypeHTTPS, dns.RcodeBadCookie, "HTTPS", "BADCOOKIE"},
		{"rcode without a name", dns.TypeMX, 12, "MX", "RCODE12"},
		{"rcode past the named ones", dns.TypeSRV, 4000, "SRV", "OTHER"},
		{"negative rcode", dns.TypeTXT, -1, "TXT", "OTHER"},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := cell(c.qtype, c.rcode)
			require.GreaterOrEqual(t, i, 0)
			require.Less(t, i, cells)
			assert.Equal(t, c.typ, qtypeName(i/rcodeSlots))
			assert.Equal(t, c.rcname, rcodeName(i%rcodeSlots))
		})
	}
	seen := map[int]bool{}
	for _, q := range qtypes {
		s := qtypeSlot(q)
		assert.False(t, seen[s], "type %d has a slot of its own", q)
		seen[s] = true
		assert.Equal(t, dns.TypeToString[q], qtypeName(s))
	}
}

// TestCollector checks what the collector makes of the counters, as the query paths leave them.
func TestCollector(t *testing.T) {
	a := cell(dns.TypeA, dns.RcodeSuccess)
	aaaaNX := cell(dns.TypeAAAA, dns.RcodeNameError)
	for _, c := range []struct {
		name  string
		count func(*counters)
		want  map[string]float64
		none  []string // series that must not be there
	}{
		{
			name:  "nothing yet",
			count: func(*counters) {},
			want: map[string]float64{
				"joyride_dns_answer_duration_seconds_count": 0, "joyride_dns_cache_hits_total": 0,
				"joyride_dns_forwarded_total": 0, "joyride_dns_invalid_packets_total": 0,
				"joyride_dns_panics_total": 0, "joyride_dns_serving": 0,
			},
			none: []string{`joyride_dns_queries_total{rcode="NOERROR",type="A"}`},
		},
		{
			name: "a UDP batch",
			count: func(c *counters) {
				var tl tally
				tl.queries, tl.hits = 3, 2
				tl.reply(a)
				tl.reply(aaaaNX)
				tl.reply(a)
				tl.flush(c, 30*time.Microsecond)
			},
			want: map[string]float64{
				`joyride_dns_queries_total{rcode="NOERROR",type="A"}`:      2,
				`joyride_dns_queries_total{rcode="NXDOMAIN",type="AAAA"}`:  1,
				"joyride_dns_cache_hits_total":                             2,
				`joyride_dns_answer_duration_seconds_bucket{le="2.5e-05"}`: 0,
				`joyride_dns_answer_duration_seconds_bucket{le="5e-05"}`:   3,
				`joyride_dns_answer_duration_seconds_bucket{le="+Inf"}`:    3,
				"joyride_dns_answer_duration_seconds_count":                3,
				"joyride_dns_answer_duration_seconds_sum":                  90e-6,
			},
			none: []string{`joyride_dns_queries_total{rcode="NOERROR",type="AAAA"}`},
		},
		{
			name: "two batches and a forwarded reply",
			count: func(c *counters) {
				var tl tally
				tl.reply(a)
				tl.flush(c, 10*time.Microsecond)
				tl.reply(a)
				tl.flush(c, 20*time.Microsecond)
				c.forwarded.Add(1)
				c.answered(aaaaNX, 3*time.Second)
			},
			want: map[string]float64{
				`joyride_dns_queries_total{rcode="NOERROR",type="A"}`:      2,
				`joyride_dns_queries_total{rcode="NXDOMAIN",type="AAAA"}`:  1,
				"joyride_dns_forwarded_total":                              1,
				`joyride_dns_answer_duration_seconds_bucket{le="1e-05"}`:   1,
				`joyride_dns_answer_duration_seconds_bucket{le="2.5e-05"}`: 2,
				`joyride_dns_answer_duration_seconds_bucket{le="2.5"}`:     2,
				`joyride_dns_answer_duration_seconds_bucket{le="+Inf"}`:    3,
				"joyride_dns_answer_duration_seconds_sum":                  3.00003,
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewServer(testConfig(), newTestStore(t), zap.NewNop(), nil)
			require.NoError(t, err)
			c.count(&s.stats)
			got := statustest.Collect(t, newCollector(s)).Series
			for series, v := range c.want {
				if assert.Contains(t, got, series) {
					assert.InDelta(t, v, got[series], 1e-9, series)
				}
			}
			for _, series := range c.none {
				assert.NotContains(t, got, series)
			}
		})
	}
}

// TestCollectorCountsRealQueries answers queries of several types over both transports, cached, built and
// forwarded, and checks that every one is counted once, by its type and rcode, and timed.
func TestCollectorCountsRealQueries(t *testing.T) {
	cfg := testConfig()
	cfg.Forwarders = []string{dnstest.Serve(t, dns.HandlerFunc(upstream))}
	srv := startServer(t, cfg, newTestStore(t), nil, nil)
	queries := []struct {
		net   string
		name  string
		qtype uint16
		rcode int
	}{
		{"udp", "a.lab.test.", dns.TypeA, dns.RcodeSuccess},
		{"udp", "a.lab.test.", dns.TypeA, dns.RcodeSuccess}, // from the cache
		{"udp", "missing.lab.test.", dns.TypeAAAA, dns.RcodeNameError},
		{"tcp", "a.lab.test.", dns.TypeMX, dns.RcodeSuccess},
		{"udp", "example.com.", dns.TypeA, dns.RcodeSuccess},        // forwarded
		{"tcp", "nx.example.com.", dns.TypeTXT, dns.RcodeNameError}, // forwarded over TCP
		{"udp", "a.lab.test.", dns.TypeNULL, dns.RcodeSuccess},
	}
	for _, q := range queries {
		req := new(dns.Msg)
		req.SetQuestion(q.name, q.qtype)
		resp := dnstest.Exchange(t, q.net, addrOf(srv, q.net), req)
		require.Equal(t, q.rcode, resp.Rcode, "%s %s", q.name, dns.TypeToString[q.qtype])
	}
	want := map[string]float64{
		`joyride_dns_queries_total{rcode="NOERROR",type="A"}`:     3,
		`joyride_dns_queries_total{rcode="NXDOMAIN",type="AAAA"}`: 1,
		`joyride_dns_queries_total{rcode="NOERROR",type="MX"}`:    1,
		`joyride_dns_queries_total{rcode="NXDOMAIN",type="TXT"}`:  1,
		`joyride_dns_queries_total{rcode="NOERROR",type="OTHER"}`: 1,
		"joyride_dns_answer_duration_seconds_count":               7,
		"joyride_dns_cache_hits_total":                            1,
		"joyride_dns_forwarded_total":                             2,
		"joyride_dns_serving":                                     1,
	}
	// The UDP worker counts a batch once its replies are sent, so the last count may follow the reply.
	var got map[string]float64
	require.Eventually(t, func() bool {
		got = statustest.Collect(t, newCollector(srv)).Series
		for series, v := range want {
			if got[series] != v {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "want %v", want)
	assert.Positive(t, got["joyride_dns_answer_duration_seconds_sum"])
}
