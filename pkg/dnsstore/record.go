package dnsstore

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/ttl"
	"github.com/miekg/dns"
)

// Record is one resource record owned by a source.
//
// Its fields are unexported so that a Record can only be made valid: by NewRecord, which validates and
// canonicalises it. Everything that reads a record (the name index,
// Record.RR, the reverse indexes, the DNS server) relies on that, and the store trusts it rather than validating
// every record again on each Replace, which cost a sixth of reloading a 100,000-line hosts file. The zero Record
// is the only other one there is; Replace drops it.
//
// A large hosts file makes the store hold 100,000 of these, so a record is only its fields (48 octets): its
// source and the time it was set are shared by every record one Replace stored (see stamp), and its dns.RR is
// built when an answer needs it (see RR), which the DNS server's answer cache makes rare, instead of being kept
// beside it for another 80 (the interface field and the RR it points to).
type Record struct {
	// name is canonical: lower case, fully qualified with a trailing dot ("app.lab.test."); it may start with
	// "*." (a wildcard owner).
	name string
	// value is the canonical presentation of the RDATA: "10.0.0.1", "2001:db8::1" (netip canonical form),
	// "target.lab.test." (CNAME), the TXT text unquoted, or "10 5 443 target.lab.test." (SRV).
	value string
	// stamp is the record's source and the time it was set; nil until the record is stored.
	stamp *stamp
	ttl   uint32
	// typ is one of dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeTXT and dns.TypeSRV; 0 in the zero Record.
	typ uint16
}

// Name is the owner name, canonical: lower case, fully qualified with a trailing dot ("app.lab.test."); it may
// start with "*." (a wildcard owner).
func (r Record) Name() string { return r.name }

// Value is the canonical presentation of the RDATA: "10.0.0.1", "2001:db8::1" (netip canonical form),
// "target.lab.test." (CNAME), the TXT text unquoted, or "10 5 443 target.lab.test." (SRV).
func (r Record) Value() string { return r.value }

// TTL is the record's time to live in seconds, at most ttl.Max.
func (r Record) TTL() uint32 { return r.ttl }

// Type is one of dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeTXT and dns.TypeSRV (0 for the zero Record).
func (r Record) Type() uint16 { return r.typ }

// Source is the owner of the record ("hosts:/etc/hosts.d/lab", "docker:<id>", "static:config", "node:<id>"),
// as Store.Replace was told, or "" for a record that was not stored.
func (r Record) Source() string {
	if r.stamp == nil {
		return ""
	}
	return r.stamp.source
}

// SetAt is when the record was set with its current TTL, in UTC: by Store.Replace when it first stored it, or by
// the record's owner when it was given one with WithSetAt. It is the zero time for a record that has neither.
func (r Record) SetAt() time.Time {
	if r.stamp == nil {
		return time.Time{}
	}
	return r.stamp.at
}

// WithSetAt returns r set at t (the zero time takes the time away): the store keeps it instead of stamping the
// record when it stores it. A peer's record carries its owner's time this way, so that every node of a cluster
// sees the same time for it and a policy that compares times (see Policy) answers the same everywhere.
func (r Record) WithSetAt(t time.Time) Record {
	r.stamp = &stamp{source: r.Source(), at: t.UTC()}
	return r
}

// stamp is what the records one Replace stores have in common: their source and when they were set (records
// given their own time share a stamp per time). A record the next Replace leaves unchanged keeps its stamp, and
// so the time it was first set. Sharing one stamp instead of a string and a time in each record saves 16 octets
// a record, a sixth of a large source.
type stamp struct {
	source string
	at     time.Time // UTC
}

// NewRecord validates and canonicalises one record. typ is "A", "AAAA", "CNAME", "TXT" or "SRV"
// (case-insensitive). Errors name the offending value, e.g.
// `dnsstore: A record "x.lab.": "10.0.0.999" is not an IPv4 address`.
func NewRecord(name, typ, value string, seconds uint32) (Record, error) {
	t, ok := parseType(typ)
	if !ok {
		return Record{}, fmt.Errorf("dnsstore: record %q: unsupported type %q (want A, AAAA, CNAME, TXT or SRV)", name, typ)
	}
	r, err := parseRecord(name, t, value, seconds)
	if err != nil {
		return Record{}, fmt.Errorf("dnsstore: %w", err)
	}
	return r, nil
}

// parseType maps a type mnemonic to its code without allocating (hot for hosts files).
func parseType(typ string) (uint16, bool) {
	switch {
	case strings.EqualFold(typ, "A"):
		return dns.TypeA, true
	case strings.EqualFold(typ, "AAAA"):
		return dns.TypeAAAA, true
	case strings.EqualFold(typ, "CNAME"):
		return dns.TypeCNAME, true
	case strings.EqualFold(typ, "TXT"):
		return dns.TypeTXT, true
	case strings.EqualFold(typ, "SRV"):
		return dns.TypeSRV, true
	}
	return 0, false
}

// parseRecord validates and canonicalises a record of type t, with errors not yet prefixed by the package name.
func parseRecord(name string, t uint16, value string, seconds uint32) (Record, error) {
	tname := dns.TypeToString[t]
	owner, err := dnsname.Canonical(name)
	if err != nil {
		return Record{}, fmt.Errorf("%s record: %w", tname, err)
	}
	if err := ttl.Check(seconds); err != nil {
		return Record{}, fmt.Errorf("%s record %q: %w", tname, owner, err)
	}
	r := Record{name: owner, typ: t, ttl: seconds}
	switch t {
	case dns.TypeA:
		v := strings.TrimSpace(value)
		addr, err := netip.ParseAddr(v)
		if err != nil || !addr.Is4() {
			return Record{}, fmt.Errorf("A record %q: %q is not an IPv4 address", owner, value)
		}
		// netip only accepts the canonical dotted-quad form for IPv4, so the input is already canonical.
		r.value = v
	case dns.TypeAAAA:
		v := strings.TrimSpace(value)
		addr, err := netip.ParseAddr(v)
		switch {
		case err != nil || !addr.Is6():
			return Record{}, fmt.Errorf("AAAA record %q: %q is not an IPv6 address", owner, value)
		case addr.Zone() != "":
			return Record{}, fmt.Errorf("AAAA record %q: %q has a zone, which DNS cannot carry", owner, value)
		}
		// Keep v when it is already canonical, as most input is: only a value that needs rewriting costs an
		// allocation.
		var buf [len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")]byte
		if c := addr.AppendTo(buf[:0]); string(c) == v {
			r.value = v
		} else {
			r.value = string(c)
		}
	case dns.TypeCNAME:
		target, err := dnsname.Canonical(strings.TrimSpace(value))
		switch {
		case err != nil:
			return Record{}, fmt.Errorf("CNAME record %q: target: %w", owner, err)
		case dnsname.IsWildcard(target):
			return Record{}, fmt.Errorf("CNAME record %q: target %q is a wildcard", owner, value)
		case target == owner:
			return Record{}, fmt.Errorf("CNAME record %q: target %q is the record's own name", owner, value)
		}
		r.value = target
	case dns.TypeTXT:
		if len(value) > maxTXTLen {
			return Record{}, fmt.Errorf("TXT record %q: text of %d octets is longer than %d", owner, len(value), maxTXTLen)
		}
		r.value = value
	case dns.TypeSRV:
		srv, err := parseSRV(value)
		if err != nil {
			return Record{}, fmt.Errorf("SRV record %q: %w", owner, err)
		}
		r.value = fmt.Sprintf("%d %d %d %s", srv.Priority, srv.Weight, srv.Port, srv.Target)
	}
	return r, nil
}

// RR builds the record as a new dns.RR owned by owner: the record's Name, or the query name a wildcard record
// answers. The caller may change it. It is built from the fields directly rather than by parsing zone-file
// text with dns.NewRR, which is several times slower: they are valid and canonical, since only NewRecord makes
// them. The zero Record has no RR: RR returns nil.
func (r Record) RR(owner string) dns.RR {
	hdr := dns.RR_Header{Name: owner, Rrtype: r.typ, Class: dns.ClassINET, Ttl: r.ttl}
	switch r.typ {
	case dns.TypeA:
		addr, _ := netip.ParseAddr(r.value)
		// One allocation holds the RR and its address.
		a := &struct {
			rr dns.A
			ip [4]byte
		}{ip: addr.As4()}
		a.rr = dns.A{Hdr: hdr, A: net.IP(a.ip[:])}
		return &a.rr
	case dns.TypeAAAA:
		addr, _ := netip.ParseAddr(r.value)
		a := &struct {
			rr dns.AAAA
			ip [16]byte
		}{ip: addr.As16()}
		a.rr = dns.AAAA{Hdr: hdr, AAAA: net.IP(a.ip[:])}
		return &a.rr
	case dns.TypeCNAME:
		return &dns.CNAME{Hdr: hdr, Target: r.value}
	case dns.TypeTXT:
		return &dns.TXT{Hdr: hdr, Txt: txtStrings(r.value)}
	case dns.TypeSRV:
		srv, _ := parseSRV(r.value)
		srv.Hdr = hdr
		return srv
	}
	return nil // the zero Record
}

// maxTXTLen keeps the RDATA of one TXT record (a length octet per 255-octet string) within 65535 octets.
const maxTXTLen = 65535 - 65535/256 - 1

// txtStrings splits text (at most maxTXTLen octets) into the 255-octet character-strings a TXT RDATA is made
// of, each in the escaped form miekg/dns keeps them in (it reads a backslash as the start of an escape when
// packing).
func txtStrings(text string) []string {
	chunks := make([]string, 0, max(1, (len(text)+254)/255))
	for {
		n := min(len(text), 255)
		chunks = append(chunks, escapeTXT(text[:n]))
		text = text[n:]
		if text == "" {
			return chunks
		}
	}
}

// escapeTXT escapes s the way miekg/dns unpacks a character-string: '"' and '\' with a backslash, other
// bytes outside printable ASCII as \DDD. Equal texts thus give RRs equal to those read from the wire.
func escapeTXT(s string) string {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = s[i] >= ' ' && s[i] <= '~' && s[i] != '"' && s[i] != '\\'
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// parseSRV parses "priority weight port target"; a target of "." means the service is not available (RFC 2782).
func parseSRV(value string) (*dns.SRV, error) {
	f := strings.Fields(value)
	if len(f) != 4 {
		return nil, fmt.Errorf("%q is not \"priority weight port target\"", value)
	}
	var nums [3]uint16
	for i, what := range [3]string{"priority", "weight", "port"} {
		n, err := strconv.ParseUint(f[i], 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q: %s %q is not a number from 0 to 65535", value, what, f[i])
		}
		nums[i] = uint16(n)
	}
	target := "."
	if f[3] != "." {
		t, err := dnsname.Canonical(f[3])
		if err != nil {
			return nil, fmt.Errorf("%q: target: %w", value, err)
		}
		if dnsname.IsWildcard(t) {
			return nil, fmt.Errorf("%q: target %q is a wildcard", value, f[3])
		}
		target = t
	}
	return &dns.SRV{Priority: nums[0], Weight: nums[1], Port: nums[2], Target: target}, nil
}
