package dnsserver

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
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
	"github.com/joyride-dns/joyride/pkg/reload"
)

// answering returns an upstream that answers every A question with addr.
func answering(addr string) dns.HandlerFunc {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		if q := req.Question[0]; q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, dnstest.RR(q.Name+" 300 IN A "+addr))
		}
		_ = w.WriteMsg(m)
	}
}

// answerA is the address of resp's only A record, or its rcode's name when it has none.
func answerA(resp *dns.Msg) string {
	if len(resp.Answer) == 1 {
		if a, ok := resp.Answer[0].(*dns.A); ok {
			return a.A.String()
		}
	}
	return dns.RcodeToString[resp.Rcode]
}

// negativeTTL is the SOA minimum of resp's authority section, or -1 without a SOA.
func negativeTTL(resp *dns.Msg) int {
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return int(soa.Minttl)
		}
	}
	return -1
}

// soaOf describes the SOA among rrs without its serial (the store's generation), or says there is none.
func soaOf(rrs []dns.RR) string {
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			return fmt.Sprintf("%s %s %s minimum %d", soa.Hdr.Name, soa.Ns, soa.Mbox, soa.Minttl)
		}
	}
	return "no SOA"
}

// TestApply changes one setting of a running server: the next query is answered with the new value, over UDP (the
// first query of each pair fills the cache, so a stale cached reply would show) and over TCP.
func TestApply(t *testing.T) {
	up1 := dnstest.Serve(t, answering("192.0.2.1"))
	up2 := dnstest.Serve(t, answering("192.0.2.2"))
	tests := []struct {
		name   string
		before func(*Config) // the running configuration, from testConfig
		change func(*Config) // what Apply is handed, from the running configuration
		query  *dns.Msg
		// answer describes a reply: what the test compares before and after.
		answer       func(*dns.Msg) string
		want, wanted string // before Apply, after it
		// udpOnly: the answer is about UDP (TCP replies are never truncated).
		udpOnly bool
	}{
		{
			name:   "a changed forwarder is used by the next forwarded query",
			before: func(c *Config) { c.Forwarders = []string{up1} },
			change: func(c *Config) { c.Forwarders = []string{up2} },
			query:  dnstest.Query("app.example.com.", dns.TypeA),
			answer: answerA,
			want:   "192.0.2.1", wanted: "192.0.2.2",
		},
		{
			name:   "forwarders set where there were none: a cached REFUSED is not served",
			change: func(c *Config) { c.Forwarders = []string{up1} },
			query:  dnstest.Query("app.example.com.", dns.TypeA),
			answer: answerA,
			want:   "REFUSED", wanted: "192.0.2.1",
		},
		{
			name:   "forwarders removed",
			before: func(c *Config) { c.Forwarders = []string{up1} },
			change: func(c *Config) { c.Forwarders = nil },
			query:  dnstest.Query("app.example.com.", dns.TypeA),
			answer: answerA,
			want:   "192.0.2.1", wanted: "REFUSED",
		},
		{
			name: "a shorter forward_timeout lets the next forwarder answer",
			// The first forwarder never answers; with a minute to wait for it the query would time out.
			before: func(c *Config) { c.Forwarders, c.ForwardTimeout = []string{silentForwarder(t), up2}, time.Minute },
			change: func(c *Config) { c.ForwardTimeout = 50 * time.Millisecond },
			query:  dnstest.Query("app.example.com.", dns.TypeA),
			answer: answerA,
			wanted: "192.0.2.2",
		},
		{
			name:   "forward_allow without this client",
			before: func(c *Config) { c.Forwarders = []string{up1} },
			change: func(c *Config) { c.ForwardAllow = []string{"10.0.0.0/8"} },
			query:  dnstest.Query("app.example.com.", dns.TypeA),
			answer: answerA,
			want:   "192.0.2.1", wanted: "REFUSED",
		},
		{
			name:   "negative_ttl is the SOA minimum of an NXDOMAIN",
			change: func(c *Config) { c.NegativeTTL = 5 },
			query:  dnstest.Query("missing.lab.test.", dns.TypeA),
			answer: func(m *dns.Msg) string {
				return fmt.Sprintf("%s minimum %d ttl %d", dns.RcodeToString[m.Rcode], negativeTTL(m), m.Ns[0].Header().Ttl)
			},
			want: "NXDOMAIN minimum 30 ttl 30", wanted: "NXDOMAIN minimum 5 ttl 5",
		},
		{
			name:   "a zone added",
			change: func(c *Config) { c.Zones = append(c.Zones, "other.test") },
			query:  dnstest.Query("x.other.test.", dns.TypeA),
			answer: func(m *dns.Msg) string { return dns.RcodeToString[m.Rcode] + " " + soaOf(m.Ns) },
			want:   "REFUSED no SOA",
			wanted: "NXDOMAIN other.test. ns.other.test. hostmaster.other.test. minimum 30",
		},
		{
			name:   "a zone removed",
			change: func(c *Config) { c.Zones = nil },
			query:  dnstest.Query("missing.lab.test.", dns.TypeA),
			answer: func(m *dns.Msg) string { return dns.RcodeToString[m.Rcode] },
			want:   "NXDOMAIN", wanted: "REFUSED",
		},
		{
			name:   "nameserver and hostmaster",
			change: func(c *Config) { c.Nameserver, c.Hostmaster = "dns1.lab.test", "admin@lab.test" },
			query:  dnstest.Query("lab.test.", dns.TypeSOA),
			answer: func(m *dns.Msg) string { return soaOf(m.Answer) },
			want:   "lab.test. ns.lab.test. hostmaster.lab.test. minimum 30",
			wanted: "lab.test. dns1.lab.test. admin.lab.test. minimum 30",
		},
		{
			name:   "addresses of the nameserver name",
			before: func(c *Config) { c.Nameserver = "dns1.lab.test" },
			change: func(c *Config) { c.Addresses = []string{"10.53.0.1"} },
			query:  dnstest.Query("dns1.lab.test.", dns.TypeA),
			answer: answerA,
			want:   "127.0.0.1", wanted: "10.53.0.1",
		},
		{
			name:   "udp_size is advertised and honoured",
			change: func(c *Config) { c.UDPSize = 4096 },
			query: func() *dns.Msg {
				m := dnstest.Query("big.lab.test.", dns.TypeA)
				m.SetEdns0(4096, false)
				return m
			}(),
			answer: func(m *dns.Msg) string {
				return fmt.Sprintf("payload %d truncated %v", m.IsEdns0().UDPSize(), m.Truncated)
			},
			want: "payload 1232 truncated true", wanted: "payload 4096 truncated false",
			udpOnly: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.before != nil {
				tt.before(&cfg)
			}
			srv := startServer(t, cfg, newTestStore(t), nil, nil)
			ask := func(network string) string {
				t.Helper()
				return tt.answer(dnstest.Exchange(t, network, addrOf(srv, network), tt.query.Copy()))
			}
			networks := []string{"udp", "udp", "tcp"} // the first UDP query fills the cache
			if tt.udpOnly {
				networks = networks[:2]
			}
			if tt.want != "" {
				for _, network := range networks {
					require.Equal(t, tt.want, ask(network), "before Apply, over %s", network)
				}
			}
			next := cfg
			tt.change(&next)
			require.NoError(t, srv.Apply(context.Background(), next))
			for _, network := range networks {
				require.Equal(t, tt.wanted, ask(network), "after Apply, over %s", network)
			}
		})
	}
}

// TestApplyRejects: a configuration NewServer would refuse, a moved listener or an ended context is an error, and
// the server keeps answering with its old settings.
func TestApplyRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ctx    func() context.Context
		err    string
	}{
		{name: "a bad zone", change: func(c *Config) { c.Zones = []string{"bad..zone"} }, err: `zone "bad..zone"`},
		{name: "a forwarder without a port", change: func(c *Config) { c.Forwarders = []string{"192.0.2.1"} },
			err: `forwarder "192.0.2.1" is not host:port`},
		{name: "a bad address", change: func(c *Config) { c.Addresses = []string{"ten"} }, err: `addresses: "ten"`},
		{name: "udp_size below 512", change: func(c *Config) { c.UDPSize = 100 }, err: "udp_size 100"},
		{name: "another port", change: func(c *Config) { c.Port = 53 }, err: "bind_address and port cannot change live"},
		{name: "another bind address", change: func(c *Config) { c.BindAddress = "127.0.0.2" },
			err: "bind_address and port cannot change live"},
		{
			name: "an ended context",
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			err: "context canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			srv := startServer(t, cfg, newTestStore(t), nil, nil)
			next := cfg
			next.NegativeTTL = 5 // the change that must not be applied
			if tt.change != nil {
				tt.change(&next)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			require.ErrorContains(t, srv.Apply(ctx, next), tt.err)
			resp := dnstest.Exchange(t, "udp", addrOf(srv, "udp"), dnstest.Query("missing.lab.test.", dns.TypeA))
			require.Equal(t, 30, negativeTTL(resp), "the old negative TTL stays")
			require.Equal(t, cfg.BindAddress, srv.Status().BindAddress, "the status still reports the running configuration")
		})
	}
}

// TestApplyUnderLoad queries over real loopback UDP and TCP, without pause, while the settings change back and
// forth: no query goes unanswered or gets an answer that is neither the old nor the new settings' one.
func TestApplyUnderLoad(t *testing.T) {
	up1 := dnstest.Serve(t, answering("192.0.2.1"))
	up2 := dnstest.Serve(t, answering("192.0.2.2"))
	a := testConfig()
	a.Forwarders = []string{up1}
	b := a
	b.Forwarders, b.NegativeTTL, b.Zones = []string{up2}, 5, []string{"lab.test", "other.test"}
	srv := startServer(t, a, newTestStore(t), nil, nil)

	queries := []struct {
		q     *dns.Msg
		check func(*dns.Msg) bool
	}{
		{dnstest.Query("a.lab.test.", dns.TypeA), func(m *dns.Msg) bool { return answerA(m) == "10.0.0.1" }},
		{dnstest.Query("missing.lab.test.", dns.TypeA), func(m *dns.Msg) bool {
			n := negativeTTL(m)
			return m.Rcode == dns.RcodeNameError && (n == 30 || n == 5)
		}},
		{dnstest.Query("app.example.com.", dns.TypeA), func(m *dns.Msg) bool {
			return answerA(m) == "192.0.2.1" || answerA(m) == "192.0.2.2"
		}},
	}
	var applies atomic.Int64
	done := make(chan struct{})
	applied := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				applied <- nil
				return
			default:
			}
			if err := srv.Apply(context.Background(), []Config{a, b}[i%2]); err != nil {
				applied <- err
				return
			}
			applies.Add(1)
		}
	}()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, network := range []string{"udp", "udp", "udp", "tcp"} {
		wg.Go(func() {
			c := &dns.Client{Net: network, Timeout: dnstest.Timeout}
			for i := range 300 {
				q := queries[i%len(queries)]
				resp, _, err := c.Exchange(q.q.Copy(), addrOf(srv, network))
				if !assert.NoError(t, err, "query %d over %s", i, network) || !assert.True(t, q.check(resp),
					"query %d over %s for %s: %v", i, network, q.q.Question[0].Name, resp) {
					failed.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	require.NoError(t, <-applied)
	require.Zero(t, failed.Load())
	require.Greater(t, applies.Load(), int64(10), "the settings changed while the queries ran")
}

func TestModuleReloadTarget(t *testing.T) {
	var srv *Server
	var targets []reload.Target
	cfg := testConfig()
	app := fxtest.New(t,
		dnsstore.Module, events.Module, Module,
		fx.Supply(cfg, events.DefaultConfig()),
		fx.Provide(zap.NewNop),
		fx.Populate(&srv),
		fx.Invoke(func(r reload.Targets) { targets = r.Targets }),
	)
	app.RequireStart()
	defer app.RequireStop()

	require.Len(t, targets, 1)
	target := targets[0]
	require.Equal(t, "dns", target.Module)
	for key, live := range map[string]bool{
		"dns.forwarders": true, "dns.forward_timeout": true, "dns.forward_allow": true, "dns.negative_ttl": true,
		"dns.zones": true, "dns.udp_size": true, "dns.nameserver": true, "dns.addresses": true, "dns.hostmaster": true,
		"dns.bind_address": false, "dns.port": false, "hosts.ttl": false,
	} {
		require.Equal(t, live, target.Covers(key), key)
	}
	require.ErrorContains(t, target.Apply(context.Background(), "not a section"), "not a dnsserver.Config")

	next := cfg
	next.NegativeTTL = 7
	require.NoError(t, target.Apply(context.Background(), next))
	udp, _ := srv.Addr()
	resp := dnstest.Exchange(t, "udp", udp.String(), dnstest.Query("missing.lab.test.", dns.TypeA))
	require.Equal(t, 7, negativeTTL(resp))
	_, port, err := net.SplitHostPort(udp.String())
	require.NoError(t, err)
	require.Equal(t, port, fmt.Sprint(srv.Status().Port))
}

// TestApplyUDPSizeResizesBuffers: after udp_size grows, queries up to the new size are read whole. The read the
// worker was blocked in when Apply ran still uses the old buffers, so the query it returns may be cut; the next
// one may not.
func TestApplyUDPSizeResizesBuffers(t *testing.T) {
	cfg := testConfig()
	srv := startServer(t, cfg, newTestStore(t), nil, nil)
	big := dnstest.Query("a.lab.test.", dns.TypeA)
	big.SetEdns0(4096, false)
	big.IsEdns0().Option = append(big.IsEdns0().Option, &dns.EDNS0_PADDING{Padding: make([]byte, 2000)})
	resp := dnstest.Exchange(t, "udp", addrOf(srv, "udp"), big.Copy())
	require.Equal(t, "FORMERR", dns.RcodeToString[resp.Rcode], "a query longer than udp_size is cut")

	cfg.UDPSize = 4096
	require.NoError(t, srv.Apply(context.Background(), cfg))
	var rcodes []string
	for range 2 {
		resp := dnstest.Exchange(t, "udp", addrOf(srv, "udp"), big.Copy())
		rcodes = append(rcodes, dns.RcodeToString[resp.Rcode])
	}
	require.Equal(t, "NOERROR", rcodes[1], "after the read under way, queries up to the new size are whole: %v", rcodes)
}
