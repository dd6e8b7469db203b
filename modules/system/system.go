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
	"github.com/joyride-dns/joyride/pkg/producer"
)

// Config names the service in its events.
type Config struct {
	Service string `koanf:"service" validate:"required"`
}

// DefaultConfig names the service "joyride"; the application passes service.name.
func DefaultConfig() Config { return Config{Service: "joyride"} }

// Module provides the Producer and anchors it so its hooks are registered.
var Module = fx.Module("system", fx.Provide(New), fx.Invoke(func(*Producer) {}))

// WithLogger makes fx report its lifecycle through the Producer. Add it at the top level of the fx app.
var WithLogger = fx.WithLogger(NewFxLogger)

// Params are the producer's dependencies: the application's logger and bus, and this module's Config.
type Params = producer.Params[Config]

// Producer publishes SystemEvents.
type Producer struct {
	bus      *events.Bus
	log      *zap.Logger
	service  string
	stopping atomic.Bool
}

// New builds the producer from p (see NewProducer) and ties Start and Stop to the lifecycle.
func New(p Params) (*Producer, error) { return producer.New(p, NewProducer) }

// NewProducer checks cfg and returns a producer publishing on bus; it does nothing until Start.
func NewProducer(cfg Config, log *zap.Logger, bus *events.Bus) (*Producer, error) {
	log, err := producer.Check("system", cfg, log, bus)
	if err != nil {
		return nil, err
	}
	return &Producer{bus: bus, log: log, service: cfg.Service}, nil
}

// Start publishes service_starting. Under fx it runs right after the bus starts.
func (p *Producer) Start(ctx context.Context) error {
	p.publish(ctx, events.ServiceStarting, "", nil)
	return nil
}

// Stop publishes service_stopped. Under fx it runs just before the bus drains.
func (p *Producer) Stop(ctx context.Context) error {
	p.publish(ctx, events.ServiceStopped, "", nil)
	return nil
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
