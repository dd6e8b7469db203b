package dnsserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

// requireAnswers asserts that the server still answers a valid query over network.
func requireAnswers(t *testing.T, srv *Server, network string) {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion("a.lab.test.", dns.TypeA)
	resp := dnstest.Exchange(t, network, addrOf(srv, network), req)
	require.Equal(t, dns.RcodeSuccess, resp.Rcode)
	require.Equal(t, []string{"a.lab.test. 60 IN A 10.0.0.1"}, dnstest.Sorted(resp.Answer))
}

// garbage are packets no parser should accept, each of which must leave the server answering.
func garbage() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	random[2] &^= 0x80 // a query, so that miekg/dns tries to parse it
	return map[string][]byte{
		"one byte":             {0x42},
		"short header":         {0x12, 0x34, 0x01, 0x00, 0x00},
		"question cut short":   {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 3, 'a', 'b'},
		"compression loop":     {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1},
		"65535 questions":      {0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0},
		"label past the end":   {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 63, 'x'},
		"a response (ignored)": {0x12, 0x34, 0x81, 0x80, 0x00, 0x00, 0, 0, 0, 0, 0, 0},
		"random":               random,
	}
}

func TestMalformedPacketsUDP(t *testing.T) {
	srv := startServer(t, testConfig(), newTestStore(t), nil, nil)
	conn, err := net.Dial("udp", addrOf(srv, "udp"))
	require.NoError(t, err)
	defer conn.Close()
	for name, p := range garbage() {
		t.Run(name, func(t *testing.T) {
			_, err := conn.Write(p)
			require.NoError(t, err)
			requireAnswers(t, srv, "udp")
		})
	}
	require.Eventually(t, func() bool { return srv.Stats().Invalid >= 4 }, 5*time.Second, 10*time.Millisecond,
		"malformed packets are counted")
	require.True(t, srv.Running())
}

func TestMalformedQuestionIsFormErr(t *testing.T) {
	srv := startServer(t, testConfig(), newTestStore(t), nil, nil)
	conn, err := net.Dial("udp", addrOf(srv, "udp"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write(garbage()["question cut short"])
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	require.NoError(t, err)
	resp := new(dns.Msg)
	require.NoError(t, resp.Unpack(buf[:n]))
	require.Equal(t, uint16(0x1234), resp.Id)
	require.Equal(t, dns.RcodeFormatError, resp.Rcode)
}

func TestStats(t *testing.T) {
	cfg := testConfig()
	cfg.Forwarders = []string{dnstest.Serve(t, dns.HandlerFunc(upstream))}
	srv := startServer(t, cfg, newTestStore(t), nil, nil)
	for _, name := range []string{"a.lab.test.", "www.lab.test.", "missing.lab.test.", "example.com.", "A.lab.test."} {
		req := new(dns.Msg)
		req.SetQuestion(name, dns.TypeA)
		dnstest.Exchange(t, "udp", addrOf(srv, "udp"), req)
	}
	// The UDP worker adds its counts after sending a batch's replies, so the last ones may lag a little.
	want := Stats{
		Queries:   5,
		Answers:   map[string]uint64{"NOERROR": 4, "NXDOMAIN": 1},
		Forwarded: 1,
		CacheHits: 1, // A.lab.test.: the reply to a.lab.test. with the question as asked
	}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, srv.Stats()) },
		5*time.Second, time.Millisecond)
	require.Equal(t, want, srv.Stats())
}

// TestQueriesDuringUpdates answers from many goroutines while the store changes underneath; under -race it
// shows that replies share the store's records without writing to them.
func TestQueriesDuringUpdates(t *testing.T) {
	store := newTestStore(t)
	srv := startServer(t, testConfig(), store, nil, nil)
	stop := make(chan struct{})
	updated := make(chan struct{})
	go func() {
		defer close(updated)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rec, err := dnsstore.NewRecord("moving.lab.test", "A", fmt.Sprintf("10.9.0.%d", i%250+1), 60)
			if err != nil {
				panic(err)
			}
			store.Replace("moving", []dnsstore.Record{rec})
			store.Replace("moving", nil)
		}
	}()
	var wg sync.WaitGroup
	for _, network := range []string{"udp", "tcp", "udp", "tcp"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: network, Timeout: 5 * time.Second}
			for i := range 50 {
				req := new(dns.Msg)
				req.SetQuestion([]string{"moving.lab.test.", "a.lab.test.", "host.wild.lab.test."}[i%3], dns.TypeA)
				resp, _, err := c.Exchange(req, addrOf(srv, network))
				if !assert.NoError(t, err) {
					return
				}
				assert.Contains(t, []int{dns.RcodeSuccess, dns.RcodeNameError}, resp.Rcode)
				assert.LessOrEqual(t, len(resp.Answer), 1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-updated
}

func TestMalformedStreamsTCP(t *testing.T) {
	srv := startServer(t, testConfig(), newTestStore(t), nil, nil)
	addr := addrOf(srv, "tcp")
	framed := func(p []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...) }
	streams := map[string][]byte{
		"closed at once":          nil,
		"half a length prefix":    {0x00},
		"length longer than data": {0x01, 0x00, 0xde, 0xad, 0xbe, 0xef},
		"zero-length message":     {0x00, 0x00},
	}
	for name, p := range garbage() {
		streams["framed "+name] = framed(p)
	}
	for name, p := range streams {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = conn.Write(p)
			require.NoError(t, err)
			require.NoError(t, conn.Close())
			requireAnswers(t, srv, "tcp")
		})
	}

	t.Run("garbage then a query on one connection", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write(framed(garbage()["short header"]))
		require.NoError(t, err)
		co := &dns.Conn{Conn: conn}
		req := new(dns.Msg)
		req.SetQuestion("a.lab.test.", dns.TypeA)
		require.NoError(t, co.WriteMsg(req))
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, err := co.ReadMsg()
		require.NoError(t, err)
		require.Equal(t, req.Id, resp.Id)
		require.Len(t, resp.Answer, 1)
	})
	require.True(t, srv.Running())
}

func TestPanicAnswersServfail(t *testing.T) {
	bus := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyError}})
	hook := func(req *dns.Msg) {
		if len(req.Question) == 1 && req.Question[0].Name == "panic.lab.test." {
			panic("injected")
		}
	}
	srv := startServer(t, testConfig(), newTestStore(t), bus, hook)
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			req := new(dns.Msg)
			req.SetQuestion("panic.lab.test.", dns.TypeA)
			resp := dnstest.Exchange(t, network, addrOf(srv, network), req)
			require.Equal(t, dns.RcodeServerFailure, resp.Rcode)
			require.Equal(t, req.Question, resp.Question)
			requireAnswers(t, srv, network)
		})
	}
	e := w.Expect(t, "a panic report", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorPanic)))
	ev := e.(*events.ErrorEvent)
	require.Equal(t, "dns", ev.Module)
	require.Equal(t, "dns", ev.Source)
	require.Contains(t, ev.Message, "injected")
	require.Contains(t, ev.Message, "panic.lab.test.")
	require.Equal(t, uint64(2), srv.Stats().Panics)
	// The UDP worker counts a batch's replies after sending them.
	require.Eventually(t, func() bool { return srv.Stats().Answers["SERVFAIL"] == 2 }, 5*time.Second, time.Millisecond)
}

func TestLifecycle(t *testing.T) {
	s, err := NewServer(testConfig(), newTestStore(t), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	ctx := context.Background()

	u, tc := s.Addr()
	require.Nil(t, u)
	require.Nil(t, tc)
	require.False(t, s.Running())
	require.NoError(t, s.Stop(ctx), "Stop before Start is a no-op")

	require.NoError(t, s.Start(ctx))
	require.ErrorContains(t, s.Start(ctx), "already started")
	require.True(t, s.Running())
	u, tc = s.Addr()
	require.Equal(t, u.(*net.UDPAddr).Port, tc.(*net.TCPAddr).Port, "UDP and TCP share the port")
	require.NotZero(t, u.(*net.UDPAddr).Port)
	requireAnswers(t, s, "udp")
	requireAnswers(t, s, "tcp")

	require.NoError(t, s.Stop(ctx))
	require.False(t, s.Running())
	_, err = net.Dial("tcp", tc.String())
	require.Error(t, err, "the TCP listener is closed")

	// A stopped server starts again, with fresh listeners.
	require.NoError(t, s.Start(ctx))
	requireAnswers(t, s, "udp")
	require.NoError(t, s.Stop(ctx))

	st := s.Stats()
	require.Equal(t, uint64(3), st.Queries)
	require.Equal(t, uint64(3), st.Answers["NOERROR"])
}

func TestStartFailsOnTakenPort(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr, release := takePort(t, network)
			defer release()
			cfg := testConfig()
			cfg.Port = addr.Port
			s, err := NewServer(cfg, dnsstore.New(), zaptest.NewLogger(t), nil)
			require.NoError(t, err)
			err = s.Start(context.Background())
			require.ErrorContains(t, err, "dns: listen "+network+" "+addr.String())
			require.ErrorContains(t, err, "address already in use")
			require.False(t, s.Running())
			require.NoError(t, s.Stop(context.Background()))
		})
	}
}

// takePort occupies a loopback port for one transport, leaving the other free.
func takePort(t *testing.T, network string) (*net.UDPAddr, func()) {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		return pc.LocalAddr().(*net.UDPAddr), func() { _ = pc.Close() }
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a := ln.Addr().(*net.TCPAddr)
	return &net.UDPAddr{IP: a.IP, Port: a.Port}, func() { _ = ln.Close() }
}

func TestStartHonoursContext(t *testing.T) {
	s, err := NewServer(testConfig(), dnsstore.New(), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, s.Start(ctx))
	require.False(t, s.Running())
	u, _ := s.Addr()
	require.Nil(t, u)
}

func TestNewServerRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"bad zone", func(c *Config) { c.Zones = []string{"lab.test", "bad..zone"} }, `zone "bad..zone"`},
		{"wildcard zone", func(c *Config) { c.Zones = []string{"*.lab.test"} }, `zone "*.lab.test"`},
		{"bad nameserver", func(c *Config) { c.Nameserver = "ns_.-x" }, `nameserver "ns_.-x"`},
		{"bad hostmaster", func(c *Config) { c.Hostmaster = "a.b@lab.test" }, `hostmaster "a.b@lab.test"`},
		{"bad bind address", func(c *Config) { c.BindAddress = "localhost" }, `bind_address "localhost"`},
		{"bad port", func(c *Config) { c.Port = 70000 }, "port 70000"},
		{"small UDP size", func(c *Config) { c.UDPSize = 100 }, "udp_size 100"},
		{"bad forwarder", func(c *Config) { c.Forwarders = []string{"8.8.8.8"} }, `forwarder "8.8.8.8"`},
		{"bad forward_allow", func(c *Config) { c.ForwardAllow = []string{"10.0.0.0"} }, `forward_allow "10.0.0.0"`},
		{"bad address", func(c *Config) { c.Addresses = []string{"ns.lab.test"} }, `addresses: "ns.lab.test"`},
		{"no forward timeout", func(c *Config) {
			c.Forwarders = []string{"8.8.8.8:53"}
			c.ForwardTimeout = 0
		}, "forward_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			_, err := NewServer(cfg, dnsstore.New(), nil, nil)
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "dns: "), err.Error())
		})
	}
	_, err := NewServer(testConfig(), nil, nil, nil)
	require.ErrorContains(t, err, "store")
}

func TestSOANames(t *testing.T) {
	tests := []struct {
		name             string
		nameserver, host string
		wantNS, wantMbox string
	}{
		{"defaults", "", "", "ns.lab.test.", "hostmaster.lab.test."},
		{"configured", "DNS1.Example.org", "admin@Example.org", "dns1.example.org.", "admin.example.org."},
		{"mailbox as a name", "", "root.lab.test.", "ns.lab.test.", "root.lab.test."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Zones = []string{"lab.test", "LAB.TEST."} // duplicates collapse
			cfg.Nameserver, cfg.Hostmaster = tt.nameserver, tt.host
			r, err := newResolver(cfg)
			require.NoError(t, err)
			require.Len(t, r.zones, 1)
			soa := r.soa(dnsstore.New().Snapshot(), r.zones[0])
			require.Equal(t, tt.wantNS, soa.Ns)
			require.Equal(t, tt.wantMbox, soa.Mbox)
			require.Equal(t, tt.wantNS, r.zones[0].ns.Ns)
		})
	}
}

// TestNameserverAddresses: the zone's nameserver name answers with this node's addresses, however they are
// configured; without any it still exists (NODATA, not NXDOMAIN).
func TestNameserverAddresses(t *testing.T) {
	tests := []struct {
		name      string
		bind      string
		addresses []string
		want      []string
	}{
		{"addresses", "0.0.0.0", []string{"2001:db8::53", "192.0.2.53"}, []string{"ns.lab.test. 300 IN A 192.0.2.53"}},
		{"a specific bind address", "192.0.2.7", nil, []string{"ns.lab.test. 300 IN A 192.0.2.7"}},
		{"addresses before the bind address", "192.0.2.7", []string{"192.0.2.53"}, []string{"ns.lab.test. 300 IN A 192.0.2.53"}},
		{"a wildcard bind address", "0.0.0.0", nil, []string{}},
		{"an IPv6 wildcard bind address", "::", nil, []string{}},
	}
	store := dnsstore.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.BindAddress, cfg.Addresses = tt.bind, tt.addresses
			r, err := newResolver(cfg)
			require.NoError(t, err)
			m, fwd := r.answer(store.Snapshot(), dnstest.Query("ns.lab.test.", dns.TypeA), loopback)
			require.False(t, fwd)
			require.Equal(t, dns.RcodeSuccess, m.Rcode)
			require.True(t, m.Authoritative)
			require.Equal(t, tt.want, dnstest.Sorted(m.Answer))
			if len(tt.want) == 0 {
				require.Len(t, m.Ns, 1, "NODATA carries the SOA")
			}
		})
	}
}

func TestSOASerialFollowsGeneration(t *testing.T) {
	store := newTestStore(t)
	r, err := newResolver(testConfig())
	require.NoError(t, err)
	z := r.zones[0]
	before := r.soa(store.Snapshot(), z)
	require.Same(t, before, r.soa(store.Snapshot(), z), "cached while the data is unchanged")
	rec, err := dnsstore.NewRecord("new.lab.test", "A", "10.0.0.7", 60)
	require.NoError(t, err)
	store.Replace("other", []dnsstore.Record{rec})
	after := r.soa(store.Snapshot(), z)
	require.Equal(t, before.Serial+1, after.Serial)
}

func TestInnermostZoneWins(t *testing.T) {
	cfg := testConfig()
	cfg.Zones = []string{"test", "lab.test", "x.lab.test"}
	r, err := newResolver(cfg)
	require.NoError(t, err)
	tests := map[string]string{
		"a.x.lab.test.": "x.lab.test.",
		"x.lab.test.":   "x.lab.test.",
		"ax.lab.test.":  "lab.test.",
		"a.lab.test.":   "lab.test.",
		"lab.test.":     "lab.test.",
		"other.test.":   "test.",
		`a\.lab.test.`:  "test.",
		"example.com.":  "",
	}
	for name, want := range tests {
		got := ""
		if z := r.zoneOf(name); z != nil {
			got = z.name
		}
		require.Equal(t, want, got, name)
	}
}

func TestReverseAddr(t *testing.T) {
	tests := []struct {
		name string
		want string // "" means not an address
	}{
		{"4.3.2.1.in-addr.arpa.", "1.2.3.4"},
		{"255.0.0.10.in-addr.arpa.", "10.0.0.255"},
		{"0.0.10.in-addr.arpa.", ""},
		{"5.4.3.2.1.in-addr.arpa.", ""},
		{"256.0.0.10.in-addr.arpa.", ""},
		{"01.0.0.10.in-addr.arpa.", ""},
		{"a.0.0.10.in-addr.arpa.", ""},
		{".0.0.10.in-addr.arpa.", ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::1"},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.ip6.arpa.", ""},
		{"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0..2ip6.arpa.", ""},
		{"a.lab.test.", ""},
	}
	for _, tt := range tests {
		addr, ok := reverseAddr(tt.name)
		if tt.want == "" {
			require.False(t, ok, tt.name)
			continue
		}
		require.True(t, ok, tt.name)
		require.Equal(t, tt.want, addr.String(), tt.name)
	}
}

// TestForwardAllowPerClient asks one question outside the zones from two loopback addresses, one allowed to
// recurse and one not, with RD set and clear, in an order that would show a refusal cached for the wrong
// client or query.
func TestForwardAllowPerClient(t *testing.T) {
	cfg := testConfig()
	cfg.Forwarders = []string{dnstest.Serve(t, dns.HandlerFunc(upstream))}
	cfg.ForwardAllow = []string{"127.0.0.1/32"}
	srv := startServer(t, cfg, newTestStore(t), nil, nil)
	steps := []struct {
		from  string
		rd    bool
		rcode int
	}{
		{"127.0.0.2", true, dns.RcodeRefused},
		{"127.0.0.2", true, dns.RcodeRefused},
		{"127.0.0.1", true, dns.RcodeSuccess},
		{"127.0.0.1", false, dns.RcodeRefused},
		{"127.0.0.1", true, dns.RcodeSuccess},
		{"127.0.0.2", false, dns.RcodeRefused},
	}
	for _, network := range []string{"udp", "tcp"} {
		for i, st := range steps {
			t.Run(fmt.Sprintf("%s/%d from %s rd=%v", network, i, st.from, st.rd), func(t *testing.T) {
				local := net.ParseIP(st.from)
				c := &dns.Client{Net: network, Timeout: dnstest.Timeout, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: local}}}
				if network == "tcp" {
					c.Dialer.LocalAddr = &net.TCPAddr{IP: local}
				}
				req := dnstest.Query("example.com.", dns.TypeA)
				req.RecursionDesired = st.rd
				resp, _, err := c.Exchange(req, addrOf(srv, network))
				require.NoError(t, err)
				require.Equal(t, dns.RcodeToString[st.rcode], dns.RcodeToString[resp.Rcode])
				require.Equal(t, st.rcode == dns.RcodeSuccess, resp.RecursionAvailable, "RA only on a forwarded reply")
				require.Equal(t, st.rcode == dns.RcodeSuccess, len(resp.Answer) == 1, "answer")
			})
		}
	}
}

// TestStopWaitsForEveryGoroutine stops servers whose goroutines failed or are still busy: Stop returns only
// once every goroutine the server started has ended, and a serve loop that fails is reported once, as an
// unhealthy event.
func TestStopWaitsForEveryGoroutine(t *testing.T) {
	tests := []struct {
		name string
		// fail closes a socket under a serve loop, which then fails; nil leaves the sockets alone.
		fail func(*Server) error
		// inFlight sends a TCP query that is still being answered when Stop is called with a context ended.
		inFlight bool
		stopErr  string // what Stop's error must contain; empty means none
		failed   string // the listener reported as failed
	}{
		{name: "UDP serve loop failed", fail: func(s *Server) error { return s.run.udp.conn.Close() }, failed: "UDP"},
		{name: "TCP serve loop failed", fail: func(s *Server) error { return s.run.tcp.Listener.Close() }, failed: "TCP"},
		{name: "context ended with a TCP query being answered", inFlight: true, stopErr: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := eventstest.NewBus(t)
			w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth}})
			others := goleak.IgnoreCurrent() // the bus's, stopped when the test ends
			s, err := NewServer(testConfig(), newTestStore(t), zaptest.NewLogger(t), bus)
			require.NoError(t, err)
			entered, release := make(chan struct{}, 1), make(chan struct{})
			s.beforeAnswer = func(*dns.Msg) {
				entered <- struct{}{}
				<-release // the query is answered only once Stop has begun (or the test ends)
			}
			require.NoError(t, s.Start(context.Background()))
			e := w.Expect(t, "healthy once serving", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
			require.Equal(t, "dns", e.(*events.HealthEvent).Component)
			require.Contains(t, e.(*events.HealthEvent).Message, addrOf(s, "udp"))
			ctx := context.Background()
			if tt.fail != nil {
				require.NoError(t, tt.fail(s))
				require.Eventually(t, func() bool { return !s.Running() }, 5*time.Second, time.Millisecond)
			}
			if tt.inFlight {
				go func() {
					c := &dns.Client{Net: "tcp", Timeout: dnstest.Timeout}
					_, _, _ = c.Exchange(dnstest.Query("a.lab.test.", dns.TypeA), addrOf(s, "tcp"))
				}()
				<-entered
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			stopped := context.AfterFunc(ctx, func() { close(release) })
			err = s.Stop(ctx)
			if stopped() {
				close(release) // ctx never ends: nothing waits for the hook
			}
			if tt.stopErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.stopErr)
				// The query in flight was answered, and counted, before Stop returned.
				require.Equal(t, uint64(1), s.Stats().Answers["NOERROR"])
			}
			if tt.failed != "" {
				e := w.Expect(t, "the failed listener", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy)))
				require.Contains(t, e.(*events.HealthEvent).Message, "the "+tt.failed+" listener")
				require.Equal(t, "dns", e.(*events.HealthEvent).Component)
			}
			require.False(t, s.Running())
			goleak.VerifyNone(t, others)
		})
	}
}

// TestPanicReportedOnce: a recovered panic is published as an ErrorEvent and not logged as well (the logging
// handler logs the event); it is logged only when it cannot be published.
func TestPanicReportedOnce(t *testing.T) {
	for _, withBus := range []bool{true, false} {
		t.Run(fmt.Sprintf("bus=%v", withBus), func(t *testing.T) {
			var bus *events.Bus
			var w *eventstest.Watcher
			if withBus {
				bus = eventstest.NewBus(t)
				w = eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyError}})
			}
			core, logs := observer.New(zapcore.WarnLevel)
			s, err := NewServer(testConfig(), newTestStore(t), zap.New(core), bus)
			require.NoError(t, err)
			s.beforeAnswer = func(*dns.Msg) { panic("injected") }
			require.NoError(t, s.Start(context.Background()))
			resp := dnstest.Exchange(t, "tcp", addrOf(s, "tcp"), dnstest.Query("a.lab.test.", dns.TypeA))
			require.Equal(t, dns.RcodeServerFailure, resp.Rcode)
			require.NoError(t, s.Stop(context.Background())) // publishes what is queued
			if withBus {
				w.Expect(t, "the panic report", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorPanic)))
				require.Zero(t, logs.Len(), "published, so not logged: %v", logs.All())
				return
			}
			require.Equal(t, 1, logs.Len(), "logged once when it cannot be published")
			require.Equal(t, "error/panic", logs.All()[0].Message)
			require.Contains(t, logs.All()[0].ContextMap()["message"], "injected")
		})
	}
}
