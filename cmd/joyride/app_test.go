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
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/traefikfile"
)

// Every embedded profile builds a complete application graph.
func TestValidateEveryProfile(t *testing.T) {
	for _, name := range config.Profiles() {
		t.Run(name, func(t *testing.T) {
			res, err := config.Load(config.Options{Profile: name})
			require.NoError(t, err)
			require.NoError(t, fx.ValidateApp(Options(res.Config, zap.NewNop())))
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

// traefikfile's routers run where Traefik runs, which is the host docker.host_ip names: without an address of its
// own, traefikfile gets docker's pair. Either of its own keys keeps docker's out entirely, so a configured
// host_ip never gains docker's AAAA; docker's section is read even with the docker module off.
func TestTraefikfileHostIPFallsBackToDocker(t *testing.T) {
	dockerIPs := []string{"docker.host_ip=192.0.2.1", "docker.host_ip6=2001:db8::1"}
	tests := []struct {
		name    string
		set     []string
		ip, ip6 string
	}{
		{"unset takes docker's", dockerIPs, "192.0.2.1", "2001:db8::1"},
		{"unset takes docker's with docker off", append([]string{"modules.docker=false"}, dockerIPs...),
			"192.0.2.1", "2001:db8::1"},
		{"host_ip set keeps its own", append([]string{"traefikfile.host_ip=192.0.2.2"}, dockerIPs...), "192.0.2.2", ""},
		{"host_ip6 set keeps its own", append([]string{"traefikfile.host_ip6=2001:db8::2"}, dockerIPs...),
			"", "2001:db8::2"},
		{"both set keep their own", append([]string{"traefikfile.host_ip=192.0.2.2",
			"traefikfile.host_ip6=2001:db8::2"}, dockerIPs...), "192.0.2.2", "2001:db8::2"},
		{"both unset stay unset, for auto-detection", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := config.Load(config.Options{Set: append([]string{"modules.traefikfile=true"}, tt.set...)})
			require.NoError(t, err)
			var got traefikfile.Config
			app := fx.New(fx.NopLogger, Options(res.Config, zap.NewNop()), fx.Populate(&got))
			require.NoError(t, app.Err())
			assert.Equal(t, tt.ip, got.HostIP, "traefikfile.host_ip")
			assert.Equal(t, tt.ip6, got.HostIP6, "traefikfile.host_ip6")
		})
	}
}
