// Package health is the health handler: it turns the modules' HealthEvents into each module's health and the
// node's readiness (status.Health, for /ready, /status and the dashboard), and publishes health_check_failed and
// health_check_recovered when a module changes state.
package health

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module provides status.Health.
var Module = fx.Module("health",
	fx.Provide(fx.Annotate(New, fx.As(new(status.Health)))),
	fx.Invoke(func(status.Health) {}),
)

// Params are the handler's dependencies.
type Params struct {
	fx.In
	Logger    *zap.Logger
	Bus       *events.Bus
	Service   status.Service
	Reporters []status.Reporter `group:"joyride.status"`
}

// Handler keeps every module's health. (Skeleton: filled in by the health work.)
type Handler struct{}

// New subscribes the handler.
func New(p Params) (*Handler, error) { return &Handler{}, nil }

// Ready reports whether the node is ready.
func (h *Handler) Ready() bool { return false }

// Components returns every module's health.
func (h *Handler) Components() []status.Component { return nil }
