package dnsserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bigCount A records at big.lab.test. make an answer larger than any UDP payload the tests allow.
const bigCount = 100

// testRecords is the data every golden case is answered from.
var testRecords = []struct {
	name, typ, value string
	ttl              uint32
}{
	{"a.lab.test", "A", "10.0.0.1", 60},
	{"a.lab.test", "AAAA", "2001:db8::1", 60},
	{"a.lab.test", "TXT", "hello world", 60},
	{"_http._tcp.lab.test", "SRV", "10 5 80 a.lab.test", 60},
	{"www.lab.test", "CNAME", "a.lab.test", 120},
	{"dangling.lab.test", "CNAME", "missing.lab.test", 60},
	{"loop1.lab.test", "CNAME", "loop2.lab.test", 60},
	{"loop2.lab.test", "CNAME", "loop1.lab.test", 60},
	{"out.lab.test", "CNAME", "www.example.com", 60},
	{"*.wild.lab.test", "A", "10.0.0.9", 60},
	{"exists.wild.lab.test", "TXT", "real", 60},
	{"sub.deep.lab.test", "A", "10.0.0.2", 60},
	{"ns.lab.test", "A", "10.0.0.53", 60},
	{"outside.example", "A", "192.0.2.1", 60},
}

// newTestStore returns a store holding testRecords, a chain c0 → c1 → … → c9 (A 10.0.0.99) longer than
// maxChain, and bigCount A records at big.lab.test.
func newTestStore(t testing.TB) *dnsstore.Store {
	t.Helper()
	var recs []dnsstore.Record
	add := func(name, typ, value string, ttl uint32) {
		r, err := dnsstore.NewRecord(name, typ, value, ttl)
		require.NoError(t, err)
		recs = append(recs, r)
	}
	for _, r := range testRecords {
		add(r.name, r.typ, r.value, r.ttl)
	}
	for i := range 9 {
		add(fmt.Sprintf("c%d.lab.test", i), "CNAME", fmt.Sprintf("c%d.lab.test", i+1), 60)
	}
	add("c9.lab.test", "A", "10.0.0.99", 60)
	for i := range bigCount {
		add("big.lab.test", "A", fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 60)
	}
	s := dnsstore.New()
	s.Replace("test", recs)
	return s
}

// loopback is the client address of queries handed to resolver.answer directly.
var loopback = netip.MustParseAddr("127.0.0.1")

// testConfig is a server on a free loopback port, authoritative for lab.test.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.BindAddress = "127.0.0.1"
	cfg.Port = 0
	cfg.Zones = []string{"Lab.Test"} // canonicalised by New
	cfg.ForwardTimeout = 200 * time.Millisecond
	return cfg
}

// startServer starts a server for the test and stops it when the test ends.
func startServer(t testing.TB, cfg Config, store *dnsstore.Store, bus *events.Bus, hook func(*dns.Msg)) *Server {
	t.Helper()
	s, err := NewServer(cfg, store, zaptest.NewLogger(t), bus)
	require.NoError(t, err)
	s.beforeAnswer = hook
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, s.Stop(ctx))
	})
	return s
}

// addrOf returns the server's address for a transport ("udp" or "tcp").
func addrOf(s *Server, network string) string {
	u, tc := s.Addr()
	if network == "udp" {
		return u.String()
	}
	return tc.String()
}

// upstream answers like a recursive resolver: an A record for any name, NXDOMAIN for nx.example.com.
func upstream(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	q := req.Question[0]
	switch {
	case q.Name == "nx.example.com.":
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, dnstest.RR(q.Name+" 300 IN A 192.0.2.53"))
	}
	_ = w.WriteMsg(m)
}

// silentForwarder is a bound UDP port that never answers, so forwarding to it times out.
func silentForwarder(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}
