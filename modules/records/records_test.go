package records_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness starts the records module with a real bus and store, and watches what it publishes.
func harness(t *testing.T, cfg records.Config) (*events.Bus, *dnsstore.Store, *eventstest.Watcher) {
	t.Helper()
	var bus *events.Bus
	var store *dnsstore.Store
	var w *eventstest.Watcher
	app := fxtest.New(t,
		fx.Provide(func() *zap.Logger { return zaptest.NewLogger(t) }),
		fx.NopLogger,
		events.Module, dnsstore.Module, records.Module,
		fx.Supply(cfg, events.DefaultConfig()),
		fx.Populate(&bus, &store),
		fx.Invoke(func(b *events.Bus) {
			// Everything the handler publishes: DNS, hosts record and error events.
			w = eventstest.NewWatcher(t, b, events.Filter{Sources: []string{"records"}})
		}),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return bus, store, w
}

func names(s *dnsstore.Snapshot, source string) []string {
	var out []string
	for _, r := range s.SourceRecords(source) {
		out = append(out, r.Name()+" "+dns.TypeToString[r.Type()]+" "+r.Value())
	}
	return out
}

func TestSnapshotsReplaceSources(t *testing.T) {
	bus, store, w := harness(t, records.DefaultConfig())
	ctx := context.Background()
	file := func(kind events.FileKind, recs ...events.Record) *events.FileEvent {
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
	_, store, w := harness(t, records.Config{MaxEvents: 10, Static: []records.Static{
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
				fx.Supply(events.DefaultConfig(), records.Config{Static: []records.Static{{Name: "ok.lab.test", Type: "A", Value: "10.0.0.1"}, tt.static}}))
			require.Error(t, app.Err())
			assert.Contains(t, app.Err().Error(), tt.want)
		})
	}
}

// hostsFile is what the hosts producer publishes for a file: its path and its whole snapshot.
func hostsFile(kind events.FileKind, path string, recs ...events.Record) *events.FileEvent {
	return &events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: kind, Path: path,
		Snapshot: &events.RecordSnapshot{Source: "hosts:" + path, Records: recs}}
}

func ttl(r events.Record, ttl uint32) events.Record {
	r.TTL = ttl
	return r
}

func a(name, value string) events.Record {
	return events.Record{Name: name, Type: "A", Value: value, TTL: 60}
}

// change is a HostsRecordEvent as a test expects it.
type change struct {
	kind   events.HostsKind
	path   string
	record events.Record
}

func changes(es []events.Event) map[string][]change {
	out := make(map[string][]change) // by correlation ID
	for _, e := range es {
		if re, ok := e.(*events.HostsRecordEvent); ok {
			out[re.CorrelationID] = append(out[re.CorrelationID], change{re.Kind, re.Path, re.Record})
		}
	}
	return out
}

// TestHostsRecordEvents: the per-record events of a hosts file come from the store's diff, correlated with the
// FileEvent, with the kinds, path and records the hosts producer published when it diffed files itself.
func TestHostsRecordEvents(t *testing.T) {
	bus, store, w := harness(t, records.DefaultConfig())
	steps := []struct {
		name  string
		event *events.FileEvent
		want  []change // in the store's order: by name, then type
	}{
		{"a first scan's file is not a change",
			hostsFile(events.FileCreated, "/h/lab", a("web.lab.test.", "10.0.0.1"), a("www.lab.test.", "10.0.0.1")), nil},
		{"the scan ends", &events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.DirectoryScanned, Path: "/h"}, nil},
		{"a second snapshot of the same file",
			hostsFile(events.FileChanged, "/h/lab", a("db.lab.test.", "10.0.0.3"), a("web.lab.test.", "10.0.0.2")),
			[]change{
				{events.RecordAdded, "/h/lab", a("db.lab.test.", "10.0.0.3")},
				{events.RecordUpdated, "/h/lab", a("web.lab.test.", "10.0.0.2")},
				{events.RecordRemoved, "/h/lab", a("www.lab.test.", "10.0.0.1")},
			}},
		{"a file created after the scan", hostsFile(events.FileCreated, "/h/new", a("new.lab.test.", "10.0.0.9")),
			[]change{{events.RecordAdded, "/h/new", a("new.lab.test.", "10.0.0.9")}}},
		{"the same snapshot again changes nothing", hostsFile(events.FileChanged, "/h/new", a("new.lab.test.", "10.0.0.9")), nil},
		{"a TTL change is an update", hostsFile(events.FileChanged, "/h/new", ttl(a("new.lab.test.", "10.0.0.9"), 120)),
			[]change{{events.RecordUpdated, "/h/new", ttl(a("new.lab.test.", "10.0.0.9"), 120)}}},
		{"one address of a name replaced, one added",
			hostsFile(events.FileChanged, "/h/new", ttl(a("new.lab.test.", "10.0.0.10"), 120), ttl(a("new.lab.test.", "10.0.0.11"), 120)),
			[]change{
				{events.RecordUpdated, "/h/new", ttl(a("new.lab.test.", "10.0.0.10"), 120)},
				{events.RecordAdded, "/h/new", ttl(a("new.lab.test.", "10.0.0.11"), 120)},
			}},
		{"a deleted file", hostsFile(events.FileDeleted, "/h/lab"),
			[]change{
				{events.RecordRemoved, "/h/lab", a("db.lab.test.", "10.0.0.3")},
				{events.RecordRemoved, "/h/lab", a("web.lab.test.", "10.0.0.2")},
			}},
		{"a file of an unscanned directory", hostsFile(events.FileCreated, "/other/x", a("x.lab.test.", "10.0.0.7")), nil},
		{"a Traefik file is not a hosts file", &events.FileEvent{Metadata: events.Metadata{Source: "traefikfile"}, Kind: events.FileCreated,
			Path: "/h/t.yml", Snapshot: &events.RecordSnapshot{Source: "traefik:/h/t.yml", Records: []events.Record{a("t.lab.test.", "10.0.0.8")}}}, nil},
	}
	for _, st := range steps {
		require.NoError(t, bus.Publish(context.Background(), st.event), st.name)
	}
	// The handler publishes while it handles, so an empty queue means every step was applied and announced.
	require.Eventually(t, func() bool { return bus.Stats().QueueDepth == 0 }, eventstest.Timeout, time.Millisecond)
	got := changes(w.Events())
	for _, st := range steps {
		assert.Equal(t, st.want, got[st.event.CorrelationID], st.name)
	}
	assert.Equal(t, []string{"t.lab.test. A 10.0.0.8"}, names(store.Snapshot(), "traefik:/h/t.yml"), "Traefik files are applied")
	for _, e := range w.Events() {
		if re, ok := e.(*events.HostsRecordEvent); ok {
			assert.Equal(t, events.FamilyHosts, re.Family())
		}
	}
	// Every delivery is one of the steps to the handler, its own first-load HealthEvent back to it (it takes
	// healthy reports in, to acknowledge others'), or one of its own events to the watcher: the per-record hosts
	// events it publishes do not come back to it.
	assert.Equal(t, uint64(len(steps)+1+len(w.Events())), bus.Stats().Delivered)
}

// TestEventLimit: MaxEvents caps each kind of per-record event per snapshot, and 0 means none, not a default;
// the one source_replaced per snapshot is never left out.
func TestEventLimit(t *testing.T) {
	recs := make([]events.Record, 10)
	for i := range recs {
		recs[i] = a(fmt.Sprintf("h%d.lab.test.", i), "10.0.0.1")
	}
	tests := []struct {
		name string
		cfg  records.Config
		want int // of each kind
	}{
		{"default", records.DefaultConfig(), 10},
		{"capped", records.Config{MaxEvents: 3}, 3},
		{"static records only: none", records.Config{Static: []records.Static{{Name: "s.lab.test", Type: "A", Value: "10.0.0.1"}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus, store, w := harness(t, tt.cfg)
			require.NoError(t, bus.Publish(context.Background(), &events.FileEvent{Metadata: events.Metadata{Source: "hosts"},
				Kind: events.DirectoryScanned, Path: "/h"}))
			require.NoError(t, bus.Publish(context.Background(), hostsFile(events.FileCreated, "/h/big", recs...)))
			require.Eventually(t, func() bool {
				return len(store.Snapshot().SourceRecords("hosts:/h/big")) == 10 && bus.Stats().QueueDepth == 0
			}, eventstest.Timeout, time.Millisecond)
			var dns, hosts, replaced int
			for _, e := range w.Events() {
				switch d := e.(type) {
				case *events.DNSEvent:
					switch {
					case d.Owner != "hosts:/h/big":
					case d.Kind == events.DNSSourceReplaced:
						replaced++
						assert.Zero(t, d.Record, "source_replaced names no record")
					default:
						dns++
					}
				case *events.HostsRecordEvent:
					hosts++
				}
			}
			assert.Equal(t, tt.want, dns, "DNS events")
			assert.Equal(t, tt.want, hosts, "hosts record events")
			assert.Equal(t, 1, replaced, "source_replaced events")
		})
	}
}

// TestModule: the Config is validated, and the handler stays inside the module.
func TestModule(t *testing.T) {
	tests := []struct {
		name string
		opts []fx.Option
		want string
	}{
		{"negative event limit", []fx.Option{fx.Supply(records.Config{MaxEvents: -1})}, `records.max_events = -1: must be at least 0`},
		{"bad static type", []fx.Option{fx.Supply(records.Config{Static: []records.Static{{Name: "x.lab.test", Type: "MX", Value: "x"}}})},
			`records.static[0].type = "MX": must be one of`},
		{"no config", nil, "missing type: records.Config"},
		{"the handler is private", []fx.Option{fx.Supply(records.DefaultConfig()), fx.Invoke(func(*records.Handler) {})},
			"missing type: *records.Handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fx.New(append([]fx.Option{fx.NopLogger, fx.Provide(zap.NewNop), fx.Supply(events.DefaultConfig()),
				events.Module, dnsstore.Module, records.Module}, tt.opts...)...)
			require.ErrorContains(t, app.Err(), tt.want)
		})
	}
}

// BenchmarkHostsFileHeap reports the live heap (heap-B/record) that a 100,000-line hosts file costs once it has
// gone the way the handler takes it: a snapshot as the hosts producer makes it (canonical names, one value
// string per address), applied to the store. The snapshot is dropped before measuring, as it is in the process:
// what remains is the store's (records, names, values and indexes). The time per op is not meaningful (it
// includes two forced collections).
func BenchmarkHostsFileHeap(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	for b.Loop() {
		store := dnsstore.New()
		bus, err := events.NewBus(events.Config{QueueLimit: 1}, nil) // no history: it would keep the DNSEvents
		require.NoError(b, err)
		h, err := records.New(records.Params{
			Lifecycle: fxtest.NewLifecycle(b), Logger: zap.NewNop(), Store: store, Config: records.DefaultConfig(), Bus: bus,
		})
		require.NoError(b, err)
		before := liveHeap()
		recs := make([]events.Record, n)
		for i := range recs {
			recs[i] = a(fmt.Sprintf("host-%d.bench.test.", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		}
		ev := hostsFile(events.FileCreated, "/bench", recs...)
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

// TestRejectedRecordsAreReportedOnce: a rejected record is reported as an ErrorEvent, which the logging module
// logs; the handler logs it itself only when the report cannot be published.
func TestRejectedRecordsAreReportedOnce(t *testing.T) {
	tests := []struct {
		name       string
		stopBus    bool
		wantReport bool
		wantLogged int
	}{
		{"published, not logged", false, true, 0},
		{"logged when the bus is stopped", true, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			bus := eventstest.NewBus(t)
			w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyError}})
			h, err := records.New(records.Params{Lifecycle: fxtest.NewLifecycle(t), Logger: zap.New(core), Bus: bus,
				Store: dnsstore.New(), Config: records.DefaultConfig()})
			require.NoError(t, err)
			if tt.stopBus {
				require.NoError(t, bus.Stop(context.Background()))
			}
			bad := hostsFile(events.FileChanged, "/h/lab", a("ok.lab.test.", "10.0.0.1"), a("bad.lab.test.", "10.0.0.256"))
			bad.ID = "bad-file"
			require.NoError(t, h.Handle(context.Background(), bad))
			if tt.wantReport {
				report := w.Expect(t, "the rejection report", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorInput)))
				assert.Equal(t, "bad-file", report.(*events.ErrorEvent).EventID)
			}
			assert.Equal(t, tt.wantLogged, logs.FilterMessage("records rejected").Len())
			assert.Equal(t, tt.wantLogged, logs.Len(), "nothing else is logged at info or above")
		})
	}
}

// TestPeerSnapshots: only a sync event may carry a "node:" source, and only its own node's; anything else is
// dropped and reported, never applied. An accepted one is stored as its node's, with its owner's SetAt.
func TestPeerSnapshots(t *testing.T) {
	setAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	peerRecord := events.Record{Name: "web.lab.test", Type: "A", Value: "10.0.0.2", TTL: 60, SetAt: setAt}
	sync := func(node string, priority int, source string) *events.SyncEvent {
		return &events.SyncEvent{Metadata: events.Metadata{Source: "cluster"}, Kind: events.DNSRecordSynced, NodeID: node,
			Snapshot: &events.RecordSnapshot{Source: source, Node: node, Priority: priority, Records: []events.Record{peerRecord}}}
	}
	tests := []struct {
		name    string
		event   events.Event
		wantErr []string // in the ErrorEvent's message; none means the snapshot is applied
	}{
		{"a peer's own source", sync("alpha", 5, "node:alpha/docker:3f2a"), nil},
		{"a sync snapshot claiming a container", sync("alpha", 5, "docker:local"), []string{`docker:local`, `"cluster"`}},
		{"a sync snapshot claiming a hosts file", sync("alpha", 5, "hosts:/etc/hosts"), []string{`hosts:/etc/hosts`, `"cluster"`}},
		{"a sync snapshot claiming the static records", sync("alpha", 5, records.StaticSource), []string{records.StaticSource, `"cluster"`}},
		{"another node's source", sync("alpha", 5, "node:beta/docker:1"), []string{`node:beta/docker:1`, `"alpha"`}},
		{"a node's prefix without its slash", sync("alpha", 5, "node:alphabet/docker:1"), []string{`node:alphabet/docker:1`}},
		{"no node", sync("", 5, "node:/docker:1"), []string{`node:/docker:1`, `"node:<node>/…"`}},
		{"a container claiming a peer's source", &events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.ContainerStarted,
			ContainerID: "x", Snapshot: &events.RecordSnapshot{Source: "node:alpha/docker:3f2a", Node: "alpha", Records: []events.Record{peerRecord}}},
			[]string{`node:alpha/docker:3f2a`, `"docker"`}},
		{"a file claiming a peer's source", &events.FileEvent{Metadata: events.Metadata{Source: "traefikfile"}, Kind: events.FileCreated, Path: "/t.yml",
			Snapshot: &events.RecordSnapshot{Source: "node:alpha/traefik:/t.yml", Records: []events.Record{peerRecord}}},
			[]string{`node:alpha/traefik:/t.yml`, `"traefikfile"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := eventstest.NewBus(t)
			errs := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyError}})
			store := dnsstore.New()
			// Under the priority policy the peer (5) wins over this node (1) only if its snapshot is its own.
			store.SetPolicy(dnsstore.Priority, dnsstore.Origin{Node: "self", Priority: 1})
			local, err := dnsstore.NewRecord("web.lab.test", "A", "10.0.0.1", 60)
			require.NoError(t, err)
			for _, src := range []string{"docker:local", "hosts:/etc/hosts", records.StaticSource} {
				store.Replace(src, []dnsstore.Record{local})
			}
			before := store.Snapshot()
			h, err := records.New(records.Params{Lifecycle: fxtest.NewLifecycle(t), Logger: zaptest.NewLogger(t), Bus: bus,
				Store: store, Config: records.DefaultConfig()})
			require.NoError(t, err)
			tt.event.Meta().ID = "the-event"
			require.NoError(t, h.Handle(context.Background(), tt.event))

			source := tt.event.(events.Snapshotter).RecordSnapshot().Source
			if tt.wantErr != nil {
				report := errs.Expect(t, "the rejection", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorInput))).(*events.ErrorEvent)
				for _, want := range tt.wantErr {
					assert.Contains(t, report.Message, want)
				}
				assert.Equal(t, "the-event", report.EventID)
				assert.Equal(t, before.Generation(), store.Snapshot().Generation(), "nothing applied")
				return
			}
			got := store.Snapshot().SourceRecords(source)
			require.Len(t, got, 1)
			assert.Equal(t, setAt, got[0].SetAt(), "the owner's SetAt")
			m := store.Snapshot().Lookup("web.lab.test.")
			require.Len(t, m.Records, 1)
			assert.Equal(t, "10.0.0.2", m.Records[0].Value(), "the peer's priority, from its snapshot, wins")
			require.Eventually(t, func() bool { return bus.Stats().QueueDepth == 0 }, eventstest.Timeout, time.Millisecond)
			assert.Empty(t, errs.Events())
		})
	}
}

// TestSourceReplaced: one source_replaced per snapshot that changed its source, none for one that changed
// nothing.
func TestSourceReplaced(t *testing.T) {
	bus, _, w := harness(t, records.Config{})
	steps := []struct {
		name  string
		event *events.FileEvent
		want  int
	}{
		{"created", hostsFile(events.FileCreated, "/h/lab", a("web.lab.test.", "10.0.0.1"), a("www.lab.test.", "10.0.0.1")), 1},
		{"the same again", hostsFile(events.FileChanged, "/h/lab", a("www.lab.test.", "10.0.0.1"), a("web.lab.test.", "10.0.0.1")), 0},
		{"changed", hostsFile(events.FileChanged, "/h/lab", a("web.lab.test.", "10.0.0.2")), 1},
		{"deleted", hostsFile(events.FileDeleted, "/h/lab"), 1},
		{"deleted again", hostsFile(events.FileDeleted, "/h/lab"), 0},
	}
	for _, st := range steps {
		require.NoError(t, bus.Publish(context.Background(), st.event), st.name)
	}
	require.Eventually(t, func() bool { return bus.Stats().QueueDepth == 0 }, eventstest.Timeout, time.Millisecond)
	got := map[string]int{} // by correlation ID
	for _, e := range w.Events() {
		if d, ok := e.(*events.DNSEvent); ok {
			require.Equal(t, events.DNSSourceReplaced, d.Kind, "MaxEvents 0 leaves only source_replaced")
			assert.Equal(t, "hosts:/h/lab", d.Owner)
			got[d.CorrelationID]++
		}
	}
	for _, st := range steps {
		assert.Equal(t, st.want, got[st.event.CorrelationID], st.name)
	}
}

// TestSourceReplacedCarriesEveryChange: the source_replaced DNSEvent lists every change of its snapshot, whatever
// MaxEvents leaves out (here all the per-record events), in name and type order, an update with the record it
// replaced, and counts them by kind.
func TestSourceReplacedCarriesEveryChange(t *testing.T) {
	bus, _, w := harness(t, records.Config{})
	updated := func(now, was events.Record) events.RecordChange {
		return events.RecordChange{Kind: events.DNSRecordUpdated, Record: now, Previous: &was}
	}
	steps := []struct {
		name  string
		event events.Event
		want  []events.RecordChange
	}{
		{"a new source: every record added",
			hostsFile(events.FileCreated, "/h/lab", a("web.lab.test.", "10.0.0.1"), a("db.lab.test.", "10.0.0.3"), a("www.lab.test.", "10.0.0.1")),
			[]events.RecordChange{
				{Kind: events.DNSRecordAdded, Record: a("db.lab.test.", "10.0.0.3")},
				{Kind: events.DNSRecordAdded, Record: a("web.lab.test.", "10.0.0.1")},
				{Kind: events.DNSRecordAdded, Record: a("www.lab.test.", "10.0.0.1")},
			}},
		{"an address edited, a TTL changed, a line removed, one added",
			hostsFile(events.FileChanged, "/h/lab", ttl(a("db.lab.test.", "10.0.0.3"), 300), a("web.lab.test.", "10.0.0.2"), a("api.lab.test.", "10.0.0.4")),
			[]events.RecordChange{
				{Kind: events.DNSRecordAdded, Record: a("api.lab.test.", "10.0.0.4")},
				updated(ttl(a("db.lab.test.", "10.0.0.3"), 300), a("db.lab.test.", "10.0.0.3")),
				updated(a("web.lab.test.", "10.0.0.2"), a("web.lab.test.", "10.0.0.1")),
				{Kind: events.DNSRecordRemoved, Record: a("www.lab.test.", "10.0.0.1")},
			}},
		{"a deleted file: every record removed", hostsFile(events.FileDeleted, "/h/lab"),
			[]events.RecordChange{
				{Kind: events.DNSRecordRemoved, Record: a("api.lab.test.", "10.0.0.4")},
				{Kind: events.DNSRecordRemoved, Record: ttl(a("db.lab.test.", "10.0.0.3"), 300)},
				{Kind: events.DNSRecordRemoved, Record: a("web.lab.test.", "10.0.0.2")},
			}},
	}
	for _, st := range steps {
		require.NoError(t, bus.Publish(context.Background(), st.event), st.name)
	}
	require.Eventually(t, func() bool { return bus.Stats().QueueDepth == 0 }, eventstest.Timeout, time.Millisecond)
	got := map[string]*events.DNSEvent{} // by correlation ID
	for _, e := range w.Events() {
		if d, ok := e.(*events.DNSEvent); ok && d.Owner == "hosts:/h/lab" {
			require.NotContains(t, got, d.CorrelationID, "one source_replaced per snapshot")
			got[d.CorrelationID] = d
		}
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			d := got[st.event.Meta().CorrelationID]
			require.NotNil(t, d)
			assert.Equal(t, st.want, d.RecordChanges())
			assert.Nil(t, d.Changes, "the list is built on first read, not set")
			count := map[events.DNSKind]int{}
			for _, c := range st.want {
				count[c.Kind]++
			}
			assert.Equal(t, []int{count[events.DNSRecordAdded], count[events.DNSRecordUpdated], count[events.DNSRecordRemoved]},
				[]int{d.Added, d.Updated, d.Removed}, "added, updated, removed")
		})
	}
}

// TestAcknowledgesFirstLoads: a component's first healthy report is acknowledged once the snapshots it published
// before it are in the store, once per component; the handler's own reports and acknowledgements are not.
func TestAcknowledgesFirstLoads(t *testing.T) {
	bus, store, w := harness(t, records.DefaultConfig())
	ctx := context.Background()
	healthy := func(source, component string) *events.HealthEvent {
		return &events.HealthEvent{Metadata: events.Metadata{Source: source}, Kind: events.Healthy, Component: component}
	}
	var recs []events.Record
	for i := range 1000 {
		recs = append(recs, a(fmt.Sprintf("host-%d.lab.test", i), "10.0.0.1"))
	}
	for _, e := range []events.Event{
		hostsFile(events.FileCreated, "/h/lab", recs...),
		healthy("hosts", "hosts"),
		healthy("hosts", "hosts"),
		&events.HealthEvent{Metadata: events.Metadata{Source: "dns"}, Kind: events.Unhealthy, Component: "dns"},
		healthy("dns", "dns"),
		healthy("records", "plugin"), // looks like an acknowledgement: not acknowledged again
	} {
		require.NoError(t, bus.Publish(ctx, e))
	}
	ack := func(component string) func(events.Event) bool {
		return func(e events.Event) bool {
			h, ok := e.(*events.HealthEvent)
			return ok && h.Component == component && h.Kind == events.Healthy
		}
	}
	w.Expect(t, "the acknowledgement of hosts", ack("hosts"))
	// The store's snapshot is read after the acknowledgement arrived; the handler applied the file before it.
	assert.Len(t, names(store.Snapshot(), "hosts:/h/lab"), 1000, "the file is in the store when its load is acknowledged")
	dns := w.Expect(t, "the acknowledgement of dns", ack("dns"))
	assert.Equal(t, "records", dns.Meta().Source)

	require.NoError(t, bus.Publish(ctx, healthy("docker", "docker"))) // a marker: acknowledged after all the above
	w.Expect(t, "the acknowledgement of docker", ack("docker"))
	count := map[string]int{}
	for _, e := range w.Events() {
		if h, ok := e.(*events.HealthEvent); ok {
			count[h.Component]++
		}
	}
	// records: its own first load, not acknowledged; plugin: the one published above, which the watcher (of Source
	// "records") sees too, and no acknowledgement of it.
	assert.Equal(t, map[string]int{"records": 1, "hosts": 1, "dns": 1, "plugin": 1, "docker": 1}, count)
}
