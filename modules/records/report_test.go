package records_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestReporter(t *testing.T) {
	var (
		reporters []status.Reporter
		w         *eventstest.Watcher
	)
	app := fxtest.New(t,
		fx.Provide(zap.NewNop),
		events.Module, dnsstore.Module, records.Module,
		fx.Supply(events.DefaultConfig(), records.Config{MaxEvents: 10, Static: []records.Static{
			{Name: "router.lab.test", Type: "A", Value: "10.0.0.1", TTL: 300},
			{Name: "nas.lab.test", Type: "a", Value: "10.0.0.2", TTL: 60},
			{Name: "Router.Lab.Test.", Type: "aaaa", Value: "FD00:0::1", TTL: 300},
		}}),
		fx.Invoke(fx.Annotate(func(rs []status.Reporter) { reporters = rs }, fx.ParamTags(status.ReporterGroup))),
		fx.Invoke(func(b *events.Bus) {
			w = eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilyHealth}})
		}),
	)
	require.Len(t, reporters, 1)
	r := reporters[0]
	assert.Equal(t, "records", r.Name)
	app.RequireStart()
	defer app.RequireStop()

	e := w.Expect(t, "healthy once the static records are applied",
		eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
	assert.Equal(t, "records", e.Component)
	assert.Equal(t, "3 static records applied", e.Message)
	assert.Equal(t, records.Status{StaticRecords: 3, Records: 3, Sources: 1}, r.Status())

	tests := []struct {
		name, source, lookup string
		want                 []status.Provenance
	}{
		{name: "every entry with the name, by its place", source: records.StaticSource, lookup: "ROUTER.lab.test",
			want: []status.Provenance{
				{Kind: "static", Text: "records[0]: router.lab.test A 10.0.0.1 ttl 300", Value: "10.0.0.1"},
				{Kind: "static", Text: "records[2]: Router.Lab.Test. AAAA FD00:0::1 ttl 300", Value: "fd00::1"},
			}},
		{name: "a trailing dot", source: records.StaticSource, lookup: "nas.lab.test.",
			want: []status.Provenance{{Kind: "static", Text: "records[1]: nas.lab.test A 10.0.0.2 ttl 60", Value: "10.0.0.2"}}},
		{name: "a name no entry has", source: records.StaticSource, lookup: "other.lab.test"},
		{name: "another source", source: "hosts:/app/hosts/lab", lookup: "router.lab.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, r.Explain(tt.source, tt.lookup))
		})
	}
}
