// Package logging is the logging handler: it writes every event on the bus as one structured zap line, so an
// operator can follow a container start through the records it made (they share a correlation ID).
//
// State-carrying events are logged at info, informational ones (per-record hosts diffs, DNS store changes) at
// debug. Snapshots are summarised by their source and record count, and a source_replaced DNSEvent's change list
// by its counts: a 100,000-line hosts file must not become a 100,000-field log line.
//
// ErrorEvents are where Joyride's consumed errors become log lines (rejected input at warn, failing handlers at
// error): the bus and the handlers report an error they cannot return as an ErrorEvent and do not log it
// themselves, so each error is logged once, here. An application that leaves this module out sees them on the
// bus only.
//
// Tracing every delivery to every subscriber (events.Logging) is off unless Config.TraceDeliveries asks for it:
// it installs middleware around every handler of the bus, an embedding application's included, and at debug level
// it writes a line per subscriber per event, more than everything else together.
package logging

import (
	"context"
	"slices"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/joyride-dns/joyride/pkg/events"
)

// Module subscribes the logging handler to every event. The handler is private to the module: nothing else
// needs it, and a host application's own *Handler type cannot collide with it.
var Module = fx.Module("logging",
	fx.Provide(New, fx.Private),
	fx.Invoke(func(*Handler) {}),
)

// Config configures the logging handler (koanf section "logging").
type Config struct {
	// TraceDeliveries logs every handler call of every subscriber at debug level (subscriber, event, duration,
	// outcome), to follow a correlation ID through each consumer. Off by default: it makes debug logs unreadable.
	TraceDeliveries bool `koanf:"trace_deliveries"`
}

// DefaultConfig logs events, not their deliveries.
func DefaultConfig() Config { return Config{TraceDeliveries: false} }

// Params are the handler's dependencies.
type Params struct {
	fx.In
	Logger *zap.Logger
	Bus    *events.Bus
	Config Config
}

// Handler logs events.
type Handler struct {
	log *zap.Logger
}

// New subscribes the handler, and installs the delivery-tracing middleware when the Config asks for it; the bus
// starts delivering when it starts.
func New(p Params) *Handler {
	h := &Handler{log: p.Logger.Named("events")}
	p.Bus.Subscribe("logging", events.Filter{}, h.Handle)
	if p.Config.TraceDeliveries {
		p.Bus.UseDelivery(events.Logging(p.Logger.Named("delivery")))
	}
	return h
}

// Handle writes one log line for e.
func (h *Handler) Handle(_ context.Context, e events.Event) error {
	level := zapcore.InfoLevel
	switch ev := e.(type) {
	case *events.HostsRecordEvent, *events.DNSEvent:
		level = zapcore.DebugLevel
	case *events.ErrorEvent:
		// Rejected input is the sender's problem; a failing or panicking handler is a bug worth an error line,
		// and this line is the only one it gets.
		level = zapcore.ErrorLevel
		if ev.Kind == events.ErrorInput {
			level = zapcore.WarnLevel
		}
	case *events.SystemEvent:
		switch {
		case ev.Kind == events.ServiceFailed || ev.Kind == events.HealthCheckFailed || ev.Kind == events.ConfigurationRejected:
			level = zapcore.ErrorLevel
		case ev.Kind == events.ConfigurationChanged && slices.ContainsFunc(ev.Changes, func(c events.ConfigChange) bool {
			return c.Restart || c.Failed
		}):
			// A key waiting for a restart, or one a module could not apply: the node does not run what the file says.
			level = zapcore.WarnLevel
		}
	case *events.HealthEvent:
		// A component that stops working (a DNS listener that died, an engine out of reach) is reported here
		// only: an error line, as it was before it became an event.
		if ev.Kind == events.Unhealthy {
			level = zapcore.ErrorLevel
		}
	case *events.RetryEvent:
		// A source retried under the retry policy: a warning when its circuit opens, a line when it recovers;
		// each failed attempt and each probe only at debug, or a dead source would write a line a minute for ever.
		level = zapcore.DebugLevel
		switch {
		case ev.Kind == events.CircuitOpened && ev.From == "closed":
			level = zapcore.WarnLevel
		case ev.Kind == events.Recovered:
			level = zapcore.InfoLevel
		}
	}
	ce := h.log.Check(level, string(e.Family())+"/"+string(e.EventKind()))
	if ce == nil {
		return nil
	}
	m := e.Meta()
	fields := append(make([]zap.Field, 0, 8),
		zap.String("event_id", m.ID), zap.String("correlation_id", m.CorrelationID), zap.String("source", m.Source))
	ce.Write(append(fields, details(e)...)...)
	return nil
}

// details are the fields that identify what an event is about.
func details(e events.Event) []zap.Field {
	switch ev := e.(type) {
	case *events.ContainerEvent:
		return append([]zap.Field{zap.String("container_id", ev.ContainerID), zap.String("container", ev.ContainerName),
			zap.Strings("names", ev.Names)}, snapshot(ev.Snapshot)...)
	case *events.FileEvent:
		return append([]zap.Field{zap.String("path", ev.Path), zap.Int("bad_lines", ev.BadLines)}, snapshot(ev.Snapshot)...)
	case *events.HostsRecordEvent:
		return []zap.Field{zap.String("path", ev.Path), record(ev.Record)}
	case *events.NodeEvent:
		return []zap.Field{zap.String("node_id", ev.NodeID), zap.String("address", ev.Address)}
	case *events.SyncEvent:
		return append([]zap.Field{zap.String("node_id", ev.NodeID), zap.String("message", ev.Message)}, snapshot(ev.Snapshot)...)
	case *events.SystemEvent:
		fields := []zap.Field{zap.String("service", ev.Service), zap.String("message", ev.Message), zap.String("error", ev.Error)}
		if len(ev.Changes) > 0 {
			fields = append(fields, zap.Any("changes", ev.Changes))
		}
		return fields
	case *events.DNSEvent:
		if ev.Kind == events.DNSSourceReplaced { // about the whole source: it has no record, and its changes are counted
			return []zap.Field{zap.String("owner", ev.Owner), zap.Int("added", ev.Added), zap.Int("updated", ev.Updated),
				zap.Int("removed", ev.Removed)}
		}
		return []zap.Field{zap.String("owner", ev.Owner), record(ev.Record)}
	case *events.ErrorEvent:
		return []zap.Field{zap.String("module", ev.Module), zap.String("message", ev.Message), zap.String("failed_event_id", ev.EventID)}
	case *events.HealthEvent:
		return []zap.Field{zap.String("component", ev.Component), zap.String("message", ev.Message)}
	case *events.RetryEvent:
		return []zap.Field{zap.String("target", ev.Target), zap.String("from", ev.From), zap.String("circuit", ev.Circuit),
			zap.Int("failures", ev.Failures), zap.Duration("retry_in", ev.Delay), zap.String("error", ev.Error)}
	}
	return nil // an embedder's family: the common fields say enough
}

func snapshot(s *events.RecordSnapshot) []zap.Field {
	if s == nil {
		return nil
	}
	return []zap.Field{zap.String("record_source", s.Source), zap.Int("records", len(s.Records))}
}

func record(r events.Record) zap.Field {
	return zap.Dict("record", zap.String("name", r.Name), zap.String("type", r.Type), zap.String("value", r.Value), zap.Uint32("ttl", r.TTL))
}
