package discovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// The wire format of an announcement, version 1, all integers big-endian:
//
//	magic    4 bytes  "JOYD"
//	version  1 byte   1
//	flags    1 byte   bit 0: a MAC follows; other bits must be 0
//	sent     8 bytes  Unix time in milliseconds, signed
//	id       1 byte length, then the node ID (1..maxIDLen printable ASCII)
//	addr     1 byte length, then the gossip address, host:port
//	mac      32 bytes HMAC-SHA256 over everything before it, only when flag bit 0 is set
//
// It is binary and length-prefixed rather than JSON so that a datagram has exactly one reading, the decoder
// needs no allocation proportional to a hostile input, and the fuzz target can demand an exact round trip.
const (
	magic   = "JOYD"
	version = 1

	flagMAC = 1 << 0

	// MaxMessageSize bounds a datagram: anything longer is dropped unread. The largest valid announcement is
	// 4+1+1+8+1+128+1+255+32 = 431 bytes.
	MaxMessageSize = 512

	maxIDLen   = 128 // as the cluster's node_id
	maxAddrLen = 255 // a one-byte length
	macLen     = sha256.Size
	headerLen  = len(magic) + 1 + 1 + 8
)

// message is one announcement as carried on the wire.
type message struct {
	nodeID string
	addr   string
	sent   int64  // Unix milliseconds; kept as the wire integer so that decoding and encoding are exact inverses
	mac    []byte // nil when unkeyed
}

var errDatagram = errors.New("not a discovery announcement")

// appendBody appends everything the MAC covers; keyed sets the flag saying a MAC follows.
func (m message) appendBody(b []byte, keyed bool) []byte {
	flags := byte(0)
	if keyed {
		flags |= flagMAC
	}
	b = append(b, magic...)
	b = append(b, version, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(m.sent))
	b = append(b, byte(len(m.nodeID)))
	b = append(b, m.nodeID...)
	b = append(b, byte(len(m.addr)))
	return append(b, m.addr...)
}

// encode returns the datagram announcing m, with a MAC under macKey when macKey is set. m must satisfy
// checkNodeID and checkAddr, which New ensures for the announcer's own message.
func encode(m message, macKey []byte) []byte {
	b := m.appendBody(make([]byte, 0, MaxMessageSize), macKey != nil)
	if macKey != nil {
		b = sum(macKey, b, b)
	}
	return b
}

// decode parses a datagram strictly: every byte must be accounted for, so that a datagram decodes only when
// encode would produce exactly it. It does not check the MAC or the time; body is the part the MAC covers.
// It retains no part of b except through the returned slices, which alias it.
func decode(b []byte) (m message, body []byte, err error) {
	if len(b) > MaxMessageSize {
		return message{}, nil, fmt.Errorf("%w: %d bytes, more than %d", errDatagram, len(b), MaxMessageSize)
	}
	if len(b) < headerLen || string(b[:len(magic)]) != magic {
		return message{}, nil, fmt.Errorf("%w: no magic", errDatagram)
	}
	if v := b[len(magic)]; v != version {
		return message{}, nil, fmt.Errorf("%w: version %d, want %d", errDatagram, v, version)
	}
	flags := b[len(magic)+1]
	if flags&^flagMAC != 0 {
		return message{}, nil, fmt.Errorf("%w: unknown flags %#x", errDatagram, flags)
	}
	m.sent = int64(binary.BigEndian.Uint64(b[len(magic)+2:]))
	rest := b[headerLen:]
	id, rest, ok := field(rest)
	if !ok {
		return message{}, nil, fmt.Errorf("%w: truncated node ID", errDatagram)
	}
	addr, rest, ok := field(rest)
	if !ok {
		return message{}, nil, fmt.Errorf("%w: truncated address", errDatagram)
	}
	body = b[:len(b)-len(rest)]
	switch {
	case flags&flagMAC == 0 && len(rest) != 0:
		return message{}, nil, fmt.Errorf("%w: %d bytes after the address", errDatagram, len(rest))
	case flags&flagMAC != 0 && len(rest) != macLen:
		return message{}, nil, fmt.Errorf("%w: MAC of %d bytes, want %d", errDatagram, len(rest), macLen)
	case flags&flagMAC != 0:
		m.mac = rest
	}
	if err := checkNodeID(string(id)); err != nil {
		return message{}, nil, fmt.Errorf("%w: %w", errDatagram, err)
	}
	if err := checkAddr(string(addr)); err != nil {
		return message{}, nil, fmt.Errorf("%w: %w", errDatagram, err)
	}
	m.nodeID, m.addr = string(id), string(addr)
	return m, body, nil
}

// field splits a one-byte-length-prefixed field off b.
func field(b []byte) (f, rest []byte, ok bool) {
	if len(b) < 1 || len(b)-1 < int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0]) + 1
	return b[1:n], b[n:], true
}

// macKey derives the key announcements are authenticated with from the configured key, so that the cluster's
// gossip key is never used directly by a second algorithm.
func macKey(key []byte) []byte {
	if len(key) == 0 {
		return nil
	}
	return sum(key, nil, []byte("joyride discovery v1"))
}

// sum appends HMAC-SHA256(key, data) to b.
func sum(key, b, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(b)
}

// authentic says whether m's MAC state matches this node's: with a key, a MAC under it is required; without
// one, only unkeyed announcements are taken, since a keyed one comes from a cluster this node cannot join.
func authentic(m message, body, macKey []byte) bool {
	if macKey == nil {
		return m.mac == nil
	}
	return m.mac != nil && hmac.Equal(m.mac, sum(macKey, nil, body))
}

// checkNodeID applies the cluster's rule for node IDs: 1 to 128 printable ASCII characters.
func checkNodeID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("node ID of %d bytes, want 1..%d", len(id), maxIDLen)
	}
	for i := range len(id) {
		if id[i] < 0x20 || id[i] > 0x7e {
			return fmt.Errorf("node ID %q is not printable ASCII", id)
		}
	}
	return nil
}

// checkAddr accepts a gossip address a peer can join: host:port with a port in 1..65535 and a host that is a
// name or a specific IP address, never a wildcard, which would make the peer join itself.
func checkAddr(addr string) error {
	if len(addr) > maxAddrLen {
		return fmt.Errorf("address of %d bytes, more than %d", len(addr), maxAddrLen)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 || strconv.FormatUint(p, 10) != port {
		return fmt.Errorf("address %q: port is not 1..65535", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	for i := range len(host) {
		if host[i] <= 0x20 || host[i] > 0x7e {
			return fmt.Errorf("address %q: host is not printable ASCII", addr)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return fmt.Errorf("address %q: a wildcard host is not reachable", addr)
	}
	return nil
}
