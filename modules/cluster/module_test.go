package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// The module under fx: it starts and stops with the application, and with synchronisation switched off
// (ENABLE_DNS_SYNC=false) it binds nothing and says so in Status.
func TestModule(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		t.Run("enabled="+strconv.FormatBool(enabled), func(t *testing.T) {
			cfg := testConfig()
			cfg.Enabled = enabled
			cfg.NodeID, cfg.BindAddress, cfg.Port = "solo", "127.0.0."+strconv.Itoa(firstHost(t)), 0
			var c *Cluster
			var collectors []prometheus.Collector
			app := fxtest.New(t, fx.NopLogger,
				fx.Supply(zap.NewNop(), events.DefaultConfig(), cfg),
				events.Module, dnsstore.Module, Module,
				fx.Populate(&c),
				fx.Invoke(fx.Annotate(func(cs []prometheus.Collector) { collectors = cs }, fx.ParamTags(status.CollectorGroup))),
			)
			app.RequireStart()
			require.Len(t, collectors, 1, "the module's metrics")
			require.Contains(t, statustest.Collect(t, collectors...).Families, "joyride_cluster_members")
			st := c.Status()
			require.Equal(t, enabled, st.Running)
			require.Equal(t, enabled, st.Enabled)
			if enabled {
				require.Equal(t, "solo", st.NodeID)
				require.NotEmpty(t, st.Address)
			} else {
				require.Error(t, c.ForceSync(t.Context()))
			}
			app.RequireStop()
			require.False(t, c.Status().Running)
		})
	}
}

// Configuration errors name the key; the key itself never appears.
func TestNewClusterErrors(t *testing.T) {
	bus, err := events.NewBus(events.DefaultConfig(), nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no allowed domains", func(c *Config) { c.AllowedDomains = nil }, "cluster.allowed_domains is empty"},
		{"short key", func(c *Config) { c.Key = "c2VjcmV0" }, "cluster.key: 6 bytes"},
		{"key and keyring", func(c *Config) { c.Key, c.KeyringFile = testKey(1), "/x" }, "not both"},
		{"missing keyring", func(c *Config) { c.KeyringFile = "/nonexistent/keys" }, "cluster.keyring_file"},
		{"same ports", func(c *Config) { c.Port, c.DiscoveryPort = 8890, 8890 }, "must differ"},
		{"bad policy", func(c *Config) { c.Policy = "loudest" }, "cluster.policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			_, err := NewCluster(cfg, nil, bus, dnsstore.New())
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "c2VjcmV0")
		})
	}
}

func TestNodeIDAndEpoch(t *testing.T) {
	dir := t.TempDir()
	id, err := nodeID("", dir)
	require.NoError(t, err)
	again, err := nodeID("", dir)
	require.NoError(t, err)
	require.Equal(t, id, again, "the ID kept in data_dir changed")
	configured, err := nodeID("dns1", dir)
	require.NoError(t, err)
	require.Equal(t, "dns1", configured)
	_, err = nodeID("a/b", "")
	require.Error(t, err)

	now := time.Unix(1000, 0)
	e1, err := bootEpoch(dir, now)
	require.NoError(t, err)
	e2, err := bootEpoch(dir, now.Add(-time.Hour)) // the clock went back
	require.NoError(t, err)
	require.Greater(t, e2, e1, "an epoch went backwards")
	e3, err := bootEpoch("", now)
	require.NoError(t, err)
	require.Equal(t, uint64(now.UnixNano()), e3)
}
