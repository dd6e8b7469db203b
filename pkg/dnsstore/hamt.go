package dnsstore

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// hamt is a persistent hash array mapped trie from strings to V. A value is never modified once published:
// a write copies only the nodes on the path to the changed key (O(log32 n)), so a snapshot shares almost all
// of its structure with the one before it. Lookups hash the key once and follow at most a few pointers,
// which is why it backs the name index instead of a radix tree (see doc.go).
type hamt[V any] struct {
	root *hnode[V]
	size int
	// hash is the hash function; tests replace it to force collisions.
	hash func(string) uint64
}

// hnode is one trie node. Below the last level (shift >= 64) a node is a collision list: bitmap is unused and
// slots holds leaves whose 64-bit hashes are equal.
type hnode[V any] struct {
	bitmap uint32
	owner  *txnOwner
	slots  []hslot[V]
}

// hslot is either a subtree (sub != nil) or a leaf. It does not cache the key's hash: comparing keys is cheap
// (lengths first) and smaller slots make the copies a write makes cheaper.
type hslot[V any] struct {
	sub *hnode[V]
	key string
	val V
}

// txnOwner marks the nodes a transaction created: it may change those in place because no published trie
// can reach them. It has a size so that every allocation gets a distinct address.
type txnOwner struct{ _ byte }

const (
	hamtBits    = 5
	hamtMask    = 1<<hamtBits - 1
	hamtMaxBits = 64
)

func newHAMT[V any](seed maphash.Seed) hamt[V] {
	return hamt[V]{hash: func(k string) uint64 { return maphash.String(seed, k) }}
}

func (m *hamt[V]) len() int { return m.size }

// get returns the value stored for k.
func (m *hamt[V]) get(k string) (V, bool) {
	if m.root == nil {
		var zero V
		return zero, false
	}
	return m.getHashed(k, m.hash(k))
}

// getHashed is get for a key whose hash h the caller already has.
func (m *hamt[V]) getHashed(k string, h uint64) (V, bool) {
	n := m.root
	if n == nil {
		var zero V
		return zero, false
	}
	for shift := uint(0); ; shift += hamtBits {
		if shift >= hamtMaxBits {
			for i := range n.slots {
				if n.slots[i].key == k {
					return n.slots[i].val, true
				}
			}
			break
		}
		bit := uint32(1) << ((h >> shift) & hamtMask)
		if n.bitmap&bit == 0 {
			break
		}
		s := &n.slots[bits.OnesCount32(n.bitmap&(bit-1))]
		if s.sub == nil {
			if s.key == k {
				return s.val, true
			}
			break
		}
		n = s.sub
	}
	var zero V
	return zero, false
}

// each calls f for every entry in an unspecified order until f returns false.
func (m *hamt[V]) each(f func(k string, v V) bool) {
	if m.root != nil {
		m.root.each(f)
	}
}

func (n *hnode[V]) each(f func(k string, v V) bool) bool {
	for i := range n.slots {
		s := &n.slots[i]
		if s.sub != nil {
			if !s.sub.each(f) {
				return false
			}
		} else if !f(s.key, s.val) {
			return false
		}
	}
	return true
}

// hamtTxn batches writes to a hamt: nodes it copied once are then changed in place, so building a trie of n
// entries costs O(n) rather than O(n log n) copies. The trie it started from is never modified.
type hamtTxn[V any] struct {
	m     hamt[V]
	owner *txnOwner
}

func (m hamt[V]) txn() *hamtTxn[V] {
	return &hamtTxn[V]{m: m, owner: new(txnOwner)}
}

// commit returns the new trie. The transaction must not be used afterwards.
func (t *hamtTxn[V]) commit() hamt[V] {
	t.owner = nil
	return t.m
}

// path returns a number that orders keys like a depth-first walk of the trie: the trie branches on the hash
// from its low bits up, so reversing the bits puts keys that share trie nodes next to each other. Writing
// many keys in this order touches each node while it is still in cache.
func (t *hamtTxn[V]) path(k string) uint64 { return bits.Reverse64(t.m.hash(k)) }

// writable returns n itself if this transaction created it, else a copy owned by the transaction with room
// for one more slot.
func (t *hamtTxn[V]) writable(n *hnode[V]) *hnode[V] {
	if n.owner == t.owner {
		return n
	}
	c := &hnode[V]{bitmap: n.bitmap, owner: t.owner, slots: make([]hslot[V], len(n.slots), len(n.slots)+1)}
	copy(c.slots, n.slots)
	return c
}

// set stores v for k.
func (t *hamtTxn[V]) set(k string, v V) {
	p, _ := t.ref(k)
	*p = v
}

// ref returns a pointer to k's value, inserting the zero value if k is absent (existed is then false). The
// value lives in a node this transaction owns, so the caller may assign through the pointer; it stays valid
// only until the next change to the transaction. One traversal serves a read-modify-write.
func (t *hamtTxn[V]) ref(k string) (v *V, existed bool) {
	h := t.m.hash(k)
	if t.m.root == nil {
		t.m.root = &hnode[V]{owner: t.owner}
	}
	t.m.root, v, existed = t.refIn(t.m.root, 0, k, h)
	if !existed {
		t.m.size++
	}
	return v, existed
}

func (t *hamtTxn[V]) refIn(n *hnode[V], shift uint, k string, h uint64) (*hnode[V], *V, bool) {
	n = t.writable(n)
	if shift >= hamtMaxBits {
		for i := range n.slots {
			if n.slots[i].key == k {
				return n, &n.slots[i].val, true
			}
		}
		n.slots = append(n.slots, hslot[V]{key: k})
		return n, &n.slots[len(n.slots)-1].val, false
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		n.bitmap |= bit
		if len(n.slots) == cap(n.slots) {
			// Grow by more than append would from small sizes: a bulk load fills most nodes.
			n.slots = slices.Grow(n.slots, min(1<<hamtBits-len(n.slots), max(4, len(n.slots))))
		}
		n.slots = slices.Insert(n.slots, i, hslot[V]{key: k})
		return n, &n.slots[i].val, false
	}
	s := &n.slots[i]
	switch {
	case s.sub != nil:
		var v *V
		var existed bool
		s.sub, v, existed = t.refIn(s.sub, shift+hamtBits, k, h)
		return n, v, existed
	case s.key == k:
		return n, &s.val, true
	default:
		// Push the leaf here down into a new subtree holding both keys.
		sub := &hnode[V]{owner: t.owner, slots: make([]hslot[V], 0, 2)}
		sub, p, _ := t.refIn(sub, shift+hamtBits, s.key, t.m.hash(s.key))
		*p = s.val
		sub, v, _ := t.refIn(sub, shift+hamtBits, k, h)
		n.slots[i] = hslot[V]{sub: sub}
		return n, v, false
	}
}

// delete removes k if present.
func (t *hamtTxn[V]) delete(k string) {
	if t.m.root == nil {
		return
	}
	root, removed := t.deleteIn(t.m.root, 0, k, t.m.hash(k))
	if !removed {
		return
	}
	t.m.size--
	if len(root.slots) == 0 {
		root = nil
	}
	t.m.root = root
}

// deleteIn removes k below n. A subtree left with a single leaf is replaced by that leaf, so the trie stays
// as shallow as its contents need.
func (t *hamtTxn[V]) deleteIn(n *hnode[V], shift uint, k string, h uint64) (*hnode[V], bool) {
	if shift >= hamtMaxBits {
		for i := range n.slots {
			if n.slots[i].key == k {
				n = t.writable(n)
				n.slots = slices.Delete(n.slots, i, i+1)
				return n, true
			}
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	if n.bitmap&bit == 0 {
		return n, false
	}
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	s := n.slots[i]
	if s.sub == nil {
		if s.key != k {
			return n, false
		}
		n = t.writable(n)
		n.bitmap &^= bit
		n.slots = slices.Delete(n.slots, i, i+1)
		return n, true
	}
	sub, removed := t.deleteIn(s.sub, shift+hamtBits, k, h)
	if !removed {
		return n, false
	}
	n = t.writable(n)
	switch {
	case len(sub.slots) == 0:
		n.bitmap &^= bit
		n.slots = slices.Delete(n.slots, i, i+1)
	case len(sub.slots) == 1 && sub.slots[0].sub == nil:
		n.slots[i] = sub.slots[0]
	default:
		n.slots[i].sub = sub
	}
	return n, true
}
