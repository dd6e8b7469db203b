package discovery

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestDecode(t *testing.T) {
	valid := message{nodeID: "node-a", addr: "127.0.0.2:7946", sent: 1_700_000_000_000}
	plain := encode(valid, nil)
	keyed := encode(valid, macKey(testKey))
	with := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	// field rewrites the node ID and the address of plain, leaving the length bytes consistent.
	field := func(id, addr string) []byte {
		return message{nodeID: id, addr: addr, sent: valid.sent}.appendBody(nil, false)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr string // "" means it decodes to valid
		keyed   bool
	}{
		{name: "unkeyed", in: plain},
		{name: "keyed", in: keyed, keyed: true},
		{name: "empty", in: nil, wantErr: "no magic"},
		{name: "other protocol", in: []byte("GET / HTTP/1.1\r\n\r\n"), wantErr: "no magic"},
		{name: "header only", in: plain[:headerLen], wantErr: "truncated node ID"},
		{name: "truncated node ID", in: plain[:headerLen+3], wantErr: "truncated node ID"},
		{name: "truncated address", in: plain[:len(plain)-1], wantErr: "truncated address"},
		{name: "truncated MAC", in: keyed[:len(keyed)-1], wantErr: "MAC of 31 bytes"},
		{name: "MAC without its flag", in: append(bytes.Clone(plain), keyed[len(plain):]...), wantErr: "bytes after the address"},
		{name: "trailing byte", in: append(bytes.Clone(plain), 0), wantErr: "1 bytes after the address"},
		{name: "next version", in: with(plain, len(magic), version+1), wantErr: "version 2"},
		{name: "unknown flag", in: with(plain, len(magic)+1, 0x82), wantErr: "unknown flags"},
		{name: "too long", in: append(bytes.Clone(plain), make([]byte, MaxMessageSize)...), wantErr: "more than 512"},
		{name: "empty node ID", in: field("", valid.addr), wantErr: "node ID of 0 bytes"},
		{name: "node ID with a newline", in: field("a\nb", valid.addr), wantErr: "not printable ASCII"},
		{name: "node ID over 128 bytes", in: field(strings.Repeat("n", 129), valid.addr), wantErr: "node ID of 129 bytes"},
		{name: "address without port", in: field("node-a", "127.0.0.2"), wantErr: "missing port"},
		{name: "port 0", in: field("node-a", "127.0.0.2:0"), wantErr: "port is not 1..65535"},
		{name: "port too big", in: field("node-a", "127.0.0.2:65536"), wantErr: "port is not 1..65535"},
		{name: "wildcard host", in: field("node-a", "0.0.0.0:7946"), wantErr: "wildcard"},
		{name: "empty host", in: field("node-a", ":7946"), wantErr: "no host"},
		{name: "host with a space", in: field("node-a", "a b:7946"), wantErr: "not printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, body, err := decode(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, errDatagram)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, valid.nodeID, m.nodeID)
			assert.Equal(t, valid.addr, m.addr)
			assert.Equal(t, valid.sent, m.sent)
			assert.Equal(t, tt.keyed, m.mac != nil)
			assert.Equal(t, plain[headerLen:], body[headerLen:], "the MAC covers the whole body")
		})
	}
}

func TestAuthentic(t *testing.T) {
	m := message{nodeID: "node-a", addr: "127.0.0.2:7946", sent: 1}
	other := macKey([]byte("another key of sixteen bytes+"))
	tests := []struct {
		name           string
		sender, reader []byte
		want           bool
	}{
		{name: "both unkeyed", want: true},
		{name: "same key", sender: macKey(testKey), reader: macKey(testKey), want: true},
		{name: "wrong key", sender: other, reader: macKey(testKey)},
		{name: "keyed to an unkeyed reader", sender: macKey(testKey)},
		{name: "unkeyed to a keyed reader", reader: macKey(testKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body, err := decode(encode(m, tt.sender))
			require.NoError(t, err)
			assert.Equal(t, tt.want, authentic(got, body, tt.reader))
		})
	}
}

func TestMACKeyIsNotTheKey(t *testing.T) {
	assert.Nil(t, macKey(nil))
	assert.Len(t, macKey(testKey), macLen)
	assert.NotEqual(t, testKey, macKey(testKey), "the gossip key is not used as the MAC key directly")
}

// FuzzDecode feeds arbitrary datagrams to the decoder and to the receive loop's filter: nothing may panic, a
// datagram over MaxMessageSize never decodes, and whatever decodes encodes back to exactly the same bytes, so a
// datagram has one reading only. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	key := macKey(testKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, body, err := decode(b)
		flt := newFilter("self", "127.0.0.1:7946", key, time.Second)
		if err != nil {
			if _, report, ferr := flt.accept(b, time.Now()); report || ferr == nil {
				t.Fatalf("the filter took a datagram that does not decode (%v)", err)
			}
			return
		}
		if len(b) > MaxMessageSize {
			t.Fatalf("decoded %d bytes, more than %d", len(b), MaxMessageSize)
		}
		again := append(m.appendBody(nil, m.mac != nil), m.mac...)
		if !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed the datagram:\n%q\n%q", b, again)
		}
		if !bytes.Equal(body, b[:len(body)]) {
			t.Fatalf("body %q is not a prefix of the datagram", body)
		}
		_, _, _ = flt.accept(b, time.UnixMilli(m.sent)) // within the window: the checks after decoding run too
	})
}
