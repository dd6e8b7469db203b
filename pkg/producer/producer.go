// Package producer is the fx layer every producer module shares. A producer works without fx — NewProducer,
// then Start and Stop — and its module only builds it from the application's values and ties Start and Stop
// to the lifecycle; that wiring is the same for docker, hosts, traefikfile and system, so it is written once
// here rather than once per module. Health is how a module (a producer or another) reports its health on the bus,
// and Retries how it reports the sources it retries under the retry policy (pkg/retry).
package producer

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// Runner is a producer as a program without fx uses it.
type Runner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Params are a producer's dependencies under fx; C is its module's Config, which the application supplies
// (DefaultConfig or the configuration's section).
type Params[C any] struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Config    C
}

// Check is how every NewProducer begins: cfg must hold by its validate tags (errors name the keys under
// section), there must be a bus to publish on, and the logger it returns is named for the module (a no-op one
// when log is nil), so that a program without fx gets the same errors as `joyride config validate`.
func Check(section string, cfg any, log *zap.Logger, bus *events.Bus) (*zap.Logger, error) {
	if err := validation.Section(section, cfg); err != nil {
		return nil, err
	}
	if bus == nil {
		return nil, fmt.Errorf("%s: an event bus is required", section)
	}
	if log == nil {
		log = zap.NewNop()
	}
	return log.Named(section), nil
}

// New builds a producer with build (its module's NewProducer) and ties its Start and Stop to the lifecycle.
func New[C any, P Runner](p Params[C], build func(C, *zap.Logger, *events.Bus) (P, error)) (P, error) {
	pr, err := build(p.Config, p.Logger, p.Bus)
	if err != nil {
		return pr, err
	}
	p.Lifecycle.Append(fx.StartStopHook(pr.Start, pr.Stop))
	return pr, nil
}

// Health publishes a module's health on bus: a HealthEvent whose Source and Component are module (the name of its
// Reporter, see pkg/status). It is consumed, so a failure to publish is logged, and a stopped bus ignored: nobody
// is left to tell.
func Health(ctx context.Context, bus *events.Bus, log *zap.Logger, module string, kind events.HealthKind, msg string) {
	e := &events.HealthEvent{Metadata: events.Metadata{Source: module}, Kind: kind, Component: module, Message: msg}
	if err := bus.Publish(ctx, e); err != nil && !errors.Is(err, events.ErrClosed) {
		log.Error("publishing health", zap.String("kind", string(kind)), zap.String("message", msg), zap.Error(err))
	}
}
