package dnsstore

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rec builds a record from "name TYPE value" with TTL ttl, failing the test on bad input.
func rec(t testing.TB, name, typ, value string, ttl uint32) Record {
	t.Helper()
	r, err := NewRecord(name, typ, value, ttl)
	require.NoError(t, err)
	return r
}

// short renders records as "name TYPE value ttl" for readable comparisons.
func short(recs []Record) []string {
	if len(recs) == 0 {
		return nil
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s %s %s %d", r.Name(), dns.TypeToString[r.Type()], r.Value(), r.TTL())
	}
	return out
}

func TestReplaceDiff(t *testing.T) {
	a1 := func(t *testing.T, ttl uint32) Record { return rec(t, "a.lab.test", "A", "10.0.0.1", ttl) }
	a2 := func(t *testing.T, ttl uint32) Record { return rec(t, "a.lab.test", "A", "10.0.0.2", ttl) }
	b := func(t *testing.T, ttl uint32) Record { return rec(t, "b.lab.test", "TXT", "hello", ttl) }
	tests := []struct {
		name        string
		before      func(t *testing.T) []Record // the source's records before the Replace under test
		recs        func(t *testing.T) []Record
		wantAdded   []string
		wantRemoved []string
		wantUpdated []string
		wantRecords []string // SourceRecords afterwards
	}{
		{
			name:        "add to empty",
			recs:        func(t *testing.T) []Record { return []Record{b(t, 60), a1(t, 60)} },
			wantAdded:   []string{"a.lab.test. A 10.0.0.1 60", "b.lab.test. TXT hello 60"},
			wantRecords: []string{"a.lab.test. A 10.0.0.1 60", "b.lab.test. TXT hello 60"},
		},
		{
			name:        "add remove update",
			before:      func(t *testing.T) []Record { return []Record{a1(t, 60), b(t, 60)} },
			recs:        func(t *testing.T) []Record { return []Record{a1(t, 30), a2(t, 60)} },
			wantAdded:   []string{"a.lab.test. A 10.0.0.2 60"},
			wantRemoved: []string{"b.lab.test. TXT hello 60"},
			wantUpdated: []string{"a.lab.test. A 10.0.0.1 30"},
			wantRecords: []string{"a.lab.test. A 10.0.0.1 30", "a.lab.test. A 10.0.0.2 60"},
		},
		{
			name:        "unchanged is empty",
			before:      func(t *testing.T) []Record { return []Record{a1(t, 60), b(t, 60)} },
			recs:        func(t *testing.T) []Record { return []Record{b(t, 60), a1(t, 60)} },
			wantRecords: []string{"a.lab.test. A 10.0.0.1 60", "b.lab.test. TXT hello 60"},
		},
		{
			name:        "duplicates collapse to the lowest TTL",
			recs:        func(t *testing.T) []Record { return []Record{a1(t, 60), a1(t, 10), a1(t, 30)} },
			wantAdded:   []string{"a.lab.test. A 10.0.0.1 10"},
			wantRecords: []string{"a.lab.test. A 10.0.0.1 10"},
		},
		{
			name:        "nil removes the source",
			before:      func(t *testing.T) []Record { return []Record{a1(t, 60), b(t, 60)} },
			recs:        func(*testing.T) []Record { return nil },
			wantRemoved: []string{"a.lab.test. A 10.0.0.1 60", "b.lab.test. TXT hello 60"},
		},
		{
			name:        "empty removes the source",
			before:      func(t *testing.T) []Record { return []Record{a1(t, 60)} },
			recs:        func(*testing.T) []Record { return []Record{} },
			wantRemoved: []string{"a.lab.test. A 10.0.0.1 60"},
		},
		{
			name: "removing an absent source is empty",
			recs: func(*testing.T) []Record { return nil },
		},
		{
			name:        "zero records are dropped",
			recs:        func(t *testing.T) []Record { return []Record{{}, a1(t, 60), {}} },
			wantAdded:   []string{"a.lab.test. A 10.0.0.1 60"},
			wantRecords: []string{"a.lab.test. A 10.0.0.1 60"},
		},
		{
			name:        "only zero records removes the source",
			before:      func(t *testing.T) []Record { return []Record{a1(t, 60)} },
			recs:        func(*testing.T) []Record { return []Record{{}} },
			wantRemoved: []string{"a.lab.test. A 10.0.0.1 60"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			s.Replace("other", []Record{rec(t, "a.lab.test", "A", "10.0.0.1", 5)})
			if tt.before != nil {
				require.False(t, s.Replace("src", tt.before(t)).Empty())
			}
			gen := s.Snapshot().Generation()
			d := s.Replace("src", tt.recs(t))
			assert.Equal(t, tt.wantAdded, short(d.Added), "added")
			assert.Equal(t, tt.wantRemoved, short(d.Removed), "removed")
			assert.Equal(t, tt.wantUpdated, short(d.Updated), "updated")
			assert.Equal(t, tt.wantAdded == nil && tt.wantRemoved == nil && tt.wantUpdated == nil, d.Empty())
			snap := s.Snapshot()
			assert.Equal(t, tt.wantRecords, short(snap.SourceRecords("src")))
			if d.Empty() {
				assert.Equal(t, gen, snap.Generation(), "no new generation without a change")
			} else {
				assert.Equal(t, gen+1, snap.Generation())
			}
			for _, r := range append(append(d.Added, d.Removed...), d.Updated...) {
				assert.Equal(t, "src", r.Source())
			}
			// The other source is never affected.
			assert.Equal(t, []string{"a.lab.test. A 10.0.0.1 5"}, short(snap.SourceRecords("other")))
		})
	}
}

func TestReplaceSetAt(t *testing.T) {
	s := New()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	first := clock
	s.Replace("src", []Record{rec(t, "a.test", "A", "10.0.0.1", 60), rec(t, "b.test", "A", "10.0.0.2", 60)})

	clock = clock.Add(time.Minute)
	d := s.Replace("src", []Record{rec(t, "a.test", "A", "10.0.0.1", 60), rec(t, "b.test", "A", "10.0.0.2", 30)})
	require.Len(t, d.Updated, 1)
	assert.Equal(t, clock, d.Updated[0].SetAt())

	got := s.Snapshot().SourceRecords("src")
	require.Len(t, got, 2)
	assert.Equal(t, first, got[0].SetAt(), "an unchanged record keeps the time it was stored")
	assert.Equal(t, clock, got[1].SetAt(), "a record whose TTL changed is stored anew")
	assert.Equal(t, uint32(30), got[1].TTL())
}

// TestReplaceStoresNewRecords: what Replace stores, and Lookup and the listings return, is exactly what
// NewRecord returned (name, value, type and TTL, down to the memory of the strings), with only Source and SetAt
// added: a record is validated and canonicalised once, by NewRecord, and never again.
func TestReplaceStoresNewRecords(t *testing.T) {
	in := []Record{
		rec(t, "A.Lab.Test", "A", " 10.0.0.1 ", 60),
		rec(t, "a.lab.test.", "AAAA", "2001:DB8:0::1", 30),
		rec(t, "a.lab.test.", "TXT", `say "hi"`, 10),
		rec(t, "*.Apps.Lab.Test", "CNAME", "A.Lab.Test", 300),
		rec(t, "_https._tcp.lab.test", "SRV", " 10 5 443 A.Lab.Test ", 60),
	}
	for _, owned := range []bool{false, true} {
		t.Run(fmt.Sprintf("owned=%t", owned), func(t *testing.T) {
			s := New()
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			s.now = func() time.Time { return at }
			list := slices.Clone(in)
			var d Diff
			if owned {
				d = s.ReplaceOwned("src", list)
			} else {
				d = s.Replace("src", list)
				assert.Equal(t, in, list, "Replace leaves the caller's list alone")
			}
			snap := s.Snapshot()
			lists := map[string][]Record{"Diff.Added": d.Added, "SourceRecords": snap.SourceRecords("src"), "Records": snap.Records()}
			for _, r := range in {
				lists["Lookup"] = append(lists["Lookup"], lookupRecord(t, snap, r))
			}
			for what, got := range lists {
				require.Len(t, got, len(in), what)
				for _, g := range got {
					assert.Equal(t, "src", g.Source(), what)
					assert.Equal(t, at, g.SetAt(), what)
					i := slices.IndexFunc(in, func(r Record) bool { return r.Type() == g.Type() })
					require.GreaterOrEqual(t, i, 0, what)
					want, stored := in[i], g
					stored.stamp = nil
					assert.Equal(t, want, stored, "%s: the record as NewRecord returned it", what)
					assert.Same(t, unsafe.StringData(want.Name()), unsafe.StringData(g.Name()), "%s: the name is not rebuilt", what)
					assert.Same(t, unsafe.StringData(want.Value()), unsafe.StringData(g.Value()), "%s: the value is not rebuilt", what)
				}
			}
		})
	}
}

// lookupRecord returns the stored record of r's name, type and value, found with Lookup.
func lookupRecord(t *testing.T, snap *Snapshot, r Record) Record {
	t.Helper()
	m := snap.Lookup(r.Name())
	require.Equal(t, Exact, m.Kind, r.Name())
	i := slices.IndexFunc(m.Records, func(s Record) bool { return compareKey(s, r) == 0 })
	require.GreaterOrEqual(t, i, 0, "%s not found at %s", short([]Record{r}), r.Name())
	return m.Records[i]
}

func TestTwoSourcesSameName(t *testing.T) {
	s := New()
	s.Replace("hosts:a", []Record{rec(t, "web.lab.test", "A", "10.0.0.1", 300), rec(t, "web.lab.test", "A", "10.0.0.2", 300)})
	s.Replace("docker:b", []Record{rec(t, "web.lab.test", "A", "10.0.0.1", 60), rec(t, "web.lab.test", "TXT", "b", 60)})

	snap := s.Snapshot()
	m := snap.Lookup("web.lab.test.")
	assert.Equal(t, Exact, m.Kind)
	assert.Equal(t, []string{
		"web.lab.test. A 10.0.0.1 60", // the lower TTL of the two sources
		"web.lab.test. A 10.0.0.2 300",
		"web.lab.test. TXT b 60",
	}, short(m.Records))
	assert.Equal(t, "docker:b", m.Records[0].Source())
	assert.Equal(t, 4, snap.Len(), "records are counted per source")
	assert.Equal(t, []string{"docker:b", "hosts:a"}, snap.Sources())
	assert.Equal(t, 2, snap.SourceLen("docker:b"))
	assert.Zero(t, snap.SourceLen("docker:none"))
	assert.Equal(t, []string{"web.lab.test."}, snap.Reverse(netip.MustParseAddr("10.0.0.1")))

	// Removing one source leaves the other's records, TTLs included.
	s.Replace("docker:b", nil)
	snap = s.Snapshot()
	assert.Equal(t, []string{"web.lab.test. A 10.0.0.1 300", "web.lab.test. A 10.0.0.2 300"}, short(snap.Lookup("web.lab.test.").Records))
	assert.Equal(t, []string{"web.lab.test."}, snap.Reverse(netip.MustParseAddr("10.0.0.1")))
	assert.Equal(t, []string{"hosts:a"}, snap.Sources())
	assert.Equal(t, 2, snap.Len())

	s.Replace("hosts:a", nil)
	snap = s.Snapshot()
	assert.Equal(t, NotFound, snap.Lookup("web.lab.test.").Kind)
	assert.Equal(t, NotFound, snap.Lookup("lab.test.").Kind, "empty non-terminals go with their last descendant")
	assert.Empty(t, snap.Reverse(netip.MustParseAddr("10.0.0.1")))
	assert.Empty(t, snap.Sources())
	assert.Zero(t, snap.Len())
}

func TestLookup(t *testing.T) {
	s := New()
	s.Replace("static", []Record{
		rec(t, "app.lab.test", "A", "10.0.0.1", 60),
		rec(t, "app.lab.test", "AAAA", "2001:db8::1", 60),
		rec(t, "app.lab.test", "TXT", "hello", 60),
		rec(t, "a.b.deep.lab.test", "A", "10.0.0.2", 60),
		rec(t, "*.apps.lab.test", "A", "10.0.0.3", 60),
		rec(t, "*.apps.lab.test", "TXT", "wild", 60),
		rec(t, "real.apps.lab.test", "A", "10.0.0.4", 60),
		rec(t, "x.blocked.apps.lab.test", "A", "10.0.0.5", 60),
		rec(t, "*.lab.test", "CNAME", "app.lab.test", 60),
		rec(t, "_https._tcp.lab.test", "SRV", "0 0 443 app.lab.test", 60),
	})
	tests := []struct {
		name      string
		qname     string
		wantKind  MatchKind
		wantOwner string
		wantRecs  []string
	}{
		{
			name: "exact, all types sorted", qname: "app.lab.test.", wantKind: Exact, wantOwner: "app.lab.test.",
			wantRecs: []string{"app.lab.test. A 10.0.0.1 60", "app.lab.test. TXT hello 60", "app.lab.test. AAAA 2001:db8::1 60"},
		},
		{name: "empty non-terminal", qname: "lab.test.", wantKind: EmptyNonTerminal, wantOwner: "lab.test."},
		{name: "empty non-terminal at top", qname: "test.", wantKind: EmptyNonTerminal, wantOwner: "test."},
		{name: "root", qname: ".", wantKind: EmptyNonTerminal, wantOwner: "."},
		{name: "deep empty non-terminal", qname: "b.deep.lab.test.", wantKind: EmptyNonTerminal, wantOwner: "b.deep.lab.test."},
		{name: "ENT is not wildcard-matched", qname: "deep.lab.test.", wantKind: EmptyNonTerminal, wantOwner: "deep.lab.test."},
		{name: "ENT under a wildcard is not wildcard-matched", qname: "blocked.apps.lab.test.", wantKind: EmptyNonTerminal, wantOwner: "blocked.apps.lab.test."},
		{name: "service name", qname: "_https._tcp.lab.test.", wantKind: Exact, wantOwner: "_https._tcp.lab.test.", wantRecs: []string{"_https._tcp.lab.test. SRV 0 0 443 app.lab.test. 60"}},
		{
			name: "wildcard", qname: "web.apps.lab.test.", wantKind: Wildcard, wantOwner: "*.apps.lab.test.",
			wantRecs: []string{"*.apps.lab.test. A 10.0.0.3 60", "*.apps.lab.test. TXT wild 60"},
		},
		{
			name: "wildcard for a deeper name", qname: "a.b.apps.lab.test.", wantKind: Wildcard, wantOwner: "*.apps.lab.test.",
			wantRecs: []string{"*.apps.lab.test. A 10.0.0.3 60", "*.apps.lab.test. TXT wild 60"},
		},
		{name: "an existing name is not wildcard-matched", qname: "real.apps.lab.test.", wantKind: Exact, wantOwner: "real.apps.lab.test.", wantRecs: []string{"real.apps.lab.test. A 10.0.0.4 60"}},
		{name: "closest encloser without a wildcard blocks", qname: "y.blocked.apps.lab.test.", wantKind: NotFound},
		{name: "below an exact name without wildcard", qname: "sub.real.apps.lab.test.", wantKind: NotFound},
		{name: "the literal wildcard is exact", qname: "*.apps.lab.test.", wantKind: Exact, wantOwner: "*.apps.lab.test.", wantRecs: []string{"*.apps.lab.test. A 10.0.0.3 60", "*.apps.lab.test. TXT wild 60"}},
		{name: "below the literal wildcard", qname: "x.*.apps.lab.test.", wantKind: NotFound},
		{name: "parent wildcard", qname: "nope.lab.test.", wantKind: Wildcard, wantOwner: "*.lab.test.", wantRecs: []string{"*.lab.test. CNAME app.lab.test. 60"}},
		{name: "parent wildcard for a deeper name", qname: "x.nope.lab.test.", wantKind: Wildcard, wantOwner: "*.lab.test."},
		{name: "closest encloser deep.lab.test has no wildcard", qname: "zz.deep.lab.test.", wantKind: NotFound},
		{name: "outside every name", qname: "example.com.", wantKind: NotFound},
		{name: "a sibling zone", qname: "lab.example.", wantKind: NotFound},
		{name: "not canonical: no trailing dot", qname: "app.lab.test", wantKind: NotFound},
		{name: "empty", qname: "", wantKind: NotFound},
	}
	snap := s.Snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := snap.Lookup(tt.qname)
			assert.Equal(t, tt.wantKind, m.Kind, "kind %v", m.Kind)
			assert.Equal(t, tt.wantOwner, m.Owner)
			if tt.wantRecs != nil {
				assert.Equal(t, tt.wantRecs, short(m.Records))
			}
			if m.Kind == NotFound || m.Kind == EmptyNonTerminal {
				assert.Nil(t, m.Records)
			} else {
				assert.NotEmpty(t, m.Records)
			}
		})
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	s := New()
	s.Replace("static", []Record{rec(t, "app.lab.test", "A", "10.0.0.1", 60), rec(t, "*.apps.lab.test", "A", "10.0.0.3", 60)})
	snap := s.Snapshot()
	for _, q := range []string{"app.lab.test.", "lab.test.", "x.apps.lab.test.", "nope.example."} {
		assert.Zero(t, testing.AllocsPerRun(100, func() { snap.Lookup(q) }), q)
	}
}

func TestWildcardLifecycle(t *testing.T) {
	s := New()
	s.Replace("a", []Record{rec(t, "*.apps.test", "A", "10.0.0.1", 60)})
	assert.Equal(t, Wildcard, s.Snapshot().Lookup("x.apps.test.").Kind)

	// Another source adds to the wildcard: the answer merges both.
	s.Replace("b", []Record{rec(t, "*.apps.test", "A", "10.0.0.2", 60)})
	assert.Equal(t, []string{"*.apps.test. A 10.0.0.1 60", "*.apps.test. A 10.0.0.2 60"}, short(s.Snapshot().Lookup("x.apps.test.").Records))

	// Changing the wildcard's records is seen through the parent's link to it.
	s.Replace("a", []Record{rec(t, "*.apps.test", "A", "10.0.0.9", 60)})
	assert.Equal(t, []string{"*.apps.test. A 10.0.0.2 60", "*.apps.test. A 10.0.0.9 60"}, short(s.Snapshot().Lookup("x.apps.test.").Records))

	s.Replace("a", nil)
	s.Replace("b", nil)
	m := s.Snapshot().Lookup("x.apps.test.")
	assert.Equal(t, NotFound, m.Kind)
	assert.Equal(t, NotFound, s.Snapshot().Lookup("apps.test.").Kind)
}

func TestReverse(t *testing.T) {
	s := New()
	s.Replace("hosts", []Record{
		rec(t, "b.lab.test", "A", "10.0.0.1", 60),
		rec(t, "a.lab.test", "A", "10.0.0.1", 60),
		rec(t, "a.lab.test", "AAAA", "2001:db8::1", 60),
		rec(t, "m.lab.test", "AAAA", "::ffff:10.0.0.1", 60),
		rec(t, "c.lab.test", "CNAME", "a.lab.test", 60),
	})
	s.Replace("docker:1", []Record{rec(t, "c1.docker.test", "A", "10.0.0.1", 60), rec(t, "a.lab.test", "A", "10.0.0.1", 60)})
	tests := []struct {
		addr string
		want []string
	}{
		{"10.0.0.1", []string{"a.lab.test.", "b.lab.test.", "c1.docker.test."}},
		{"2001:db8::1", []string{"a.lab.test."}},
		{"2001:0db8:0::1", []string{"a.lab.test."}},
		{"fe80::1%eth0", nil},
		{"2001:db8::1%eth0", []string{"a.lab.test."}},
		{"::ffff:10.0.0.1", []string{"m.lab.test."}}, // a v4-mapped address matches AAAA records only
		{"10.0.0.2", nil},
	}
	snap := s.Snapshot()
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			assert.Equal(t, tt.want, snap.Reverse(netip.MustParseAddr(tt.addr)))
		})
	}
	assert.Nil(t, snap.Reverse(netip.Addr{}))

	got := snap.Reverse(netip.MustParseAddr("10.0.0.1"))
	got[0] = "mutated."
	assert.Equal(t, "a.lab.test.", snap.Reverse(netip.MustParseAddr("10.0.0.1"))[0], "Reverse returns a copy")

	s.Replace("docker:1", nil)
	assert.Equal(t, []string{"a.lab.test.", "b.lab.test."}, s.Snapshot().Reverse(netip.MustParseAddr("10.0.0.1")))
}

func TestSnapshotIsImmutable(t *testing.T) {
	s := New()
	s.Replace("hosts", []Record{rec(t, "a.lab.test", "A", "10.0.0.1", 60), rec(t, "*.apps.test", "A", "10.0.0.3", 60)})
	old := s.Snapshot()
	oldRecords := old.Records()
	gen := old.Generation()

	s.Replace("hosts", []Record{rec(t, "a.lab.test", "A", "10.0.0.2", 30), rec(t, "new.lab.test", "A", "10.0.0.1", 60)})
	s.Replace("docker:1", []Record{rec(t, "x.apps.test", "A", "10.0.0.9", 60), rec(t, "a.lab.test", "TXT", "t", 60)})

	assert.Equal(t, gen, old.Generation())
	assert.Equal(t, oldRecords, old.Records())
	assert.Equal(t, []string{"a.lab.test. A 10.0.0.1 60"}, short(old.Lookup("a.lab.test.").Records))
	assert.Equal(t, NotFound, old.Lookup("new.lab.test.").Kind)
	assert.Equal(t, Wildcard, old.Lookup("x.apps.test.").Kind)
	assert.Equal(t, []string{"a.lab.test."}, old.Reverse(netip.MustParseAddr("10.0.0.1")))
	assert.Equal(t, []string{"hosts"}, old.Sources())
	assert.Equal(t, 2, old.Len())

	cur := s.Snapshot()
	assert.Equal(t, gen+2, cur.Generation())
	assert.Equal(t, Exact, cur.Lookup("x.apps.test.").Kind)
	assert.Equal(t, []string{"new.lab.test."}, cur.Reverse(netip.MustParseAddr("10.0.0.1")))
}

func TestSnapshotListings(t *testing.T) {
	s := New()
	s.Replace("b", []Record{rec(t, "x.test", "A", "10.0.0.2", 60), rec(t, "a.test", "TXT", "z", 60)})
	s.Replace("a", []Record{rec(t, "x.test", "A", "10.0.0.2", 30), rec(t, "x.test", "A", "10.0.0.1", 60)})
	snap := s.Snapshot()

	all := snap.Records()
	got := make([]string, len(all))
	for i, r := range all {
		got[i] = fmt.Sprintf("%s %s %s", r.Name(), r.Value(), r.Source())
	}
	assert.Equal(t, []string{"a.test. z b", "x.test. 10.0.0.1 a", "x.test. 10.0.0.2 a", "x.test. 10.0.0.2 b"}, got)
	assert.Equal(t, 4, snap.Len())
	assert.Equal(t, []string{"a", "b"}, snap.Sources())
	assert.Equal(t, []string{"x.test. A 10.0.0.1 60", "x.test. A 10.0.0.2 30"}, short(snap.SourceRecords("a")))
	assert.Nil(t, snap.SourceRecords("absent"))

	all[0].name = "mutated."
	snap.SourceRecords("a")[0].name = "mutated."
	assert.Equal(t, "a.test.", snap.Records()[0].Name(), "Records returns a copy")
	assert.Equal(t, "x.test.", snap.SourceRecords("a")[0].Name(), "SourceRecords returns a copy")
}

func TestConcurrentReadersAndWriter(t *testing.T) {
	s := New()
	base := make([]Record, 0, 200)
	for i := range 200 {
		base = append(base, rec(t, fmt.Sprintf("h%d.lab.test", i), "A", fmt.Sprintf("10.0.%d.%d", i/256, i%256), 60))
	}
	s.Replace("hosts", base)
	churn := []Record{rec(t, "c.docker.test", "A", "10.1.0.1", 60), rec(t, "*.apps.test", "A", "10.1.0.2", 60)}

	const writes = 300
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range writes {
			if i%2 == 0 {
				s.Replace("docker:c", churn)
			} else {
				s.Replace("docker:c", nil)
			}
		}
	}()
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				snap := s.Snapshot()
				if g := snap.Generation(); g < last {
					errs <- fmt.Errorf("generation went back from %d to %d", last, g)
					return
				} else {
					last = g
				}
				// Within one snapshot the container's two records come and go together.
				c, w := snap.Lookup("c.docker.test."), snap.Lookup("x.apps.test.")
				if (c.Kind == Exact) != (w.Kind == Wildcard) {
					errs <- fmt.Errorf("generation %d: torn snapshot: %v and %v", snap.Generation(), c.Kind, w.Kind)
					return
				}
				if m := snap.Lookup("h42.lab.test."); m.Kind != Exact || m.Records[0].Value() != "10.0.0.42" {
					errs <- fmt.Errorf("generation %d: h42 = %+v", snap.Generation(), m)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(1+writes), s.Snapshot().Generation())
	assert.Equal(t, NotFound, s.Snapshot().Lookup("c.docker.test.").Kind)
}

func TestModule(t *testing.T) {
	var s *Store
	app := fxtest.New(t, Module, fx.Populate(&s))
	app.RequireStart()
	require.NotNil(t, s)
	assert.Zero(t, s.Snapshot().Len())
	app.RequireStop()
}

func TestMatchKindString(t *testing.T) {
	assert.Equal(t, "NotFound", NotFound.String())
	assert.Equal(t, "Exact", Exact.String())
	assert.Equal(t, "EmptyNonTerminal", EmptyNonTerminal.String())
	assert.Equal(t, "Wildcard", Wildcard.String())
	assert.Equal(t, "MatchKind(9)", MatchKind(9).String())
}
