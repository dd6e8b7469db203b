package cluster

import "go.uber.org/fx"

// Module is a placeholder until the cluster module lands: it only takes its Config.
var Module = fx.Module("cluster", fx.Invoke(func(Config) {}))
