package audit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/audit"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// window is what the operator's window and the configuration watcher take from the module.
type window struct {
	fx.In
	Reporters  []status.Reporter      `group:"joyride.status"`
	Targets    []reload.Target        `group:"joyride.reload"`
	Collectors []prometheus.Collector `group:"joyride.collectors"`
}

// app runs the bus and the audit module with cfg; health watches the module's HealthEvents from the start.
func app(t *testing.T, cfg audit.Config) (*fxtest.App, *events.Bus, window, *eventstest.Watcher) {
	t.Helper()
	var (
		bus    *events.Bus
		w      window
		health *eventstest.Watcher
	)
	a := fxtest.New(t,
		fx.Provide(func() *zap.Logger { return zaptest.NewLogger(t) }),
		fx.NopLogger,
		events.Module, audit.Module,
		fx.Supply(cfg, events.DefaultConfig()),
		fx.Populate(&bus, &w),
		fx.Invoke(func(b *events.Bus) {
			health = eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilyHealth}})
		}),
	)
	return a, bus, w, health
}

// lines reads the audit file as JSON objects.
func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		out = append(out, m)
	}
	return out
}

func TestModule(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit", "audit.log")
	cfg := audit.DefaultConfig()
	cfg.Path, cfg.Node = path, "node-a"
	a, bus, w, health := app(t, cfg)
	a.RequireStart()
	require.Len(t, w.Reporters, 1)
	require.Len(t, w.Targets, 1)
	reporter, target := w.Reporters[0], w.Targets[0]
	assert.Equal(t, "audit", reporter.Name)
	e := health.Expect(t, "the first load", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
	assert.Equal(t, "audit", e.Component, "readiness waits for the Reporter's name")

	ctx := context.Background()
	was := events.Record{Name: "web.lab.test.", Type: "A", Value: "10.0.0.1", TTL: 60}
	replaced := &events.DNSEvent{Metadata: events.Metadata{Source: "records", CorrelationID: "file-event-1"},
		Kind: events.DNSSourceReplaced, Owner: "hosts:/h/lab", Changes: []events.RecordChange{
			{Kind: events.DNSRecordAdded, Record: events.Record{Name: "db.lab.test.", Type: "A", Value: "10.0.0.3", TTL: 60}},
			{Kind: events.DNSRecordUpdated, Record: events.Record{Name: "web.lab.test.", Type: "A", Value: "10.0.0.2", TTL: 60}, Previous: &was},
		}}
	require.NoError(t, bus.Publish(ctx, replaced))
	// A per-record DNSEvent is not a line: its change is in the source_replaced event's list.
	require.NoError(t, bus.Publish(ctx, &events.DNSEvent{Metadata: events.Metadata{Source: "records"},
		Kind: events.DNSRecordAdded, Owner: "hosts:/h/lab", Record: was}))
	changed := &events.SystemEvent{Metadata: events.Metadata{Source: "config"}, Kind: events.ConfigurationChanged,
		Service: "joyride", Changes: []events.ConfigChange{{Key: "dns.negative_ttl", From: "30", To: "60"}}}
	require.NoError(t, bus.Publish(ctx, changed))
	require.NoError(t, bus.Publish(ctx, &events.SystemEvent{Metadata: events.Metadata{Source: "system"},
		Kind: events.ServiceStarted, Service: "joyride"}))

	require.Eventually(t, func() bool {
		st := reporter.Status().(audit.Status)
		return st.LinesWritten == 3 && bus.Stats().QueueDepth == 0
	}, eventstest.Timeout, time.Millisecond)
	got := lines(t, path)
	require.Len(t, got, 3)
	assert.Equal(t, []any{"record_added", "db.lab.test.", "10.0.0.3", "node-a", "file-event-1", replaced.ID},
		[]any{got[0]["kind"], got[0]["name"], got[0]["value"], got[0]["node"], got[0]["correlation_id"], got[0]["event_id"]})
	assert.Equal(t, []any{"record_updated", "10.0.0.2", map[string]any{"value": "10.0.0.1", "ttl": float64(60)}},
		[]any{got[1]["kind"], got[1]["value"], got[1]["previous"]})
	assert.Equal(t, []any{"configuration_changed", "dns.negative_ttl", "30", "60", changed.CorrelationID},
		[]any{got[2]["kind"], got[2]["key"], got[2]["from"], got[2]["to"], got[2]["correlation_id"]})
	st := reporter.Status().(audit.Status)
	assert.Equal(t, audit.Status{Path: path, State: "writing", Node: "node-a", LinesWritten: 3,
		Retry: retry.Status{State: retry.Closed}}, st)
	require.Len(t, w.Collectors, 1)
	m := statustest.Collect(t, w.Collectors...)
	assert.Equal(t, []float64{3, 0, 0, 1}, []float64{m.Sum("joyride_audit_lines_written_total"),
		m.Sum("joyride_audit_lines_dropped_total"), m.Sum("joyride_audit_write_errors_total"), m.Sum("joyride_audit_writing")})
	// The path's circuit breaker, as every source retried under the policy exports it.
	assert.Equal(t, []float64{1, 0, 0}, []float64{
		m.Sum("joyride_retry_circuit", "source", "audit", "target", path, "state", "closed"),
		m.Sum("joyride_retry_circuit", "source", "audit", "target", path, "state", "open"),
		m.Sum("joyride_retry_failures_total", "source", "audit", "target", path)})

	// A reload moves the log: the next lines go to the new path.
	moved := filepath.Join(dir, "moved.log")
	cfg.Path = moved
	require.NoError(t, target.Apply(ctx, cfg))
	require.NoError(t, bus.Publish(ctx, changed))
	require.Eventually(t, func() bool { return reporter.Status().(audit.Status).LinesWritten == 4 }, eventstest.Timeout, time.Millisecond)
	assert.Len(t, lines(t, moved), 1)
	assert.Len(t, lines(t, path), 3)
	m = statustest.Collect(t, w.Collectors...)
	assert.Equal(t, []float64{1, 0}, []float64{m.Sum("joyride_retry_circuit", "target", moved, "state", "closed"),
		m.Sum("joyride_retry_circuit", "target", path)}, "the breaker follows the path")

	bad := cfg
	bad.MaxFiles = 0
	require.ErrorContains(t, target.Apply(ctx, bad), "audit.max_files = 0: must be at least 1")
	require.ErrorContains(t, target.Apply(ctx, "not a config"), "audit.Config")
	a.RequireStop()
}

// TestModuleConfig: an invalid Config fails the application naming the key, and the handler stays inside the
// module.
func TestModuleConfig(t *testing.T) {
	with := func(change func(*audit.Config)) fx.Option {
		cfg := audit.DefaultConfig()
		change(&cfg)
		return fx.Supply(cfg)
	}
	tests := []struct {
		name string
		opts []fx.Option
		want string
	}{
		{"a tiny size", []fx.Option{with(func(c *audit.Config) { c.MaxSize = 10 })}, "audit.max_size = 10: must be at least 1024"},
		{"no file", []fx.Option{with(func(c *audit.Config) { c.MaxFiles = 0 })}, "audit.max_files = 0: must be at least 1"},
		{"no queue", []fx.Option{with(func(c *audit.Config) { c.QueueSize = 0 })}, "audit.queue_size = 0: must be at least 1"},
		{"no config", nil, "missing type: audit.Config"},
		{"the handler is private", []fx.Option{with(func(*audit.Config) {}), fx.Invoke(func(*audit.Handler) {})},
			"missing type: *audit.Handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fx.New(append([]fx.Option{fx.NopLogger, fx.Provide(zap.NewNop), fx.Supply(events.DefaultConfig()),
				events.Module, audit.Module}, tt.opts...)...)
			require.ErrorContains(t, app.Err(), tt.want)
		})
	}
}

// TestOff: the default is off; it still reports its first load, so that the node becomes ready, and it queues
// nothing.
func TestOff(t *testing.T) {
	a, bus, w, health := app(t, audit.DefaultConfig())
	a.RequireStart()
	defer a.RequireStop()
	e := health.Expect(t, "the first load", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
	assert.Contains(t, e.Message, "off")
	require.NoError(t, bus.Publish(context.Background(), &events.SystemEvent{Metadata: events.Metadata{Source: "config"},
		Kind: events.ConfigurationRejected, Service: "joyride", Error: "bad"}))
	require.Eventually(t, func() bool { return bus.Stats().QueueDepth == 0 }, eventstest.Timeout, time.Millisecond)
	st := w.Reporters[0].Status().(audit.Status)
	assert.Equal(t, "off", st.State)
	assert.Zero(t, st.LinesWritten+st.LinesDropped+uint64(st.Queued), "nothing written, queued or lost")
	assert.Zero(t, st.Retry, "no path, no breaker")
	assert.Zero(t, statustest.Collect(t, w.Collectors...).Sum("joyride_retry_circuit"), "nor its metrics")
	host, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, host, st.Node, "without audit.node, the host's name")
}
