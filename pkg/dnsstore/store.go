package dnsstore

import (
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/miekg/dns"
	"go.uber.org/fx"
)

// Module provides the process-wide *Store.
var Module = fx.Module("dnsstore", fx.Provide(New))

// Store holds every source's records. Writers serialise on a mutex and publish a new immutable Snapshot;
// readers load the current one with Snapshot and never wait for a writer. Use New: the zero Store is not ready.
type Store struct {
	mu  sync.Mutex // serialises Replace
	cur atomic.Pointer[Snapshot]
	now func() time.Time // time.Now; tests set a fixed clock
	// bulkMin is the size from which a source gets a bulk index (defaultBulkMin); tests lower it.
	bulkMin int
	policy  Policy // see SetPolicy
	local   Origin // the Origin of the sources replaced with the zero Origin
}

// New returns an empty store.
func New() *Store {
	seed := maphash.MakeSeed()
	s := &Store{now: time.Now, bulkMin: defaultBulkMin}
	s.cur.Store(&Snapshot{
		names:   newHAMT[*node](seed),
		sources: newHAMT[*sourceSet](seed),
		reverse: newHAMT[[]string](seed),
	})
	return s
}

// Diff is what a Replace changed for one source, keyed by (name, type, value). Each list is sorted by name,
// type and value. The lists may share memory with the store (when a source is added or removed whole, Added or
// Removed is its record list, not a copy of 100,000 records): do not modify them.
type Diff struct {
	Added   []Record
	Removed []Record // the records as they were stored
	// Updated holds the records whose key was stored with another TTL, or given another SetAt: as now stored.
	Updated []Record
	// Replaced holds, for each record of Updated at the same index, the record it replaced, as it was stored: an
	// audit says what the TTL was before, not only what it is now.
	Replaced []Record
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Updated) == 0 }

// Snapshot returns the current immutable view with one atomic load: the DNS hot path, which never blocks on
// writers.
func (s *Store) Snapshot() *Snapshot { return s.cur.Load() }

// Replace atomically replaces every record of source with recs and returns what changed for that source.
// The source is this node's (ReplaceOwnedFrom gives a peer's). The store sets Source, and SetAt to now for
// records that are new or whose TTL changed, unless they have a SetAt of their own (WithSetAt, or one read from
// the store), which it keeps; records that are unchanged keep the SetAt they were first stored with. Duplicates
// inside recs (same name, type and value) collapse into one with the lowest TTL (then the latest SetAt). An empty
// or nil recs removes the source. The records are stored as they are, not validated again: NewRecord made them
// valid and canonical, and a Record cannot be changed since (zero Records, the only others, are dropped). When nothing changed no snapshot is published and the
// generation stays the same.
//
// The cost is O(n log n) in the size n of the new record set (to sort and diff it), plus O(log N) in the size N
// of the store for each of the source's names that has a node (most names of a large source have none, see
// doc.go): a one-record source never pays for a large one beside it.
func (s *Store) Replace(source string, recs []Record) Diff {
	return s.ReplaceOwned(source, slices.Clone(recs))
}

// ReplaceOwned is Replace for a list the caller gives away: the store sorts recs in place and keeps it rather
// than a copy, so that a large source is not held twice while it is replaced (100,000 records are 8 MB). The
// caller must not use recs afterwards, nor pass it again.
func (s *Store) ReplaceOwned(source string, recs []Record) Diff {
	return s.ReplaceOwnedFrom(source, Origin{}, recs)
}

// ReplaceOwnedFrom is ReplaceOwned for a source owned by origin: a cluster peer's, which the policy weighs
// against the other nodes' sources at each name (see SetPolicy); the zero Origin is this node's. A source keeps
// the origin it was last replaced with. A change of origin alone changes no record, so the Diff is empty, but
// the source's names are merged again under the policy and a new snapshot is published.
func (s *Store) ReplaceOwnedFrom(source string, origin Origin, recs []Record) Diff {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	oldSet, _ := old.sources.get(source)
	newRecs, fresh := normalise(source, recs, s.now())
	diff := diffRecords(oldSet.all(), newRecs, fresh)
	moved := len(newRecs) > 0 && oldSet != nil && oldSet.origin != origin
	if diff.Empty() && !moved {
		return Diff{}
	}
	var newSet *sourceSet
	switch {
	case len(newRecs) == 0:
	case diff.Empty():
		// Only the origin changed: the stored list and its index serve as they are.
		newSet = &sourceSet{source: source, origin: origin, recs: oldSet.recs, bulk: oldSet.bulk}
	default:
		newSet = &sourceSet{source: source, origin: origin, recs: newRecs}
		if len(newRecs) >= s.bulkMin {
			newSet.bulk = newBulkIndex(newRecs, old.names.hash)
		}
	}
	w := &writer{old: old, source: source, oldSet: oldSet, newSet: newSet, names: old.names.txn(),
		policy: s.policy, local: s.local}
	for _, b := range old.bulks {
		if b.source != source {
			w.others = append(w.others, b)
		}
	}
	w.apply()
	s.cur.Store(w.commit())
	return diff
}

// normalise sorts recs in place by key, drops the duplicates (keeping the lowest TTL, then the latest SetAt)
// and zero Records, and sets Source, and SetAt where a record has none of its own; it returns recs, or a smaller
// copy when most of it was dropped, and the stamp of the records it set at now. It validates nothing: a Record
// can only be made by NewRecord, valid and canonical, or be the zero Record (see Record). It sorts small
// pointer-free keys (the first octets of the name and an index) and then moves each record once: with 100,000
// records, sorting the large pointerful structs themselves costs several times more.
func normalise(source string, recs []Record, now time.Time) ([]Record, *stamp) {
	n := 0 // the records that are not zero are moved to recs[:n]
	for i := range recs {
		if recs[i].typ == 0 {
			continue
		}
		if n != i {
			recs[n] = recs[i]
		}
		n++
	}
	valid := recs[:n]
	keys := make([]sortKey, n)
	for i := range valid {
		keys[i] = sortKey{prefix: namePrefix(valid[i].name), index: i}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		if c := compareKeyTTL(&valid[a.index], &valid[b.index]); c != 0 {
			return c
		}
		return valid[b.index].SetAt().Compare(valid[a.index].SetAt())
	})
	clear(recs[n:])
	// Sorted by key then TTL, so compacting keeps the first of each key: the lowest TTL.
	out := slices.CompactFunc(permute(valid, keys), func(a, b Record) bool { return compareKey(a, b) == 0 })
	if len(out) == 0 {
		return nil, nil
	}
	if len(out) < cap(out)/2 {
		out = slices.Clone(out) // most of the list was duplicates: do not keep it all
	}
	st := &stamp{source: source, at: now.UTC()}
	var given map[time.Time]*stamp // a peer's records share a few times: one stamp each
	for i := range out {
		at := out[i].SetAt()
		if at.IsZero() {
			out[i].stamp = st
			continue
		}
		g := given[at]
		if g == nil {
			if given == nil {
				given = make(map[time.Time]*stamp)
			}
			g = &stamp{source: source, at: at}
			given[at] = g
		}
		out[i].stamp = g
	}
	return out, st
}

// permute reorders recs in place so that recs[i] is what recs[keys[i].index] was, following each cycle of
// the permutation once (it marks keys as it goes).
func permute(recs []Record, keys []sortKey) []Record {
	for i := range recs {
		if keys[i].index < 0 {
			continue
		}
		first := recs[i]
		j := i
		for {
			k := keys[j].index
			keys[j].index = -1
			if k == i {
				recs[j] = first
				break
			}
			recs[j] = recs[k]
			j = k
		}
	}
	return recs
}

type sortKey struct {
	prefix uint64 // the first 8 octets of the name, big-endian: most comparisons end here
	index  int
}

// namePrefix packs the first 8 octets of name into an integer that orders like the string.
func namePrefix(name string) uint64 {
	var p uint64
	for i := range 8 {
		p <<= 8
		if i < len(name) {
			p |= uint64(name[i])
		}
	}
	return p
}

func compareKey(a, b Record) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	if c := cmp.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return strings.Compare(a.value, b.value)
}

func compareKeyTTL(a, b *Record) int {
	if c := compareKey(*a, *b); c != 0 {
		return c
	}
	return cmp.Compare(a.ttl, b.ttl)
}

// diffRecords compares the stored and the new records of a source, both sorted by key; fresh is the stamp of
// the new records that have no SetAt of their own. Unchanged records in newRecs are replaced by the stored ones
// so that they keep their SetAt. It walks the lists twice, counting first, so that each list of the Diff is
// allocated once at its final size; a source added or removed whole shares its list instead.
func diffRecords(oldRecs, newRecs []Record, fresh *stamp) Diff {
	// A record given a SetAt other than the stored one is an update: every node must hold its owner's time.
	changed := func(i, j int) bool {
		o, n := &oldRecs[i], &newRecs[j]
		return o.ttl != n.ttl || n.stamp != fresh && !n.stamp.at.Equal(o.stamp.at)
	}
	var added, removed, updated int
	walkDiff(oldRecs, newRecs, func(i, j int) {
		switch {
		case j < 0:
			removed++
		case i < 0:
			added++
		case changed(i, j):
			updated++
		default:
			newRecs[j] = oldRecs[i]
		}
	})
	switch {
	case len(oldRecs) == 0:
		return Diff{Added: newRecs}
	case len(newRecs) == 0:
		return Diff{Removed: oldRecs}
	}
	var d Diff
	if added > 0 {
		d.Added = make([]Record, 0, added)
	}
	if removed > 0 {
		d.Removed = make([]Record, 0, removed)
	}
	if updated > 0 {
		d.Updated, d.Replaced = make([]Record, 0, updated), make([]Record, 0, updated)
	}
	walkDiff(oldRecs, newRecs, func(i, j int) {
		switch {
		case j < 0:
			d.Removed = append(d.Removed, oldRecs[i])
		case i < 0:
			d.Added = append(d.Added, newRecs[j])
		case changed(i, j):
			d.Updated, d.Replaced = append(d.Updated, newRecs[j]), append(d.Replaced, oldRecs[i])
		}
	})
	return d
}

// walkDiff merges two lists sorted by key and calls f(i, j) for each key: i or j is -1 when the key is only
// in the other list.
func walkDiff(a, b []Record, f func(i, j int)) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var c int
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = compareKey(a[i], b[j])
		}
		switch {
		case c < 0:
			f(i, -1)
			i++
		case c > 0:
			f(-1, j)
			j++
		default:
			f(i, j)
			i++
			j++
		}
	}
}

// node is everything stored at one owner name in the shared name index. Published nodes are immutable; a
// writer copies a node before changing it.
//
// The shared index holds every name except those that only a bulk source has records at and that have no
// children: with a 100,000-line hosts file, that is all of its names but the few empty non-terminals above them.
// Such a name is found through its source's bulk index instead. A wildcard owner always has a node, because its
// parent links to it.
type node struct {
	name string
	// records is every type at the name merged over sources (see Match.Records); nil for an empty
	// non-terminal.
	records []Record
	// sources holds each source's records at the name, sorted by source; each is a slice of that source's
	// record list. With a single source it points into single.
	sources []sourceRecords
	single  [1]sourceRecords
	// wild is the node of "*.<name>" when it exists, so that a wildcard answer needs no key building.
	wild *node
	// children counts the direct children that exist; a name with children exists even without records.
	children int
	// owner is the names transaction that created this copy; only that writer may change it.
	owner *txnOwner
}

type sourceRecords struct {
	source string
	recs   []Record // sorted by type and value
}

func (n *node) exists() bool { return len(n.records) > 0 || n.children > 0 }

// writer applies one Replace. Its names transaction doubles as the set of nodes copied so far: a node
// whose owner is the transaction's is the writer's private copy and is changed in place.
type writer struct {
	old            *Snapshot
	source         string
	oldSet, newSet *sourceSet   // the source's records before and after; nil when it has none
	others         []*sourceSet // the bulk sources other than this one
	names          *hamtTxn[*node]
	parent         *node // the last parent link changed
	// cur is the name apply is at: this source's records at names before it are already the new ones.
	cur string
	// touched lists the nodes copied or created; commit decides whether each still belongs in the index and
	// updates the reverse index from what changed in them.
	touched []*node
	// rev collects the names that gained or lost an address; commit groups them by address so that an
	// address shared by many names (a hosts file blocking 100,000 names with 0.0.0.0) is rebuilt once.
	rev    []revChange
	policy Policy
	local  Origin // this node's, for the sources of the zero Origin
}

type revChange struct {
	key  string // addrKey of the address
	name string
	add  bool
}

// node returns the writable copy of name's node, creating one if the name has no node.
// Records arrive sorted by name, so siblings ask for their parent one after another: the last parent is
// remembered to spare a trie walk per record.
func (w *writer) node(name string) *node {
	if w.parent != nil && w.parent.name == name {
		return w.parent
	}
	return w.nodeIn(name)
}

// nodeIn is node without the parent shortcut: it copies name's node into the transaction on first use. A name
// without a node has records in at most one bulk source, which the new node starts with.
func (w *writer) nodeIn(name string) *node {
	p, _ := w.names.ref(name)
	if n := *p; n != nil && n.owner == w.names.owner {
		return n
	}
	n := &node{name: name}
	if old := *p; old != nil {
		*n = *old
		if len(n.sources) == 1 {
			n.single[0] = n.sources[0]
			n.sources = n.single[:]
		}
	} else {
		w.fromBulks(n)
	}
	n.owner = w.names.owner
	*p = n
	w.touched = append(w.touched, n)
	return n
}

// fromBulks sets the records a name without a node has: those of the bulk sources, with this source's as they
// are at this point of apply.
func (w *writer) fromBulks(n *node) {
	h := w.names.m.hash(n.name)
	var srcs []sourceRecords
	for _, b := range w.others {
		if recs := b.records(n.name, h); recs != nil {
			srcs = append(srcs, sourceRecords{source: b.source, recs: recs})
		}
	}
	set := w.oldSet
	if n.name < w.cur {
		set = w.newSet
	}
	if recs := set.records(n.name, h); recs != nil {
		srcs = append(srcs, sourceRecords{source: w.source, recs: recs})
	}
	switch len(srcs) {
	case 0:
	case 1:
		n.single[0] = srcs[0]
		n.sources = n.single[:]
	default:
		slices.SortFunc(srcs, func(a, b sourceRecords) int { return strings.Compare(a.source, b.source) })
		n.sources = srcs
	}
	n.records = w.merge(n.sources)
}

// apply walks every name the source has or had, in name order (the records are then read sequentially, which
// matters more than the order of writes to the trie), and brings each name's records from the source up to
// date. A name with a node gets the new records even when they are equal, so that no node keeps a slice of
// the source's previous list alive.
func (w *writer) apply() {
	oldRecs, newRecs := w.oldSet.all(), w.newSet.all()
	bulk := w.newSet != nil && w.newSet.bulk != nil
	i, j := 0, 0
	for i < len(oldRecs) || j < len(newRecs) {
		var name string
		switch {
		case i == len(oldRecs):
			name = newRecs[j].name
		case j == len(newRecs):
			name = oldRecs[i].name
		default:
			name = min(oldRecs[i].name, newRecs[j].name)
		}
		oi, nj := endOfName(oldRecs, i, name), endOfName(newRecs, j, name)
		w.cur = name
		w.update(name, oldRecs[i:oi], newRecs[j:nj:nj], bulk)
		i, j = oi, nj
	}
	w.cur = ""
}

// update sets the source's records at name from was to recs.
func (w *writer) update(name string, was, recs []Record, bulk bool) {
	if bulk && !dnsname.IsWildcard(name) {
		h := w.names.m.hash(name)
		if _, indexed := w.names.m.getHashed(name, h); !indexed && w.otherBulk(name, h) == nil {
			// Only this bulk source has records here and the name has no children: it needs no node, and only
			// its existence matters to its parent.
			if existed, exists := len(was) > 0, len(recs) > 0; existed != exists {
				w.link(name, exists)
			}
			return
		}
	}
	w.setSourceRecords(name, recs)
}

// otherBulk returns the records of a bulk source other than this one at name (h is its hash), or nil.
func (w *writer) otherBulk(name string, h uint64) []Record {
	for _, b := range w.others {
		if recs := b.records(name, h); recs != nil {
			return recs
		}
	}
	return nil
}

// isBulk reports whether source has a bulk index after this Replace.
func (w *writer) isBulk(source string) bool {
	if source == w.source {
		return w.newSet != nil && w.newSet.bulk != nil
	}
	for _, b := range w.others {
		if b.source == source {
			return true
		}
	}
	return false
}

// trieOrder sorts work by the position of its key in a trie (see hamtTxn.path); it holds no pointers so that
// sorting it costs no write barriers.
type trieOrder struct {
	path  uint64
	index int
}

func compareTrieOrder(a, b trieOrder) int { return cmp.Compare(a.path, b.path) }

// endOfName returns the index after the run of records named name starting at i.
func endOfName(recs []Record, i int, name string) int {
	for i < len(recs) && recs[i].name == name {
		i++
	}
	return i
}

// setSourceRecords sets w.source's records at name (nil removes them) and keeps the merged records, the
// existence of ancestors and the parent's wildcard link up to date.
func (w *writer) setSourceRecords(name string, recs []Record) {
	n := w.node(name)
	existed := n.exists()

	i, found := slices.BinarySearchFunc(n.sources, w.source, func(e sourceRecords, s string) int {
		return strings.Compare(e.source, s)
	})
	var srcs []sourceRecords
	if len(n.sources) == 0 || len(n.sources) == 1 && found {
		// The usual case, one source per name, needs no allocation of its own.
		if len(recs) > 0 {
			n.single[0] = sourceRecords{source: w.source, recs: recs}
			srcs = n.single[:]
		}
	} else {
		srcs = make([]sourceRecords, 0, len(n.sources)+1)
		srcs = append(srcs, n.sources[:i]...)
		if len(recs) > 0 {
			srcs = append(srcs, sourceRecords{source: w.source, recs: recs})
		}
		if found {
			i++
		}
		srcs = append(srcs, n.sources[i:]...)
	}
	n.sources = srcs
	n.records = w.merge(srcs)

	if exists := n.exists(); exists != existed {
		w.link(name, exists)
	}
	w.linkWild(n)
}

// linkWild points the parent of a wildcard node n at n's current copy, or at nothing when n no longer exists.
func (w *writer) linkWild(n *node) {
	if !dnsname.IsWildcard(n.name) {
		return
	}
	if p, ok := dnsname.Parent(n.name); ok {
		pn := w.node(p)
		pn.wild = nil
		if n.exists() {
			pn.wild = n
		}
	}
}

// link records that name came into existence (created) or ceased to exist, in its parent and, as long as
// that changes whether the parent exists, further up.
func (w *writer) link(name string, created bool) {
	for {
		p, ok := dnsname.Parent(name)
		if !ok {
			return
		}
		pn := w.node(p)
		w.parent = pn
		existed := pn.exists()
		if created {
			pn.children++
		} else {
			pn.children--
		}
		if pn.exists() == existed {
			return
		}
		name = p
	}
}

// mergeSources returns one record per (type, value) over all sources, the one with the lowest TTL (then the
// first source), sorted by type and value. A single source's slice is used as it is.
func mergeSources(srcs []sourceRecords) []Record {
	switch len(srcs) {
	case 0:
		return nil
	case 1:
		return srcs[0].recs
	}
	var all []Record
	for _, s := range srcs {
		all = append(all, s.recs...)
	}
	slices.SortFunc(all, func(a, b Record) int {
		if c := compareKeyTTL(&a, &b); c != 0 {
			return c
		}
		return strings.Compare(a.Source(), b.Source())
	})
	return slices.Clip(slices.CompactFunc(all, func(a, b Record) bool { return compareKey(a, b) == 0 }))
}

// reverseDiff notes the addresses name gained and lost between two merged record lists.
func (w *writer) reverseDiff(name string, before, after []Record) {
	walkDiff(before, after, func(i, j int) {
		switch {
		case j < 0:
			if addr, ok := recordAddr(before[i]); ok {
				w.rev = append(w.rev, revChange{key: addrKey(addr), name: name})
			}
		case i < 0:
			if addr, ok := recordAddr(after[j]); ok {
				w.rev = append(w.rev, revChange{key: addrKey(addr), name: name, add: true})
			}
		}
	})
}

// recordAddr returns the address of an A or AAAA record.
func recordAddr(r Record) (netip.Addr, bool) {
	if r.typ != dns.TypeA && r.typ != dns.TypeAAAA {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(r.value)
	return addr, err == nil
}

// addrKey is the address in binary: 4 octets for IPv4 and 16 for IPv6, so the two families never collide.
func addrKey(addr netip.Addr) string {
	if addr.Is4() {
		a := addr.As4()
		return string(a[:])
	}
	a := addr.As16()
	return string(a[:])
}

// commit builds the snapshot that follows w.old.
func (w *writer) commit() *Snapshot {
	names, reverse := w.commitNames()
	sources := w.old.sources.txn()
	bulks := slices.Clip(w.others)
	if w.newSet != nil {
		sources.set(w.source, w.newSet)
		if w.newSet.bulk != nil {
			bulks = append(bulks, w.newSet)
			// Largest first: a name without a node is in exactly one of them, most likely the largest.
			slices.SortFunc(bulks, func(a, b *sourceSet) int {
				if c := cmp.Compare(len(b.recs), len(a.recs)); c != 0 {
					return c
				}
				return strings.Compare(a.source, b.source)
			})
		}
	} else {
		sources.delete(w.source)
	}
	if len(bulks) == 0 {
		bulks = nil
	}

	return &Snapshot{
		gen:     w.old.gen + 1,
		count:   w.old.count - len(w.oldSet.all()) + len(w.newSet.all()),
		names:   names,
		sources: sources.commit(),
		bulks:   bulks,
		reverse: reverse,
	}
}

// commitNames commits the name index and brings the reverse index up to date. A touched node stays in the name
// index only if the name exists and no bulk index can stand for it; the shared reverse index follows the
// records of the nodes in the name index (bulk sources have their own).
func (w *writer) commitNames() (names hamt[*node], reverse hamt[[]string]) {
	for _, n := range w.touched {
		var before, after []Record
		if old, ok := w.old.names.get(n.name); ok {
			before = old.records
		}
		// n is still the live copy: a writer never replaces a node it owns.
		if n.exists() && w.needsNode(n) {
			after = n.records
		} else {
			w.names.delete(n.name)
		}
		w.reverseDiff(n.name, before, after)
	}

	rev := w.old.reverse.txn()
	// Group the changes by address, in trie order so that consecutive updates walk the same trie nodes while
	// they are still in cache. Equal paths of different keys (a hash collision) are told apart by the key.
	order := make([]trieOrder, len(w.rev))
	for i, c := range w.rev {
		order[i] = trieOrder{path: rev.path(c.key), index: i}
	}
	slices.SortFunc(order, func(a, b trieOrder) int {
		if c := compareTrieOrder(a, b); c != 0 {
			return c
		}
		return strings.Compare(w.rev[a.index].key, w.rev[b.index].key)
	})
	var group []revChange
	for i := 0; i < len(order); {
		key := w.rev[order[i].index].key
		group = group[:0]
		for ; i < len(order) && w.rev[order[i].index].key == key; i++ {
			group = append(group, w.rev[order[i].index])
		}
		updateReverse(rev, key, group)
	}
	return w.names.commit(), rev.commit()
}

// needsNode reports whether n must stay in the name index: unless a single bulk source has records at it
// and it has no children (and so no wildcard child) and is not a wildcard itself.
func (w *writer) needsNode(n *node) bool {
	return len(n.sources) != 1 || n.children > 0 || dnsname.IsWildcard(n.name) || !w.isBulk(n.sources[0].source)
}

// updateReverse applies the changes of one address (a name is added or removed at most once per Replace,
// because each name's node is touched once).
func updateReverse(reverse *hamtTxn[[]string], k string, changes []revChange) {
	p, _ := reverse.ref(k)
	cur := *p
	out := make([]string, 0, len(cur)+len(changes))
	var del []string
	for _, c := range changes {
		if c.add {
			out = append(out, c.name)
		} else {
			del = append(del, c.name)
		}
	}
	slices.Sort(del)
	for _, name := range cur {
		if _, gone := slices.BinarySearch(del, name); !gone {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		reverse.delete(k)
		return
	}
	slices.Sort(out)
	*p = slices.Clip(out)
}

// Snapshot is an immutable view of the store. Every slice it returns from Lookup is shared with other readers
// and must not be modified; the other methods return copies.
type Snapshot struct {
	gen     uint64
	count   int
	names   hamt[*node]      // owner name → node, for every name no bulk index stands for (see node)
	sources hamt[*sourceSet] // source → its records
	bulks   []*sourceSet     // the sources with a bulk index, largest first
	reverse hamt[[]string]   // addrKey → sorted names, from the records of the nodes in names
}

// Generation increases with every Replace that changed something.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Lookup finds name, which must already be canonical (lower case, trailing dot), following RFC 4592 for
// wildcards: a name that exists (with records or descendants) is never wildcard-matched; otherwise the
// answer comes from "*.<closest encloser>" if that owns records. It does not allocate.
func (s *Snapshot) Lookup(name string) Match {
	h := s.names.hash(name)
	if n, ok := s.names.getHashed(name, h); ok {
		if len(n.records) > 0 {
			return Match{Kind: Exact, Owner: n.name, Records: n.records}
		}
		return Match{Kind: EmptyNonTerminal, Owner: n.name}
	}
	if recs := s.bulkRecords(name, h); recs != nil {
		return Match{Kind: Exact, Owner: recs[0].name, Records: recs}
	}
	for p, ok := dnsname.Parent(name); ok; p, ok = dnsname.Parent(p) {
		h := s.names.hash(p)
		if n, found := s.names.getHashed(p, h); found {
			if wc := n.wild; wc != nil && len(wc.records) > 0 {
				return Match{Kind: Wildcard, Owner: wc.name, Records: wc.records}
			}
			break
		}
		if s.bulkRecords(p, h) != nil {
			break // the closest encloser; without a node it has no children, so no wildcard child
		}
	}
	return Match{Kind: NotFound}
}

// bulkRecords returns the records of the bulk source that has name (h is its hash), or nil.
func (s *Snapshot) bulkRecords(name string, h uint64) []Record {
	for _, b := range s.bulks {
		if recs := b.records(name, h); recs != nil {
			return recs
		}
	}
	return nil
}

// Reverse returns the names (sorted) that have an A or AAAA record with addr; a zone is ignored.
func (s *Snapshot) Reverse(addr netip.Addr) []string {
	if !addr.IsValid() {
		return nil
	}
	names, _ := s.reverse.get(addrKey(addr))
	out := slices.Clone(names)
	if len(s.bulks) == 0 {
		return out
	}
	for _, b := range s.bulks {
		out = b.appendReverse(out, addr)
	}
	// A bulk source's name with a node is answered by the node, which the shared index follows: the name is
	// there already if the node has the address, and must not be if a policy chose another node's records.
	fromBulks := slices.DeleteFunc(out[len(names):], func(name string) bool {
		_, ok := s.names.get(name)
		return ok
	})
	out = out[:len(names)+len(fromBulks)]
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return out
}

// Records returns every record, sorted by name, type, value and source, or nil.
func (s *Snapshot) Records() []Record {
	if s.count == 0 {
		return nil
	}
	out := make([]Record, 0, s.count)
	s.sources.each(func(_ string, set *sourceSet) bool {
		out = append(out, set.recs...)
		return true
	})
	slices.SortFunc(out, func(a, b Record) int {
		if c := compareKey(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.Source(), b.Source())
	})
	return out
}

// Sources returns the names of the sources that have records, sorted, or nil.
func (s *Snapshot) Sources() []string {
	if s.sources.len() == 0 {
		return nil
	}
	out := make([]string, 0, s.sources.len())
	s.sources.each(func(src string, _ *sourceSet) bool {
		out = append(out, src)
		return true
	})
	slices.Sort(out)
	return out
}

// SourceRecords returns the records of one source sorted by name, type and value, or nil.
func (s *Snapshot) SourceRecords(source string) []Record {
	set, _ := s.sources.get(source)
	return slices.Clone(set.all())
}

// SourceLen is the number of records of one source, 0 for an unknown source. Unlike SourceRecords it copies
// nothing, so the metrics can count every source's records at each scrape.
func (s *Snapshot) SourceLen(source string) int {
	set, _ := s.sources.get(source)
	return len(set.all())
}

// Len is the number of stored records, counted per source (two sources publishing the same record count
// twice).
func (s *Snapshot) Len() int { return s.count }

// MatchKind says how Lookup matched a name.
type MatchKind uint8

const (
	// NotFound: no such name, no descendants and no wildcard, so NXDOMAIN.
	NotFound MatchKind = iota
	// Exact: the name owns records.
	Exact
	// EmptyNonTerminal: the name owns no records but has descendants (e.g. "lab.test." when "a.lab.test."
	// exists), so NODATA.
	EmptyNonTerminal
	// Wildcard: the records were synthesised from "*.<closest encloser>" (RFC 4592).
	Wildcard
)

var matchKindNames = [...]string{"NotFound", "Exact", "EmptyNonTerminal", "Wildcard"}

func (k MatchKind) String() string {
	if int(k) < len(matchKindNames) {
		return matchKindNames[k]
	}
	return "MatchKind(" + strconv.Itoa(int(k)) + ")"
}

// Match is the result of Lookup.
type Match struct {
	Kind MatchKind
	// Owner is the owner name that matched: the name itself, or "*.<closest encloser>" for Wildcard.
	Owner string
	// Records holds every type at Owner merged over sources: one record per (type, value) with the lowest
	// TTL among sources, sorted by type then value. It is nil for NotFound and EmptyNonTerminal, and shared:
	// do not modify it. For Wildcard the records' Name is the wildcard owner; Record.RR builds an RR owned
	// by the query name.
	Records []Record
}
