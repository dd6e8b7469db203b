package dnsserver

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/net/ipv6"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// TestSession serves with control messages, as on a wildcard address (where each reply must leave from
// the address queried), on IPv4 loopback.
func TestSession(t *testing.T) {
	s, err := NewServer(testConfig(), newTestStore(t), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	u := serveUDP(t, s, "udp4", "127.0.0.1:0", func(u *udpServer) { u.session = enableSession(u.conn) })
	require.True(t, u.session)
	u.start()
	for range 2 { // a miss, then a hit
		req := query("a.lab.test.", dns.TypeA, 1232, false)
		resp := dnstest.Exchange(t, "udp", u.conn.LocalAddr().String(), req)
		require.Equal(t, []string{"a.lab.test. 60 IN A 10.0.0.1"}, dnstest.Sorted(resp.Answer))
	}
	// Counted once the batch's replies are sent: the count may follow the reply by a moment.
	require.Eventually(t, func() bool { return s.Stats().CacheHits == 1 }, 5*time.Second, time.Millisecond)
}

// TestSourceOOB: the reply's control message names the query's destination as source. IPv4 is covered by
// TestSession; here IPv6, whose packet-info message reads back as the destination it carries.
func TestSourceOOB(t *testing.T) {
	dst := net.ParseIP("2001:db8::53")
	received := (&ipv6.ControlMessage{Src: dst, IfIndex: 7}).Marshal() // the layout of a received IPV6_PKTINFO
	out := sourceOOB(received)
	cm := new(ipv6.ControlMessage)
	require.NoError(t, cm.Parse(out))
	require.True(t, dst.Equal(cm.Dst), "the reply leaves from %v, not %v", dst, cm.Dst)
	require.Zero(t, cm.IfIndex, "the system picks the interface")

	require.Nil(t, sourceOOB(nil))
	require.Nil(t, sourceOOB([]byte{1, 2, 3}), "garbage carries no destination")
}
