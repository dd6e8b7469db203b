package dnsstore

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHAMT checks the trie against a map through random batches of sets and deletes, with hash functions
// that force deep paths and full 64-bit collisions, and checks that every earlier version is unchanged.
func TestHAMT(t *testing.T) {
	seed := maphash.MakeSeed()
	hashes := []struct {
		name string
		hash func(string) uint64
	}{
		{"maphash", func(k string) uint64 { return maphash.String(seed, k) }},
		// Only 8 distinct hashes: most keys share their whole path and end in collision lists.
		{"8 values", func(k string) uint64 { return maphash.String(seed, k) & 7 << 61 }},
		// Hashes equal in their low 60 bits: every key goes down to the last level before branching.
		{"deep", func(k string) uint64 { return maphash.String(seed, k) >> 60 << 60 }},
		{"constant", func(string) uint64 { return 42 }},
	}
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			m := hamt[int]{hash: h.hash}
			model := map[string]int{}
			type version struct {
				m     hamt[int]
				model map[string]int
			}
			var versions []version
			for batch := range 60 {
				txn := m.txn()
				for range rng.IntN(40) {
					k := fmt.Sprintf("k%d", rng.IntN(300))
					if rng.IntN(3) == 0 {
						txn.delete(k)
						delete(model, k)
						continue
					}
					v := rng.Int()
					if rng.IntN(2) == 0 {
						txn.set(k, v)
					} else {
						p, existed := txn.ref(k)
						_, inModel := model[k]
						require.Equal(t, inModel, existed, "ref(%q) existed", k)
						*p = v
					}
					model[k] = v
				}
				m = txn.commit()
				versions = append(versions, version{m, maps.Clone(model)})
				requireHAMTEqual(t, m, model, fmt.Sprintf("batch %d", batch))
			}
			for i, v := range versions {
				requireHAMTEqual(t, v.m, v.model, fmt.Sprintf("version %d after all batches", i))
			}
		})
	}
}

func requireHAMTEqual(t *testing.T, m hamt[int], model map[string]int, msg string) {
	t.Helper()
	require.Equal(t, len(model), m.len(), msg)
	got := map[string]int{}
	m.each(func(k string, v int) bool {
		_, dup := got[k]
		require.False(t, dup, "%s: key %q listed twice", msg, k)
		got[k] = v
		return true
	})
	require.Equal(t, model, got, msg)
	for k, v := range model {
		gv, ok := m.get(k)
		require.True(t, ok, "%s: get(%q)", msg, k)
		require.Equal(t, v, gv, "%s: get(%q)", msg, k)
	}
	for i := range 300 {
		k := fmt.Sprintf("k%d", i)
		if _, ok := model[k]; !ok {
			_, ok := m.get(k)
			require.False(t, ok, "%s: get(%q) of a deleted key", msg, k)
		}
	}
}

func TestHAMTDeleteCollapses(t *testing.T) {
	m := newHAMT[int](maphash.MakeSeed())
	txn := m.txn()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
		txn.set(keys[i], i)
	}
	full := txn.commit()
	txn = full.txn()
	for _, k := range keys[1:] {
		txn.delete(k)
	}
	one := txn.commit()
	// A single remaining key is pulled up to the root, so the trie holds no empty subtrees.
	require.NotNil(t, one.root)
	require.Len(t, one.root.slots, 1)
	assert.Nil(t, one.root.slots[0].sub)
	v, ok := one.get("0")
	assert.True(t, ok)
	assert.Equal(t, 0, v)

	txn = one.txn()
	txn.delete("0")
	txn.delete("absent")
	empty := txn.commit()
	assert.Nil(t, empty.root)
	assert.Equal(t, 0, empty.len())
	assert.Equal(t, 1000, full.len(), "the first version is untouched")
}

func TestHAMTEachStops(t *testing.T) {
	m := newHAMT[int](maphash.MakeSeed())
	txn := m.txn()
	for i := range 100 {
		txn.set(fmt.Sprint(i), i)
	}
	m = txn.commit()
	var seen []string
	m.each(func(k string, _ int) bool {
		seen = append(seen, k)
		return len(seen) < 3
	})
	assert.Len(t, seen, 3)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(seen))), 3)
}
