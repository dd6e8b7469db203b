package integration

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/events"
)

// auditTrail is an embedding application's own module: it subscribes to Joyride's bus and keeps what it saw.
type auditTrail struct {
	mu   sync.Mutex
	seen []events.Event
}

func (a *auditTrail) events() []events.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]events.Event(nil), a.seen...)
}

var auditModule = fx.Module("audit",
	fx.Provide(func(bus *events.Bus) *auditTrail {
		a := &auditTrail{}
		bus.Subscribe("audit", events.Filter{Families: []events.Family{events.FamilyHosts, events.FamilyDNS}},
			func(_ context.Context, e events.Event) error {
				a.mu.Lock()
				a.seen = append(a.seen, e)
				a.mu.Unlock()
				return nil
			})
		return a
	}),
)

// TestEmbedding builds an fx app of its own from a subset of Joyride's modules — no cmd/joyride, no config
// package — plus a module that consumes Joyride's events, and checks that DNS answers and events flow.
func TestEmbedding(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "embedded"), "10.2.0.1 embedded.example.test\n")

	dnsCfg := dnsserver.DefaultConfig()
	dnsCfg.BindAddress, dnsCfg.Port = "127.0.0.1", 0
	hostsCfg := hosts.DefaultConfig()
	hostsCfg.Directories = []string{dir}

	var server *dnsserver.Server
	var trail *auditTrail
	app := fxtest.New(t,
		fx.Provide(func() *zap.Logger { return zaptest.NewLogger(t) }),
		fx.NopLogger,
		events.Module, dnsstore.Module, records.Module, hosts.Module, dnsserver.Module, auditModule,
		fx.Supply(dnsCfg, hostsCfg, events.DefaultConfig(), records.DefaultConfig()),
		fx.Populate(&server, &trail),
	)
	app.RequireStart()
	defer app.RequireStop()

	udp, _ := server.Addr()
	require.Eventually(t, func() bool {
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(dnstest.Query("embedded.example.test.", dns.TypeA), udp.String())
		return err == nil && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "10.2.0.1"
	}, 10*time.Second, 20*time.Millisecond)

	var file, added events.Event
	require.Eventually(t, func() bool {
		for _, e := range trail.events() {
			switch ev := e.(type) {
			case *events.FileEvent:
				if ev.Kind == events.FileCreated {
					file = e
				}
			case *events.DNSEvent:
				if ev.Record.Name == "embedded.example.test." {
					added = e
				}
			}
		}
		return file != nil && added != nil
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, file.Meta().CorrelationID, added.Meta().CorrelationID, "the DNS change is traced to the file that caused it")
}
