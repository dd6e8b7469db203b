package dnsserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// withEDNS returns a query carrying an OPT with the given payload size and version.
func withEDNS(name string, qtype uint16, size uint16, version uint8) func() *dns.Msg {
	return func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.SetEdns0(size, false)
		m.IsEdns0().SetVersion(version)
		return m
	}
}

// bigAnswer is the full answer for big.lab.test. A.
func bigAnswer() []dns.RR {
	out := make([]dns.RR, bigCount)
	for i := range out {
		out[i] = dnstest.RR(fmt.Sprintf("big.lab.test. 60 IN A 10.1.%d.%d", i/250, i%250+1))
	}
	return out
}

// chain returns the CNAMEs c<from> → … → c<to>.
func chain(from, to int) []dns.RR {
	var out []dns.RR
	for i := from; i < to; i++ {
		out = append(out, dnstest.RR(fmt.Sprintf("c%d.lab.test. 60 IN CNAME c%d.lab.test.", i, i+1)))
	}
	return out
}

// zoneCases run against a server authoritative for lab.test. that forwards to a local upstream.
func zoneCases(soa string) []dnstest.Case {
	const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	return []dnstest.Case{
		{Name: "A", Qname: "a.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
		{Name: "AAAA", Qname: "a.lab.test.", Qtype: dns.TypeAAAA, Authoritative: true,
			Answer: dnstest.RRs("a.lab.test. 60 IN AAAA 2001:db8::1")},
		{Name: "TXT", Qname: "a.lab.test.", Qtype: dns.TypeTXT, Authoritative: true,
			Answer: dnstest.RRs(`a.lab.test. 60 IN TXT "hello world"`)},
		{Name: "SRV", Qname: "_http._tcp.lab.test.", Qtype: dns.TypeSRV, Authoritative: true,
			Answer: dnstest.RRs("_http._tcp.lab.test. 60 IN SRV 10 5 80 a.lab.test.")},
		{Name: "case-insensitive, question echoed as asked", Qname: "A.Lab.TEST.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},

		{Name: "CNAME chased to its target", Qname: "www.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("www.lab.test. 120 IN CNAME a.lab.test.", "a.lab.test. 60 IN A 10.0.0.1")},
		{Name: "CNAME chased for another type", Qname: "WWW.lab.test.", Qtype: dns.TypeTXT, Authoritative: true,
			Answer: dnstest.RRs("www.lab.test. 120 IN CNAME a.lab.test.", `a.lab.test. 60 IN TXT "hello world"`)},
		{Name: "CNAME asked for is not chased", Qname: "www.lab.test.", Qtype: dns.TypeCNAME, Authoritative: true,
			Answer: dnstest.RRs("www.lab.test. 120 IN CNAME a.lab.test.")},
		{Name: "CNAME to a target without the type", Qname: "www.lab.test.", Qtype: dns.TypeSRV, Authoritative: true,
			Answer: dnstest.RRs("www.lab.test. 120 IN CNAME a.lab.test."), Ns: dnstest.RRs(soa)},
		{Name: "dangling CNAME is NXDOMAIN for the target (RFC 6604)", Qname: "dangling.lab.test.", Qtype: dns.TypeA,
			Authoritative: true, Rcode: dns.RcodeNameError,
			Answer: dnstest.RRs("dangling.lab.test. 60 IN CNAME missing.lab.test."), Ns: dnstest.RRs(soa)},
		{Name: "CNAME loop stops at the repeat", Qname: "loop1.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("loop1.lab.test. 60 IN CNAME loop2.lab.test.", "loop2.lab.test. 60 IN CNAME loop1.lab.test.")},
		{Name: "CNAME chain stops after maxChain links", Qname: "c0.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: chain(0, maxChain)},
		{Name: "CNAME chain within the limit is followed", Qname: "c2.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: append(chain(2, 9), dnstest.RR("c9.lab.test. 60 IN A 10.0.0.99"))},
		{Name: "CNAME leading out of the zones is not forwarded", Qname: "out.lab.test.", Qtype: dns.TypeA,
			Authoritative: true, Answer: dnstest.RRs("out.lab.test. 60 IN CNAME www.example.com.")},

		{Name: "wildcard", Qname: "host.wild.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("host.wild.lab.test. 60 IN A 10.0.0.9")},
		{Name: "wildcard for a deeper name", Qname: "a.b.Wild.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("a.b.wild.lab.test. 60 IN A 10.0.0.9")},
		{Name: "wildcard without the type is NODATA", Qname: "host.wild.lab.test.", Qtype: dns.TypeAAAA,
			Authoritative: true, Ns: dnstest.RRs(soa)},
		{Name: "an existing name blocks the wildcard", Qname: "exists.wild.lab.test.", Qtype: dns.TypeA,
			Authoritative: true, Ns: dnstest.RRs(soa)},

		{Name: "PTR IPv4", Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: dnstest.RRs("1.0.0.10.in-addr.arpa. 60 IN PTR a.lab.test.")},
		{Name: "PTR IPv6", Qname: v6, Qtype: dns.TypePTR, Authoritative: true,
			Answer: dnstest.RRs(v6 + " 60 IN PTR a.lab.test.")},
		{Name: "other type at a PTR name is NODATA", Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypeA,
			Authoritative: true},

		{Name: "missing name is NXDOMAIN with SOA", Qname: "missing.lab.test.", Qtype: dns.TypeA,
			Authoritative: true, Rcode: dns.RcodeNameError, Ns: dnstest.RRs(soa)},
		{Name: "name without the type is NODATA with SOA", Qname: "a.lab.test.", Qtype: dns.TypeSRV,
			Authoritative: true, Ns: dnstest.RRs(soa)},
		{Name: "empty non-terminal is NODATA", Qname: "deep.lab.test.", Qtype: dns.TypeA,
			Authoritative: true, Ns: dnstest.RRs(soa)},
		{Name: "apex SOA", Qname: "lab.test.", Qtype: dns.TypeSOA, Authoritative: true, Answer: dnstest.RRs(soa)},
		{Name: "apex NS with the server's address", Qname: "LAB.test.", Qtype: dns.TypeNS, Authoritative: true,
			Answer: dnstest.RRs("lab.test. 300 IN NS ns.lab.test."), Extra: dnstest.RRs("ns.lab.test. 60 IN A 10.0.0.53")},
		{Name: "apex without the type is NODATA", Qname: "lab.test.", Qtype: dns.TypeA,
			Authoritative: true, Ns: dnstest.RRs(soa)},
		{Name: "ANY gives one RRset (RFC 8482)", Qname: "a.lab.test.", Qtype: dns.TypeANY, Authoritative: true,
			Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
		{Name: "ANY at the apex gives the SOA", Qname: "lab.test.", Qtype: dns.TypeANY, Authoritative: true,
			Answer: dnstest.RRs(soa)},
		{Name: "stored name outside the zones", Qname: "outside.example.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("outside.example. 60 IN A 192.0.2.1")},
		{Name: "zone transfer refused", Qname: "lab.test.", Qtype: dns.TypeAXFR, Rcode: dns.RcodeRefused},

		{Name: "outside the zones is forwarded", Qname: "Example.COM.", Qtype: dns.TypeA, RecursionAvailable: true,
			Answer: dnstest.RRs("Example.COM. 300 IN A 192.0.2.53")},
		{Name: "forwarded NXDOMAIN is relayed", Qname: "nx.example.com.", Qtype: dns.TypeA, RecursionAvailable: true,
			Rcode: dns.RcodeNameError},
		{Name: "without RD outside the zones is REFUSED", Msg: norecurse("example.com.", dns.TypeA),
			Rcode: dns.RcodeRefused},
		{Name: "without RD the zone answers", Msg: norecurse("a.lab.test.", dns.TypeA), Authoritative: true,
			Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
		{Name: "without RD a stored name outside the zones answers", Msg: norecurse("outside.example.", dns.TypeA),
			Authoritative: true, Answer: dnstest.RRs("outside.example. 60 IN A 192.0.2.1")},

		{Name: "EDNS0 OPT in the reply", Msg: withEDNS("a.lab.test.", dns.TypeA, 4096, 0), OPT: 1232,
			Authoritative: true, Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
		{Name: "EDNS0 on a negative answer", Msg: withEDNS("missing.lab.test.", dns.TypeA, 1232, 0), OPT: 1232,
			Authoritative: true, Rcode: dns.RcodeNameError, Ns: dnstest.RRs(soa)},
		{Name: "EDNS version 1 is BADVERS", Msg: withEDNS("a.lab.test.", dns.TypeA, 1232, 1), OPT: 1232,
			Rcode: dns.RcodeBadVers},
		{Name: "big answer without EDNS0", Qname: "big.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			UDPTruncated: true, Answer: bigAnswer()},
		{Name: "big answer beyond the EDNS0 payload", Msg: withEDNS("big.lab.test.", dns.TypeA, 4096, 0), OPT: 1232,
			Authoritative: true, UDPTruncated: true, Answer: bigAnswer()},

		{Name: "non-IN class is REFUSED", Msg: func() *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("version.bind.", dns.TypeTXT)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}, Rcode: dns.RcodeRefused},
		{Name: "NOTIFY is NOTIMP", Msg: func() *dns.Msg {
			m := new(dns.Msg)
			m.SetNotify("lab.test.")
			return m
		}, Rcode: dns.RcodeNotImplemented},
		{Name: "UPDATE is NOTIMP", Msg: func() *dns.Msg {
			m := new(dns.Msg)
			m.SetUpdate("lab.test.")
			m.Insert(dnstest.RRs("x.lab.test. 60 IN A 10.9.9.9"))
			return m
		}, Rcode: dns.RcodeNotImplemented},
		{Name: "no question is FORMERR", NoQuestion: true, Msg: func() *dns.Msg {
			m := new(dns.Msg)
			m.Id = dns.Id()
			m.RecursionDesired = true
			return m
		}, Rcode: dns.RcodeFormatError},
		{Name: "two questions is FORMERR", NoQuestion: true, Msg: func() *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("a.lab.test.", dns.TypeA)
			m.Question = append(m.Question, dns.Question{Name: "www.lab.test.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
			return m
		}, Rcode: dns.RcodeFormatError},
		{Name: "two OPTs is FORMERR without OPT", NoQuestion: true, Msg: func() *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("a.lab.test.", dns.TypeA)
			m.SetEdns0(1232, false)
			m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}})
			return m
		}, Rcode: dns.RcodeFormatError},
	}
}

// TestAnswers runs every golden case through a real server over UDP and over TCP, per configuration, twice:
// the second UDP query of a plain case is answered from the packed-answer cache.
func TestAnswers(t *testing.T) {
	store := newTestStore(t)
	soa := fmt.Sprintf("lab.test. 30 IN SOA ns.lab.test. hostmaster.lab.test. %d 3600 600 86400 30",
		store.Snapshot().Generation())
	up := dnstest.Serve(t, dns.HandlerFunc(upstream))

	tests := []struct {
		name  string
		cfg   func(*Config)
		cases []dnstest.Case
	}{
		{
			name:  "zone with forwarder",
			cfg:   func(c *Config) { c.Forwarders = []string{up} },
			cases: zoneCases(soa),
		},
		{
			name: "zone without forwarders",
			cases: []dnstest.Case{
				{Name: "outside the zones is REFUSED", Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
				{Name: "an empty non-terminal outside the zones is REFUSED", Qname: "test.", Qtype: dns.TypeNS,
					Rcode: dns.RcodeRefused},
				{Name: "stored name outside the zones still answers", Qname: "outside.example.", Qtype: dns.TypeA,
					Authoritative: true, Answer: dnstest.RRs("outside.example. 60 IN A 192.0.2.1")},
				{Name: "missing name inside the zone", Qname: "nope.lab.test.", Qtype: dns.TypeA,
					Authoritative: true, Rcode: dns.RcodeNameError, Ns: dnstest.RRs(soa)},
			},
		},
		{
			name: "no zones",
			cfg:  func(c *Config) { c.Zones = nil },
			cases: []dnstest.Case{
				{Name: "missing name is REFUSED", Qname: "missing.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
				{Name: "any unknown name is REFUSED", Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
				{Name: "empty non-terminal is REFUSED", Qname: "deep.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
				{Name: "dangling CNAME leads out of our data", Qname: "dangling.lab.test.", Qtype: dns.TypeA,
					Authoritative: true, Answer: dnstest.RRs("dangling.lab.test. 60 IN CNAME missing.lab.test.")},
				{Name: "apex-like name is REFUSED", Qname: "lab.test.", Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused},
				{Name: "name without the type is NODATA without SOA", Qname: "a.lab.test.", Qtype: dns.TypeSRV,
					Authoritative: true},
				{Name: "record", Qname: "a.lab.test.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
			},
		},
		{
			name: "no zones with forwarder",
			cfg: func(c *Config) {
				c.Zones = nil
				c.Forwarders = []string{up}
			},
			cases: []dnstest.Case{
				{Name: "missing name is forwarded", Qname: "missing.lab.test.", Qtype: dns.TypeA, RecursionAvailable: true,
					Answer: dnstest.RRs("missing.lab.test. 300 IN A 192.0.2.53")},
				{Name: "empty non-terminal is forwarded", Qname: "deep.lab.test.", Qtype: dns.TypeA, RecursionAvailable: true,
					Answer: dnstest.RRs("deep.lab.test. 300 IN A 192.0.2.53")},
				{Name: "record", Qname: "a.lab.test.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
				{Name: "without RD a missing name is REFUSED", Msg: norecurse("missing.lab.test.", dns.TypeA),
					Rcode: dns.RcodeRefused},
			},
		},
		{
			name: "forwarding not allowed for this client",
			cfg: func(c *Config) {
				c.Forwarders = []string{up}
				c.ForwardAllow = []string{"10.0.0.0/8", "::1/128"} // the tests' client is 127.0.0.1
			},
			cases: []dnstest.Case{
				{Name: "outside the zones is REFUSED", Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
				{Name: "the zone answers", Qname: "a.lab.test.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
				{Name: "the zone denies", Qname: "missing.lab.test.", Qtype: dns.TypeA, Authoritative: true,
					Rcode: dns.RcodeNameError, Ns: dnstest.RRs(soa)},
				{Name: "stored name outside the zones", Qname: "outside.example.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("outside.example. 60 IN A 192.0.2.1")},
			},
		},
		{
			name: "nameserver named by the zone",
			cfg: func(c *Config) {
				c.Nameserver = "dns1.lab.test"
				c.Addresses = []string{"2001:db8::53", "192.0.2.10"}
			},
			cases: []dnstest.Case{
				{Name: "apex NS with the server's addresses", Qname: "lab.test.", Qtype: dns.TypeNS, Authoritative: true,
					Answer: dnstest.RRs("lab.test. 300 IN NS dns1.lab.test."),
					Extra:  dnstest.RRs("dns1.lab.test. 300 IN A 192.0.2.10", "dns1.lab.test. 300 IN AAAA 2001:db8::53")},
				{Name: "the NS target's A", Qname: "DNS1.lab.test.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("dns1.lab.test. 300 IN A 192.0.2.10")},
				{Name: "the NS target's AAAA", Qname: "dns1.lab.test.", Qtype: dns.TypeAAAA, Authoritative: true,
					Answer: dnstest.RRs("dns1.lab.test. 300 IN AAAA 2001:db8::53")},
				{Name: "the NS target has no other type", Qname: "dns1.lab.test.", Qtype: dns.TypeTXT, Authoritative: true,
					Ns: dnstest.RRs(strings.Replace(soa, "ns.lab.test.", "dns1.lab.test.", 1))},
			},
		},
		{
			name: "nameserver at the bind address",
			cfg:  func(c *Config) { c.Nameserver = "dns1.example.org" },
			cases: []dnstest.Case{
				{Name: "the NS target outside the zones", Qname: "dns1.example.org.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("dns1.example.org. 300 IN A 127.0.0.1")},
				{Name: "no AAAA for an IPv4 bind address", Qname: "dns1.example.org.", Qtype: dns.TypeAAAA,
					Authoritative: true},
			},
		},
		{
			name: "forwarders tried in order",
			cfg:  func(c *Config) { c.Forwarders = []string{silentForwarder(t), up} },
			cases: []dnstest.Case{
				{Name: "the second forwarder answers", Qname: "example.com.", Qtype: dns.TypeA,
					RecursionAvailable: true, Answer: dnstest.RRs("example.com. 300 IN A 192.0.2.53")},
			},
		},
		{
			name: "forwarder timeout",
			cfg:  func(c *Config) { c.Forwarders = []string{silentForwarder(t)} },
			cases: []dnstest.Case{
				{Name: "SERVFAIL when no forwarder answers", Qname: "example.com.", Qtype: dns.TypeA,
					Rcode: dns.RcodeServerFailure},
				{Name: "SERVFAIL keeps EDNS0", Msg: withEDNS("example.com.", dns.TypeA, 1232, 0), OPT: 1232,
					Rcode: dns.RcodeServerFailure},
				{Name: "the zone still answers", Qname: "a.lab.test.", Qtype: dns.TypeA, Authoritative: true,
					Answer: dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			checkCases(t, startServer(t, cfg, store, nil, nil), tt.cases)
		})
	}
}

// checkCases runs each case against srv over UDP and over TCP, twice: the second UDP query of a plain case is
// answered from the packed-answer cache.
func checkCases(t *testing.T, srv *Server, cases []dnstest.Case) {
	t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.Name, func(t *testing.T) {
				req := tc.Request()
				resp := dnstest.Exchange(t, network, addrOf(srv, network), req)
				tc.Check(t, req, resp, network == "udp")
				// Again under another ID: over UDP a plain query is now answered from the cache.
				req.Id++
				resp = dnstest.Exchange(t, network, addrOf(srv, network), req)
				tc.Check(t, req, resp, network == "udp")
			})
		}
	}
}

// norecurse returns a query with RD clear.
func norecurse(name string, qtype uint16) func() *dns.Msg {
	return func() *dns.Msg {
		m := dnstest.Query(name, qtype)
		m.RecursionDesired = false
		return m
	}
}

// TestRRsetTTL: records of one RRset published by different sources (two containers claiming one name) with
// different TTLs are answered with the lowest of them (RFC 2181 section 5.2: the TTLs of an RRset are equal).
func TestRRsetTTL(t *testing.T) {
	store := dnsstore.New()
	type rec struct {
		name, typ, value string
		ttl              uint32
	}
	sources := map[string][]rec{
		"c1": {
			{"shared.lab.test", "A", "10.0.0.1", 60},
			{"shared.lab.test", "AAAA", "2001:db8::1", 60},
			{"p1.lab.test", "A", "10.0.0.7", 60},
			{"*.w.lab.test", "A", "10.0.0.5", 60},
			{"ns.lab.test", "A", "10.0.0.53", 60},
		},
		"c2": {
			{"shared.lab.test", "A", "10.0.0.2", 30},
			{"p2.lab.test", "A", "10.0.0.7", 20},
			{"*.w.lab.test", "A", "10.0.0.6", 10},
			{"ns.lab.test", "A", "10.0.0.54", 30},
		},
	}
	for source, recs := range sources {
		var rs []dnsstore.Record
		for _, r := range recs {
			record, err := dnsstore.NewRecord(r.name, r.typ, r.value, r.ttl)
			require.NoError(t, err)
			rs = append(rs, record)
		}
		store.Replace(source, rs)
	}
	checkCases(t, startServer(t, testConfig(), store, nil, nil), []dnstest.Case{
		{Name: "A from two sources", Qname: "shared.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("shared.lab.test. 30 IN A 10.0.0.1", "shared.lab.test. 30 IN A 10.0.0.2")},
		{Name: "another RRset at the name keeps its TTL", Qname: "shared.lab.test.", Qtype: dns.TypeAAAA,
			Authoritative: true, Answer: dnstest.RRs("shared.lab.test. 60 IN AAAA 2001:db8::1")},
		{Name: "PTR from two names", Qname: "7.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: dnstest.RRs("7.0.0.10.in-addr.arpa. 20 IN PTR p1.lab.test.", "7.0.0.10.in-addr.arpa. 20 IN PTR p2.lab.test.")},
		{Name: "wildcard from two sources", Qname: "x.w.lab.test.", Qtype: dns.TypeA, Authoritative: true,
			Answer: dnstest.RRs("x.w.lab.test. 10 IN A 10.0.0.5", "x.w.lab.test. 10 IN A 10.0.0.6")},
		{Name: "NS target addresses in the additional section", Qname: "lab.test.", Qtype: dns.TypeNS,
			Authoritative: true, Answer: dnstest.RRs("lab.test. 300 IN NS ns.lab.test."),
			Extra: dnstest.RRs("ns.lab.test. 30 IN A 10.0.0.53", "ns.lab.test. 30 IN A 10.0.0.54")},
	})
}
