package dnsserver

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
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

// serveUpstream starts a miekg/dns server with h on one loopback port for UDP and TCP, as a forwarder.
func serveUpstream(t testing.TB, h dns.HandlerFunc) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 1; ln == nil; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			_ = pc.Close() // the port the kernel chose for UDP is taken for TCP: try another
			require.Less(t, attempt, 5, "no port free for both UDP and TCP: %v", err)
		}
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			require.NoError(t, srv.Shutdown())
			<-done
		})
	}
	return pc.LocalAddr().String()
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
		m.Answer = append(m.Answer, mustRR(q.Name+" 300 IN A 192.0.2.53"))
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

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(fmt.Sprintf("test record %q: %v", s, err))
	}
	return rr
}

func rrs(ss ...string) []dns.RR {
	out := make([]dns.RR, len(ss))
	for i, s := range ss {
		out[i] = mustRR(s)
	}
	return out
}

// testCase is one query and the reply expected, in the style of CoreDNS's plugin/test.Case.
type testCase struct {
	Name  string
	Qname string
	Qtype uint16
	// Msg builds the request instead of Qname and Qtype, for requests a plain question cannot express.
	Msg func() *dns.Msg

	Rcode              int
	Authoritative      bool
	RecursionAvailable bool
	// NoQuestion expects an empty question section; otherwise the request's is expected back exactly.
	NoQuestion bool
	// UDPTruncated expects TC over UDP with part of Answer; over TCP the whole Answer comes without TC.
	UDPTruncated bool
	// OPT is the payload size the reply's OPT must advertise; 0 expects no OPT.
	OPT uint16

	Answer, Ns, Extra []dns.RR // Extra without the OPT
}

func (tc testCase) request() *dns.Msg {
	if tc.Msg != nil {
		return tc.Msg()
	}
	m := new(dns.Msg)
	m.SetQuestion(tc.Qname, tc.Qtype)
	return m
}

// check compares resp with the expectation, section by section after sorting.
func (tc testCase) check(t *testing.T, req, resp *dns.Msg, udp bool) {
	t.Helper()
	require.Equal(t, dns.RcodeToString[tc.Rcode], dns.RcodeToString[resp.Rcode], "rcode\n%v", resp)
	require.Equal(t, req.Id, resp.Id, "id")
	require.True(t, resp.Response, "QR")
	require.Equal(t, tc.Authoritative, resp.Authoritative, "AA\n%v", resp)
	require.Equal(t, tc.RecursionAvailable, resp.RecursionAvailable, "RA")
	require.Equal(t, req.RecursionDesired, resp.RecursionDesired, "RD must be copied")
	require.False(t, resp.AuthenticatedData, "AD")
	if tc.NoQuestion {
		require.Empty(t, resp.Question)
	} else {
		require.Equal(t, req.Question, resp.Question, "the question must be echoed exactly")
	}

	opt := resp.IsEdns0()
	if tc.OPT == 0 {
		require.Nil(t, opt, "OPT")
	} else {
		require.NotNil(t, opt, "OPT")
		require.Equal(t, tc.OPT, opt.UDPSize(), "OPT payload size")
		require.Equal(t, uint8(0), opt.Version(), "EDNS version")
	}

	answer := sorted(resp.Answer)
	if udp && tc.UDPTruncated {
		require.True(t, resp.Truncated, "TC over UDP")
		require.Less(t, len(answer), len(tc.Answer), "a truncated answer holds fewer records")
		require.Subset(t, sorted(tc.Answer), answer)
	} else {
		require.False(t, resp.Truncated, "TC")
		require.Equal(t, sorted(tc.Answer), answer, "answer")
	}
	require.Equal(t, sorted(tc.Ns), sorted(resp.Ns), "authority")
	require.Equal(t, sorted(tc.Extra), sorted(resp.Extra), "additional")
}

// sorted presents a section as sorted zone-file lines, leaving out the OPT pseudo-record.
func sorted(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, rr.String())
	}
	slices.Sort(out)
	return out
}

// exchange sends req to addr over network and returns the reply.
func exchange(t testing.TB, network, addr string, req *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(req, addr)
	require.NoError(t, err, "query %v over %s", req.Question, network)
	return resp
}
