package dnsserver

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

func TestParsePlain(t *testing.T) {
	edit := func(m *dns.Msg, f func([]byte) []byte) func(testing.TB) []byte {
		return func(t testing.TB) []byte { return f(pack(t, m)) }
	}
	plain := func(m *dns.Msg) func(testing.TB) []byte { return edit(m, func(p []byte) []byte { return p }) }
	cut := func(m *dns.Msg, n int) func(testing.TB) []byte {
		return edit(m, func(p []byte) []byte { return p[:n] })
	}
	withOption := func(o dns.EDNS0) *dns.Msg {
		m := query("a.lab.test.", dns.TypeA, 1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, o)
		return m
	}
	// a.lab.test. in wire form, lower-cased
	name := []byte{1, 'a', 3, 'l', 'a', 'b', 4, 't', 'e', 's', 't', 0}
	key := func(qtype uint16, flags byte, size int) []byte {
		return append(bytes.Clone(name), byte(qtype>>8), byte(qtype), flags, byte(size>>8), byte(size))
	}
	tests := []struct {
		name string
		p    func(testing.TB) []byte
		key  []byte // nil: not plain
	}{
		{"A", plain(query("a.lab.test.", dns.TypeA, -1, false)), key(dns.TypeA, 0, 512)},
		{"mixed case", plain(query("A.Lab.TEST.", dns.TypeA, -1, false)), key(dns.TypeA, 0, 512)},
		{"EDNS", plain(query("a.lab.test.", dns.TypeAAAA, 1232, false)), key(dns.TypeAAAA, keyEDNS, 1232)},
		{"EDNS payload above ours", plain(query("a.lab.test.", dns.TypeA, 4096, false)), key(dns.TypeA, keyEDNS, 1232)},
		{"EDNS payload below 512", plain(query("a.lab.test.", dns.TypeA, 100, false)), key(dns.TypeA, keyEDNS, 512)},
		{"DO", plain(query("a.lab.test.", dns.TypeA, 1232, true)), key(dns.TypeA, keyEDNS|keyDO, 1232)},
		{"cookie", plain(withOption(&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})),
			key(dns.TypeA, keyEDNS, 1232)},
		{"padding", plain(withOption(&dns.EDNS0_PADDING{Padding: make([]byte, 20)})), key(dns.TypeA, keyEDNS, 1232)},
		{"trailing octets", edit(query("a.lab.test.", dns.TypeA, -1, false), func(p []byte) []byte {
			return append(p, 1, 2, 3)
		}), key(dns.TypeA, 0, 512)},

		{"response", edit(query("a.lab.test.", dns.TypeA, -1, false), func(p []byte) []byte {
			p[2] |= flagQR
			return p
		}), nil},
		{"NOTIFY", plain(func() *dns.Msg { m := new(dns.Msg); m.SetNotify("lab.test."); return m }()), nil},
		{"CHAOS", edit(query("a.lab.test.", dns.TypeA, -1, false), func(p []byte) []byte {
			p[len(p)-1] = dns.ClassCHAOS
			return p
		}), nil},
		{"no question", cut(query("a.lab.test.", dns.TypeA, -1, false), headerLen), nil},
		{"question cut short", cut(query("a.lab.test.", dns.TypeA, -1, false), 27), nil},
		{"label past the end", cut(query("a.lab.test.", dns.TypeA, -1, false), 15), nil},
		{"two questions", edit(query("a.lab.test.", dns.TypeA, -1, false), func(p []byte) []byte {
			p[5] = 2
			return p
		}), nil},
		{"an answer record", edit(query("a.lab.test.", dns.TypeA, -1, false), func(p []byte) []byte {
			p[7] = 1
			return p
		}), nil},
		{"an authority record", edit(query("a.lab.test.", dns.TypeA, -1, false), func(p []byte) []byte {
			p[9] = 1
			return p
		}), nil},
		{"two additional records", edit(query("a.lab.test.", dns.TypeA, 1232, false), func(p []byte) []byte {
			p[11] = 2
			return p
		}), nil},
		{"compression pointer", func(t testing.TB) []byte {
			p := pack(t, query("a.lab.test.", dns.TypeA, -1, false))
			return append(p[:headerLen], 0xC0, 0x0C, 0, 1, 0, 1)
		}, nil},
		{"name of 256 octets", func(t testing.TB) []byte {
			p := pack(t, query("a.", dns.TypeA, -1, false))[:headerLen]
			for _, l := range []int{63, 63, 63, 62} { // 3 × 64 + 63 octets, and the root label
				p = append(p, byte(l))
				p = append(p, bytes.Repeat([]byte{'x'}, l)...)
			}
			p = append(p, 0, 0, 1, 0, 1)
			require.Error(t, new(dns.Msg).Unpack(p), "miekg/dns rejects it too")
			return p
		}, nil},
		{"EDNS version 1", edit(query("a.lab.test.", dns.TypeA, 1232, false), func(p []byte) []byte {
			p[len(p)-5] = 1 // the OPT's TTL: extended rcode, version, flags
			return p
		}), nil},
		{"OPT cut short", cut(query("a.lab.test.", dns.TypeA, 1232, false), 38), nil},
		{"not an OPT", plain(func() *dns.Msg {
			m := query("a.lab.test.", dns.TypeA, -1, false)
			m.Extra = dnstest.RRs("x.lab.test. 60 IN A 10.0.0.1")
			return m
		}()), nil},
		{"client subnet", plain(withOption(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24,
			Address: []byte{192, 0, 2, 0}})), nil},
		{"option longer than the OPT", edit(withOption(&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "01020304"}),
			func(p []byte) []byte {
				p[len(p)-5]++ // the cookie's length
				return p
			}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p(t)
			var buf [maxKeyLen]byte
			q, key, ok := parsePlain(p, 1232, buf[:0])
			if tt.key == nil {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.key, key)
			require.Equal(t, headerLen+len(name), q.nameEnd)
			checkPlain(t, p, q, key)
		})
	}
	t.Run("name of 255 octets is plain", func(t *testing.T) {
		p := pack(t, query(longName(maxNameLen), dns.TypeA, -1, false))
		var buf [maxKeyLen]byte
		q, key, ok := parsePlain(p, 1232, buf[:0])
		require.True(t, ok)
		require.Equal(t, headerLen+maxNameLen, q.nameEnd)
		checkPlain(t, p, q, key)
	})
}

// longName is a name of n octets in wire form, root label included.
func longName(n int) string {
	var b []byte
	for rest := n - 1; rest > 0; {
		l := min(63, rest-1)
		if rest-(l+1) == 1 {
			l-- // a single octet left could not hold a label
		}
		b = append(b, bytes.Repeat([]byte{'x'}, l)...)
		b = append(b, '.')
		rest -= l + 1
	}
	return string(b)
}

// checkPlain asserts that miekg/dns reads the plain query p as parsePlain did.
func checkPlain(t testing.TB, p []byte, q plainQuery, key []byte) {
	t.Helper()
	req := new(dns.Msg)
	require.NoError(t, req.Unpack(p), "a plain query parses")
	require.False(t, req.Response)
	require.Equal(t, dns.OpcodeQuery, req.Opcode)
	require.Len(t, req.Question, 1)
	require.Empty(t, req.Answer)
	require.Empty(t, req.Ns)
	require.Equal(t, uint16(dns.ClassINET), req.Question[0].Qclass)
	require.Equal(t, q.qtype, req.Question[0].Qtype)
	nameLen := q.nameEnd - headerLen
	wire := make([]byte, maxNameLen+1)
	n, err := dns.PackDomainName(lower(req.Question[0].Name), wire, 0, nil, false)
	require.NoError(t, err)
	require.Equal(t, key[:nameLen], wire[:n], "the key holds the lower-cased name")
	require.Equal(t, p[headerLen:q.nameEnd], func() []byte {
		n, err := dns.PackDomainName(req.Question[0].Name, wire, 0, nil, false)
		require.NoError(t, err)
		return wire[:n]
	}(), "the name packs back to the octets asked")
	opt, nopt := requestOPT(req)
	flags := key[nameLen+2]
	require.Equal(t, flags&keyEDNS != 0, opt != nil)
	require.LessOrEqual(t, nopt, 1)
	if opt != nil {
		require.Equal(t, uint8(0), opt.Version())
		require.Equal(t, flags&keyDO != 0, opt.Do())
	}
	r := &resolver{udpSize: 1232}
	require.Equal(t, r.replySize(req, true), q.size)
}

// FuzzParsePlain: for any packet, a query parsePlain calls plain is read by miekg/dns exactly as parsePlain
// read it, and the reply a server sends for it, and for another spelling of it, is the full path's, whether
// or not the cache answered. The servers' caches persist across inputs, so entries built for one input
// meet the next.
func FuzzParsePlain(f *testing.F) {
	for _, m := range []*dns.Msg{
		query("a.lab.test.", dns.TypeA, -1, false),
		query("A.lab.TEST.", dns.TypeAAAA, 1232, true),
		query("big.lab.test.", dns.TypeA, 700, false),
		query("x.wild.lab.test.", dns.TypeA, -1, false),
		query("www.lab.test.", dns.TypeA, 4096, false),
		query("missing.lab.test.", dns.TypeTXT, -1, false),
		query("1.0.0.10.in-addr.arpa.", dns.TypePTR, 1232, false),
		query("lab.test.", dns.TypeNS, -1, false),
	} {
		f.Add(pack(f, m))
	}
	store := newTestStore(f)
	_, cached := newRawServer(f, testConfig(), store)
	full, fresh := newRawServer(f, testConfig(), store) // its cache is emptied before each query
	f.Fuzz(func(t *testing.T, p []byte) {
		var buf [maxKeyLen]byte
		q, key, ok := parsePlain(p, 1232, buf[:0])
		if ok {
			checkPlain(t, p, q, key)
		}
		for _, v := range [][]byte{p, respell(p, q, ok)} {
			got, _ := cached.raw(v)
			full.settings.Load().cache.clear()
			want, _ := fresh.raw(v)
			require.Equal(t, want, got)
		}
	})
}

// respell returns p with the case of its question name's letters flipped when it is plain, else p.
func respell(p []byte, q plainQuery, ok bool) []byte {
	if !ok {
		return p
	}
	v := bytes.Clone(p)
	for i := headerLen; i < q.nameEnd; i++ {
		if c := v[i] | 0x20; 'a' <= c && c <= 'z' {
			v[i] ^= 0x20
		}
	}
	return v
}

// TestPlainOptionsAlwaysParse guards plainOption: miekg/dns must parse those options whatever their
// content, or a query parsePlain calls plain could be one miekg/dns answers FORMERR.
func TestPlainOptionsAlwaysParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := pack(t, query("a.lab.test.", dns.TypeA, 1232, false))
	for code := range uint16(100) {
		if !plainOption(code) {
			continue
		}
		for n := range 70 {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.UintN(256))
			}
			opt := append([]byte{byte(code >> 8), byte(code), 0, byte(n)}, data...)
			p := bytes.Clone(base)
			rdlen := len(p) - 2
			p = append(p, opt...)
			p[rdlen], p[rdlen+1] = byte(len(opt)>>8), byte(len(opt))
			var buf [maxKeyLen]byte
			_, _, ok := parsePlain(p, 1232, buf[:0])
			require.True(t, ok, "option %d of %d octets", code, n)
			require.NoError(t, new(dns.Msg).Unpack(p), "option %d of %d octets", code, n)
		}
	}
}
