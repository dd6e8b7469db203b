package hosts

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
)

func TestParse(t *testing.T) {
	type badLine struct {
		line   int
		reason string // substring of the error
	}
	tests := []struct {
		name    string
		input   string
		entries []Entry
		bad     []badLine
	}{
		{name: "empty"},
		{name: "blank lines and comments", input: "\n   \n# a comment\n\t# indented comment\n\n"},
		{
			name:    "ipv4 several names",
			input:   "10.0.0.1 web.lan www.lan\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"web.lan.", "www.lan."}}},
		},
		{
			name:    "ipv6",
			input:   "fd00::1\tv6.lan\n::1 localhost\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("fd00::1"), Names: []string{"v6.lan."}}, {Line: 2, Addr: netip.MustParseAddr("::1"), Names: []string{"localhost."}}},
		},
		{
			name:    "ipv4-mapped ipv6 is served as ipv4",
			input:   "::ffff:10.0.0.9 mapped.lan\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.9"), Names: []string{"mapped.lan."}}},
		},
		{
			name:    "names are lower-cased and may end in a dot",
			input:   "10.0.0.1 Web.LAN ftp.lan.\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"web.lan.", "ftp.lan."}}},
		},
		{
			name:    "inline comment, tabs, spaces and CRLF",
			input:   "  10.0.0.1 \t a.lan\tb.lan # c.lan is commented out\r\n10.0.0.2 d.lan#no space\r\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"a.lan.", "b.lan."}}, {Line: 2, Addr: netip.MustParseAddr("10.0.0.2"), Names: []string{"d.lan."}}},
		},
		{
			name:    "no final newline",
			input:   "# header\n10.0.0.1 last.lan",
			entries: []Entry{{Line: 2, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"last.lan."}}},
		},
		{
			name:    "underscores and digits",
			input:   "10.0.0.1 _sip._tcp.lan 1host.lan\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"_sip._tcp.lan.", "1host.lan."}}},
		},
		{
			name:    "bad address skips the line only",
			input:   "10.0.0.1 a.lan\n10.0.0.256 b.lan\nnot-an-ip c.lan\n10.0.0.3 d.lan\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"a.lan."}}, {Line: 4, Addr: netip.MustParseAddr("10.0.0.3"), Names: []string{"d.lan."}}},
			bad:     []badLine{{2, "invalid address"}, {3, "invalid address"}},
		},
		{
			name:  "zone is rejected",
			input: "fe80::1%eth0 link.lan\n",
			bad:   []badLine{{1, `has a zone ("eth0")`}},
		},
		{
			name:  "address without names",
			input: "10.0.0.1\n10.0.0.2   # only a comment\n",
			bad:   []badLine{{1, "has no names"}, {2, "has no names"}},
		},
		{
			name:    "bad name skips only that name",
			input:   "10.0.0.1 good.lan bad!.lan also-good.lan\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"good.lan.", "also-good.lan."}}},
			bad:     []badLine{{1, `invalid character '!'`}},
		},
		{
			name:  "line with only bad names",
			input: "10.0.0.1 a..lan -dash.lan\n",
			bad:   []badLine{{1, "empty label"}, {1, "starts with '-'"}},
		},
		{
			name:  "label and name too long",
			input: "10.0.0.1 " + strings.Repeat("a", 64) + ".lan\n10.0.0.1 " + strings.Repeat("abcdefghi.", 26) + "lan\n",
			bad:   []badLine{{1, "63"}, {2, "253"}},
		},
		{
			name:  "wildcards are not host names",
			input: "10.0.0.1 *.lan\n",
			bad:   []badLine{{1, `"*" is not allowed`}},
		},
		{
			name:    "line longer than 64 KiB is an error, the next line loads",
			input:   "10.0.0.1 " + strings.Repeat("x", maxLineLen+10) + "\n10.0.0.2 after.lan\n",
			entries: []Entry{{Line: 2, Addr: netip.MustParseAddr("10.0.0.2"), Names: []string{"after.lan."}}},
			bad:     []badLine{{1, "line longer than"}},
		},
		{
			name:  "line just over the limit that fits the buffer",
			input: strings.Repeat("#", maxLineLen+1) + "\n",
			bad:   []badLine{{1, "line longer than"}},
		},
		{
			name:    "line of exactly the limit is fine",
			input:   "10.0.0.1 ok.lan #" + strings.Repeat("c", maxLineLen-len("10.0.0.1 ok.lan #")) + "\r\n",
			entries: []Entry{{Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"ok.lan."}}},
		},
		{
			name:  "binary garbage",
			input: "\x00\xff\xfe garbage\n",
			bad:   []badLine{{1, "invalid address"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, errs := Parse(strings.NewReader(tt.input), "lab.hosts")
			assert.Equal(t, tt.entries, entries)
			require.Len(t, errs, len(tt.bad), "errors: %v", errs)
			for i, want := range tt.bad {
				assert.Equal(t, "lab.hosts", errs[i].File)
				assert.Equal(t, want.line, errs[i].Line, "error %d: %v", i, errs[i])
				assert.Contains(t, errs[i].Error(), want.reason)
				assert.LessOrEqual(t, len(errs[i].Text), maxErrorText)
			}
		})
	}
}

func TestLineErrorFormat(t *testing.T) {
	_, errs := Parse(strings.NewReader("# ok\n300.1.1.1 web.lan\n"), "/app/hosts/lab")
	require.Len(t, errs, 1)
	assert.Equal(t, `/app/hosts/lab:2: invalid address: ParseAddr("300.1.1.1"): IPv4 field has value >255: "300.1.1.1 web.lan"`, errs[0].Error())

	_, errs = Parse(strings.NewReader("10.0.0.1 Bad!Name\n"), "f")
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), `f:1: invalid name: name "Bad!Name"`, "quotes the name as written")
	assert.NotContains(t, errs[0].Error(), "dnsstore:")
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := &failingReader{data: "10.0.0.1 a.lan\n10.0.0.2 b.lan\n", err: boom}
	entries, errs := Parse(r, "f")
	require.Len(t, entries, 2, "lines read before the error are kept")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], boom)
	assert.Equal(t, 3, errs[0].Line)
}

// failingReader returns data, then err instead of io.EOF.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestRecords(t *testing.T) {
	entries, errs := Parse(strings.NewReader(strings.Join([]string{
		"10.0.0.1 web.lan www.lan",
		"10.0.0.2 web.lan", // a second address for web.lan is kept
		"10.0.0.1 WEB.lan", // the same name and address again is dropped
		"fd00::1 web.lan",  // AAAA next to A
		"10.0.0.3 dup.lan dup.lan",
	}, "\n")), "f")
	require.Empty(t, errs)
	assert.Equal(t, []events.Record{
		{Name: "web.lan.", Type: "A", Value: "10.0.0.1", TTL: 60},
		{Name: "www.lan.", Type: "A", Value: "10.0.0.1", TTL: 60},
		{Name: "web.lan.", Type: "A", Value: "10.0.0.2", TTL: 60},
		{Name: "web.lan.", Type: "AAAA", Value: "fd00::1", TTL: 60},
		{Name: "dup.lan.", Type: "A", Value: "10.0.0.3", TTL: 60},
	}, Records(entries, 60))
	assert.Empty(t, Records(nil, 60))
}

// TestParseIPv4 checks the allocation-free IPv4 parser against netip.ParseAddr: whatever it accepts, netip
// accepts with the same result, and every IPv4 address netip accepts it accepts too.
func TestParseIPv4(t *testing.T) {
	inputs := []string{
		"10.0.0.1", "0.0.0.0", "255.255.255.255", "1.2.3.4",
		"256.0.0.1", "01.0.0.1", "1.00.0.1", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "", "1.2.3.4a",
		"::1", "fd00::1", "::ffff:10.0.0.1", "1.2.3.4%eth0", "1234.1.1.1", "-1.2.3.4",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789.."
	for range 20000 {
		b := make([]byte, 1+rng.IntN(16))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		got, ok := parseIPv4([]byte(in))
		want, err := netip.ParseAddr(in)
		if ok {
			require.NoError(t, err, in)
			require.Equal(t, want, got, in)
		} else {
			require.False(t, err == nil && want.Is4(), "%q is an IPv4 address netip accepts", in)
		}
	}
}

// TestRecordsShareValues: lines with the same address share one value string, which the record store keeps
// (a blocklist sends thousands of names to 0.0.0.0).
func TestRecordsShareValues(t *testing.T) {
	entries, errs := Parse(strings.NewReader("0.0.0.0 a.lan b.lan\n0.0.0.0 c.lan\n10.0.0.1 d.lan\n0.0.0.0 e.lan\n"), "f")
	require.Empty(t, errs)
	recs := Records(entries, 60)
	require.Len(t, recs, 5)
	for _, r := range recs[1:3] {
		assert.Same(t, unsafe.StringData(recs[0].Value), unsafe.StringData(r.Value), r.Name)
	}
	assert.Equal(t, "10.0.0.1", recs[3].Value)
	assert.Equal(t, "0.0.0.0", recs[4].Value)
}

// bigHostsFile is n lines of the mix a real generated hosts file has: comments, IPv4 with one or two names, IPv6.
func bigHostsFile(n int) string {
	var b strings.Builder
	for i := range n {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "# block %d\n", i)
		case 1:
			fmt.Fprintf(&b, "fd00::%x:%x\thost-%d.v6.example.lan\n", i>>16, i&0xffff, i)
		default:
			fmt.Fprintf(&b, "10.%d.%d.%d host-%d.example.lan alias-%d.example.lan # comment\n", i>>16&255, i>>8&255, i&255, i, i)
		}
	}
	return b.String()
}

func BenchmarkParse(b *testing.B) {
	data := bigHostsFile(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		entries, errs := Parse(strings.NewReader(data), "big")
		if len(errs) != 0 || len(entries) != 90_000 {
			b.Fatalf("got %d entries, %d errors", len(entries), len(errs))
		}
	}
}

func BenchmarkParseAndRecords(b *testing.B) {
	data := bigHostsFile(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		entries, _ := Parse(strings.NewReader(data), "big")
		if r := Records(entries, 60); len(r) != 170_000 {
			b.Fatalf("got %d records", len(r))
		}
	}
}

func FuzzParse(f *testing.F) {
	// The committed corpus in testdata/fuzz/FuzzParse holds the interesting seeds; this one keeps the target
	// meaningful even without it.
	f.Add([]byte("10.0.0.1 web.lan\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, errs := Parse(strings.NewReader(string(data)), "fuzz")
		for _, e := range entries {
			if !e.Addr.IsValid() || e.Addr.Zone() != "" {
				t.Fatalf("line %d: invalid address %v", e.Line, e.Addr)
			}
			if len(e.Names) == 0 {
				t.Fatalf("line %d: no names", e.Line)
			}
			for _, n := range e.Names {
				if !strings.HasSuffix(n, ".") || strings.ToLower(n) != n {
					t.Fatalf("line %d: name %q is not canonical", e.Line, n)
				}
			}
		}
		for _, le := range errs {
			if le.Line < 1 || le.Err == nil || len(le.Text) > maxErrorText {
				t.Fatalf("bad LineError %#v", le)
			}
		}
		for _, r := range Records(entries, 1) {
			if r.Type != "A" && r.Type != "AAAA" {
				t.Fatalf("record type %q", r.Type)
			}
		}
	})
}
