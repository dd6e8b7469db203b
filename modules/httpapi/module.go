package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// Module serves the API; it needs the bus, the store, a Config and a status.Service.
var Module = fx.Module(moduleName,
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

// New checks the configuration, builds the routes and ties Start and Stop to the lifecycle; it binds nothing.
// A Route whose pattern is invalid or taken, or two Reporters of one name, are errors naming them.
func New(p Params) (*Server, error) {
	if p.Bus == nil || p.Store == nil {
		return nil, errors.New("http: the bus and the record store are required")
	}
	// The validate tags, as `joyride config validate` applies them: a program without fx that leaves a timeout at
	// zero would otherwise get streams cut at once (a deadline of now) where net/http reads zero as none.
	if err := validation.Section("http", p.Config); err != nil {
		return nil, err
	}
	log := cmp.Or(p.Logger, zap.NewNop()).Named(moduleName)
	stdLog, err := zap.NewStdLogAt(log, zapcore.DebugLevel)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	s := &Server{
		cfg: p.Config, log: log, stdLog: stdLog, bus: p.Bus, store: p.Store, service: p.Service, health: p.Health,
		reporters: make(map[string]status.Reporter, len(p.Reporters)), pingEvery: pingEvery,
		streamSlots: make(chan struct{}, maxStreams),
	}
	for _, r := range p.Reporters {
		if _, dup := s.reporters[r.Name]; dup || r.Name == "" {
			return nil, fmt.Errorf("http: reporter name %q is empty or given twice", r.Name)
		}
		s.reporters[r.Name] = r
	}
	s.names = slices.Sorted(maps.Keys(s.reporters))
	if s.handler, err = s.routes(p.Routes); err != nil {
		return nil, err
	}
	if p.Lifecycle != nil {
		p.Lifecycle.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}
	return s, nil
}

// reporter returns the Reporter of the module called name.
func (s *Server) reporter(name string) (status.Reporter, bool) {
	r, ok := s.reporters[name]
	return r, ok && r.Status != nil
}

// publishError reports an error consumed here (a recovered panic, a failed sync) on the bus, or logs it when the
// bus no longer takes events.
func (s *Server) publishError(ctx context.Context, kind events.ErrorKind, msg string) {
	e := &events.ErrorEvent{Metadata: events.Metadata{Source: moduleName}, Kind: kind, Module: moduleName, Message: msg}
	if err := s.bus.Publish(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error(msg, zap.String("kind", string(kind)), zap.NamedError("report_error", err))
	}
}
