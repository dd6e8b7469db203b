package events

import (
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Module provides the *Bus. Its hooks are registered when the bus is constructed, which is before any module that
// depends on it, so the bus starts first and stops last: it drains after every producer has stopped.
var Module = fx.Module("events", fx.Provide(New))

// Params are the bus's dependencies. Both are optional so that an embedding application needs nothing but
// events.Module; a zero Config means DefaultConfig.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger `optional:"true"`
	Config    Config      `optional:"true"`
}

// New builds the bus and ties its start and stop to the fx lifecycle.
func New(p Params) *Bus {
	cfg := DefaultConfig()
	if p.Config != (Config{}) {
		cfg = p.Config
	}
	log := zap.NewNop()
	if p.Logger != nil {
		log = p.Logger.Named("events")
	}
	b := NewBus(cfg, log)
	p.Lifecycle.Append(fx.StartStopHook(b.Start, b.Stop))
	return b
}
