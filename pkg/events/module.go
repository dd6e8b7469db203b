package events

import (
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Module provides the *Bus. Its hooks are registered when the bus is constructed, which is before any module that
// depends on it, so the bus starts first and stops last: it drains after every producer has stopped.
var Module = fx.Module("events", fx.Provide(New))

// Params are the bus's dependencies. The Config is required, as every module's is: supply DefaultConfig() or
// the configuration's events section. The logger is optional.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger `optional:"true"`
	Config    Config
}

// New builds the bus and ties its start and stop to the fx lifecycle. An invalid Config fails the application
// with an error naming the key.
func New(p Params) (*Bus, error) {
	log := zap.NewNop()
	if p.Logger != nil {
		log = p.Logger.Named("events")
	}
	b, err := NewBus(p.Config, log)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StartStopHook(b.Start, b.Stop))
	return b, nil
}
