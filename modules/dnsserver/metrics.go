package dnsserver

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

var (
	queriesDesc = prometheus.NewDesc("joyride_dns_queries_total",
		"DNS queries answered, by question type and the reply's rcode (forwarded queries under the upstream's rcode).",
		[]string{"type", "rcode"}, nil)
	latencyDesc = prometheus.NewDesc("joyride_dns_answer_duration_seconds",
		"Time from reading a DNS query to sending its reply; UDP replies sent in one batch count the batch's time. "+
			"Time a datagram waits in the kernel's receive queue is not counted: see the kernel's UDP receive-buffer "+
			"errors (RcvbufErrors) for saturation.",
		nil, nil)
	cacheHitsDesc = prometheus.NewDesc("joyride_dns_cache_hits_total",
		"UDP queries answered from the packed-answer cache.", nil, nil)
	forwardedDesc = prometheus.NewDesc("joyride_dns_forwarded_total",
		"DNS queries sent to the forwarders.", nil, nil)
	invalidDesc = prometheus.NewDesc("joyride_dns_invalid_packets_total",
		"DNS packets that could not be parsed (answered FORMERR when their header was readable).", nil, nil)
	panicsDesc = prometheus.NewDesc("joyride_dns_panics_total",
		"DNS queries whose handling panicked (answered SERVFAIL).", nil, nil)
	servingDesc = prometheus.NewDesc("joyride_dns_serving",
		"1 while both DNS listeners serve, 0 before start, after stop or once one has failed.", nil, nil)
)

// newCollector exports the server's counters to Prometheus when scraped (status.CollectorGroup): the query
// path only counts, as it did before there were metrics, and the labels and the histogram are built here.
func newCollector(s *Server) prometheus.Collector {
	return status.NewCollector(s.collect, queriesDesc, latencyDesc, cacheHitsDesc, forwardedDesc, invalidDesc,
		panicsDesc, servingDesc)
}

func (s *Server) collect(ch chan<- prometheus.Metric) {
	st := &s.stats
	// Only the pairs that occurred: there are hundreds, and most never do.
	for i := range st.replies {
		if n := st.replies[i].Load(); n > 0 {
			ch <- prometheus.MustNewConstMetric(queriesDesc, prometheus.CounterValue, float64(n),
				qtypeName(i/rcodeSlots), rcodeName(i%rcodeSlots))
		}
	}
	buckets := make(map[float64]uint64, len(latencyBounds))
	var count uint64
	for i := range st.latency.buckets {
		count += st.latency.buckets[i].Load()
		if i < len(latencyBounds) {
			buckets[latencyBounds[i].Seconds()] = count
		}
	}
	ch <- prometheus.MustNewConstHistogram(latencyDesc, count, float64(st.latency.sumNS.Load())/1e9, buckets)
	for _, m := range []struct {
		d *prometheus.Desc
		n uint64
	}{
		{cacheHitsDesc, st.cacheHits.Load()},
		{forwardedDesc, st.forwarded.Load()},
		{invalidDesc, st.invalid.Load()},
		{panicsDesc, st.panics.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.n))
	}
	serving := 0.0
	if s.Running() {
		serving = 1
	}
	ch <- prometheus.MustNewConstMetric(servingDesc, prometheus.GaugeValue, serving)
}
