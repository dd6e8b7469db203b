package dnsstore

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRecord(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name      string
		owner     string
		typ       string
		value     string
		ttl       uint32
		wantName  string
		wantType  uint16
		wantValue string
		wantRR    string // the RR in zone-file form; checks that RDATA was built right
		wantErr   string
	}{
		{
			name: "A", owner: "App.Lab.Test", typ: "A", value: "10.0.0.1", ttl: 300,
			wantName: "app.lab.test.", wantType: dns.TypeA, wantValue: "10.0.0.1",
			wantRR: "app.lab.test.\t300\tIN\tA\t10.0.0.1",
		},
		{
			name: "type is case-insensitive", owner: "a.test", typ: "a", value: " 10.0.0.2 ", ttl: 1,
			wantName: "a.test.", wantType: dns.TypeA, wantValue: "10.0.0.2",
			wantRR: "a.test.\t1\tIN\tA\t10.0.0.2",
		},
		{
			name: "AAAA canonicalised", owner: "a.test.", typ: "AAAA", value: "2001:DB8:0:0::1", ttl: 60,
			wantName: "a.test.", wantType: dns.TypeAAAA, wantValue: "2001:db8::1",
			wantRR: "a.test.\t60\tIN\tAAAA\t2001:db8::1",
		},
		{
			name: "AAAA v4-mapped", owner: "a.test.", typ: "aaaa", value: "::ffff:10.0.0.1", ttl: 60,
			wantName: "a.test.", wantType: dns.TypeAAAA, wantValue: "::ffff:10.0.0.1",
			wantRR: "a.test.\t60\tIN\tAAAA\t::ffff:10.0.0.1",
		},
		{
			name: "CNAME", owner: "www.lab.test", typ: "CNAME", value: "App.Lab.Test", ttl: 30,
			wantName: "www.lab.test.", wantType: dns.TypeCNAME, wantValue: "app.lab.test.",
			wantRR: "www.lab.test.\t30\tIN\tCNAME\tapp.lab.test.",
		},
		{
			name: "CNAME at wildcard", owner: "*.apps.test", typ: "cname", value: "ingress.test.", ttl: 30,
			wantName: "*.apps.test.", wantType: dns.TypeCNAME, wantValue: "ingress.test.",
			wantRR: "*.apps.test.\t30\tIN\tCNAME\tingress.test.",
		},
		{
			name: "TXT keeps text", owner: "a.test", typ: "TXT", value: `v=spf1 "quoted" -all`, ttl: 10,
			wantName: "a.test.", wantType: dns.TypeTXT, wantValue: `v=spf1 "quoted" -all`,
			wantRR: "a.test.\t10\tIN\tTXT\t\"v=spf1 \\\"quoted\\\" -all\"",
		},
		{
			name: "TXT backslash and bytes outside ASCII", owner: "a.test", typ: "TXT", value: "a\\b\tcafé", ttl: 10,
			wantName: "a.test.", wantType: dns.TypeTXT, wantValue: "a\\b\tcafé",
			wantRR: "a.test.\t10\tIN\tTXT\t\"a\\\\b\\009caf\\195\\169\"",
		},
		{
			name: "TXT empty", owner: "a.test", typ: "TXT", value: "", ttl: 10,
			wantName: "a.test.", wantType: dns.TypeTXT, wantValue: "",
			wantRR: "a.test.\t10\tIN\tTXT\t\"\"",
		},
		{
			name: "TXT longer than 255 octets is split", owner: "a.test", typ: "TXT", value: long, ttl: 10,
			wantName: "a.test.", wantType: dns.TypeTXT, wantValue: long,
			wantRR: "a.test.\t10\tIN\tTXT\t\"" + long[:255] + "\" \"" + long[255:510] + "\" \"" + long[510:] + "\"",
		},
		{
			name: "SRV", owner: "_https._tcp.lab.test", typ: "SRV", value: " 10  5 443 Web.Lab.Test ", ttl: 60,
			wantName: "_https._tcp.lab.test.", wantType: dns.TypeSRV, wantValue: "10 5 443 web.lab.test.",
			wantRR: "_https._tcp.lab.test.\t60\tIN\tSRV\t10 5 443 web.lab.test.",
		},
		{
			name: "SRV no service", owner: "_x._tcp.test", typ: "SRV", value: "0 0 0 .", ttl: 60,
			wantName: "_x._tcp.test.", wantType: dns.TypeSRV, wantValue: "0 0 0 .",
			wantRR: "_x._tcp.test.\t60\tIN\tSRV\t0 0 0 .",
		},
		{
			name: "largest TTL", owner: "a.test", typ: "A", value: "10.0.0.1", ttl: 1<<31 - 1,
			wantName: "a.test.", wantType: dns.TypeA, wantValue: "10.0.0.1",
			wantRR: "a.test.\t2147483647\tIN\tA\t10.0.0.1",
		},

		{name: "bad name", owner: "a..test", typ: "A", value: "10.0.0.1", wantErr: `dnsstore: A record: name "a..test" has an empty label`},
		{name: "unsupported type", owner: "a.test", typ: "MX", value: "10 mx.test.", wantErr: `dnsstore: record "a.test": unsupported type "MX"`},
		{name: "empty type", owner: "a.test", typ: "", value: "x", wantErr: `unsupported type ""`},
		{name: "TTL too large", owner: "a.test", typ: "A", value: "10.0.0.1", ttl: 1 << 31, wantErr: `A record "a.test.": TTL 2147483648 is larger than 2147483647`},
		{name: "A out of range", owner: "x.lab.", typ: "A", value: "10.0.0.999", wantErr: `dnsstore: A record "x.lab.": "10.0.0.999" is not an IPv4 address`},
		{name: "A is IPv6", owner: "x.lab.", typ: "A", value: "2001:db8::1", wantErr: `"2001:db8::1" is not an IPv4 address`},
		{name: "A v4-mapped", owner: "x.lab.", typ: "A", value: "::ffff:10.0.0.1", wantErr: `"::ffff:10.0.0.1" is not an IPv4 address`},
		{name: "A leading zero", owner: "x.lab.", typ: "A", value: "010.0.0.1", wantErr: `"010.0.0.1" is not an IPv4 address`},
		{name: "A empty", owner: "x.lab.", typ: "A", value: "", wantErr: `"" is not an IPv4 address`},
		{name: "AAAA is IPv4", owner: "x.lab.", typ: "AAAA", value: "10.0.0.1", wantErr: `AAAA record "x.lab.": "10.0.0.1" is not an IPv6 address`},
		{name: "AAAA garbage", owner: "x.lab.", typ: "AAAA", value: "2001:db8::g", wantErr: `"2001:db8::g" is not an IPv6 address`},
		{name: "AAAA zone", owner: "x.lab.", typ: "AAAA", value: "fe80::1%eth0", wantErr: `"fe80::1%eth0" has a zone`},
		{name: "CNAME bad target", owner: "x.lab.", typ: "CNAME", value: "bad_target!", wantErr: `CNAME record "x.lab.": target: name "bad_target!"`},
		{name: "CNAME empty target", owner: "x.lab.", typ: "CNAME", value: "", wantErr: `target: name "" is empty`},
		{name: "CNAME wildcard target", owner: "x.lab.", typ: "CNAME", value: "*.lab.", wantErr: `target "*.lab." is a wildcard`},
		{name: "CNAME to itself", owner: "x.lab.", typ: "CNAME", value: "X.lab", wantErr: `target "X.lab" is the record's own name`},
		{name: "TXT too long", owner: "x.lab.", typ: "TXT", value: strings.Repeat("x", 70000), wantErr: `TXT record "x.lab.": text of 70000 octets is longer than`},
		{name: "SRV too few fields", owner: "_s._tcp.lab.", typ: "SRV", value: "10 5 443", wantErr: `SRV record "_s._tcp.lab.": "10 5 443" is not "priority weight port target"`},
		{name: "SRV port too big", owner: "_s._tcp.lab.", typ: "SRV", value: "10 5 65536 t.lab.", wantErr: `port "65536" is not a number from 0 to 65535`},
		{name: "SRV negative priority", owner: "_s._tcp.lab.", typ: "SRV", value: "-1 5 1 t.lab.", wantErr: `priority "-1" is not a number`},
		{name: "SRV bad target", owner: "_s._tcp.lab.", typ: "SRV", value: "1 1 1 t..lab", wantErr: `target: name "t..lab" has an empty label`},
		{name: "SRV wildcard target", owner: "_s._tcp.lab.", typ: "SRV", value: "1 1 1 *.lab", wantErr: `target "*.lab" is a wildcard`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRecord(tt.owner, tt.typ, tt.value, tt.ttl)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, Record{}, r)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, r.Name())
			assert.Equal(t, tt.wantType, r.Type())
			assert.Equal(t, tt.wantValue, r.Value())
			assert.Equal(t, tt.ttl, r.TTL())
			rr := r.RR(r.Name())
			require.NotNil(t, rr)
			assert.Equal(t, tt.wantRR, rr.String())
			assert.Equal(t, dns.RR_Header{Name: tt.wantName, Rrtype: tt.wantType, Class: dns.ClassINET, Ttl: tt.ttl}, *rr.Header())
			assert.NotSame(t, rr, r.RR(r.Name()), "each call builds a new RR, which the caller may change")
			if wild := r.RR("x.example."); assert.NotNil(t, wild) {
				assert.Equal(t, "x.example.", wild.Header().Name, "the RR is owned by the name given")
			}

			// The RR must survive the wire, and its canonical value must round-trip through NewRecord.
			buf := make([]byte, dns.MaxMsgSize)
			off, err := dns.PackRR(rr, buf, 0, nil, false)
			require.NoError(t, err)
			back, _, err := dns.UnpackRR(buf[:off], 0)
			require.NoError(t, err)
			assert.True(t, dns.IsDuplicate(rr, back), "unpacked %v", back)
			if r.Type() == dns.TypeTXT {
				// The octets on the wire are exactly the text, split into character-strings.
				var wire []byte
				for rd := buf[off-int(back.Header().Rdlength) : off]; len(rd) > 0; rd = rd[1+int(rd[0]):] {
					wire = append(wire, rd[1:1+int(rd[0])]...)
				}
				assert.Equal(t, tt.value, string(wire))
			}
			again, err := NewRecord(r.Name(), tt.typ, r.Value(), r.TTL())
			require.NoError(t, err)
			assert.Equal(t, r.Value(), again.Value())
		})
	}
}

// TestRecordSize guards the record's size, which a large hosts file multiplies by 100,000 (see Record).
func TestRecordSize(t *testing.T) {
	assert.Equal(t, uintptr(48), unsafe.Sizeof(Record{}))
}

// TestZeroRecord: the zero Record, the only Record NewRecord did not make, has no RR.
func TestZeroRecord(t *testing.T) {
	var r Record
	assert.Nil(t, r.RR("a.test."))
	assert.Zero(t, r.Type())
}
