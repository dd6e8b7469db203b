package main

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/joyride-dns/joyride/config"
	"github.com/joyride-dns/joyride/config/watcher"
	"github.com/joyride-dns/joyride/modules/audit"
	"github.com/joyride-dns/joyride/modules/cluster"
	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/docker"
	"github.com/joyride-dns/joyride/modules/health"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/httpapi"
	"github.com/joyride-dns/joyride/modules/logging"
	"github.com/joyride-dns/joyride/modules/metrics"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/modules/system"
	"github.com/joyride-dns/joyride/modules/traefikfile"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
)

// modules has one entry per name config.KnownModules accepts: the module. Its section of the configuration is
// config's Section (the runtime configuration: settings derived from others are already filled in there), which
// the configuration watcher hands to the module's reload target too, so the two cannot disagree.
var modules = map[string]fx.Option{
	"audit":       audit.Module,
	"cluster":     cluster.Module,
	"dns":         dnsserver.Module,
	"docker":      docker.Module,
	"health":      health.Module,
	"hosts":       hosts.Module,
	"http":        httpapi.Module,
	"logging":     logging.Module,
	"metrics":     metrics.Module,
	"records":     records.Module,
	"traefikfile": traefikfile.Module,
	"system":      fx.Options(system.Module, system.WithLogger),
}

// Options assembles the application cfg describes: the bus and the store always, every enabled module with its
// configuration, and nothing at all for a disabled one. log is the process logger; modules name their own.
func Options(cfg config.Config, log *zap.Logger) fx.Option {
	opts := []fx.Option{
		fx.Supply(log, cfg.Events, status.Service{
			Name: cfg.Service.Name, Environment: cfg.Service.Environment, Version: cfg.Service.Version, Started: time.Now(),
		}),
		events.Module,
		dnsstore.Module,
		fx.StartTimeout(cfg.Service.StartTimeout),
		fx.StopTimeout(cfg.Service.StopTimeout),
	}
	if !cfg.Enabled("system") {
		// Without the system module fx's own events still go to zap, at debug level like system.WithLogger.
		opts = append(opts, fx.WithLogger(func() fxevent.Logger {
			z := &fxevent.ZapLogger{Logger: log.Named("fx")}
			z.UseLogLevel(zapcore.DebugLevel)
			return z
		}))
	}
	for _, name := range config.KnownModules() {
		opts = append(opts, module(name, cfg))
	}
	return fx.Options(opts...)
}

// watched is what `joyride run` adds to Options: the configuration watcher, which reloads from opts when the file
// changes or hangups delivers SIGHUP, and the process logger's level as a live key.
func watched(res *config.Result, opts config.Options, level zap.AtomicLevel, hangups <-chan os.Signal) fx.Option {
	return fx.Options(
		watcher.Module,
		fx.Supply(watcher.Source{Options: opts, Result: res, Hangups: hangups}),
		reload.Provide(func() reload.Target { return levelTarget(level) }),
	)
}

// module is what the module called name adds to the application: itself and its configuration section when
// enabled, fx.Options() when not.
func module(name string, cfg config.Config) fx.Option {
	mod, ok := modules[name]
	switch {
	case !ok:
		return fx.Error(fmt.Errorf("joyride: module %q is configurable but not built in", name))
	case !cfg.Enabled(name):
		return fx.Options()
	}
	if section, ok := cfg.Section(name); ok {
		return fx.Options(mod, fx.Supply(section))
	}
	return mod
}
