// Package dnstest helps test DNS servers over real sockets, in the style of CoreDNS's plugin/test: a Case is
// a query and the reply expected, compared section by section after sorting; Exchange and Eventually send
// queries; Serve starts a miekg/dns server on loopback (an upstream to forward to).
package dnstest

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Timeout bounds one exchange; Eventually polls for up to EventuallyTimeout.
const (
	Timeout           = 5 * time.Second
	EventuallyTimeout = 10 * time.Second
)

// Case is one query and the reply expected.
type Case struct {
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

// Request returns a new request for the case.
func (c Case) Request() *dns.Msg {
	if c.Msg != nil {
		return c.Msg()
	}
	return Query(c.Qname, c.Qtype)
}

// Check compares resp, the reply to req received over UDP when udp is true, with the expectation: header
// flags, the question echoed, the OPT, and each section as sorted zone-file lines.
func (c Case) Check(t testing.TB, req, resp *dns.Msg, udp bool) {
	t.Helper()
	require.Equal(t, dns.RcodeToString[c.Rcode], dns.RcodeToString[resp.Rcode], "rcode\n%v", resp)
	require.Equal(t, req.Id, resp.Id, "id")
	require.True(t, resp.Response, "QR")
	require.Equal(t, c.Authoritative, resp.Authoritative, "AA\n%v", resp)
	require.Equal(t, c.RecursionAvailable, resp.RecursionAvailable, "RA")
	require.Equal(t, req.RecursionDesired, resp.RecursionDesired, "RD must be copied")
	require.False(t, resp.AuthenticatedData, "AD")
	if c.NoQuestion {
		require.Empty(t, resp.Question)
	} else {
		require.Equal(t, req.Question, resp.Question, "the question must be echoed exactly")
	}

	opt := resp.IsEdns0()
	if c.OPT == 0 {
		require.Nil(t, opt, "OPT")
	} else {
		require.NotNil(t, opt, "OPT")
		require.Equal(t, c.OPT, opt.UDPSize(), "OPT payload size")
		require.Equal(t, uint8(0), opt.Version(), "EDNS version")
	}

	answer := Sorted(resp.Answer)
	if udp && c.UDPTruncated {
		require.True(t, resp.Truncated, "TC over UDP")
		require.Less(t, len(answer), len(c.Answer), "a truncated answer holds fewer records")
		require.Subset(t, Sorted(c.Answer), answer)
	} else {
		require.False(t, resp.Truncated, "TC")
		require.Equal(t, Sorted(c.Answer), answer, "answer")
	}
	require.Equal(t, Sorted(c.Ns), Sorted(resp.Ns), "authority")
	require.Equal(t, Sorted(c.Extra), Sorted(resp.Extra), "additional")
}

// Sorted presents a section as sorted zone-file lines with single spaces between fields, leaving out the OPT
// pseudo-record, so that sections compare regardless of order and of miekg/dns's tabs.
func Sorted(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	slices.Sort(out)
	return out
}

// RR parses one record in zone-file form; a test's own record that does not parse panics.
func RR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil || rr == nil {
		panic(fmt.Sprintf("dnstest: record %q: %v", s, err))
	}
	return rr
}

// RRs parses records in zone-file form.
func RRs(ss ...string) []dns.RR {
	out := make([]dns.RR, len(ss))
	for i, s := range ss {
		out[i] = RR(s)
	}
	return out
}

// Query returns a query for name (fully qualified) and qtype with RD set.
func Query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// Exchange sends req to addr over network ("udp" or "tcp") and returns the reply; an error fails the test.
// Over UDP the client accepts replies up to 65535 octets, so the server's own size limit decides truncation.
func Exchange(t testing.TB, network, addr string, req *dns.Msg) *dns.Msg {
	t.Helper()
	resp, err := exchange(network, addr, req, Timeout)
	require.NoError(t, err, "query %v over %s to %s", req.Question, network, addr)
	return resp
}

// Eventually sends a copy of req to addr over network until check accepts the reply, for up to
// EventuallyTimeout, and returns that reply; otherwise it fails the test showing the last reply.
func Eventually(t testing.TB, network, addr string, req *dns.Msg, check func(*dns.Msg) bool, what string) *dns.Msg {
	t.Helper()
	var mu sync.Mutex // the condition runs in a goroutine of testify's
	var last *dns.Msg
	var lastErr error
	ok := assert.Eventually(t, func() bool {
		resp, err := exchange(network, addr, req.Copy(), time.Second)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			lastErr = err
			return false
		}
		last = resp
		return check(resp)
	}, EventuallyTimeout, 20*time.Millisecond, what)
	mu.Lock()
	defer mu.Unlock()
	if !ok {
		t.Fatalf("%s: never satisfied; last error: %v; last reply:\n%v", what, lastErr, last)
	}
	return last
}

func exchange(network, addr string, req *dns.Msg, timeout time.Duration) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: timeout, UDPSize: dns.MaxMsgSize}
	resp, _, err := c.Exchange(req, addr)
	return resp, err
}

// Serve starts a miekg/dns server with h on one 127.0.0.1 port for both UDP and TCP, shut down when the test
// ends, and returns its address: an upstream for a server under test to forward to.
func Serve(t testing.TB, h dns.Handler) string {
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
