package logging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/modules/logging"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHandle(t *testing.T) {
	many := make([]events.Record, 1000)
	manyChanges := make([]events.RecordChange, 1000)
	tests := []struct {
		name      string
		event     events.Event
		minLevel  zapcore.Level
		wantLevel zapcore.Level
		wantMsg   string
		wantField map[string]any
		logged    bool
	}{
		{"container at info", &events.ContainerEvent{Metadata: events.Metadata{ID: "1", CorrelationID: "c", Source: "docker"}, Kind: events.ContainerStarted,
			ContainerID: "abc", ContainerName: "web", Snapshot: &events.RecordSnapshot{Source: "docker:abc", Records: many}},
			zapcore.InfoLevel, zapcore.InfoLevel, "container/started",
			map[string]any{"container_id": "abc", "records": int64(1000), "record_source": "docker:abc", "correlation_id": "c"}, true},
		{"hosts record diff at debug is hidden at info", &events.HostsRecordEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.RecordAdded, Path: "/h"},
			zapcore.InfoLevel, 0, "", nil, false},
		{"hosts record diff at debug", &events.HostsRecordEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.RecordAdded, Path: "/h"},
			zapcore.DebugLevel, zapcore.DebugLevel, "hosts/record_added", map[string]any{"path": "/h"}, true},
		{"a replaced source at debug is hidden at info", &events.DNSEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.DNSSourceReplaced, Owner: "docker:abc"},
			zapcore.InfoLevel, 0, "", nil, false},
		{"a replaced source at debug, without a record, its changes counted", &events.DNSEvent{Metadata: events.Metadata{Source: "records"},
			Kind: events.DNSSourceReplaced, Owner: "docker:abc", Changes: manyChanges, Added: len(manyChanges)},
			zapcore.DebugLevel, zapcore.DebugLevel, "dns/source_replaced",
			map[string]any{"owner": "docker:abc", "record": nil, "added": int64(1000), "updated": int64(0), "removed": int64(0)}, true},
		{"panic at error", &events.ErrorEvent{Metadata: events.Metadata{Source: "events"}, Kind: events.ErrorPanic, Module: "records", Message: "boom"},
			zapcore.InfoLevel, zapcore.ErrorLevel, "error/panic", map[string]any{"module": "records", "message": "boom"}, true},
		{"handler error at error", &events.ErrorEvent{Metadata: events.Metadata{Source: "events"}, Kind: events.ErrorHandler, Module: "audit", Message: "disk full"},
			zapcore.InfoLevel, zapcore.ErrorLevel, "error/handler_error", map[string]any{"module": "audit", "message": "disk full"}, true},
		{"bad input at warn", &events.ErrorEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.ErrorInput, Module: "records", Message: "1 record(s) rejected"},
			zapcore.InfoLevel, zapcore.WarnLevel, "error/bad_input", map[string]any{"module": "records", "message": "1 record(s) rejected"}, true},
		{"an unhealthy component at error", &events.HealthEvent{Metadata: events.Metadata{Source: "dnsserver"}, Kind: events.Unhealthy, Component: "dns", Message: "udp listener failed"},
			zapcore.InfoLevel, zapcore.ErrorLevel, "health/unhealthy", map[string]any{"component": "dns", "message": "udp listener failed"}, true},
		{"a recovered component at info", &events.HealthEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.Healthy, Component: "docker"},
			zapcore.InfoLevel, zapcore.InfoLevel, "health/healthy", map[string]any{"component": "docker"}, true},
		{"a failed attempt at debug is hidden at info", &events.RetryEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.AttemptFailed,
			Target: "unix:///run/docker.sock", From: "closed", Circuit: "closed", Failures: 1, Delay: 250 * time.Millisecond},
			zapcore.InfoLevel, 0, "", nil, false},
		{"an opened circuit at warn", &events.RetryEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.CircuitOpened,
			Target: "unix:///run/docker.sock", From: "closed", Circuit: "open", Failures: 5, Delay: time.Minute, Error: "refused"},
			zapcore.InfoLevel, zapcore.WarnLevel, "retry/circuit_opened", map[string]any{"target": "unix:///run/docker.sock",
				"circuit": "open", "failures": int64(5), "retry_in": time.Minute, "error": "refused"}, true},
		{"a failed probe at debug is hidden at info", &events.RetryEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.CircuitOpened,
			Target: "unix:///run/docker.sock", From: "half_open", Circuit: "open", Failures: 6, Delay: time.Minute},
			zapcore.InfoLevel, 0, "", nil, false},
		{"a recovery at info", &events.RetryEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.Recovered,
			Target: "/app/hosts", From: "half_open", Circuit: "closed", Failures: 6},
			zapcore.InfoLevel, zapcore.InfoLevel, "retry/recovered", map[string]any{"target": "/app/hosts", "from": "half_open"}, true},
		{"service failure at error", &events.SystemEvent{Metadata: events.Metadata{Source: "system"}, Kind: events.ServiceFailed, Service: "joyride", Error: "x"},
			zapcore.InfoLevel, zapcore.ErrorLevel, "system/service_failed", map[string]any{"error": "x"}, true},
		{"a rejected configuration at error", &events.SystemEvent{Metadata: events.Metadata{Source: "config"}, Kind: events.ConfigurationRejected, Service: "joyride", Error: "config: dns.port = 70000"},
			zapcore.InfoLevel, zapcore.ErrorLevel, "system/configuration_rejected", map[string]any{"error": "config: dns.port = 70000"}, true},
		{"a configuration applied at info", &events.SystemEvent{Metadata: events.Metadata{Source: "config"}, Kind: events.ConfigurationChanged, Service: "joyride",
			Changes: []events.ConfigChange{{Key: "dns.negative_ttl", From: "30", To: "5"}}},
			zapcore.InfoLevel, zapcore.InfoLevel, "system/configuration_changed", map[string]any{"changes": []events.ConfigChange{{Key: "dns.negative_ttl", From: "30", To: "5"}}}, true},
		{"a key waiting for a restart at warn", &events.SystemEvent{Metadata: events.Metadata{Source: "config"}, Kind: events.ConfigurationChanged, Service: "joyride",
			Changes: []events.ConfigChange{{Key: "dns.port", From: "53", To: "5353", Restart: true}}},
			zapcore.InfoLevel, zapcore.WarnLevel, "system/configuration_changed", map[string]any{"message": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(tt.minLevel)
			bus, err := events.NewBus(events.DefaultConfig(), nil)
			require.NoError(t, err)
			h := logging.New(logging.Params{Logger: zap.New(core), Bus: bus, Config: logging.DefaultConfig()})
			require.NoError(t, h.Handle(context.Background(), tt.event))
			if !tt.logged {
				assert.Zero(t, logs.Len())
				return
			}
			require.Equal(t, 1, logs.Len())
			entry := logs.All()[0]
			assert.Equal(t, tt.wantLevel, entry.Level)
			assert.Equal(t, tt.wantMsg, entry.Message)
			fields := entry.ContextMap()
			for k, v := range tt.wantField {
				assert.Equal(t, v, fields[k], k)
			}
			assert.NotContains(t, fields, "snapshot", "snapshots are summarised, never dumped")
			if _, ok := tt.event.(*events.DNSEvent); ok {
				// A configuration change lists its few keys; a record change list may hold 100,000 records.
				assert.NotContains(t, fields, "changes", "record change lists are counted, never dumped")
			}
		})
	}
}

// TestTraceDeliveries: per-subscriber delivery traces are logged at debug only when the Config switches them on,
// so that by default debug logs show the events themselves and stay readable.
func TestTraceDeliveries(t *testing.T) {
	tests := []struct {
		name       string
		trace      bool
		wantTraces int // one per subscriber: the logging handler and the test's own
	}{
		{"off by default", logging.DefaultConfig().TraceDeliveries, 0},
		{"on", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			bus := eventstest.NewBus(t)
			logging.New(logging.Params{Logger: zap.New(core), Bus: bus, Config: logging.Config{TraceDeliveries: tt.trace}})
			other := eventstest.NewWatcher(t, bus, events.Filter{})
			require.NoError(t, bus.Publish(context.Background(), &events.ContainerEvent{
				Metadata: events.Metadata{Source: "docker"}, Kind: events.ContainerStarted, ContainerID: "abc"}))
			other.Expect(t, "the container event", eventstest.Kind(events.FamilyContainer, events.Kind(events.ContainerStarted)))
			require.Eventually(t, func() bool {
				return logs.FilterMessage("container/started").Len() == 1 && bus.Stats().QueueDepth == 0
			}, eventstest.Timeout, time.Millisecond)
			require.Eventually(t, func() bool { return logs.FilterMessage("delivered").Len() >= tt.wantTraces },
				eventstest.Timeout, time.Millisecond)
			assert.Equal(t, tt.wantTraces, logs.FilterMessage("delivered").Len())
		})
	}
}

// TestModule: the module needs its Config and keeps its handler to itself.
func TestModule(t *testing.T) {
	tests := []struct {
		name string
		opts []fx.Option
		want string // empty: the app builds
	}{
		{"default config", []fx.Option{fx.Supply(logging.DefaultConfig())}, ""},
		{"no config", nil, "missing type: logging.Config"},
		{"the handler is private", []fx.Option{fx.Supply(logging.DefaultConfig()), fx.Invoke(func(*logging.Handler) {})},
			"missing type: *logging.Handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := fx.New(append([]fx.Option{fx.NopLogger, fx.Provide(zap.NewNop), fx.Supply(events.DefaultConfig()),
				events.Module, logging.Module}, tt.opts...)...)
			if tt.want == "" {
				require.NoError(t, app.Err())
				return
			}
			require.ErrorContains(t, app.Err(), tt.want)
		})
	}
}
