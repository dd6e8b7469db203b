package dnsserver

import (
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// decode is a Status as the HTTP API encodes it.
func decode(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestReporter(t *testing.T) {
	var reporters []status.Reporter
	var srv *Server
	app := fxtest.New(t,
		dnsstore.Module, events.Module, Module,
		fx.Supply(testConfig(), events.DefaultConfig()),
		fx.Provide(zap.NewNop),
		fx.Invoke(fx.Annotate(func(rs []status.Reporter) { reporters = rs }, fx.ParamTags(status.ReporterGroup))),
		fx.Populate(&srv),
	)
	require.Len(t, reporters, 1, "the module provides its Reporter")
	r := reporters[0]
	assert.Equal(t, "dns", r.Name)

	stopped := decode(t, r.Status())
	assert.Equal(t, map[string]any{"port": float64(0), "bind_address": "127.0.0.1", "running": false,
		"zones": []any{"lab.test"}, "addresses": []any{},
		"statistics": map[string]any{"queries": float64(0), "answers": map[string]any{}, "forwarded": float64(0),
			"panics": float64(0), "invalid": float64(0), "cache_hits": float64(0)}}, stopped)

	app.RequireStart()
	req := new(dns.Msg).SetQuestion("missing.lab.test.", dns.TypeA)
	dnstest.Exchange(t, "udp", addrOf(srv, "udp"), req)
	require.Eventually(t, func() bool { return srv.Stats().Queries == 1 }, 5*time.Second, time.Millisecond)
	running := decode(t, r.Status())
	_, port, err := net.SplitHostPort(addrOf(srv, "udp"))
	require.NoError(t, err)
	assert.Equal(t, port, strconv.Itoa(int(running["port"].(float64))), "the bound port while serving")
	assert.Equal(t, true, running["running"])
	assert.Equal(t, addrOf(srv, "udp"), running["udp"])
	assert.Equal(t, addrOf(srv, "tcp"), running["tcp"])
	assert.Equal(t, float64(1), running["statistics"].(map[string]any)["queries"])
	app.RequireStop()
	assert.Equal(t, false, decode(t, r.Status())["running"])
}
