package hosts

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
)

func TestPackRoundTrip(t *testing.T) {
	recs := []events.Record{
		a("web.lan", "10.0.0.1"),
		aaaa("web.lan", "fd00::1"),
		aaaa("mapped.lan", "::ffff:10.0.0.1"), // stays AAAA: only Records unmaps
		a(string(make([]byte, 250))+"x", "0.0.0.0"),
	}
	p := pack(recs)
	assert.Equal(t, recs, p.records(60, len(recs)))
	assert.Equal(t, recs[:2], p.records(60, 2), "limit")
	assert.Empty(t, packed(nil).records(60, 10))
}

// TestDiffPackedMatchesDiff compares diffPacked with diff, which works on whole lists and is tested on its own,
// over random pairs of loads drawn from a small set of records, so that loads share most records, edit
// addresses in place, and reorder lines.
func TestDiffPackedMatchesDiff(t *testing.T) {
	var universe []events.Record
	for i := range 6 {
		name := fmt.Sprintf("h%d.lan", i)
		universe = append(universe, a(name, "10.0.0.1"), a(name, "10.0.0.2"), aaaa(name, "fd00::1"))
	}
	rng := rand.New(rand.NewPCG(3, 5))
	load := func() []events.Record {
		var out []events.Record
		for _, i := range rng.Perm(len(universe))[:rng.IntN(len(universe)+1)] {
			out = append(out, universe[i])
		}
		return out
	}
	for step := range 500 {
		prev, next := load(), load()
		if step%5 == 0 {
			next = append([]events.Record(nil), prev...) // unchanged
		}
		require.Equal(t, diff(prev, next), diffPacked(pack(prev), pack(next), 60), "prev %v, next %v", prev, next)
	}
}

// TestAllChangedMatchesDiff: for a file whose records all came or went, allChanged is diff's result, cut.
func TestAllChangedMatchesDiff(t *testing.T) {
	recs := []events.Record{a("b.lan", "10.0.0.2"), a("a.lan", "10.0.0.1"), aaaa("a.lan", "fd00::1")}
	for _, limit := range []int{1, len(recs), 10} {
		w := &watcher{cfg: Config{TTL: 60, MaxRecordEvents: limit}}
		n := min(limit, len(recs))
		assert.Equal(t, diff(nil, recs)[:n], w.allChanged(events.RecordAdded, pack(recs)), "added, limit %d", limit)
		assert.Equal(t, diff(recs, nil)[:n], w.allChanged(events.RecordRemoved, pack(recs)), "removed, limit %d", limit)
	}
}

// TestKeep: what keep compresses comes back as it was, and a large list is kept smaller than it is.
func TestKeep(t *testing.T) {
	many := func(n int) packed {
		recs := make([]events.Record, n)
		for i := range recs {
			recs[i] = a(fmt.Sprintf("host-%d.bench.test", i), fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255))
		}
		return pack(recs)
	}
	for _, tc := range []struct {
		name     string
		p        packed
		deflated bool
	}{
		{"empty", nil, false},
		{"small", many(10), false},
		{"large", many(20_000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := keep(tc.p)
			assert.Equal(t, tc.deflated, k.deflated())
			if tc.deflated {
				assert.Less(t, len(k.data), len(tc.p)/4, "a hosts file's records compress well")
			}
			got, err := k.packed()
			require.NoError(t, err)
			assert.Equal(t, tc.p, got)
		})
	}
}

// TestKeptDamaged: a damaged compressed form is an error, not a wrong list.
func TestKeptDamaged(t *testing.T) {
	recs := make([]events.Record, 5_000)
	for i := range recs {
		recs[i] = a(fmt.Sprintf("h%d.lan", i), "10.0.0.1")
	}
	k := keep(pack(recs))
	require.True(t, k.deflated())
	for _, tc := range []struct {
		name string
		k    kept
	}{
		{"truncated", kept{data: k.data[:len(k.data)/2], size: k.size}},
		{"shorter than said", kept{data: k.data, size: k.size + 1}},
		{"longer than said", kept{data: k.data, size: k.size - 1}},
		{"not deflate", kept{data: []byte{0xff, 0xff, 0xff}, size: deflateMin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.packed()
			assert.ErrorContains(t, err, "inflating the kept records")
		})
	}
}
