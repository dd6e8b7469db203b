package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

const labConfig = `
dns:
  zones: [lab.test]
  negative_ttl: 30
records:
  - {name: alias.lab.test, type: CNAME, value: web.lab.test, ttl: 120}
  - {name: "*.apps.lab.test", type: A, value: 10.0.0.20, ttl: 60}
  - {name: note.lab.test, type: TXT, value: "hello joyride", ttl: 60}
  - {name: svc.deep.lab.test, type: A, value: 10.0.0.30, ttl: 60}
`

// startLab runs joyride (hosts-only profile) on loopback with a hosts directory and the lab config file; set
// are more "key=value" settings.
func startLab(t *testing.T, set ...string) (*proc, string) {
	t.Helper()
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	require.NoError(t, os.Mkdir(hosts, 0o755))
	var big strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&big, "10.1.0.%d big.lab.test\n", i)
	}
	writeFile(t, filepath.Join(hosts, "lab"), `# lab hosts
10.0.0.10   web.lab.test www.lab.test  # inline comment
2001:db8::10 web.lab.test
10.0.0.11	db.lab.test
this line is not valid
`+big.String())
	writeFile(t, filepath.Join(hosts, ".hidden"), "10.9.9.9 hidden.lab.test\n")
	cfg := filepath.Join(dir, "joyride.yaml")
	writeFile(t, cfg, labConfig)
	args := []string{"--profile", "hosts-only", "--config", cfg,
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories=" + hosts}
	for _, kv := range set {
		args = append(args, "--set", kv)
	}
	p := start(t, nil, args...)
	p.eventually(t, "hosts file loaded", dnstest.Query("big.lab.test.", dns.TypeA), func(r *dns.Msg) bool {
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
	})
	return p, hosts
}

func TestAnswers(t *testing.T) {
	p, _ := startLab(t)
	// The SOA's serial is the store's generation, which the test does not know: read the SOA first.
	apex := p.query(t, "udp", dnstest.Query("lab.test.", dns.TypeSOA))
	require.Len(t, apex.Answer, 1, "apex SOA")
	soa := apex.Answer[0].(*dns.SOA)
	require.Equal(t, uint32(30), soa.Minttl, "the SOA minimum is negative_ttl")
	v6 := "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	cases := []dnstest.Case{
		{Name: "A from hosts", Qname: "web.lab.test.", Qtype: dns.TypeA, Answer: dnstest.RRs("web.lab.test. 60 IN A 10.0.0.10")},
		{Name: "second name on the line", Qname: "www.lab.test.", Qtype: dns.TypeA,
			Answer: dnstest.RRs("www.lab.test. 60 IN A 10.0.0.10")},
		{Name: "AAAA from hosts", Qname: "web.lab.test.", Qtype: dns.TypeAAAA,
			Answer: dnstest.RRs("web.lab.test. 60 IN AAAA 2001:db8::10")},
		{Name: "case-insensitive, question echoed", Qname: "WeB.LaB.TeSt.", Qtype: dns.TypeA,
			Answer: dnstest.RRs("web.lab.test. 60 IN A 10.0.0.10")},
		{Name: "CNAME chased", Qname: "alias.lab.test.", Qtype: dns.TypeA,
			Answer: dnstest.RRs("alias.lab.test. 120 IN CNAME web.lab.test.", "web.lab.test. 60 IN A 10.0.0.10")},
		{Name: "wildcard", Qname: "shop.apps.lab.test.", Qtype: dns.TypeA,
			Answer: dnstest.RRs("shop.apps.lab.test. 60 IN A 10.0.0.20")},
		{Name: "TXT", Qname: "note.lab.test.", Qtype: dns.TypeTXT,
			Answer: dnstest.RRs(`note.lab.test. 60 IN TXT "hello joyride"`)},
		{Name: "PTR v4", Qname: "10.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: dnstest.RRs("10.0.0.10.in-addr.arpa. 60 IN PTR web.lab.test.", "10.0.0.10.in-addr.arpa. 60 IN PTR www.lab.test.")},
		{Name: "PTR v6", Qname: v6, Qtype: dns.TypePTR, Answer: dnstest.RRs(v6 + " 60 IN PTR web.lab.test.")},
		{Name: "NXDOMAIN with SOA", Qname: "missing.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		{Name: "dotfile ignored", Qname: "hidden.lab.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa}},
		{Name: "NODATA with SOA", Qname: "db.lab.test.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soa}},
		{Name: "empty non-terminal is NODATA", Qname: "deep.lab.test.", Qtype: dns.TypeA, Ns: []dns.RR{soa}},
		{Name: "apex SOA", Qname: "lab.test.", Qtype: dns.TypeSOA, Answer: []dns.RR{soa}},
		{Name: "apex NS", Qname: "lab.test.", Qtype: dns.TypeNS, Answer: dnstest.RRs("lab.test. 300 IN NS ns.lab.test."),
			Extra: dnstest.RRs("ns.lab.test. 300 IN A 127.0.0.1")},
		{Name: "the NS target is the bind address", Qname: "ns.lab.test.", Qtype: dns.TypeA,
			Answer: dnstest.RRs("ns.lab.test. 300 IN A 127.0.0.1")},
		{Name: "outside the zone is refused", Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.Name, func(t *testing.T) {
				tc.Authoritative = tc.Rcode != dns.RcodeRefused
				tc.OPT = 1232
				req := tc.Request()
				req.SetEdns0(1232, false)
				tc.Check(t, req, p.query(t, network, req), network == "udp")
			})
		}
	}
}

// TestForwardAllow forwards names outside the zone to an upstream on loopback for the clients in
// dns.forward_allow (by default the local networks, loopback among them) and refuses the others.
func TestForwardAllow(t *testing.T) {
	up := dnstest.Serve(t, dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		m.Answer = dnstest.RRs(req.Question[0].Name + " 300 IN A 192.0.2.53")
		_ = w.WriteMsg(m)
	}))
	forwarded := dnstest.Case{Qname: "example.com.", Qtype: dns.TypeA, RecursionAvailable: true,
		Answer: dnstest.RRs("example.com. 300 IN A 192.0.2.53")}
	refused := dnstest.Case{Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused}
	zone := dnstest.Case{Qname: "web.lab.test.", Qtype: dns.TypeA, Authoritative: true,
		Answer: dnstest.RRs("web.lab.test. 60 IN A 10.0.0.10")}
	tests := []struct {
		name  string
		set   []string
		cases map[string]dnstest.Case
	}{
		{"default: loopback may recurse", []string{"dns.forwarders=" + up},
			map[string]dnstest.Case{"forwarded": forwarded, "zone": zone}},
		{"loopback not allowed", []string{"dns.forwarders=" + up, "dns.forward_allow=10.0.0.0/8"},
			map[string]dnstest.Case{"refused": refused, "zone": zone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startLab(t, tt.set...)
			for name, tc := range tt.cases {
				for _, network := range []string{"udp", "tcp"} {
					t.Run(network+"/"+name, func(t *testing.T) {
						req := tc.Request()
						tc.Check(t, req, p.query(t, network, req), network == "udp")
					})
				}
			}
		})
	}
}

func TestTruncationAndEDNS(t *testing.T) {
	p, _ := startLab(t)
	plain := dnstest.Query("big.lab.test.", dns.TypeA) // no EDNS: 512 bytes at most over UDP
	r := p.query(t, "udp", plain)
	assert.True(t, r.Truncated, "100 A records do not fit 512 bytes")
	assert.Nil(t, r.IsEdns0(), "no OPT in reply to a query without one")
	assert.Less(t, len(r.Answer), 100)
	plainCount := len(r.Answer)

	r = p.query(t, "tcp", dnstest.Query("big.lab.test.", dns.TypeA))
	assert.False(t, r.Truncated)
	assert.Len(t, r.Answer, 100, "TCP carries the whole answer")

	withEDNS := dnstest.Query("big.lab.test.", dns.TypeA)
	withEDNS.SetEdns0(4096, false)
	r = p.query(t, "udp", withEDNS)
	require.NotNil(t, r.IsEdns0())
	assert.True(t, r.Truncated, "about 1,600 bytes exceed our 1232-byte payload even though the client offers 4096")
	assert.Greater(t, len(r.Answer), plainCount, "EDNS0 lets more of the answer through than 512 bytes")
}

func TestBadVersionAndClass(t *testing.T) {
	p, _ := startLab(t)
	m := dnstest.Query("web.lab.test.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	r := p.query(t, "udp", m)
	assert.Equal(t, dns.RcodeBadVers, r.Rcode)
	require.NotNil(t, r.IsEdns0(), "BADVERS travels in the OPT record")

	chaos := dnstest.Query("web.lab.test.", dns.TypeA)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	assert.Equal(t, dns.RcodeRefused, p.query(t, "udp", chaos).Rcode)

	notify := dnstest.Query("lab.test.", dns.TypeSOA)
	notify.Opcode = dns.OpcodeNotify
	assert.Equal(t, dns.RcodeNotImplemented, p.query(t, "udp", notify).Rcode)
}

func TestMalformedPacketsDoNotStopTheServer(t *testing.T) {
	p, _ := startLab(t)
	conn, err := net.Dial("udp", p.udp)
	require.NoError(t, err)
	defer conn.Close()
	valid, err := dnstest.Query("web.lab.test.", dns.TypeA).Pack()
	require.NoError(t, err)
	for _, junk := range [][]byte{{}, {0}, []byte("garbage that is not DNS"), valid[:15], append(append([]byte{}, valid[:12]...), 0xff, 0xff, 0xff)} {
		_, err := conn.Write(junk)
		require.NoError(t, err)
	}
	tcp, err := net.Dial("tcp", p.tcp)
	require.NoError(t, err)
	_, _ = tcp.Write([]byte{0xff, 0xff, 1, 2, 3}) // a length prefix promising more than follows
	require.NoError(t, tcp.Close())

	r := p.query(t, "udp", dnstest.Query("web.lab.test.", dns.TypeA))
	require.Equal(t, dns.RcodeSuccess, r.Rcode)
	require.Len(t, r.Answer, 1)
	r = p.query(t, "tcp", dnstest.Query("web.lab.test.", dns.TypeA))
	require.Len(t, r.Answer, 1)
}

func TestHostsEditsAreServed(t *testing.T) {
	p, hosts := startLab(t)
	file := filepath.Join(hosts, "lab")
	content, err := os.ReadFile(file)
	require.NoError(t, err)

	// An editor that saves by writing a temporary file and renaming it over the original.
	tmp := filepath.Join(hosts, ".lab.swp")
	writeFile(t, tmp, strings.Replace(string(content), "10.0.0.11\tdb.lab.test", "10.0.0.99\tdb.lab.test", 1))
	require.NoError(t, os.Rename(tmp, file))
	p.eventually(t, "the renamed file's new address", dnstest.Query("db.lab.test.", dns.TypeA), func(r *dns.Msg) bool {
		return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "10.0.0.99"
	})

	// A new file appears.
	writeFile(t, filepath.Join(hosts, "more"), "10.0.0.50 new.lab.test\n")
	p.eventually(t, "a new file's record", dnstest.Query("new.lab.test.", dns.TypeA), func(r *dns.Msg) bool { return len(r.Answer) == 1 })

	// A deleted file's records go; the other file's stay.
	require.NoError(t, os.Remove(filepath.Join(hosts, "more")))
	p.eventually(t, "NXDOMAIN after delete", dnstest.Query("new.lab.test.", dns.TypeA), func(r *dns.Msg) bool { return r.Rcode == dns.RcodeNameError })
	assert.Len(t, p.query(t, "udp", dnstest.Query("web.lab.test.", dns.TypeA)).Answer, 1)

	p.stop(t)
	p.logs.wait(t, "the stopped line", time.Second, func(e map[string]any) bool { return e["msg"] == "stopped" })
}
