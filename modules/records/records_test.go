package records_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness starts the records module with a real bus and store.
func harness(t *testing.T, cfg records.Config) (*events.Bus, *dnsstore.Store, *eventstest.Watcher) {
	t.Helper()
	var bus *events.Bus
	var store *dnsstore.Store
	var w *eventstest.Watcher
	app := fxtest.New(t,
		fx.Provide(func() *zap.Logger { return zaptest.NewLogger(t) }),
		fx.NopLogger,
		events.Module, dnsstore.Module, records.Module,
		fx.Supply(cfg),
		fx.Populate(&bus, &store),
		fx.Invoke(func(b *events.Bus) {
			w = eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilyDNS, events.FamilyError}})
		}),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return bus, store, w
}

func names(s *dnsstore.Snapshot, source string) []string {
	var out []string
	for _, r := range s.SourceRecords(source) {
		out = append(out, r.Name+" "+dns.TypeToString[r.Type]+" "+r.Value)
	}
	return out
}

func TestSnapshotsReplaceSources(t *testing.T) {
	bus, store, w := harness(t, records.DefaultConfig())
	ctx := context.Background()
	file := func(kind events.HostsKind, recs ...events.Record) *events.FileEvent {
		return &events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: kind, Path: "/h/lab",
			Snapshot: &events.RecordSnapshot{Source: "hosts:/h/lab", Records: recs}}
	}
	steps := []struct {
		name  string
		event events.Event
		want  []string
	}{
		{"created", file(events.FileCreated, events.Record{Name: "A.Lab.Test", Type: "A", Value: "10.0.0.1", TTL: 60}),
			[]string{"a.lab.test. A 10.0.0.1"}},
		{"changed replaces", file(events.FileChanged, events.Record{Name: "b.lab.test.", Type: "AAAA", Value: "2001:db8::1", TTL: 60}),
			[]string{"b.lab.test. AAAA 2001:db8::1"}},
		{"bad record skipped, rest applied", file(events.FileChanged,
			events.Record{Name: "b.lab.test.", Type: "AAAA", Value: "2001:db8::1", TTL: 60},
			events.Record{Name: "bad_-.lab..test", Type: "A", Value: "10.0.0.9", TTL: 60},
			events.Record{Name: "c.lab.test", Type: "A", Value: "999.1.1.1", TTL: 60}),
			[]string{"b.lab.test. AAAA 2001:db8::1"}},
		{"deleted removes", file(events.FileDeleted), nil},
	}
	for _, st := range steps {
		require.NoError(t, bus.Publish(ctx, st.event), st.name)
	}
	// Apply order is publish order, so waiting for the last step's removal means all have applied.
	w.Expect(t, "removal of b", func(e events.Event) bool {
		d, ok := e.(*events.DNSEvent)
		return ok && d.Kind == events.DNSRecordRemoved && d.Record.Name == "b.lab.test."
	})
	assert.Empty(t, names(store.Snapshot(), "hosts:/h/lab"))

	bad := w.Expect(t, "the rejection report", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorInput))).(*events.ErrorEvent)
	assert.Contains(t, bad.Message, "hosts:/h/lab: 2 record(s) rejected")
	assert.Contains(t, bad.Message, "999.1.1.1")
	assert.Equal(t, steps[2].event.Meta().ID, bad.EventID)

	added := w.Expect(t, "addition of a", func(e events.Event) bool {
		d, ok := e.(*events.DNSEvent)
		return ok && d.Kind == events.DNSRecordAdded && d.Record.Name == "a.lab.test."
	})
	assert.Equal(t, steps[0].event.Meta().CorrelationID, added.Meta().CorrelationID, "the DNS event is traced to the file event")
	assert.Equal(t, "hosts:/h/lab", added.(*events.DNSEvent).Owner)
}

func TestTwoSourcesOneName(t *testing.T) {
	bus, store, w := harness(t, records.DefaultConfig())
	ctx := context.Background()
	start := func(id string) *events.ContainerEvent {
		return &events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.ContainerStarted, ContainerID: id,
			Snapshot: &events.RecordSnapshot{Source: "docker:" + id, Records: []events.Record{{Name: "web.lab.test", Type: "A", Value: "10.0.0.5", TTL: 30}}}}
	}
	require.NoError(t, bus.Publish(ctx, start("one")))
	require.NoError(t, bus.Publish(ctx, start("two")))
	require.NoError(t, bus.Publish(ctx, &events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.ContainerStopped,
		ContainerID: "one", Snapshot: &events.RecordSnapshot{Source: "docker:one"}}))
	w.Expect(t, "removal from docker:one", func(e events.Event) bool {
		d, ok := e.(*events.DNSEvent)
		return ok && d.Kind == events.DNSRecordRemoved && d.Owner == "docker:one"
	})
	m := store.Snapshot().Lookup("web.lab.test.")
	require.Equal(t, dnsstore.Exact, m.Kind, "the other container still owns the name")
	assert.Equal(t, []string{"web.lab.test. A 10.0.0.5"}, names(store.Snapshot(), "docker:two"))
}

func TestStaticRecords(t *testing.T) {
	_, store, w := harness(t, records.Config{MaxDNSEvents: 10, Static: []records.Static{
		{Name: "router.lab.test", Type: "A", Value: "10.0.0.1", TTL: 300},
		{Name: "*.apps.lab.test", Type: "cname", Value: "router.lab.test", TTL: 300},
	}})
	w.Expect(t, "the static wildcard", func(e events.Event) bool {
		d, ok := e.(*events.DNSEvent)
		return ok && d.Owner == records.StaticSource && d.Record.Name == "*.apps.lab.test."
	})
	assert.Equal(t, []string{"*.apps.lab.test. CNAME router.lab.test.", "router.lab.test. A 10.0.0.1"},
		names(store.Snapshot(), records.StaticSource))
}

func TestInvalidStaticRecordFailsStart(t *testing.T) {
	tests := []struct {
		name   string
		static records.Static
		want   string
	}{
		{"bad address", records.Static{Name: "x.lab.test", Type: "A", Value: "10.0.0.256"}, `records[1] (x.lab.test A 10.0.0.256)`},
		{"bad name", records.Static{Name: "-x.lab.test", Type: "A", Value: "10.0.0.1"}, `records[1] (-x.lab.test A 10.0.0.1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fx.New(fx.NopLogger, fx.Provide(zap.NewNop), events.Module, dnsstore.Module, records.Module,
				fx.Supply(records.Config{Static: []records.Static{{Name: "ok.lab.test", Type: "A", Value: "10.0.0.1"}, tt.static}}))
			require.Error(t, app.Err())
			assert.Contains(t, app.Err().Error(), tt.want)
		})
	}
}

func TestDNSEventsAreCapped(t *testing.T) {
	bus, store, w := harness(t, records.Config{MaxDNSEvents: 3})
	recs := make([]events.Record, 10)
	for i := range recs {
		recs[i] = events.Record{Name: "h" + string(rune('a'+i)) + ".lab.test", Type: "A", Value: "10.0.0.1", TTL: 60}
	}
	require.NoError(t, bus.Publish(context.Background(), &events.FileEvent{Metadata: events.Metadata{Source: "hosts"},
		Kind: events.FileCreated, Path: "/h", Snapshot: &events.RecordSnapshot{Source: "hosts:/h", Records: recs}}))
	require.Eventually(t, func() bool { return store.Snapshot().Len() == 10 }, eventstest.Timeout, time.Millisecond)
	require.Eventually(t, func() bool { return bus.Stats().QueueDepth == 0 }, eventstest.Timeout, time.Millisecond)
	assert.Len(t, w.Events(), 3)
}

// BenchmarkHostsFileHeap reports the live heap (heap-B/record) that a 100,000-line hosts file costs once it has
// gone the way the hosts producer and the handler take it: parsed, turned into a snapshot, applied to the store.
// The parse and the snapshot are dropped before measuring, as they are in the process: what remains is the
// store's (records, names, values and indexes). The time per op is not meaningful (it includes two forced
// collections).
func BenchmarkHostsFileHeap(b *testing.B) {
	const n = 100_000
	var text strings.Builder
	for i := range n {
		fmt.Fprintf(&text, "10.%d.%d.%d host-%d.bench.test\n", i>>16&255, i>>8&255, i&255, i)
	}
	data := text.String()
	ctx := context.Background()
	for b.Loop() {
		store := dnsstore.New()
		h, err := records.New(records.Params{
			Lifecycle: fxtest.NewLifecycle(b), Logger: zap.NewNop(), Store: store, Config: records.DefaultConfig(),
			Bus: events.NewBus(events.Config{QueueLimit: 1}, nil), // no history: it would keep the DNSEvents
		})
		require.NoError(b, err)
		before := liveHeap()
		entries, bad := hosts.Parse(strings.NewReader(data), "bench")
		require.Empty(b, bad)
		ev := &events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.FileCreated, Path: "/bench",
			Snapshot: &events.RecordSnapshot{Source: "hosts:/bench", Records: hosts.Records(entries, 60)}}
		require.NoError(b, h.Handle(ctx, ev))
		after := liveHeap()
		require.Equal(b, n, store.Snapshot().Len())
		b.ReportMetric(float64(after-before)/n, "heap-B/record")
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what sweeping left from the first
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
