package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// TestReloadTargetsServeThroughout runs the hosts, records and DNS modules in one fx application and applies new
// sections to their reload.Targets again and again (another hosts directory beside a kept one, another static
// record beside a kept one, another negative TTL) while clients query the kept names over loopback UDP without
// pause: every query is answered with the kept name's address. Then the last configuration is served: the names
// of the directory and the record no longer configured are gone, the new ones answered.
func TestReloadTargetsServeThroughout(t *testing.T) {
	root := t.TempDir()
	dirs := map[string]string{}
	for i, name := range []string{"kept", "a", "b"} {
		dirs[name] = filepath.Join(root, name)
		require.NoError(t, os.Mkdir(dirs[name], 0o755))
		writeFile(t, filepath.Join(dirs[name], "hosts"), fmt.Sprintf("10.0.0.%d %s.lab.test\n", i+1, name))
	}
	dnsCfg := dnsserver.DefaultConfig()
	dnsCfg.BindAddress, dnsCfg.Port, dnsCfg.Zones = "127.0.0.1", 0, []string{"lab.test"}
	hostsCfg := hosts.DefaultConfig()
	hostsCfg.Directories = []string{dirs["kept"], dirs["a"]}
	staticKept := records.Static{Name: "static.lab.test", Type: "A", Value: "10.1.0.1", TTL: 60}
	recordsCfg := records.Config{MaxEvents: 1000, Static: []records.Static{staticKept}}

	var server *dnsserver.Server
	targets := map[string]reload.Target{}
	app := fx.New(
		fx.Supply(zaptest.NewLogger(t), events.DefaultConfig(), recordsCfg, dnsCfg, hostsCfg),
		events.Module, dnsstore.Module, records.Module, hosts.Module, dnsserver.Module,
		fx.NopLogger,
		fx.Populate(&server),
		fx.Invoke(func(r reload.Targets) {
			for _, target := range r.Targets {
				targets[target.Module] = target
			}
		}),
	)
	require.NoError(t, app.Err())
	require.NoError(t, app.Start(t.Context()))
	defer func() { require.NoError(t, app.Stop(context.Background())) }()
	require.Len(t, targets, 3, "dns, hosts and records")

	udp, _ := server.Addr()
	addr := udp.String()
	kept := map[string]string{"kept.lab.test.": "10.0.0.1", "static.lab.test.": "10.1.0.1", "a.lab.test.": "10.0.0.2"}
	for name, want := range kept {
		dnstest.Eventually(t, "udp", addr, dnstest.Query(name, dns.TypeA), func(m *dns.Msg) bool {
			return len(m.Answer) == 1 && m.Answer[0].(*dns.A).A.String() == want
		}, name+" served at start")
	}

	// The configurations applied in turn; the last one (i odd) watches b and serves extra-1.
	config := func(i int) (hosts.Config, records.Config, dnsserver.Config) {
		h, r, d := hostsCfg, recordsCfg, dnsCfg
		h.Directories = []string{dirs["kept"], dirs[[]string{"a", "b"}[i%2]]}
		r.Static = []records.Static{staticKept, {Name: fmt.Sprintf("extra-%d.lab.test", i%2), Type: "A", Value: "10.1.0.2", TTL: 60}}
		d.NegativeTTL = uint32(30 + i%2)
		return h, r, d
	}
	done := make(chan struct{})
	var applies atomic.Int64
	applied := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			select {
			case <-done:
				applied <- nil
				return
			default:
			}
			h, r, d := config(i)
			for module, section := range map[string]any{"hosts": h, "records": r, "dns": d} {
				if err := targets[module].Apply(context.Background(), section); err != nil {
					applied <- fmt.Errorf("%s: %w", module, err)
					return
				}
			}
			applies.Add(1)
		}
	}()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, name := range []string{"kept.lab.test.", "static.lab.test.", "kept.lab.test.", "static.lab.test."} {
		wg.Go(func() {
			c := &dns.Client{Net: "udp", Timeout: dnstest.Timeout}
			for i := range 1500 {
				resp, _, err := c.Exchange(dnstest.Query(name, dns.TypeA), addr)
				ok := err == nil && len(resp.Answer) == 1 && resp.Answer[0].(*dns.A).A.String() == kept[name]
				if !assert.True(t, ok, "query %d for %s during reloads: %v %v", i, name, err, resp) {
					failed.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	require.NoError(t, <-applied)
	require.Zero(t, failed.Load(), "every query answered with the kept name's address")
	require.Greater(t, applies.Load(), int64(2), "the configuration changed while the queries ran")
	t.Logf("%d configurations applied while %d queries were answered", applies.Load(), 4*1500)

	// End on a known configuration: b watched, extra-1 served, a and extra-0 gone, negative TTL 31.
	h, r, d := config(1)
	for module, section := range map[string]any{"hosts": h, "records": r, "dns": d} {
		require.NoError(t, targets[module].Apply(context.Background(), section), module)
	}
	for name, want := range map[string]string{"b.lab.test.": "10.0.0.3", "extra-1.lab.test.": "10.1.0.2", "a.lab.test.": "", "extra-0.lab.test.": ""} {
		dnstest.Eventually(t, "udp", addr, dnstest.Query(name, dns.TypeA), func(m *dns.Msg) bool {
			if want == "" {
				return m.Rcode == dns.RcodeNameError && len(m.Ns) == 1 && m.Ns[0].(*dns.SOA).Minttl == 31
			}
			return len(m.Answer) == 1 && m.Answer[0].(*dns.A).A.String() == want
		}, name+" after the last reload")
	}
}
