package dnsserver

import (
	"net/netip"
	"strings"
)

// lower returns name with ASCII letters lower-cased, and name itself (no allocation) when it has none.
// Only ASCII is folded: DNS names compare case-insensitively in ASCII only (RFC 4343), and miekg/dns presents
// every other octet of a received name as a \DDD escape.
func lower(name string) string {
	i := 0
	for i < len(name) && (name[i] < 'A' || name[i] > 'Z') {
		i++
	}
	if i == len(name) {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	b.WriteString(name[:i])
	for ; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// inZone reports whether the canonical name is zone or below it. The label boundary is checked, escapes
// included: "a\.lab.test." is one label "a.lab" under "test.", not a name in "lab.test.".
func inZone(name, zone string) bool {
	if !strings.HasSuffix(name, zone) {
		return false
	}
	i := len(name) - len(zone) - 1 // the dot before zone
	if i < 0 {
		return true
	}
	if name[i] != '.' {
		return false
	}
	backslashes := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		backslashes++
	}
	return backslashes%2 == 0
}

const (
	v4Reverse = ".in-addr.arpa."
	v6Reverse = ".ip6.arpa."
)

// reverseAddr parses a canonical reverse-mapping name: four decimal labels under in-addr.arpa or 32 nibble
// labels under ip6.arpa (RFC 1035 section 3.5, RFC 3596 section 2.5). Partial names (a /24's
// "0.0.10.in-addr.arpa.") are not addresses and return false.
func reverseAddr(name string) (netip.Addr, bool) {
	switch {
	case strings.HasSuffix(name, v4Reverse):
		return reverse4(name[:len(name)-len(v4Reverse)])
	case strings.HasSuffix(name, v6Reverse):
		return reverse6(name[:len(name)-len(v6Reverse)])
	}
	return netip.Addr{}, false
}

// reverse4 parses "d.c.b.a" into a.b.c.d; labels are 0..255 without leading zeros.
func reverse4(s string) (netip.Addr, bool) {
	var a [4]byte
	for i := 3; i >= 0; i-- {
		label := s
		if i > 0 {
			dot := strings.IndexByte(s, '.')
			if dot < 0 {
				return netip.Addr{}, false
			}
			label, s = s[:dot], s[dot+1:]
		}
		if len(label) == 0 || len(label) > 3 || (len(label) > 1 && label[0] == '0') {
			return netip.Addr{}, false
		}
		n := 0
		for j := 0; j < len(label); j++ {
			c := label[j]
			if c < '0' || c > '9' {
				return netip.Addr{}, false
			}
			n = n*10 + int(c-'0')
		}
		if n > 255 {
			return netip.Addr{}, false
		}
		a[i] = byte(n)
	}
	return netip.AddrFrom4(a), true
}

// reverse6 parses 32 dot-separated nibbles, least significant first.
func reverse6(s string) (netip.Addr, bool) {
	if len(s) != 63 {
		return netip.Addr{}, false
	}
	var a [16]byte
	for i := 0; i < 32; i++ {
		if i < 31 && s[2*i+1] != '.' {
			return netip.Addr{}, false
		}
		var v byte
		switch c := s[2*i]; {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return netip.Addr{}, false
		}
		pos := 31 - i // nibble position from the most significant end
		if pos%2 == 0 {
			a[pos/2] |= v << 4
		} else {
			a[pos/2] |= v
		}
	}
	return netip.AddrFrom16(a), true
}
