package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/events"
)

// eventCollector counts the bus's events per family. The bus counts only totals, so an events.Observer
// installed on it counts per family; drops per family and the queue depth the bus keeps itself
// (events.Stats).
type eventCollector struct {
	bus      *events.Bus
	families sync.Map // events.Family → *familyCounts
}

type familyCounts struct{ published, delivered, failed atomic.Uint64 }

var (
	_ prometheus.Collector = (*eventCollector)(nil)
	_ events.Observer      = (*eventCollector)(nil)
)

// newEventCollector installs the collector's observer on bus: it then sees every event accepted after this.
func newEventCollector(bus *events.Bus) *eventCollector {
	c := &eventCollector{bus: bus}
	pub, del := events.Observe(c)
	bus.Use(pub)
	bus.UseDelivery(del)
	return c
}

func (c *eventCollector) counts(f events.Family) *familyCounts {
	if v, ok := c.families.Load(f); ok {
		return v.(*familyCounts)
	}
	v, _ := c.families.LoadOrStore(f, new(familyCounts))
	return v.(*familyCounts)
}

// Published counts an event the bus accepted.
func (c *eventCollector) Published(e events.Event) { c.counts(e.Family()).published.Add(1) }

// Delivered counts a handler call, and a failed one (an error or a panic) apart.
func (c *eventCollector) Delivered(_ string, e events.Event, _ time.Duration, err error) {
	fc := c.counts(e.Family())
	fc.delivered.Add(1)
	if err != nil {
		fc.failed.Add(1)
	}
}

var (
	publishedDesc = prometheus.NewDesc("joyride_events_published_total",
		"Events accepted by the bus, by family.", []string{"family"}, nil)
	deliveredDesc = prometheus.NewDesc("joyride_events_delivered_total",
		"Event handler calls completed (one per subscriber an event reached), by family.", []string{"family"}, nil)
	failedDesc = prometheus.NewDesc("joyride_events_handler_failures_total",
		"Event handler calls that returned an error or panicked, by family.", []string{"family"}, nil)
	droppedDesc = prometheus.NewDesc("joyride_events_dropped_total",
		"Informational events dropped for a subscriber over its queue limit, by family.", []string{"family"}, nil)
	rejectedDesc = prometheus.NewDesc("joyride_events_rejected_total",
		"Events the bus refused (invalid, or published after it stopped).", nil, nil)
	queueDesc = prometheus.NewDesc("joyride_events_queue_depth",
		"Events waiting in all subscribers' queues or being handled.", nil, nil)
)

func (c *eventCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{publishedDesc, deliveredDesc, failedDesc, droppedDesc, rejectedDesc, queueDesc} {
		ch <- d
	}
}

// Collect reports every family seen so far. A family's drops are reported, as 0, as soon as it has been
// published, so that an alert on their rate sees the first drop.
func (c *eventCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.bus.Stats()
	dropped := st.DroppedByFamily
	c.families.Range(func(k, v any) bool {
		f, fc := k.(events.Family), v.(*familyCounts)
		ch <- prometheus.MustNewConstMetric(publishedDesc, prometheus.CounterValue, float64(fc.published.Load()), string(f))
		ch <- prometheus.MustNewConstMetric(deliveredDesc, prometheus.CounterValue, float64(fc.delivered.Load()), string(f))
		ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.CounterValue, float64(fc.failed.Load()), string(f))
		if _, ok := dropped[f]; !ok {
			ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, 0, string(f))
		}
		return true
	})
	for f, n := range dropped {
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(n), string(f))
	}
	ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(st.Rejected))
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.QueueDepth))
}
