package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// moduleCollector stands for a module's collector in status.CollectorGroup.
func moduleCollector() *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "joyride_test_module_things", Help: "A module's own."},
		[]string{"kind"})
	g.WithLabelValues("widget").Set(7)
	return g
}

// scrape GETs the route as the HTTP module serves it and parses the text format.
func scrape(t *testing.T, r status.Route) statustest.Scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
	return statustest.Parse(t, rec.Body)
}

func TestModule(t *testing.T) {
	for _, c := range []struct {
		name   string
		health fx.Option
		ready  bool // joyride_ready is served
	}{
		{"without the health module", fx.Options(), false},
		{"with the health module", fx.Supply(fx.Annotate(fakeHealth{ready: true}, fx.As(new(status.Health)))), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var (
				routes []status.Route
				bus    *events.Bus
				store  *dnsstore.Store
			)
			app := fxtest.New(t,
				dnsstore.Module,
				events.Module,
				Module,
				c.health,
				fx.Supply(events.DefaultConfig(), status.Service{Name: "Joyride DNS", Version: "3.1.4"}),
				fx.Provide(zap.NewNop),
				status.ProvideCollector(moduleCollector),
				fx.Invoke(fx.Annotate(func(rs []status.Route) { routes = rs }, fx.ParamTags(status.RouteGroup))),
				fx.Populate(&bus, &store),
			)
			app.RequireStart()
			defer app.RequireStop()
			require.Len(t, routes, 1)
			route := routes[0]
			assert.Equal(t, "GET /metrics", route.Pattern)
			assert.False(t, route.Write, "reading metrics changes nothing")

			before := scrape(t, route)
			for _, name := range []string{
				"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total",
				"process_resident_memory_bytes", "joyride_build_info", "joyride_events_queue_depth",
				"joyride_events_rejected_total", "joyride_test_module_things",
			} {
				assert.Contains(t, before.Families, name)
			}
			assert.Equal(t, 1.0, before.Sum("joyride_build_info", "version", "3.1.4"))
			assert.Equal(t, 7.0, before.Series[`joyride_test_module_things{kind="widget"}`])
			assert.Equal(t, c.ready, before.Families["joyride_ready"] != nil)
			assert.Zero(t, before.Sum("joyride_records"))

			// Events and records move the counters and gauges.
			bus.Subscribe("test", events.Filter{}, func(context.Context, events.Event) error { return nil })
			for _, id := range []string{"a", "b", "c"} {
				require.NoError(t, bus.Publish(context.Background(), container(id)))
			}
			rec, err := dnsstore.NewRecord("web.lab.test", "A", "10.0.0.1", 60)
			require.NoError(t, err)
			store.Replace("hosts:/etc/hosts.d/lab", []dnsstore.Record{rec})
			var after statustest.Scrape
			require.Eventually(t, func() bool {
				after = scrape(t, route)
				return after.Sum("joyride_events_delivered_total", "family", "container") ==
					before.Sum("joyride_events_delivered_total", "family", "container")+3
			}, eventstest.Timeout, time.Millisecond)
			assert.Equal(t, before.Sum("joyride_events_published_total", "family", "container")+3,
				after.Sum("joyride_events_published_total", "family", "container"))
			assert.Equal(t, 1.0, after.Series[`joyride_records{source_kind="hosts"}`])
		})
	}
}

func TestModuleRejectsACollectorTwice(t *testing.T) {
	app := fx.New(
		dnsstore.Module, events.Module, Module,
		fx.Supply(events.DefaultConfig(), status.Service{}),
		fx.Provide(zap.NewNop),
		status.ProvideCollector(moduleCollector),
		status.ProvideCollector(moduleCollector),
		fx.Invoke(fx.Annotate(func([]status.Route) {}, fx.ParamTags(status.RouteGroup))),
		fx.NopLogger,
	)
	require.ErrorContains(t, app.Err(), "metrics: register")
}
