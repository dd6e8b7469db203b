package dnsserver

import (
	"hash/maphash"
	"sync/atomic"
)

const (
	// cacheWays entries share a set; a key can live in any way of the set its hash picks.
	cacheWays = 4
	// cacheSets × cacheWays bounds the number of entries (32,768): room for every name of a large lab and
	// as many negative answers. The slot array itself is 256 KiB; a typical entry about 160 octets.
	cacheSets = 8192
	// cacheBudget bounds the octets held by entries (replies, keys and overhead), so that large replies
	// cannot make the cache big: past it, new answers are simply not cached.
	cacheBudget = 8 << 20
	// entryOverhead approximates an entry's allocation beyond its key and reply.
	entryOverhead = 64
)

// answerCache holds packed replies to plain UDP queries (see parsePlain), keyed by the lower-cased question
// name, the type, the EDNS flags and the reply size limit, and valid for one store generation only: every
// lookup passes the current generation and an entry built for another never matches. Generations are
// unique within a store (each published snapshot has the previous one's plus one), so a store change
// invalidates every entry at once without touching them; stale entries are overwritten as new answers are
// cached.
//
// Readers take no lock: a lookup is a hash, up to cacheWays atomic loads and a key comparison. Writers
// install an entry with a compare-and-swap on one slot; two writers racing for a slot simply leave one of
// their entries. Replacement is CLOCK-like per set: a hit marks its entry used, and an insert takes an
// empty or stale way first, then one not used since the last insert passed it (clearing the marks it
// skips), so a burst of names asked once cannot push out the names asked all the time.
type answerCache struct {
	seed  maphash.Seed
	slots [cacheSets * cacheWays]atomic.Pointer[cacheEntry]
	bytes atomic.Int64 // octets held, approximated by entry.cost
}

// cacheEntry is one cached reply. It is immutable once installed, apart from used.
type cacheEntry struct {
	hash uint64
	gen  uint64 // the store generation the reply was built from
	// data is the key followed by the packed reply, in one allocation. The reply has ID 0 and RD and CD
	// clear; its question name is at reply[headerLen:headerLen+nameLen].
	data    []byte
	keyLen  uint16
	nameLen uint8
	// anyCase: the reply has no compression pointers (it fit uncompressed), so the question name can be
	// overwritten with any spelling of it. Otherwise pointers may refer into the question, and the packing
	// compared names case-sensitively, so the entry answers only the exact spelling it was built for.
	anyCase bool
	rcode   uint8 // never an extended one: see cacheable
	used    atomic.Bool
}

func newAnswerCache() *answerCache { return &answerCache{seed: maphash.MakeSeed()} }

func (e *cacheEntry) key() []byte   { return e.data[:e.keyLen] }
func (e *cacheEntry) reply() []byte { return e.data[e.keyLen:] }
func (e *cacheEntry) cost() int64   { return int64(len(e.data) + entryOverhead) }

// patch turns a cached reply into the reply to the raw query p (plain, with its name at
// p[headerLen:headerLen+e.nameLen]) in out: the query's ID, RD and CD, and its question name as asked.
func (e *cacheEntry) patch(p, out []byte) []byte {
	out = append(out[:0], e.reply()...)
	out[0], out[1] = p[0], p[1]
	out[2] |= p[2] & flagRD
	out[3] |= p[3] & flagCD
	end := headerLen + int(e.nameLen)
	copy(out[headerLen:end], p[headerLen:end])
	return out
}

// get returns the entry for key built for generation gen that can answer a question spelled name, or nil.
func (c *answerCache) get(key []byte, gen uint64, name []byte) *cacheEntry {
	h := maphash.Bytes(c.seed, key)
	set := c.slots[(h%cacheSets)*cacheWays:][:cacheWays]
	for i := range set {
		e := set[i].Load()
		if e == nil || e.hash != h || e.gen != gen || string(e.key()) != string(key) {
			continue
		}
		if !e.anyCase && string(e.reply()[headerLen:headerLen+int(e.nameLen)]) != string(name) {
			return nil
		}
		if !e.used.Load() {
			e.used.Store(true) // written only when it changes, so hot entries stay shared in CPU caches
		}
		return e
	}
	return nil
}

// put caches reply (packed for the question key, from generation gen) unless the budget is spent. reply is
// copied; nameLen is the length of its question name.
func (c *answerCache) put(key []byte, gen uint64, reply []byte, nameLen int, anyCase bool, rcode int) {
	data := make([]byte, len(key)+len(reply))
	copy(data, key)
	r := data[len(key):]
	copy(r, reply)
	r[0], r[1] = 0, 0
	r[2] &^= flagRD
	r[3] &^= flagCD
	e := &cacheEntry{
		hash:    maphash.Bytes(c.seed, key),
		gen:     gen,
		data:    data,
		keyLen:  uint16(len(key)),
		nameLen: uint8(nameLen),
		anyCase: anyCase,
		rcode:   uint8(rcode),
	}
	set := c.slots[(e.hash%cacheSets)*cacheWays:][:cacheWays]
	victim := -1
	for i := range set {
		if old := set[i].Load(); old != nil && old.hash == e.hash && string(old.key()) == string(key) {
			victim = i // this key: another spelling, another generation, or a racing writer's copy
			break
		}
	}
	for i := 0; i < len(set) && victim < 0; i++ {
		if old := set[i].Load(); old == nil || old.gen != gen {
			victim = i // empty or stale
		}
	}
	if victim < 0 {
		// Second chance: the first way not used since the last pass, clearing the marks passed over.
		start := int(e.hash>>32) % cacheWays
		for n := range cacheWays {
			i := (start + n) % cacheWays
			old := set[i].Load()
			if old == nil || !old.used.Swap(false) {
				victim = i
				break
			}
		}
		if victim < 0 {
			victim = start
		}
	}
	old := set[victim].Load()
	delta := e.cost()
	if old != nil {
		delta -= old.cost()
	}
	if delta > 0 && c.bytes.Load()+delta > cacheBudget {
		return
	}
	if set[victim].CompareAndSwap(old, e) {
		c.bytes.Add(delta)
	}
}
