package main

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/config"
	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/docker"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/modules/system"
	"github.com/joyride-dns/joyride/modules/traefikfile"
	"github.com/joyride-dns/joyride/pkg/events"
)

// Every embedded profile builds a complete application graph.
func TestValidateEveryProfile(t *testing.T) {
	for _, name := range config.Profiles() {
		t.Run(name, func(t *testing.T) {
			res, err := config.Load(config.Options{Profile: name})
			require.NoError(t, err)
			require.NoError(t, fx.ValidateApp(Options(res.Config, zap.NewNop())))
			require.NoError(t, fx.ValidateApp(Options(res.Config, zap.NewNop()),
				watched(res, config.Options{Profile: name}, zap.NewAtomicLevel(), nil)), "with the watcher, as joyride run has it")
		})
	}
}

func TestEveryKnownModuleIsBuiltIn(t *testing.T) {
	assert.Equal(t, config.KnownModules(), slices.Sorted(maps.Keys(modules)))
}

// A disabled module contributes nothing: what it provides is missing from the graph.
func TestDisabledModules(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		dns     bool
		hostsOn bool
	}{
		{"all of standalone", nil, true, true},
		{"without dns", []string{"modules.dns=false"}, false, true},
		{"without hosts", []string{"modules.hosts=false"}, true, false},
		{"nothing but the bus and store", []string{"modules.dns=false", "modules.docker=false", "modules.hosts=false",
			"modules.records=false", "modules.logging=false", "modules.system=false"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := config.Load(config.Options{Set: tt.set})
			require.NoError(t, err)
			opts := Options(res.Config, zap.NewNop())
			require.NoError(t, fx.ValidateApp(opts))
			assert.Equal(t, tt.dns, fx.ValidateApp(opts, fx.Invoke(func(*dnsserver.Server) {})) == nil, "dnsserver.Server provided")
			assert.Equal(t, tt.hostsOn, fx.ValidateApp(opts, fx.Invoke(func(*hosts.Producer) {})) == nil, "hosts.Producer provided")
		})
	}
}

// Each module gets its own section of the configuration.
func TestModulesGetTheirConfig(t *testing.T) {
	res, err := config.Load(config.Options{Profile: "hosts-only", Set: []string{"dns.port=5454", "hosts.ttl=7"}})
	require.NoError(t, err)
	var d dnsserver.Config
	var h hosts.Config
	require.NoError(t, fx.ValidateApp(Options(res.Config, zap.NewNop()), fx.Populate(&d, &h)))
	app := fx.New(fx.NopLogger, Options(res.Config, zap.NewNop()), fx.Populate(&d, &h))
	require.NoError(t, app.Err())
	assert.Equal(t, 5454, d.Port)
	assert.Equal(t, uint32(7), h.TTL)
}

// The modules get config's runtime configuration as it is: the allowed domains derived from the zones there reach
// docker and traefikfile without cmd/ computing anything.
func TestModulesGetDerivedSettings(t *testing.T) {
	res, err := config.Load(config.Options{Set: []string{
		"modules.traefikfile=true", "traefikfile.directories=" + t.TempDir(), "dns.zones=lab.test",
	}})
	require.NoError(t, err)
	var d docker.Config
	var tf traefikfile.Config
	app := fx.New(fx.NopLogger, Options(res.Config, zap.NewNop()), fx.Populate(&d, &tf))
	require.NoError(t, app.Err())
	assert.Equal(t, []string{"lab.test"}, d.AllowedDomains)
	assert.Equal(t, []string{"lab.test"}, tf.AllowedDomains)
}

// Every module's configuration starts from its DefaultConfig: with no layer changing a key, what fx hands each
// module is its DefaultConfig, apart from the keys config derives or takes from another section.
func TestModuleConfigsStartFromDefaults(t *testing.T) {
	dir := t.TempDir()
	res, err := config.Load(config.Options{Set: []string{"modules.traefikfile=true", "traefikfile.directories=" + dir}})
	require.NoError(t, err)
	var (
		ev events.Config
		dn dnsserver.Config
		h  hosts.Config
		d  docker.Config
		tf traefikfile.Config
		r  records.Config
		s  system.Config
	)
	app := fx.New(fx.NopLogger, Options(res.Config, zap.NewNop()), fx.Populate(&ev, &dn, &h, &d, &tf, &r, &s))
	require.NoError(t, app.Err())

	wantDocker := docker.DefaultConfig()
	wantDocker.AllowedDomains = []string{"*"} // derived: no zones
	wantTraefik := traefikfile.DefaultConfig()
	wantTraefik.AllowedDomains = []string{"*"}
	wantTraefik.Directories = []string{dir} // the one key set
	wantSystem := system.DefaultConfig()
	wantSystem.Service = res.Config.Service.Name
	assert.Equal(t, events.DefaultConfig(), ev)
	assert.Equal(t, dnsserver.DefaultConfig(), dn)
	assert.Equal(t, hosts.DefaultConfig(), h)
	assert.Equal(t, wantDocker, d)
	assert.Equal(t, wantTraefik, tf)
	assert.Equal(t, records.DefaultConfig(), r)
	assert.Equal(t, wantSystem, s)
}
