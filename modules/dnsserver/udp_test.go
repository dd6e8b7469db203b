package dnsserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// serveUDP runs a udpServer of s on a loopback socket, as Start would, with edit applied before the
// worker starts; the test stops it.
func serveUDP(t *testing.T, s *Server, network, addr string, edit func(*udpServer)) *udpServer {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	u := newUDPServer(ctx, s, pc)
	if edit != nil {
		edit(u)
	}
	t.Cleanup(func() {
		cancel()
		stopCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		require.NoError(t, u.stop(stopCtx))
	})
	return u
}

// readReplies reads replies on conn until one has the ID last, and returns them by ID.
func readReplies(t *testing.T, conn net.Conn, last uint16) map[uint16]*dns.Msg {
	t.Helper()
	got := map[uint16]*dns.Msg{}
	buf := make([]byte, 65535)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		n, err := conn.Read(buf)
		require.NoError(t, err, "replies so far: %d", len(got))
		m := new(dns.Msg)
		require.NoError(t, m.Unpack(buf[:n]))
		require.NotContains(t, got, m.Id, "one reply per query")
		got[m.Id] = m
		if m.Id == last {
			return got
		}
	}
}

// TestBatchWithMalformedPackets queues garbage and queries on the socket before the server reads, so that
// one batch holds them all: every query is answered, garbage gets FORMERR or nothing, exactly as one at a time.
func TestBatchWithMalformedPackets(t *testing.T) {
	s, err := NewServer(testConfig(), newTestStore(t), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	u := serveUDP(t, s, "udp", "127.0.0.1:0", nil)
	conn, err := net.Dial("udp", u.conn.LocalAddr().String())
	require.NoError(t, err)
	defer conn.Close()

	const (
		drop    = -1
		formerr = dns.RcodeFormatError
	)
	g := garbage()
	type packet struct {
		p     []byte
		rcode int // drop: no reply
	}
	withID := func(p []byte, id uint16) []byte {
		p = append([]byte(nil), p...)
		if len(p) >= 2 {
			binary.BigEndian.PutUint16(p, id)
		}
		return p
	}
	var packets []packet
	wantInvalid := 0
	for i, name := range []string{"one byte", "short header", "question cut short", "compression loop",
		"label past the end", "a response (ignored)", "65535 questions"} {
		rcode := formerr
		switch name {
		case "one byte", "short header":
			rcode = drop
			wantInvalid++
		case "a response (ignored)":
			rcode = drop
		case "65535 questions": // a header alone parses: the resolver answers FORMERR (no question)
		default:
			wantInvalid++
		}
		packets = append(packets, packet{withID(g[name], uint16(100+i)), rcode})
		q := query([]string{"a.lab.test.", "Missing.lab.test.", "big.lab.test."}[i%3], dns.TypeA, -1, false)
		q.Id = uint16(200 + i)
		packets = append(packets, packet{pack(t, q), []int{dns.RcodeSuccess, dns.RcodeNameError, dns.RcodeSuccess}[i%3]})
	}
	require.Less(t, len(packets), batchSize)
	for _, p := range packets {
		_, err := conn.Write(p.p)
		require.NoError(t, err)
	}
	u.start()
	sentinel := query("a.lab.test.", dns.TypeA, -1, false)
	sentinel.Id = 999
	// The burst's replies all come in one sendmmsg, so waiting for the last expected one waits for all.
	got := readReplies(t, conn, 200+6)
	_, err = conn.Write(pack(t, sentinel))
	require.NoError(t, err)
	for id, m := range readReplies(t, conn, sentinel.Id) {
		got[id] = m
	}
	for _, p := range packets {
		id := binary.BigEndian.Uint16(append(p.p, 0, 0))
		if p.rcode == drop {
			require.NotContains(t, got, id, "packet %x must not be answered", p.p)
			continue
		}
		require.Contains(t, got, id, "packet %x must be answered", p.p)
		require.Equal(t, dns.RcodeToString[p.rcode], dns.RcodeToString[got[id].Rcode], "packet %x", p.p)
	}
	require.Len(t, got, len(packets)-3+1, "no other replies")
	require.True(t, got[200+2].Truncated, "a big answer is truncated in a batch too")
	require.Eventually(t, func() bool { return s.Stats().Invalid == uint64(wantInvalid) },
		5*time.Second, time.Millisecond)
}

// TestSingleConn serves through the plain one-datagram-per-call loop used where recvmmsg is missing.
func TestSingleConn(t *testing.T) {
	s, err := NewServer(testConfig(), newTestStore(t), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	u := serveUDP(t, s, "udp", "127.0.0.1:0", func(u *udpServer) { u.bc, u.session = singleConn{u.conn}, false })
	u.start()
	for _, name := range []string{"a.lab.test.", "A.LAB.test.", "missing.lab.test."} {
		req := query(name, dns.TypeA, 1232, false)
		resp := dnstest.Exchange(t, "udp", u.conn.LocalAddr().String(), req)
		require.Equal(t, req.Question, resp.Question)
		require.Equal(t, req.Id, resp.Id)
	}
	conn, err := net.Dial("udp", u.conn.LocalAddr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write(garbage()["question cut short"])
	require.NoError(t, err)
	got := readReplies(t, conn, 0x1234)
	require.Equal(t, dns.RcodeFormatError, got[0x1234].Rcode)
	require.Equal(t, uint64(1), s.Stats().CacheHits)
}

// TestForwardingLimit: with every forwarding slot taken, a query outside the zones gets SERVFAIL at once.
func TestForwardingLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Forwarders = []string{silentForwarder(t)}
	cfg.ForwardTimeout = time.Minute // only Stop ends the first query's wait
	s, err := NewServer(cfg, newTestStore(t), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	u := serveUDP(t, s, "udp", "127.0.0.1:0", func(u *udpServer) { u.fwdSlots = make(chan struct{}, 1) })
	u.start()
	conn, err := net.Dial("udp", u.conn.LocalAddr().String())
	require.NoError(t, err)
	defer conn.Close()
	first := query("one.example.com.", dns.TypeA, -1, false)
	first.Id = 1
	_, err = conn.Write(pack(t, first))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(u.fwdSlots) == 1 }, 5*time.Second, time.Millisecond)
	second := query("two.example.com.", dns.TypeA, -1, false)
	second.Id = 2
	_, err = conn.Write(pack(t, second))
	require.NoError(t, err)
	got := readReplies(t, conn, 2)
	require.Len(t, got, 1, "the first query is still waiting on its forwarder")
	require.Equal(t, dns.RcodeServerFailure, got[2].Rcode)
	require.Equal(t, uint64(2), s.Stats().Forwarded)
}

// TestStopAbortsForwarding: Stop does not wait out the forward timeout of a query in flight.
func TestStopAbortsForwarding(t *testing.T) {
	cfg := testConfig()
	cfg.Forwarders = []string{silentForwarder(t)}
	cfg.ForwardTimeout = time.Minute
	s, err := NewServer(cfg, newTestStore(t), zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	conn, err := net.Dial("udp", addrOf(s, "udp"))
	require.NoError(t, err)
	defer conn.Close()
	req := query("example.com.", dns.TypeA, -1, false)
	_, err = conn.Write(pack(t, req))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.Stats().Forwarded == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
	require.NoError(t, ctx.Err(), "Stop returned before its deadline")
	got := readReplies(t, conn, req.Id)
	require.Equal(t, dns.RcodeServerFailure, got[req.Id].Rcode, "the aborted query still gets its answer")
}

// TestNoStaleAnswers changes a record and asks for it at once, many times, while other clients keep its
// cached answer hot: every answer must reflect the change that completed before the query was sent.
func TestNoStaleAnswers(t *testing.T) {
	store := newTestStore(t)
	srv := startServer(t, testConfig(), store, nil, nil)
	addr := addrOf(srv, "udp")
	set := func(i int) {
		r, err := dnsstore.NewRecord("moving.lab.test", "A", fmt.Sprintf("10.9.%d.%d", i/250, i%250+1), 60)
		require.NoError(t, err)
		store.Replace("moving", []dnsstore.Record{r})
	}
	set(0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Timeout: 5 * time.Second}
			for !stop.Load() {
				_, _, err := c.Exchange(query("moving.lab.test.", dns.TypeA, -1, false), addr)
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(5, 6))
	c := &dns.Client{Timeout: 5 * time.Second}
	for i := 1; i <= 200; i++ {
		set(i)
		name := []byte("moving.lab.test.")
		for j := range name {
			if rng.IntN(2) == 0 && 'a' <= name[j] && name[j] <= 'z' {
				name[j] -= 'a' - 'A'
			}
		}
		req := query(string(name), dns.TypeA, []int{-1, 1232}[i%2], false)
		resp, _, err := c.Exchange(req, addr)
		require.NoError(t, err)
		require.Equal(t, req.Question, resp.Question)
		require.Equal(t, []string{fmt.Sprintf("moving.lab.test. 60 IN A 10.9.%d.%d", i/250, i%250+1)},
			dnstest.Sorted(resp.Answer), "query %d", i)
	}
	stop.Store(true)
	wg.Wait()
	require.NotZero(t, srv.Stats().CacheHits, "the cache was in use")
}
