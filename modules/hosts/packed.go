package hosts

import (
	"bytes"
	"cmp"
	"compress/flate"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"

	"github.com/joyride-dns/joyride/pkg/events"
)

// packed is a file's records in the compact form the watcher keeps between loads: for each record, in file
// order, the address (a length octet, 4 or 16, then the address) and the name (a length octet, then the name).
// The type follows from the address and the TTL is the configured one. With a 100,000-line file this is about
// 28 octets a record where []events.Record took a 56-octet struct plus strings, and it holds no pointers, so the
// garbage collector never scans it. Loads are compared as bytes, and diffed by sorting hashes (diffPacked).
type packed []byte

// pack encodes recs, which Records made (canonical names of at most 254 octets, A or AAAA values).
func pack(recs []events.Record) packed {
	n := 0
	for _, r := range recs {
		n += 2 + 4 + len(r.Name)
		if r.Type == "AAAA" {
			n += 12
		}
	}
	p := make(packed, 0, n)
	var value string
	var addr netip.Addr
	for _, r := range recs {
		// Records gives consecutive records with one address one value string: parse it once.
		if !addr.IsValid() || r.Value != value {
			a, err := netip.ParseAddr(r.Value)
			if err != nil {
				continue // cannot happen: Records formats the address
			}
			value, addr = r.Value, a
		}
		p = append(p, byte(addr.BitLen()/8))
		p = append(p, addr.AsSlice()...)
		p = append(p, byte(len(r.Name)))
		p = append(p, r.Name...)
	}
	return p
}

// deflateMin is the packed size from which kept compresses: a large hosts file's names share most of their
// octets ("host-1234.lab.test."), so its packed records deflate to about a fifth (2.8 MB to 0.53 MB for the
// 100,000-line benchmark file, in 10 ms, and inflate in 7), which the watcher pays once per change of the file,
// against keeping the difference alive for as long as the file exists. Below this size the saving is not worth
// a compressor's 200 KB of working memory.
const deflateMin = 64 << 10

// kept is a file's packed records as the watcher keeps them between loads: as they are when small, DEFLATE
// compressed from deflateMin octets.
type kept struct {
	data []byte
	size int // len of the packed records
}

// deflated reports whether data is compressed.
func (k kept) deflated() bool { return k.size >= deflateMin }

// keep returns p as the watcher keeps it. p is not retained once compressed.
func keep(p packed) kept {
	k := kept{data: p, size: len(p)}
	if len(p) < deflateMin {
		return k
	}
	var b bytes.Buffer
	b.Grow(len(p) / 4)
	// NewWriter fails only for an invalid level, and writing to a bytes.Buffer does not fail.
	zw, _ := flate.NewWriter(&b, flate.BestSpeed)
	_, _ = zw.Write(p)
	_ = zw.Close()
	k.data = bytes.Clone(b.Bytes()) // not the buffer, which grew past the data
	return k
}

// packed returns the records k keeps. An error means the compressed form is damaged, which only a bug can do.
func (k kept) packed() (packed, error) {
	if !k.deflated() {
		return k.data, nil
	}
	p := make(packed, k.size)
	r := flate.NewReader(bytes.NewReader(k.data))
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, fmt.Errorf("inflating the kept records: %w", err)
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("inflating the kept records: more than the %d octets kept", k.size)
	}
	return p, nil
}

// offsets returns where each record of p starts.
func (p packed) offsets() []int32 {
	var out []int32
	for i := 0; i < len(p); {
		out = append(out, int32(i))
		i += p.size(i)
	}
	return out
}

// size is the length of the record at offset i.
func (p packed) size(i int) int {
	a := int(p[i])
	return 1 + a + 1 + int(p[i+1+a])
}

// record decodes the record at offset i.
func (p packed) record(i int, ttl uint32) events.Record {
	a := int(p[i])
	addr, _ := netip.AddrFromSlice(p[i+1 : i+1+a])
	typ := "A"
	if a == 16 {
		typ = "AAAA"
	}
	n := int(p[i+1+a])
	name := string(p[i+2+a : i+2+a+n])
	return events.Record{Name: name, Type: typ, Value: addr.String(), TTL: ttl}
}

// records decodes p (for the records of a removed file, at most limit of them).
func (p packed) records(ttl uint32, limit int) []events.Record {
	var out []events.Record
	for i := 0; i < len(p) && len(out) < limit; i += p.size(i) {
		out = append(out, p.record(i, ttl))
	}
	return out
}

// diffPacked is diff(prev, next) for packed record lists. Loads of a large file usually differ in a few
// records, so it first finds the records only one side has, by sorting both sides' hashes, and decodes and
// diffs just those: records both sides have take no part in diff's result.
func diffPacked(prev, next packed, ttl uint32) []change {
	if bytes.Equal(prev, next) {
		return nil
	}
	seed := maphash.MakeSeed()
	po, no := prev.offsets(), next.offsets()
	ps, ns := prev.sorted(po, seed), next.sorted(no, seed)
	inNext := make([]bool, len(po))
	inPrev := make([]bool, len(no))
	for i, j := 0, 0; i < len(ps) && j < len(ns); {
		switch c := compareKeyed(prev, ps[i], next, ns[j]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			inNext[ps[i].index], inPrev[ns[j].index] = true, true
			i++
			j++
		}
	}
	var gone, added []events.Record
	for i, off := range po {
		if !inNext[i] {
			gone = append(gone, prev.record(int(off), ttl))
		}
	}
	for j, off := range no {
		if !inPrev[j] {
			added = append(added, next.record(int(off), ttl))
		}
	}
	return diff(gone, added)
}

// keyed is one record of a packed list: its hash and where it is.
type keyed struct {
	hash  uint64
	off   int32
	index int32 // position in the list
}

// sorted returns the records at offs ordered by hash, then bytes.
func (p packed) sorted(offs []int32, seed maphash.Seed) []keyed {
	out := make([]keyed, len(offs))
	for i, off := range offs {
		out[i] = keyed{hash: maphash.Bytes(seed, p[off:int(off)+p.size(int(off))]), off: off, index: int32(i)}
	}
	slices.SortFunc(out, func(a, b keyed) int { return compareKeyed(p, a, p, b) })
	return out
}

func compareKeyed(pa packed, a keyed, pb packed, b keyed) int {
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return bytes.Compare(pa[a.off:int(a.off)+pa.size(int(a.off))], pb[b.off:int(b.off)+pb.size(int(b.off))])
}
