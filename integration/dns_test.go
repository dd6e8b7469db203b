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

// startLab runs joyride (hosts-only profile) on loopback with a hosts directory and the lab config file.
func startLab(t *testing.T) (*proc, string) {
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
	p := start(t, nil, "--profile", "hosts-only", "--config", cfg,
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories="+hosts)
	p.eventually(t, "hosts file loaded", question("big.lab.test.", dns.TypeA), func(r *dns.Msg) bool {
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
	})
	return p, hosts
}

func TestAnswers(t *testing.T) {
	p, _ := startLab(t)
	soa := "lab.test. 30 IN SOA"
	cases := []struct {
		name    string
		qname   string
		qtype   uint16
		rcode   int
		answer  []string // prefixes of the rendered answer RRs, in order after sorting
		nsSOA   bool     // authority holds the zone's SOA with the negative TTL
		noEDNS  bool
		checkFn func(t *testing.T, r *dns.Msg)
	}{
		{name: "A from hosts", qname: "web.lab.test.", qtype: dns.TypeA, answer: []string{"web.lab.test. 60 IN A 10.0.0.10"}},
		{name: "second name on the line", qname: "www.lab.test.", qtype: dns.TypeA, answer: []string{"www.lab.test. 60 IN A 10.0.0.10"}},
		{name: "AAAA from hosts", qname: "web.lab.test.", qtype: dns.TypeAAAA, answer: []string{"web.lab.test. 60 IN AAAA 2001:db8::10"}},
		{name: "case-insensitive, question echoed", qname: "WeB.LaB.TeSt.", qtype: dns.TypeA, answer: []string{"web.lab.test. 60 IN A 10.0.0.10"},
			checkFn: func(t *testing.T, r *dns.Msg) { assert.Equal(t, "WeB.LaB.TeSt.", r.Question[0].Name) }},
		{name: "CNAME chased", qname: "alias.lab.test.", qtype: dns.TypeA,
			answer: []string{"alias.lab.test. 120 IN CNAME web.lab.test.", "web.lab.test. 60 IN A 10.0.0.10"}},
		{name: "wildcard", qname: "shop.apps.lab.test.", qtype: dns.TypeA, answer: []string{"shop.apps.lab.test. 60 IN A 10.0.0.20"}},
		{name: "TXT", qname: "note.lab.test.", qtype: dns.TypeTXT, answer: []string{`note.lab.test. 60 IN TXT "hello joyride"`}},
		{name: "PTR v4", qname: "10.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"10.0.0.10.in-addr.arpa. 60 IN PTR web.lab.test.", "10.0.0.10.in-addr.arpa. 60 IN PTR www.lab.test."}},
		{name: "PTR v6", qname: "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", qtype: dns.TypePTR,
			answer: []string{"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 60 IN PTR web.lab.test."}},
		{name: "NXDOMAIN with SOA", qname: "missing.lab.test.", qtype: dns.TypeA, rcode: dns.RcodeNameError, nsSOA: true},
		{name: "dotfile ignored", qname: "hidden.lab.test.", qtype: dns.TypeA, rcode: dns.RcodeNameError, nsSOA: true},
		{name: "NODATA with SOA", qname: "db.lab.test.", qtype: dns.TypeAAAA, nsSOA: true},
		{name: "empty non-terminal is NODATA", qname: "deep.lab.test.", qtype: dns.TypeA, nsSOA: true},
		{name: "apex SOA", qname: "lab.test.", qtype: dns.TypeSOA, answer: []string{soa}},
		{name: "apex NS", qname: "lab.test.", qtype: dns.TypeNS, answer: []string{"lab.test. 300 IN NS ns.lab.test."}},
		{name: "outside the zone is refused", qname: "example.com.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				m := question(tc.qname, tc.qtype)
				m.SetEdns0(1232, false)
				r := p.query(t, network, m)
				require.Equal(t, dns.RcodeToString[tc.rcode], dns.RcodeToString[r.Rcode])
				require.Equal(t, m.Id, r.Id)
				if tc.rcode != dns.RcodeRefused {
					assert.True(t, r.Authoritative, "AA")
				}
				assert.False(t, r.RecursionAvailable, "RA")
				got := rrStrings(r.Answer)
				require.Len(t, got, len(tc.answer), "answer: %v", got)
				sortedPrefixes(t, got, tc.answer)
				if tc.nsSOA {
					require.Len(t, r.Ns, 1, "authority")
					assert.True(t, strings.HasPrefix(rrStrings(r.Ns)[0], soa), rrStrings(r.Ns)[0])
					assert.Equal(t, uint32(30), r.Ns[0].(*dns.SOA).Minttl)
				}
				opt := r.IsEdns0()
				require.NotNil(t, opt, "EDNS0 answered with OPT")
				assert.Equal(t, uint16(1232), opt.UDPSize())
				if tc.checkFn != nil {
					tc.checkFn(t, r)
				}
			})
		}
	}
}

// sortedPrefixes checks that each rendered RR starts with the wanted prefix, ignoring order.
func sortedPrefixes(t *testing.T, got, want []string) {
	t.Helper()
	used := make([]bool, len(got))
next:
	for _, w := range want {
		for i, g := range got {
			if !used[i] && strings.HasPrefix(g, w) {
				used[i] = true
				continue next
			}
		}
		t.Errorf("no answer RR starts with %q in %v", w, got)
	}
}

func TestTruncationAndEDNS(t *testing.T) {
	p, _ := startLab(t)
	plain := question("big.lab.test.", dns.TypeA) // no EDNS: 512 bytes at most over UDP
	r := p.query(t, "udp", plain)
	assert.True(t, r.Truncated, "100 A records do not fit 512 bytes")
	assert.Nil(t, r.IsEdns0(), "no OPT in reply to a query without one")
	assert.Less(t, len(r.Answer), 100)
	plainCount := len(r.Answer)

	r = p.query(t, "tcp", question("big.lab.test.", dns.TypeA))
	assert.False(t, r.Truncated)
	assert.Len(t, r.Answer, 100, "TCP carries the whole answer")

	withEDNS := question("big.lab.test.", dns.TypeA)
	withEDNS.SetEdns0(4096, false)
	r = p.query(t, "udp", withEDNS)
	require.NotNil(t, r.IsEdns0())
	assert.True(t, r.Truncated, "about 1,600 bytes exceed our 1232-byte payload even though the client offers 4096")
	assert.Greater(t, len(r.Answer), plainCount, "EDNS0 lets more of the answer through than 512 bytes")
}

func TestBadVersionAndClass(t *testing.T) {
	p, _ := startLab(t)
	m := question("web.lab.test.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	r := p.query(t, "udp", m)
	assert.Equal(t, dns.RcodeBadVers, r.Rcode)
	require.NotNil(t, r.IsEdns0(), "BADVERS travels in the OPT record")

	chaos := question("web.lab.test.", dns.TypeA)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	assert.Equal(t, dns.RcodeRefused, p.query(t, "udp", chaos).Rcode)

	notify := question("lab.test.", dns.TypeSOA)
	notify.Opcode = dns.OpcodeNotify
	assert.Equal(t, dns.RcodeNotImplemented, p.query(t, "udp", notify).Rcode)
}

func TestMalformedPacketsDoNotStopTheServer(t *testing.T) {
	p, _ := startLab(t)
	conn, err := net.Dial("udp", p.udp)
	require.NoError(t, err)
	defer conn.Close()
	valid, err := question("web.lab.test.", dns.TypeA).Pack()
	require.NoError(t, err)
	for _, junk := range [][]byte{{}, {0}, []byte("garbage that is not DNS"), valid[:15], append(append([]byte{}, valid[:12]...), 0xff, 0xff, 0xff)} {
		_, err := conn.Write(junk)
		require.NoError(t, err)
	}
	tcp, err := net.Dial("tcp", p.tcp)
	require.NoError(t, err)
	_, _ = tcp.Write([]byte{0xff, 0xff, 1, 2, 3}) // a length prefix promising more than follows
	require.NoError(t, tcp.Close())

	r := p.query(t, "udp", question("web.lab.test.", dns.TypeA))
	require.Equal(t, dns.RcodeSuccess, r.Rcode)
	require.Len(t, r.Answer, 1)
	r = p.query(t, "tcp", question("web.lab.test.", dns.TypeA))
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
	p.eventually(t, "the renamed file's new address", question("db.lab.test.", dns.TypeA), func(r *dns.Msg) bool {
		return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "10.0.0.99"
	})

	// A new file appears.
	writeFile(t, filepath.Join(hosts, "more"), "10.0.0.50 new.lab.test\n")
	p.eventually(t, "a new file's record", question("new.lab.test.", dns.TypeA), func(r *dns.Msg) bool { return len(r.Answer) == 1 })

	// A deleted file's records go; the other file's stay.
	require.NoError(t, os.Remove(filepath.Join(hosts, "more")))
	p.eventually(t, "NXDOMAIN after delete", question("new.lab.test.", dns.TypeA), func(r *dns.Msg) bool { return r.Rcode == dns.RcodeNameError })
	assert.Len(t, p.query(t, "udp", question("web.lab.test.", dns.TypeA)).Answer, 1)

	p.stop(t)
	p.logs.wait(t, "the stopped line", time.Second, func(e map[string]any) bool { return e["msg"] == "stopped" })
}
