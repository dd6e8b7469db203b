// Package httpapi is the HTTP module: joyride-python's JSON API, readiness, the dashboard and the routes other
// modules add (the metrics module's /metrics), on one listener. Its fx module and its `modules:` key are "http";
// the package is httpapi so that it does not shadow net/http.
package httpapi

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module serves the API; it needs the bus, the store, a Config and a status.Service.
var Module = fx.Module("http",
	fx.Provide(New),
	fx.Invoke(func(*Server) {}),
)

// Params are the module's dependencies. Reporters, Routes and Health come from the other modules through
// package status; Health is optional (without the health module /ready answers from the lifecycle alone).
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Store     *dnsstore.Store
	Config    Config
	Service   status.Service
	Reporters []status.Reporter `group:"joyride.status"`
	Routes    []status.Route    `group:"joyride.routes"`
	Health    status.Health     `optional:"true"`
}

// Server is the HTTP API server. (Skeleton: filled in by the HTTP work.)
type Server struct{}

// New builds the server and ties it to the lifecycle.
func New(p Params) (*Server, error) { return &Server{}, nil }
