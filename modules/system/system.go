// Package system is the system producer: it turns the fx application's lifecycle into SystemEvents.
//
// The Producer's own hook publishes service_starting right after the bus starts and service_stopped just before
// the bus drains (it is constructed straight after the bus, so its hook sits next to the bus's). Everything in
// between comes from fx itself: WithLogger installs an fx event logger that forwards fx's events to zap at debug
// level and reports service_started when every hook has run, service_failed when a hook or the start fails, and
// service_stopping when the stop begins. An embedding application that leaves out WithLogger still gets
// service_starting and service_stopped.
package system

import (
	"context"
	"errors"
	"sync/atomic"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// Config names the service in its events.
type Config struct {
	Service string `koanf:"service" validate:"required"`
}

// DefaultConfig names the service "joyride"; the application passes service.name.
func DefaultConfig() Config { return Config{Service: "joyride"} }

// Module provides the Producer.
var Module = fx.Module("system",
	fx.Provide(New),
	fx.Invoke(func(*Producer) {}),
)

// WithLogger makes fx report its lifecycle through the Producer. Add it at the top level of the fx app.
var WithLogger = fx.WithLogger(NewFxLogger)

// Params are the producer's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Config    Config
}

// Producer publishes SystemEvents.
type Producer struct {
	bus      *events.Bus
	log      *zap.Logger
	service  string
	stopping atomic.Bool
}

// New checks the configuration and registers the producer's hooks.
func New(p Params) (*Producer, error) {
	if err := validation.Section("system", p.Config); err != nil {
		return nil, err
	}
	pr := &Producer{bus: p.Bus, log: p.Logger.Named("system"), service: p.Config.Service}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			pr.publish(ctx, events.ServiceStarting, "", nil)
			return nil
		},
		OnStop: func(ctx context.Context) error {
			pr.publish(ctx, events.ServiceStopped, "", nil)
			return nil
		},
	})
	return pr, nil
}

// Failed reports a fatal runtime error of a module before it asks fx.Shutdowner to stop.
func (p *Producer) Failed(ctx context.Context, module string, err error) {
	p.publish(ctx, events.ServiceFailed, module, err)
}

func (p *Producer) publish(ctx context.Context, kind events.SystemKind, msg string, cause error) {
	e := &events.SystemEvent{Metadata: events.Metadata{Source: "system"}, Kind: kind, Service: p.service, Message: msg}
	if cause != nil {
		e.Error = cause.Error()
	}
	if err := p.bus.Publish(ctx, e); err != nil && !errors.Is(err, events.ErrClosed) {
		p.log.Error("publishing a system event", zap.String("kind", string(kind)), zap.Error(err))
	}
}

// fxLogger forwards fx's events to zap and the lifecycle ones to the Producer.
type fxLogger struct {
	zap      *fxevent.ZapLogger
	producer *Producer
}

// NewFxLogger is the constructor WithLogger hands to fx.
func NewFxLogger(p *Producer, log *zap.Logger) fxevent.Logger {
	z := &fxevent.ZapLogger{Logger: log.Named("fx")}
	z.UseLogLevel(zapcore.DebugLevel)
	return &fxLogger{zap: z, producer: p}
}

func (l *fxLogger) LogEvent(e fxevent.Event) {
	l.zap.LogEvent(e)
	ctx := context.Background()
	p := l.producer
	switch ev := e.(type) {
	case *fxevent.OnStartExecuted:
		if ev.Err != nil {
			p.publish(ctx, events.ServiceFailed, "start hook "+ev.FunctionName, ev.Err)
		}
	case *fxevent.Started:
		if ev.Err == nil {
			p.publish(ctx, events.ServiceStarted, "", nil)
		}
	case *fxevent.Stopping, *fxevent.OnStopExecuting:
		if p.stopping.CompareAndSwap(false, true) {
			p.publish(ctx, events.ServiceStopping, "", nil)
		}
	case *fxevent.OnStopExecuted:
		if ev.Err != nil {
			p.publish(ctx, events.ServiceFailed, "stop hook "+ev.FunctionName, ev.Err)
		}
	}
}
