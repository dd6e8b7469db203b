package dnsserver

import (
	"context"
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

func TestModule(t *testing.T) {
	var srv *Server
	var store *dnsstore.Store
	var collectors []prometheus.Collector
	app := fxtest.New(t,
		dnsstore.Module,
		events.Module,
		Module,
		fx.Supply(testConfig(), events.DefaultConfig()),
		fx.Provide(zap.NewNop),
		fx.Populate(&srv, &store),
		fx.Invoke(fx.Annotate(func(cs []prometheus.Collector) { collectors = cs }, fx.ParamTags(status.CollectorGroup))),
	)
	require.Len(t, collectors, 1, "the server's metrics")
	require.False(t, srv.Running(), "the constructor starts nothing")
	app.RequireStart()
	require.True(t, srv.Running())

	rec, err := dnsstore.NewRecord("a.lab.test", "A", "10.0.0.1", 60)
	require.NoError(t, err)
	store.Replace("test", []dnsstore.Record{rec})
	requireAnswers(t, srv, "udp")
	requireAnswers(t, srv, "tcp")
	require.Eventually(t, func() bool {
		return statustest.Collect(t, collectors...).Sum("joyride_dns_queries_total", "type", "A") >= 2
	}, 5*time.Second, time.Millisecond)

	app.RequireStop()
	require.False(t, srv.Running())
}

func TestModuleFailsOnTakenPort(t *testing.T) {
	addr, release := takePort(t, "udp")
	defer release()
	cfg := testConfig()
	cfg.Port = addr.Port
	app := fxtest.New(t, dnsstore.Module, Module, fx.Supply(cfg), fx.Provide(zap.NewNop))
	err := app.Start(context.Background())
	require.ErrorContains(t, err, addr.String())
	require.NoError(t, app.Stop(context.Background()))
}

func TestModuleRejectsBadZone(t *testing.T) {
	cfg := testConfig()
	cfg.Zones = []string{"bad..zone"}
	app := fx.New(dnsstore.Module, Module, fx.Supply(cfg), fx.Provide(zap.NewNop), fx.NopLogger)
	require.ErrorContains(t, app.Err(), `zone "bad..zone"`)
}
