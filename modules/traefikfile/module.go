package traefikfile

import (
	"go.uber.org/fx"

	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
)

// The fx layer: a Producer works without it (NewProducer, Start, Stop); Module only provides it and ties it to
// the application's lifecycle.

// Module provides the *Producer and anchors it so its hooks are registered.
var Module = fx.Module(moduleName, fx.Provide(New), fx.Invoke(func(*Producer) {}), status.Provide(Reporter),
	reload.Provide(target),
	status.ProvideCollector(newCollector),
)

// target is the producer as the configuration watcher sees it (pkg/reload): every key of its section, applied by
// Apply.
func target(p *Producer) reload.Target {
	return reload.For(moduleName, []string{
		"traefikfile.directories", "traefikfile.host_ip", "traefikfile.host_ip6", "traefikfile.ttl",
		"traefikfile.allowed_domains", "traefikfile.rule_syntax", "traefikfile.poll_interval", "traefikfile.debounce",
	}, p.Apply)
}

// Params are the producer's dependencies: the application's logger and bus, and this module's Config.
type Params = producer.Params[Config]

// New builds the producer from p (see NewProducer) and ties Start and Stop to the lifecycle.
func New(p Params) (*Producer, error) { return producer.New(p, NewProducer) }
