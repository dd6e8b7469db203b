package metrics

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func container(id string) *events.ContainerEvent {
	return &events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.ContainerStarted, ContainerID: id}
}

func hostsRecord() *events.HostsRecordEvent {
	return &events.HostsRecordEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.RecordAdded, Path: "/h"}
}

func TestEventCollector(t *testing.T) {
	for _, c := range []struct {
		name string
		// run publishes on a started bus, whose collector is already installed, and returns the series
		// expected once every delivery is done.
		run func(t *testing.T, b *events.Bus) map[string]float64
	}{
		{
			name: "published and delivered by family",
			run: func(t *testing.T, b *events.Bus) map[string]float64 {
				b.Subscribe("all", events.Filter{}, func(context.Context, events.Event) error { return nil })
				b.Subscribe("containers", events.Filter{Families: []events.Family{events.FamilyContainer}},
					func(context.Context, events.Event) error { return nil })
				for _, id := range []string{"a", "b"} {
					require.NoError(t, b.Publish(context.Background(), container(id)))
				}
				require.NoError(t, b.Publish(context.Background(), hostsRecord()))
				return map[string]float64{
					`joyride_events_published_total{family="container"}`:        2,
					`joyride_events_delivered_total{family="container"}`:        4, // two subscribers each
					`joyride_events_published_total{family="hosts"}`:            1,
					`joyride_events_delivered_total{family="hosts"}`:            1,
					`joyride_events_handler_failures_total{family="container"}`: 0,
					`joyride_events_dropped_total{family="container"}`:          0,
					"joyride_events_queue_depth":                                0,
					"joyride_events_rejected_total":                             0,
				}
			},
		},
		{
			name: "a failing handler and a rejected event",
			run: func(t *testing.T, b *events.Bus) map[string]float64 {
				b.Subscribe("picky", events.Filter{Families: []events.Family{events.FamilyContainer}},
					func(context.Context, events.Event) error { return errors.New("no thanks") })
				require.NoError(t, b.Publish(context.Background(), container("a")))
				require.Error(t, b.Publish(context.Background(), container(""))) // no container ID
				return map[string]float64{
					`joyride_events_published_total{family="container"}`:        1,
					`joyride_events_handler_failures_total{family="container"}`: 1,
					`joyride_events_published_total{family="error"}`:            1, // the failure's report
					"joyride_events_rejected_total":                             1,
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := eventstest.NewBus(t)
			ec := newEventCollector(b)
			want := c.run(t, b)
			requireSeries(t, want, ec)
		})
	}
}

// TestEventCollectorDrops holds a subscriber with a queue of one while informational events arrive: those over
// its limit are dropped and counted under their family, and the queue depth shows what waits.
func TestEventCollectorDrops(t *testing.T) {
	b := eventstest.NewBus(t)
	ec := newEventCollector(b)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the bus stops: cleanups run last first
	b.Subscribe("stuck", events.Filter{}, func(context.Context, events.Event) error { <-release; return nil },
		events.WithQueueLimit(1))
	for range 5 {
		require.NoError(t, b.Publish(context.Background(), hostsRecord()))
	}
	got := statustest.Collect(t, ec).Series
	dropped := b.Stats().Dropped
	require.GreaterOrEqual(t, dropped, uint64(3), "at most one in the handler and one queued")
	assert.Equal(t, float64(dropped), got[`joyride_events_dropped_total{family="hosts"}`])
	assert.Equal(t, 5.0, got[`joyride_events_published_total{family="hosts"}`])
	assert.Equal(t, float64(5-dropped), got["joyride_events_queue_depth"], "the kept events wait or are handled")
}

func TestRecordCollector(t *testing.T) {
	for _, c := range []struct {
		name    string
		sources map[string]int // source → records
		want    map[string]float64
	}{
		{name: "empty store", want: map[string]float64{}},
		{
			name: "every kind",
			sources: map[string]int{
				"docker:4f2a": 2, "docker:9b1c": 1, "hosts:/etc/hosts.d/lab": 3, "static:config": 1,
				"traefik:/etc/traefik/dynamic.yml": 2, "node:b/docker:77aa": 2, "node:c/hosts:/h": 1,
			},
			want: map[string]float64{
				`joyride_records{source_kind="docker"}`: 3, `joyride_records{source_kind="hosts"}`: 3,
				`joyride_records{source_kind="static"}`: 1, `joyride_records{source_kind="traefik"}`: 2,
				`joyride_records{source_kind="node"}`: 3,
			},
		},
		{
			name:    "a source without a kind",
			sources: map[string]int{"test": 2},
			want:    map[string]float64{`joyride_records{source_kind="test"}`: 2},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := dnsstore.New()
			for src, n := range c.sources {
				recs := make([]dnsstore.Record, n)
				for i := range recs {
					r, err := dnsstore.NewRecord("host.lab.test", "A", "10.0.0."+string(rune('1'+i)), 60)
					require.NoError(t, err)
					recs[i] = r
				}
				store.Replace(src, recs)
			}
			got := statustest.Collect(t, newRecordCollector(store)).Series
			assert.Equal(t, c.want, got)
		})
	}
}

func TestBuildInfo(t *testing.T) {
	for _, version := range []string{"1.4.2", "dev"} {
		t.Run(version, func(t *testing.T) {
			s := statustest.Collect(t, newBuildInfo(status.Service{Name: "Joyride DNS", Version: version}))
			assert.Equal(t, 1.0, s.Sum("joyride_build_info", "version", version, "goversion", runtime.Version()))
			require.Len(t, s.Families["joyride_build_info"].GetMetric(), 1)
		})
	}
}

// fakeHealth is a status.Health with fixed answers.
type fakeHealth struct {
	ready bool
	comps []status.Component
}

func (h fakeHealth) Ready() bool                    { return h.ready }
func (h fakeHealth) Waiting() []string              { return nil }
func (h fakeHealth) Components() []status.Component { return h.comps }

func TestHealthCollector(t *testing.T) {
	for _, c := range []struct {
		name   string
		health fakeHealth
		want   map[string]float64
	}{
		{
			name:   "ready",
			health: fakeHealth{ready: true, comps: []status.Component{{Name: "dns", State: status.Healthy, Loaded: true}}},
			want: map[string]float64{
				"joyride_ready": 1,
				`joyride_module_health{module="dns",state="healthy"}`:   1,
				`joyride_module_health{module="dns",state="starting"}`:  0,
				`joyride_module_health{module="dns",state="unhealthy"}`: 0,
			},
		},
		{
			name: "waiting and failing",
			health: fakeHealth{comps: []status.Component{
				{Name: "docker", State: status.Unhealthy, Message: "engine unreachable"},
				{Name: "hosts", State: status.Starting},
			}},
			want: map[string]float64{
				"joyride_ready": 0,
				`joyride_module_health{module="docker",state="unhealthy"}`: 1,
				`joyride_module_health{module="docker",state="healthy"}`:   0,
				`joyride_module_health{module="hosts",state="starting"}`:   1,
				`joyride_module_health{module="hosts",state="unhealthy"}`:  0,
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := statustest.Collect(t, newHealthCollector(c.health)).Series
			for series, v := range c.want {
				if assert.Contains(t, got, series) {
					assert.Equal(t, v, got[series], series)
				}
			}
		})
	}
}

// requireSeries waits until a scrape of cs has every series of want with its value (deliveries are
// asynchronous).
func requireSeries(t *testing.T, want map[string]float64, cs ...prometheus.Collector) {
	t.Helper()
	var got map[string]float64
	ok := assert.Eventually(t, func() bool {
		got = statustest.Collect(t, cs...).Series
		for series, v := range want {
			if g, ok := got[series]; !ok || g != v {
				return false
			}
		}
		return true
	}, eventstest.Timeout, time.Millisecond)
	if !ok {
		for series, v := range want {
			assert.Equal(t, v, got[series], series)
		}
		t.FailNow()
	}
}
