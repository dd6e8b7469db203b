package cluster

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Module runs a cluster node: it provides *Cluster (its Status and ForceSync are what an HTTP API shows and
// triggers) and ties Start and Stop to the lifecycle, and adds its status.Reporter, collector and
// reload.Target. It needs the bus, the store and a Config (DefaultConfig with AllowedDomains set, or the
// configuration's section).
var Module = fx.Module(moduleName,
	fx.Provide(New),
	status.ProvideCollector(newCollector),
	fx.Invoke(func(*Cluster) {}),
	status.Provide(Reporter),
	reload.Provide(ReloadTarget),
)

// Params are the module's dependencies.
type Params struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Logger     *zap.Logger
	Bus        *events.Bus
	Store      *dnsstore.Store
	Config     Config
}

// New builds the node and ties it to the lifecycle. A node that finds, after start, another live node with its
// ID shuts the application down with that error.
func New(p Params) (*Cluster, error) {
	c, err := NewCluster(p.Config, p.Logger, p.Bus, p.Store)
	if err != nil {
		return nil, err
	}
	c.exit = func(err error) {
		c.log.Error("stopping: another live node uses this node's ID", zap.Error(err))
		_ = p.Shutdowner.Shutdown(fx.ExitCode(1))
	}
	p.Lifecycle.Append(fx.StartStopHook(c.Start, c.Stop))
	return c, nil
}
