package dnsserver

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

const (
	headerLen = 12
	// maxNameLen is the longest name in wire form, root label included (RFC 1035 section 2.3.4).
	maxNameLen = 255
	// maxKeyLen is a cache key's length: the name, the type, the EDNS flags and the reply size.
	maxKeyLen = maxNameLen + 5

	flagQR = 0x80 // in the third header octet
	flagRD = 0x01 // in the third header octet
	flagCD = 0x10 // in the fourth header octet

	keyEDNS = 1 << 0
	keyDO   = 1 << 1
)

// plainQuery is what the fast path reads from a raw query.
type plainQuery struct {
	nameEnd int // the question name is p[headerLen:nameEnd]
	qtype   uint16
	size    int // the largest reply the client accepts over UDP (resolver.replySize)
}

// parsePlain reads the header, question and OPT of the raw query p without allocating. It reports ok for a
// plain query only: QR clear, opcode QUERY, exactly one question of class IN whose name has no compression
// pointer, no answer or authority records, and at most one additional record, an OPT owned by the root with
// EDNS version 0 whose options all parse in miekg/dns whatever their content (see plainOption). Bytes after
// those sections are ignored, as miekg/dns ignores them.
//
// For a plain query, miekg/dns parses the same question and OPT (FuzzParsePlain checks this), so the reply
// is a function of the key appended to key[:0]: the name lower-cased (names compare case-insensitively
// only in ASCII, RFC 4343), the type, whether there was an OPT and its DO bit, and the reply size limit.
// Anything else is not plain and takes the full path, which decides every other case (FORMERR, BADVERS,
// NOTIMP, REFUSED, …) exactly as before.
func parsePlain(p []byte, udpSize uint16, key []byte) (plainQuery, []byte, bool) {
	var q plainQuery
	if len(p) < headerLen || p[2]&(flagQR|0x78) != 0 { // QR or an opcode other than QUERY
		return q, key, false
	}
	if be16(p[4:]) != 1 || be16(p[6:]) != 0 || be16(p[8:]) != 0 || be16(p[10:]) > 1 {
		return q, key, false
	}
	key = key[:0]
	off := headerLen
	for {
		if off >= len(p) {
			return q, key, false
		}
		c := int(p[off])
		if c == 0 {
			key = append(key, 0)
			off++
			break
		}
		// Only plain labels: 0xC0 is a pointer, 0x40 and 0x80 are obsolete label types miekg/dns rejects.
		// miekg/dns also rejects a name whose labels and length octets reach 255 before the root label.
		if c > 63 || off+1+c > len(p) || off+1+c-headerLen >= maxNameLen {
			return q, key, false
		}
		key = append(key, byte(c))
		for _, b := range p[off+1 : off+1+c] {
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			key = append(key, b)
		}
		off += 1 + c
	}
	q.nameEnd = off
	if off+4 > len(p) || be16(p[off+2:]) != dns.ClassINET {
		return q, key, false
	}
	q.qtype = be16(p[off:])
	off += 4

	var flags byte
	q.size = dns.MinMsgSize
	if be16(p[10:]) == 1 {
		// The OPT: root owner, type, payload size (class), extended rcode, version, DO and Z (TTL), rdata.
		const optLen = 1 + 2 + 2 + 4 + 2
		if off+optLen > len(p) || p[off] != 0 || be16(p[off+1:]) != dns.TypeOPT || p[off+6] != 0 {
			return q, key, false
		}
		flags = keyEDNS
		if p[off+7]&0x80 != 0 {
			flags |= keyDO
		}
		q.size = int(min(max(be16(p[off+3:]), dns.MinMsgSize), udpSize))
		rdlen := int(be16(p[off+9:]))
		off += optLen
		if off+rdlen > len(p) {
			return q, key, false
		}
		for opts := p[off : off+rdlen]; len(opts) > 0; {
			if len(opts) < 4 || !plainOption(be16(opts)) || 4+int(be16(opts[2:])) > len(opts) {
				return q, key, false
			}
			opts = opts[4+int(be16(opts[2:])):]
		}
	}
	key = append(key, byte(q.qtype>>8), byte(q.qtype), flags, byte(q.size>>8), byte(q.size))
	return q, key, true
}

// plainOption reports whether miekg/dns parses an EDNS0 option with this code whatever its content, so that
// a well-framed one cannot turn the query into a FORMERR. Options whose parser checks the content (client
// subnet, keepalive, …) make the query take the full path. TestPlainOptionsAlwaysParse guards the list
// against a miekg/dns upgrade.
func plainOption(code uint16) bool {
	switch code {
	case dns.EDNS0NSID, dns.EDNS0DAU, dns.EDNS0DHU, dns.EDNS0N3U, dns.EDNS0COOKIE, dns.EDNS0PADDING:
		return true
	}
	return false
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
