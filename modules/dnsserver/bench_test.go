package dnsserver

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
)

// benchStore holds 10,000 hosts in lab.test., a wildcard and a two-link CNAME chain.
func benchStore(b *testing.B) *dnsstore.Store {
	b.Helper()
	recs := make([]dnsstore.Record, 0, 10_003)
	add := func(name, typ, value string) {
		r, err := dnsstore.NewRecord(name, typ, value, 60)
		require.NoError(b, err)
		recs = append(recs, r)
	}
	for i := range 10_000 {
		add(fmt.Sprintf("host%05d.lab.test", i), "A", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	add("*.wild.lab.test", "A", "10.200.0.1")
	add("alias.lab.test", "CNAME", "alias2.lab.test")
	add("alias2.lab.test", "CNAME", "host04242.lab.test")
	s := dnsstore.New()
	s.Replace("bench", recs)
	return s
}

func BenchmarkAnswer(b *testing.B) {
	store := benchStore(b)
	r, err := newResolver(testConfig())
	require.NoError(b, err)
	cases := []struct {
		name   string
		qname  string
		rcode  int
		answer int
	}{
		{"hit", "host04242.lab.test.", dns.RcodeSuccess, 1},
		{"miss", "nohost.lab.test.", dns.RcodeNameError, 0},
		{"wildcard", "anything.wild.lab.test.", dns.RcodeSuccess, 1},
		{"cname", "alias.lab.test.", dns.RcodeSuccess, 3},
	}
	for _, c := range cases {
		req := new(dns.Msg)
		req.SetQuestion(c.qname, dns.TypeA)
		snap := store.Snapshot()
		m, _ := r.answer(snap, req, loopback)
		require.Equal(b, c.rcode, m.Rcode)
		require.Len(b, m.Answer, c.answer)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.answer(store.Snapshot(), req, loopback)
			}
		})
		b.Run(c.name+"+pack", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 4096)
			for b.Loop() {
				m, _ := r.answer(store.Snapshot(), req, loopback)
				m.Truncate(r.replySize(req, true))
				if _, err := m.PackBuffer(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUDP measures a query end to end over a real loopback UDP socket, one query in flight.
func BenchmarkUDP(b *testing.B) {
	s, err := NewServer(testConfig(), benchStore(b), zap.NewNop(), nil)
	require.NoError(b, err)
	require.NoError(b, s.Start(context.Background()))
	b.Cleanup(func() { require.NoError(b, s.Stop(context.Background())) })
	u, _ := s.Addr()
	conn, err := net.Dial("udp", u.String())
	require.NoError(b, err)
	defer conn.Close()
	co := &dns.Conn{Conn: conn}
	c := &dns.Client{Timeout: 5 * time.Second}
	for _, name := range []string{"host04242.lab.test.", "nohost.lab.test."} {
		req := new(dns.Msg)
		req.SetQuestion(name, dns.TypeA)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ExchangeWithConn(req, co); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPacket measures what a UDP worker does for one raw query, without the socket: answered from the
// cache ("cached"), and through the full path ("full": miekg/dns parses, the resolver answers, miekg/dns
// packs), forced by an EDNS client-subnet option, which the cache never takes.
func BenchmarkPacket(b *testing.B) {
	store := benchStore(b)
	for _, c := range []struct{ name, qname string }{
		{"hit", "host04242.lab.test."},
		{"miss", "nohost.lab.test."},
		{"wildcard", "anything.wild.lab.test."},
		{"cname", "alias.lab.test."},
	} {
		_, w := newRawServer(b, testConfig(), store)
		plain := query(c.qname, dns.TypeA, 1232, false)
		full := plain.Copy()
		full.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24,
			Address: []byte{192, 0, 2, 0}}}
		for _, v := range []struct {
			name string
			m    *dns.Msg
			hit  bool
		}{{"cached", plain, true}, {"full", full, false}} {
			p := pack(b, v.m)
			w.raw(p)
			if _, hit := w.raw(p); hit != v.hit {
				b.Fatalf("%s: hit = %v", v.name, hit)
			}
			b.Run(c.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				out := w.replies[0][:cap(w.replies[0])]
				for b.Loop() {
					if reply, _ := w.answer(store.Snapshot(), p, nil, nil, out); reply == nil {
						b.Fatal("no reply")
					}
				}
			})
		}
	}
}

// BenchmarkCount measures what the UDP worker adds per batch to count its replies (by type and rcode) and time
// them: the tally of each reply sent, the flush to the shared counters and the two clock readings, for a batch
// of one query (a quiet server) and of 32 (a busy one), nine in ten NOERROR and one NXDOMAIN as bench/dns.sh
// asks.
func BenchmarkCount(b *testing.B) {
	s := &Server{epoch: time.Now()}
	c := &s.stats
	for _, n := range []int{1, 32} {
		cellsOf := make([]int, n)
		for i := range cellsOf {
			cellsOf[i] = cell(dns.TypeA, dns.RcodeSuccess)
			if i%10 == 9 {
				cellsOf[i] = cell(dns.TypeA, dns.RcodeNameError)
			}
		}
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			var t tally
			for b.Loop() {
				read := s.clock()
				t.queries += uint64(n)
				for _, ce := range cellsOf {
					t.reply(ce)
				}
				t.flush(c, s.clock()-read)
			}
		})
	}
}
