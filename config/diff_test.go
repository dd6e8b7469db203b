package config

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/validation"
)

func TestDiff(t *testing.T) {
	base := Default()
	tests := []struct {
		name   string
		change func(*Config)
		want   []Change
	}{
		{"nothing", func(*Config) {}, nil},
		{"a scalar", func(c *Config) { c.DNS.NegativeTTL = 5 }, []Change{{"dns.negative_ttl", "30", "5"}}},
		{"a list is one key", func(c *Config) { c.DNS.Forwarders = []string{"127.0.0.1:53"} },
			[]Change{{"dns.forwarders", "[]", `["127.0.0.1:53"]`}}},
		{"static records are one key", func(c *Config) {
			c.Records = []records.Static{{Name: "a.lab.test", Type: "A", Value: "10.0.0.1"}}
		}, []Change{{Key: "records"}}},
		{"map entries are keys of their own", func(c *Config) { c.Modules["dns"], c.Modules["hosts"] = true, false },
			[]Change{{"modules.dns", "false", "true"}}},
		{"a map entry that appears", func(c *Config) { c.Modules["extra"] = true },
			[]Change{{"modules.extra", "null", "true"}}},
		{"a credential is masked", func(c *Config) { c.HTTP.Token = "s3cret" },
			[]Change{{"http.token", `""`, validation.Masked}}},
		{"several, in schema order", func(c *Config) { c.Log.Level = "debug"; c.DNS.UDPSize = 4000 },
			[]Change{{"log.level", `"info"`, `"debug"`}, {Key: "dns.udp_size"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := Default()
			next.Modules = map[string]bool{}
			for k, v := range base.Modules {
				next.Modules[k] = v
			}
			tt.change(&next)
			got := Diff(base, next)
			require.Len(t, got, len(tt.want), "%+v", got)
			for i, w := range tt.want {
				assert.Equal(t, w.Key, got[i].Key)
				if w.From != "" || w.To != "" {
					assert.Equal(t, w, got[i])
				}
				assert.NotEqual(t, got[i].From, got[i].To, "a change shows two values")
			}
		})
	}
}

func TestWith(t *testing.T) {
	old, next := Default(), Default()
	next.Modules = map[string]bool{"dns": true, "docker": true}
	next.DNS.NegativeTTL, next.DNS.Port = 5, 5353
	next.Log.Level = "debug"
	next.Records = []records.Static{{Name: "a.lab.test", Type: "A", Value: "10.0.0.1"}}

	got := With(old, next, []string{"dns.negative_ttl", "records", "modules.dns"})
	assert.Equal(t, uint32(5), uint32(got.DNS.NegativeTTL), "a named key is taken")
	assert.Equal(t, old.DNS.Port, got.DNS.Port, "a key not named is kept")
	assert.Equal(t, "info", got.Log.Level)
	assert.Equal(t, next.Records, got.Records, "a list is taken whole")
	assert.True(t, got.Modules["dns"], "a named map entry is taken")
	assert.False(t, got.Modules["docker"], "another entry is kept")
	_, hasHosts := got.Modules["hosts"]
	assert.True(t, hasHosts, "entries only old has are kept")
	assert.False(t, Default().Modules["dns"], "old's map is not written to")

	sect := With(old, next, []string{"dns"})
	assert.Equal(t, next.DNS, sect.DNS, "a section takes every key below it")
	assert.Empty(t, Diff(next, With(old, next, []string{"modules", "log", "dns", "records"})), "every differing key named: new")
}

// TestSection: every module cmd/joyride supplies a section to has one here, of the module's own Config type.
func TestSection(t *testing.T) {
	cfg := Default()
	for _, name := range append(KnownModules(), "log") {
		s, ok := cfg.Section(name)
		switch name {
		case "health", "metrics":
			assert.False(t, ok, "%s has no section", name)
			continue
		}
		require.True(t, ok, name)
		want := "Config"
		if name == "log" {
			want = "Log"
		}
		assert.Equal(t, want, reflect.TypeOf(s).Name(), "%s: %T", name, s)
	}
	s, _ := cfg.Section("log")
	assert.Equal(t, cfg.Log, s)
	r, _ := cfg.Section("records")
	assert.Equal(t, cfg.RecordEvents, r.(records.Config).MaxEvents)
}

func TestModuleOf(t *testing.T) {
	for key, want := range map[string]string{
		"dns.forwarders": "dns", "records": "records", "records[2].value": "records", "record_events": "records",
		"cluster.key": "cluster", "log.level": "", "service.name": "", "modules.dns": "", "events.history_size": "",
	} {
		assert.Equal(t, want, ModuleOf(key), key)
	}
}
