package httpapi

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig listens on a free loopback port.
func testConfig() Config {
	c := DefaultConfig()
	c.Host, c.Port = "127.0.0.1", 0
	return c
}

var testService = status.Service{Name: "Joyride DNS", Environment: "test", Version: "1.2.3", Started: time.Now()}

func TestModule(t *testing.T) {
	var srv *Server
	app := fxtest.New(t,
		dnsstore.Module,
		events.Module,
		Module,
		fx.Supply(testConfig(), events.DefaultConfig(), testService),
		fx.Provide(zap.NewNop),
		fx.Populate(&srv),
	)
	require.Empty(t, srv.Addr(), "the constructor binds nothing")
	app.RequireStart()
	addr := srv.Addr()
	require.NotEmpty(t, addr)

	resp, err := http.Get("http://" + addr + "/health")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "healthy", body["status"])
	assert.Equal(t, "Joyride DNS", body["service"])
	assert.Equal(t, "1.2.3", body["version"])

	app.RequireStop()
	assert.Empty(t, srv.Addr())
	_, err = net.Dial("tcp", addr)
	assert.Error(t, err, "the listener is closed after stop")
}

func TestModuleFailsOnTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	cfg := testConfig()
	cfg.Port = taken.Addr().(*net.TCPAddr).Port
	app := fxtest.New(t, dnsstore.Module, events.Module, Module, fx.Supply(cfg, events.DefaultConfig(), testService),
		fx.Provide(zap.NewNop))
	err = app.Start(context.Background())
	require.ErrorContains(t, err, taken.Addr().String())
	require.NoError(t, app.Stop(context.Background()), "stop after a failed start")
}

func TestStopWithoutStart(t *testing.T) {
	s := newTestServer(t, testConfig())
	require.NoError(t, s.Stop(context.Background()))
}

// newTestServer builds a server (not started) on a started bus and an empty store.
func newTestServer(t *testing.T, cfg Config, opts ...func(*Params)) *Server {
	t.Helper()
	bus, err := events.NewBus(events.DefaultConfig(), zap.NewNop())
	require.NoError(t, err)
	require.NoError(t, bus.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, bus.Stop(context.Background())) })
	p := Params{Bus: bus, Store: dnsstore.New(), Config: cfg, Service: testService}
	for _, o := range opts {
		o(&p)
	}
	s, err := New(p)
	require.NoError(t, err)
	return s
}
