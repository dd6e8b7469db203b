package dnsstore

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// refStore is the obvious, slow implementation of the store's semantics that TestStoreMatchesModel compares
// the real one against.
type refStore map[string]map[string]Record // source → "name type value" → record

func refKey(r Record) string { return fmt.Sprintf("%s %d %s", r.Name(), r.Type(), r.Value()) }

// owners merges all sources: owner → "name type value" → record with the lowest TTL.
func (m refStore) owners() map[string]map[string]Record {
	out := map[string]map[string]Record{}
	for _, recs := range m {
		for k, r := range recs {
			if out[r.Name()] == nil {
				out[r.Name()] = map[string]Record{}
			}
			if cur, ok := out[r.Name()][k]; !ok || r.TTL() < cur.TTL() {
				out[r.Name()][k] = r
			}
		}
	}
	return out
}

func (m refStore) lookup(q string) (MatchKind, string, []string) {
	owners := m.owners()
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

func (m refStore) reverse(addr netip.Addr) []string {
	var names []string
	for o, recs := range m.owners() {
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
	c := refStore{}
	for s, recs := range m {
		c[s] = maps.Clone(recs)
	}
	return c
}

// TestStoreMatchesModel replaces random record sets of a few sources over a small name space (so names,
// wildcards and empty non-terminals keep appearing and disappearing) and compares every lookup, reverse
// lookup, listing and diff with refStore, for the new snapshot and for the one before it. It runs with bulk
// indexes off, for every source, and for sources from a few records up, so that sources also move in and
// out of bulk indexing.
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
	sources := []string{"s1", "s2", "s3"}

	rng := rand.New(rand.NewPCG(7, 11))
	s := New()
	s.bulkMin = bulkMin
	ref := refStore{}
	prev, prevRef := s.Snapshot(), ref.clone()
	for step := range 400 {
		source := sources[rng.IntN(len(sources))]
		var recs []Record
		if rng.IntN(6) > 0 {
			for range rng.IntN(12) {
				typ := types[rng.IntN(len(types))]
				name := names[rng.IntN(len(names))]
				if rng.IntN(4) > 0 && !strings.HasPrefix(name, "*.") {
					// Favour few names so that sources overlap and ancestors fill up.
					name = names[rng.IntN(8)]
				}
				recs = append(recs, rec(t, name, typ, values[typ][rng.IntN(2)], uint32(10*(1+rng.IntN(3)))))
			}
		}
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })

		// Expected diff, and the new reference state.
		next := map[string]Record{}
		for _, r := range recs {
			if cur, ok := next[refKey(r)]; !ok || r.TTL() < cur.TTL() {
				next[refKey(r)] = r
			}
		}
		var wantAdded, wantRemoved, wantUpdated []Record
		for k, r := range next {
			if old, ok := ref[source][k]; !ok {
				wantAdded = append(wantAdded, r)
			} else if old.TTL() != r.TTL() {
				wantUpdated = append(wantUpdated, r)
			}
		}
		for k, r := range ref[source] {
			if _, ok := next[k]; !ok {
				wantRemoved = append(wantRemoved, r)
			}
		}
		for _, l := range [][]Record{wantAdded, wantRemoved, wantUpdated} {
			slices.SortFunc(l, compareKey)
		}
		if len(next) == 0 {
			delete(ref, source)
		} else {
			ref[source] = next
		}

		msg := fmt.Sprintf("step %d: Replace(%q, %v)", step, source, short(recs))
		var d Diff
		if step%2 == 0 {
			d = s.Replace(source, recs)
		} else {
			d = s.ReplaceOwned(source, slices.Clone(recs))
		}
		require.Equal(t, short(wantAdded), short(d.Added), msg+": added")
		require.Equal(t, short(wantRemoved), short(d.Removed), msg+": removed")
		require.Equal(t, short(wantUpdated), short(d.Updated), msg+": updated")

		checkAgainstModel(t, s.Snapshot(), ref, queries, addrs, msg)
		checkAgainstModel(t, prev, prevRef, queries, addrs, msg+": previous snapshot")
		checkStructure(t, s.Snapshot(), msg)
		prev, prevRef = s.Snapshot(), ref.clone()
	}
}

func checkAgainstModel(t *testing.T, snap *Snapshot, ref refStore, queries, addrs []string, msg string) {
	t.Helper()
	for _, q := range queries {
		kind, owner, recs := ref.lookup(q)
		m := snap.Lookup(q)
		require.Equal(t, kind, m.Kind, "%s: Lookup(%q) kind", msg, q)
		require.Equal(t, owner, m.Owner, "%s: Lookup(%q) owner", msg, q)
		require.Equal(t, recs, short(m.Records), "%s: Lookup(%q) records", msg, q)
	}
	for _, a := range addrs {
		addr := netip.MustParseAddr(a)
		require.Equal(t, ref.reverse(addr), snap.Reverse(addr), "%s: Reverse(%s)", msg, a)
	}
	var all []Record
	var srcs []string
	for src, recs := range ref {
		srcs = append(srcs, src)
		for _, r := range recs {
			r.stamp = &stamp{source: src}
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
	require.Equal(t, short(all), short(got), msg+": Records")
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

// within reports whether sub is a slice of list's array.
func within(sub, list []Record) bool {
	for i := range list {
		if &list[i] == &sub[0] {
			return i+len(sub) <= len(list)
		}
	}
	return false
}
