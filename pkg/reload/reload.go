// Package reload is the contract between the configuration watcher and the modules that change settings while
// they run. Modules import no other module and not config/, so a module that can apply a new value of some of its
// keys adds a Target to the value group Group; the watcher (config/watcher) loads and validates the new
// configuration, works out which keys changed, and hands each Target whose keys changed its whole new section.
//
// A changed key that no Target covers needs a restart: the watcher says so in the log and in the
// configuration_changed event, and the module keeps running on the old value. The section a Target is handed
// keeps the running value for every key outside its Keys, so a module may compare old and new sections whole.
//
// Without the watcher (an embedding application, or `joyride run` without a configuration file) nothing consumes
// the group and no Target is built.
package reload

import (
	"context"
	"slices"
	"strings"

	"go.uber.org/fx"
)

// Group is the value group's tag, exported so that an embedding application can add its own Targets.
const Group = `group:"joyride.reload"`

// Target is one module's live settings.
type Target struct {
	// Module names the module ("dns", "hosts", "log"), for logs and errors.
	Module string
	// Keys are the configuration keys the module applies live, as `joyride config print` names them
	// ("dns.forwarders", "records"); a key covers every key below it ("docker.traefik" covers
	// "docker.traefik.enabled").
	Keys []string
	// Apply is handed the module's whole new section, of the type the module is configured with (dnsserver.Config
	// for "dns"). It applies the change without dropping a query or losing a record that is still configured, and
	// returns once it is applied or ctx ends. It is called from one goroutine at a time, never before the
	// module's OnStart has returned nor after its OnStop has begun. An error leaves the module on its old values;
	// the watcher reports it.
	Apply func(ctx context.Context, section any) error
}

// Covers reports whether key ("dns.forwarders", "records[2].value", "modules.docker") is one of t's keys or below
// one of them.
func (t Target) Covers(key string) bool { return Covered(t.Keys, key) }

// Covered reports whether key is one of keys or below one of them.
func Covered(keys []string, key string) bool {
	return slices.ContainsFunc(keys, func(k string) bool {
		return key == k || strings.HasPrefix(key, k+".") || strings.HasPrefix(key, k+"[")
	})
}

// Provide adds the Target that constructor f returns to Group; f's parameters are injected like any constructor's.
func Provide(f any) fx.Option {
	return fx.Provide(fx.Annotate(f, fx.ResultTags(Group)))
}

// Targets is the group as its consumer receives it, in no particular order.
type Targets struct {
	fx.In
	Targets []Target `group:"joyride.reload"`
}
