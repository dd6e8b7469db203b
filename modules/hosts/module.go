package hosts

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
)

// The fx layer: a Producer works without it (NewProducer, Start, Stop); Module only provides it and ties it to
// the application's lifecycle.

// Module provides the *Producer and anchors it so its hooks are registered.
var Module = fx.Module(moduleName,
	fx.Provide(New),
	fx.Invoke(func(*Producer) {}),
)

// Params are the producer's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Config    Config
}

// New builds the producer from p (see NewProducer) and ties Start and Stop to the lifecycle.
func New(p Params) (*Producer, error) {
	pr, err := NewProducer(p.Config, p.Logger, p.Bus)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{OnStart: pr.Start, OnStop: pr.Stop})
	return pr, nil
}
