// Package statustest reads metrics as Prometheus does, for the tests of the modules' collectors and of
// /metrics: a collector's metrics go through a pedantic registry (which checks them against their
// descriptions), the text exposition format and Prometheus' own text parser.
package statustest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// Scrape is one scrape, parsed.
type Scrape struct {
	// Families are the metric families by name, as Prometheus' text parser returns them.
	Families map[string]*dto.MetricFamily
	// Series are the samples by series, written as in PromQL with sorted labels:
	// `joyride_dns_queries_total{rcode="NOERROR",type="A"}`. A histogram gives its _count, _sum and
	// _bucket{le="…"} series.
	Series map[string]float64
}

// Collect scrapes the collectors cs, registered together in a new pedantic registry.
func Collect(t testing.TB, cs ...prometheus.Collector) Scrape {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		require.NoError(t, reg.Register(c))
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
	}
	return Parse(t, &buf)
}

// Parse parses a scrape in the text exposition format (what GET /metrics serves by default).
func Parse(t testing.TB, r io.Reader) Scrape {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	require.NoError(t, err)
	s := Scrape{Families: mfs, Series: make(map[string]float64)}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := m.GetLabel()
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Series[series(name, labels)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Series[series(name, labels)] = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				s.Series[series(name, labels)] = m.GetUntyped().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				s.Series[series(name+"_count", labels)] = float64(h.GetSampleCount())
				s.Series[series(name+"_sum", labels)] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					le := fmt.Sprint(b.GetUpperBound())
					s.Series[series(name+"_bucket", labels, "le", le)] = float64(b.GetCumulativeCount())
				}
			case dto.MetricType_SUMMARY:
				s.Series[series(name+"_count", labels)] = float64(m.GetSummary().GetSampleCount())
				s.Series[series(name+"_sum", labels)] = m.GetSummary().GetSampleSum()
			}
		}
	}
	return s
}

// series writes a series' name and labels (and extra pairs) as PromQL does, labels sorted.
func series(name string, labels []*dto.LabelPair, extra ...string) string {
	kv := make(map[string]string, len(labels)+len(extra)/2)
	for _, l := range labels {
		kv[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(extra); i += 2 {
		kv[extra[i]] = extra[i+1]
	}
	if len(kv) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(kv)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, kv[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Sum adds the samples of the counter or gauge name whose labels include every pair of labels ("type", "A",
// …): what sum(name{type="A"}) is in PromQL. A name the scrape lacks sums to 0.
func (s Scrape) Sum(name string, labels ...string) float64 {
	total := 0.0
	for _, m := range s.Families[name].GetMetric() {
		if !hasLabels(m.GetLabel(), labels) {
			continue
		}
		total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
	}
	return total
}

func hasLabels(have []*dto.LabelPair, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		if !slices.ContainsFunc(have, func(l *dto.LabelPair) bool {
			return l.GetName() == want[i] && l.GetValue() == want[i+1]
		}) {
			return false
		}
	}
	return true
}
