package dnsstore

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// refStore is the obvious, slow implementation of the store's semantics that TestStoreMatchesModel compares
// the real one against.
type refStore struct {
	recs    map[string]map[string]Record // source → "name type value" → record, stamped with source and SetAt
	origins map[string]Origin            // source → its origin, when not the zero Origin
	policy  Policy
	local   Origin
}

func newRefStore() refStore {
	return refStore{recs: map[string]map[string]Record{}, origins: map[string]Origin{}}
}

func refKey(r Record) string { return fmt.Sprintf("%s %d %s", r.Name(), r.Type(), r.Value()) }

// merged is what the model answers: owner name → "name type value" → record.
type merged map[string]map[string]Record

// owners merges, at each owner name, the sources of the node the policy chooses (all sources under All), one
// record per key with the lowest TTL.
func (m refStore) owners() merged {
	bySource := map[string]map[string][]Record{} // name → source → records
	for src, recs := range m.recs {
		for _, r := range recs {
			if bySource[r.Name()] == nil {
				bySource[r.Name()] = map[string][]Record{}
			}
			bySource[r.Name()][src] = append(bySource[r.Name()][src], r)
		}
	}
	out := merged{}
	for name, srcs := range bySource {
		winner, several := m.choose(srcs)
		out[name] = map[string]Record{}
		for src, recs := range srcs {
			if several && m.origin(src).Node != winner {
				continue
			}
			for _, r := range recs {
				if cur, ok := out[name][refKey(r)]; !ok || r.TTL() < cur.TTL() {
					out[name][refKey(r)] = r
				}
			}
		}
	}
	return out
}

func (m refStore) origin(src string) Origin {
	if o, ok := m.origins[src]; ok && o != (Origin{}) {
		return o
	}
	return m.local
}

// choose returns the node the policy answers at a name with the records srcs, and whether sources of several
// nodes compete there under a policy other than All.
func (m refStore) choose(srcs map[string][]Record) (string, bool) {
	type nodeClaim struct {
		node     string
		priority int
		at       time.Time
	}
	byNode := map[string]*nodeClaim{}
	for src, recs := range srcs {
		o := m.origin(src)
		c := byNode[o.Node]
		if c == nil {
			c = &nodeClaim{node: o.Node, priority: o.Priority}
			byNode[o.Node] = c
		}
		c.priority = max(c.priority, o.Priority)
		for _, r := range recs {
			if r.SetAt().After(c.at) {
				c.at = r.SetAt()
			}
		}
	}
	if len(byNode) < 2 || m.policy == All {
		return "", false
	}
	claims := slices.Collect(maps.Values(byNode))
	slices.SortFunc(claims, func(a, b *nodeClaim) int {
		if m.policy == Priority && a.priority != b.priority {
			return b.priority - a.priority
		}
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.node, b.node)
	})
	return claims[0].node, true
}

func (owners merged) lookup(q string) (MatchKind, string, []string) {
	exists := func(n string) bool {
		if len(owners[n]) > 0 {
			return true
		}
		for o := range owners {
			if n == "." || strings.HasSuffix(o, "."+n) {
				return true
			}
		}
		return false
	}
	merged := func(o string) []string {
		var recs []Record
		for _, r := range owners[o] {
			recs = append(recs, r)
		}
		slices.SortFunc(recs, compareKey)
		return short(recs)
	}
	if len(owners[q]) > 0 {
		return Exact, q, merged(q)
	}
	if exists(q) {
		return EmptyNonTerminal, q, nil
	}
	for a, ok := dnsname.Parent(q); ok; a, ok = dnsname.Parent(a) {
		if !exists(a) {
			continue
		}
		wild := "*." + a
		if a == "." {
			wild = "*."
		}
		if len(owners[wild]) > 0 {
			return Wildcard, wild, merged(wild)
		}
		return NotFound, "", nil
	}
	return NotFound, "", nil
}

func (owners merged) reverse(addr netip.Addr) []string {
	var names []string
	for o, recs := range owners {
		for _, r := range recs {
			if (r.Type() == dns.TypeA || r.Type() == dns.TypeAAAA) && netip.MustParseAddr(r.Value()) == addr {
				names = append(names, o)
				break
			}
		}
	}
	slices.Sort(names)
	return names
}

func (m refStore) clone() refStore {
	c := m
	c.recs = map[string]map[string]Record{}
	for s, recs := range m.recs {
		c.recs[s] = maps.Clone(recs)
	}
	c.origins = maps.Clone(m.origins)
	return c
}

// TestStoreMatchesModel replaces random record sets of a few sources over a small name space (so names,
// wildcards and empty non-terminals keep appearing and disappearing) and compares every lookup, reverse
// lookup, listing and diff with refStore, for the new snapshot and for the one before it. Some sources are
// peers' (an origin that changes, records given their owner's SetAt, from a clock of few values so that times
// tie), and the policy changes now and then. It runs with bulk indexes off, for every source, and for sources
// from a few records up, so that sources also move in and out of bulk indexing.
func TestStoreMatchesModel(t *testing.T) {
	for _, bulkMin := range []int{defaultBulkMin, 1, 4, 8} {
		t.Run(fmt.Sprintf("bulkMin=%d", bulkMin), func(t *testing.T) { testStoreMatchesModel(t, bulkMin) })
	}
}

func testStoreMatchesModel(t *testing.T, bulkMin int) {
	labels := []string{"a", "b", "c"}
	var names []string // every owner a record may have: depth 1..3 under "t.", plus wildcards
	var build func(suffix string, depth int)
	build = func(suffix string, depth int) {
		if depth == 0 {
			return
		}
		for _, l := range labels {
			n := l + "." + suffix
			names = append(names, n, "*."+suffix)
			build(n, depth-1)
		}
	}
	build("t.", 3)
	names = append(names, "*.")
	slices.Sort(names)
	names = slices.Compact(names)

	// Queries: every owner, one level deeper, the literal wildcards, names outside "t.".
	queries := []string{".", "t.", "u.", "x.u.", "d.t."}
	for _, n := range names {
		queries = append(queries, n, "d."+n, "a."+n)
	}
	addrs := []string{"10.0.0.1", "10.0.0.2", "2001:db8::1", "::ffff:10.0.0.1"}
	values := map[string][]string{
		"A":    {"10.0.0.1", "10.0.0.2"},
		"AAAA": {"2001:db8::1", "::ffff:10.0.0.1"},
		"TXT":  {"x", "y"},
	}
	types := []string{"A", "AAAA", "TXT"}
	sources := []string{"s1", "s2", "node:p1/a", "node:p2/a", "node:p2/b"}
	peers := map[string]string{"node:p1/a": "p1", "node:p2/a": "p2", "node:p2/b": "p2"}

	rng := rand.New(rand.NewPCG(7, 11))
	s := New()
	s.bulkMin = bulkMin
	var now time.Time
	s.now = func() time.Time { return now }
	ref := newRefStore()
	prev, prevRef := s.Snapshot(), ref.clone()
	for step := range 600 {
		if step%40 == 39 {
			p, local := Policy(rng.IntN(3)), Origin{Node: "self", Priority: rng.IntN(3)}
			s.SetPolicy(p, local)
			ref.policy, ref.local = p, local
			msg := fmt.Sprintf("step %d: SetPolicy(%v, %v)", step, p, local)
			checkAgainstModel(t, s.Snapshot(), ref, queries, addrs, msg)
			checkAgainstModel(t, prev, prevRef, queries, addrs, msg+": previous snapshot")
			checkStructure(t, s.Snapshot(), msg)
			prev, prevRef = s.Snapshot(), ref.clone()
			continue
		}
		now = minute(rng.IntN(4))
		source := sources[rng.IntN(len(sources))]
		var origin Origin
		if node, ok := peers[source]; ok {
			origin = Origin{Node: node, Priority: rng.IntN(3)}
		}
		var recs []Record
		if rng.IntN(6) > 0 {
			for range rng.IntN(12) {
				typ := types[rng.IntN(len(types))]
				name := names[rng.IntN(len(names))]
				if rng.IntN(4) > 0 && !strings.HasPrefix(name, "*.") {
					// Favour few names so that sources overlap and ancestors fill up.
					name = names[rng.IntN(8)]
				}
				r := rec(t, name, typ, values[typ][rng.IntN(2)], uint32(10*(1+rng.IntN(3))))
				if origin != (Origin{}) && rng.IntN(4) > 0 {
					r = r.WithSetAt(minute(rng.IntN(4)))
				}
				recs = append(recs, r)
			}
		}
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })

		// Expected diff, and the new reference state.
		next := map[string]Record{}
		for _, r := range recs {
			if cur, ok := next[refKey(r)]; !ok || r.TTL() < cur.TTL() || r.TTL() == cur.TTL() && r.SetAt().After(cur.SetAt()) {
				next[refKey(r)] = r
			}
		}
		var wantAdded, wantRemoved, wantUpdated, wantReplaced []Record
		for k, r := range next {
			at := r.SetAt()
			old, ok := ref.recs[source][k]
			kept := ok && old.TTL() == r.TTL() && (at.IsZero() || at.Equal(old.SetAt()))
			switch {
			case kept:
				at = old.SetAt()
			case at.IsZero():
				at = now
			}
			r.stamp = &stamp{source: source, at: at}
			next[k] = r
			switch {
			case !ok:
				wantAdded = append(wantAdded, r)
			case !kept:
				wantUpdated, wantReplaced = append(wantUpdated, r), append(wantReplaced, old)
			}
		}
		for k, r := range ref.recs[source] {
			if _, ok := next[k]; !ok {
				wantRemoved = append(wantRemoved, r)
			}
		}
		for _, l := range [][]Record{wantAdded, wantRemoved, wantUpdated, wantReplaced} {
			slices.SortFunc(l, compareKey)
		}
		if len(next) == 0 {
			delete(ref.recs, source)
			delete(ref.origins, source)
		} else {
			ref.recs[source] = next
			ref.origins[source] = origin
		}

		msg := fmt.Sprintf("step %d: Replace(%q, %v, %v)", step, source, origin, timed(recs))
		var d Diff
		switch {
		case origin != (Origin{}):
			d = s.ReplaceOwnedFrom(source, origin, slices.Clone(recs))
		case step%2 == 0:
			d = s.Replace(source, recs)
		default:
			d = s.ReplaceOwned(source, slices.Clone(recs))
		}
		require.Equal(t, timed(wantAdded), timed(d.Added), msg+": added")
		require.Equal(t, timed(wantRemoved), timed(d.Removed), msg+": removed")
		require.Equal(t, timed(wantUpdated), timed(d.Updated), msg+": updated")
		require.Equal(t, timed(wantReplaced), timed(d.Replaced), msg+": what the updated records replaced")

		checkAgainstModel(t, s.Snapshot(), ref, queries, addrs, msg)
		checkAgainstModel(t, prev, prevRef, queries, addrs, msg+": previous snapshot")
		checkStructure(t, s.Snapshot(), msg)
		prev, prevRef = s.Snapshot(), ref.clone()
	}
}

func checkAgainstModel(t *testing.T, snap *Snapshot, ref refStore, queries, addrs []string, msg string) {
	t.Helper()
	owners := ref.owners()
	for _, q := range queries {
		kind, owner, recs := owners.lookup(q)
		m := snap.Lookup(q)
		require.Equal(t, kind, m.Kind, "%s: Lookup(%q) kind", msg, q)
		require.Equal(t, owner, m.Owner, "%s: Lookup(%q) owner", msg, q)
		require.Equal(t, recs, short(m.Records), "%s: Lookup(%q) records", msg, q)
	}
	for _, a := range addrs {
		addr := netip.MustParseAddr(a)
		require.Equal(t, owners.reverse(addr), snap.Reverse(addr), "%s: Reverse(%s)", msg, a)
	}
	var all []Record
	var srcs []string
	for src, recs := range ref.recs {
		srcs = append(srcs, src)
		for _, r := range recs {
			all = append(all, r)
		}
	}
	slices.Sort(srcs)
	slices.SortFunc(all, func(a, b Record) int {
		if c := compareKey(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.Source(), b.Source())
	})
	got := snap.Records()
	require.Equal(t, len(all), snap.Len(), msg+": Len")
	require.Equal(t, timed(all), timed(got), msg+": Records")
	for i := range all {
		require.Equal(t, all[i].Source(), got[i].Source(), msg+": Records sources")
	}
	require.Equal(t, srcs, snap.Sources(), msg+": Sources")
}

// checkStructure checks what the model cannot see: every node holds slices of its sources' current record
// lists (a slice of an older list would keep that whole list alive), and a node is in the name index only
// when no bulk index can stand for it.
func checkStructure(t *testing.T, snap *Snapshot, msg string) {
	t.Helper()
	snap.names.each(func(name string, n *node) bool {
		require.Equal(t, name, n.name, msg)
		for _, sr := range n.sources {
			set, ok := snap.sources.get(sr.source)
			require.True(t, ok, "%s: node %q has records of %q, which has none", msg, name, sr.source)
			require.NotEmpty(t, sr.recs, msg)
			require.True(t, within(sr.recs, set.recs), "%s: node %q holds an old list of %q", msg, name, sr.source)
		}
		require.True(t, n.exists(), "%s: node %q does not exist", msg, name)
		bulkOnly := len(n.sources) == 1 && n.children == 0 && !dnsname.IsWildcard(name)
		if bulkOnly {
			set, _ := snap.sources.get(n.sources[0].source)
			require.Nil(t, set.bulk, "%s: node %q is not needed: its source %q has a bulk index", msg, name, set.source)
		}
		return true
	})
}

// timed renders records as short does, with the minute after t0 each was set at (-1 for none).
func timed(recs []Record) []string {
	out := short(recs)
	for i, r := range recs {
		m := -1
		if !r.SetAt().IsZero() {
			m = int(r.SetAt().Sub(t0) / time.Minute)
		}
		out[i] += fmt.Sprintf(" @%d", m)
	}
	return out
}

// within reports whether sub is a slice of list's array.
func within(sub, list []Record) bool {
	for i := range list {
		if &list[i] == &sub[0] {
			return i+len(sub) <= len(list)
		}
	}
	return false
}
