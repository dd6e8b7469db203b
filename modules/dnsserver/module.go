package dnsserver

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module provides the *Server and runs it with the application: it binds in OnStart and shuts down in OnStop.
// The empty Invoke anchors it, so the server starts even though nothing else consumes it.
var Module = fx.Module("dnsserver",
	fx.Provide(New),
	status.ProvideCollector(newCollector),
	fx.Invoke(func(*Server) {}),
	status.Provide(Reporter),
	reload.Provide(Target),
)

// liveKeys are the keys of the "dns" section the server applies live (Server.Apply): all but bind_address and port,
// where the sockets are bound.
var liveKeys = []string{
	"dns.zones", "dns.forwarders", "dns.forward_timeout", "dns.forward_allow", "dns.negative_ttl", "dns.udp_size",
	"dns.nameserver", "dns.addresses", "dns.hostmaster",
}

// Target is the server as the configuration watcher sees it (pkg/reload): the keys it applies live, by Apply.
func Target(s *Server) reload.Target { return reload.For("dns", liveKeys, s.Apply) }

// Params are the server's dependencies. Bus is optional: without it the reports it would carry (recovered
// panics as ErrorEvents, a failed listener as an unhealthy HealthEvent) are logged instead.
type Params struct {
	fx.In

	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Config    Config
	Store     *dnsstore.Store
	Bus       *events.Bus `optional:"true"`
}

// New builds the server from p (see NewServer) and ties Start and Stop to the lifecycle. It starts nothing.
func New(p Params) (*Server, error) {
	s, err := NewServer(p.Config, p.Store, p.Logger, p.Bus)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	return s, nil
}
