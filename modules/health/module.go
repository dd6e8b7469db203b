package health

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module provides status.Health and anchors it, so that the handler subscribes even when nothing reads it (a
// profile without the HTTP module still gets health_check_failed and health_check_recovered).
var Module = fx.Module("health",
	fx.Provide(fx.Annotate(New, fx.As(new(status.Health)))),
	fx.Invoke(func(status.Health) {}),
)

// Params are the handler's dependencies. Reporters are the modules whose first load readiness waits for.
type Params struct {
	fx.In
	Logger    *zap.Logger
	Bus       *events.Bus
	Service   status.Service
	Reporters []status.Reporter `group:"joyride.status"`
}

// New builds the handler from p (see NewHandler).
func New(p Params) (*Handler, error) {
	names := make([]string, len(p.Reporters))
	for i, r := range p.Reporters {
		names[i] = r.Name
	}
	return NewHandler(p.Bus, p.Logger, p.Service.Name, names), nil
}
