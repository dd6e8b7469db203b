package dnsstore

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// defaultBulkMin is the number of records from which a source gets a bulk index of its own instead of one
// node per name in the shared name index. A node and its trie slot cost about 200 octets per name and an
// entry in the shared reverse index about 100 per address; the bulk index costs about 11 and 8. Below this
// size the difference does not matter, while every bulk source adds one probe to each lookup that misses
// the shared index; a few thousand keeps bulk sources to the odd large hosts file.
const defaultBulkMin = 4096

// sourceSet is one source's records. The set is immutable once published: a Replace builds a new one.
type sourceSet struct {
	source string
	origin Origin   // as the source was last replaced with
	recs   []Record // sorted by name, type and value
	// bulk is the set's own index, for a set of at least Store.bulkMin records; nil otherwise.
	bulk *bulkIndex
}

// bulkIndex indexes a large source's records by name and by address without a node or a trie slot per name.
// It holds no pointers, so the garbage collector never scans it.
type bulkIndex struct {
	// slots is an open-addressing hash table (linear probing, at most 80% full) over the names: each entry is
	// the high 32 bits of the name's hash, then the index of the name's first record plus one; 0 is empty.
	slots []uint64
	mask  uint64
	// v4 holds an entry per A record, the address in the high 32 bits and the record's index in the low
	// ones, sorted: the records with an address are one binary search away.
	v4 []uint64
	v6 []rev6 // the same for AAAA records
}

type rev6 struct {
	hi, lo uint64
	index  uint32
}

func compareRev6(a, b rev6) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return cmp.Compare(a.index, b.index)
}

// newBulkIndex indexes recs (sorted by name) with hash, the hash function of the snapshot's name index, so
// that a lookup hashes a name once for both.
func newBulkIndex(recs []Record, hash func(string) uint64) *bulkIndex {
	names, n4, n6 := 0, 0, 0
	for i := range recs {
		if i == 0 || recs[i].name != recs[i-1].name {
			names++
		}
		switch recs[i].typ {
		case dns.TypeA:
			n4++
		case dns.TypeAAAA:
			n6++
		}
	}
	size := 8
	for size*4 < names*5 {
		size <<= 1
	}
	b := &bulkIndex{slots: make([]uint64, size), mask: uint64(size - 1)}
	if n4 > 0 {
		b.v4 = make([]uint64, 0, n4)
	}
	if n6 > 0 {
		b.v6 = make([]rev6, 0, n6)
	}
	for i := range recs {
		r := &recs[i]
		if i == 0 || r.name != recs[i-1].name {
			h := hash(r.name)
			j := h & b.mask
			for b.slots[j] != 0 {
				j = (j + 1) & b.mask
			}
			b.slots[j] = h>>32<<32 | uint64(i+1)
		}
		if addr, ok := recordAddr(*r); ok {
			if addr.Is4() {
				a := addr.As4()
				b.v4 = append(b.v4, uint64(binary.BigEndian.Uint32(a[:]))<<32|uint64(i))
			} else {
				a := addr.As16()
				b.v6 = append(b.v6, rev6{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint32(i)})
			}
		}
	}
	slices.Sort(b.v4)
	slices.SortFunc(b.v6, compareRev6)
	return b
}

// records returns the records s has at name (h is the name's hash), or nil. It does not allocate.
func (s *sourceSet) records(name string, h uint64) []Record {
	if s == nil {
		return nil
	}
	if s.bulk == nil {
		i, found := slices.BinarySearchFunc(s.recs, name, func(r Record, n string) int { return strings.Compare(r.name, n) })
		if !found {
			return nil
		}
		j := endOfName(s.recs, i, name)
		return s.recs[i:j:j]
	}
	b := s.bulk
	tag := h >> 32
	for i := h & b.mask; ; i = (i + 1) & b.mask {
		e := b.slots[i]
		if e == 0 {
			return nil
		}
		if e>>32 != tag {
			continue
		}
		if j := int(uint32(e)) - 1; s.recs[j].name == name {
			k := endOfName(s.recs, j+1, name)
			return s.recs[j:k:k]
		}
	}
}

// appendReverse appends the names of the bulk set that have an A or AAAA record with addr.
func (s *sourceSet) appendReverse(out []string, addr netip.Addr) []string {
	b := s.bulk
	if addr.Is4() {
		a := addr.As4()
		key := uint64(binary.BigEndian.Uint32(a[:])) << 32
		i, _ := slices.BinarySearch(b.v4, key)
		for ; i < len(b.v4) && b.v4[i]&^0xffffffff == key; i++ {
			out = append(out, s.recs[uint32(b.v4[i])].name)
		}
		return out
	}
	a := addr.As16()
	key := rev6{hi: binary.BigEndian.Uint64(a[:8]), lo: binary.BigEndian.Uint64(a[8:])}
	i, _ := slices.BinarySearchFunc(b.v6, key, compareRev6)
	for ; i < len(b.v6) && b.v6[i].hi == key.hi && b.v6[i].lo == key.lo; i++ {
		out = append(out, s.recs[b.v6[i].index].name)
	}
	return out
}

// all returns the set's records, nil-safe.
func (s *sourceSet) all() []Record {
	if s == nil {
		return nil
	}
	return s.recs
}
