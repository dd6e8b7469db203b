package cluster

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// history is one owner's changes, as the owner makes them: deltas with counters 1..n, and the owner's full state
// after each change, with its tombstones collected (the worst case for a receiver).
type history struct {
	epoch  uint64
	deltas []wireSource
	states []wireOwner
	final  map[string][]wireRecord
}

func makeHistory(r *rand.Rand, epoch uint64, changes, sources int) history {
	h := history{epoch: epoch, final: map[string][]wireRecord{}}
	for c := 1; c <= changes; c++ {
		src := fmt.Sprintf("docker:%d", r.IntN(sources))
		s := wireSource{Source: src, Counter: uint64(c)}
		if r.IntN(3) == 0 {
			s.Deleted = true
			delete(h.final, src)
		} else {
			s.Records = []wireRecord{{Name: fmt.Sprintf("n%d.lab.test.", c), Type: "A", Value: "10.0.0.1", TTL: 60}}
			h.final[src] = s.Records
		}
		h.deltas = append(h.deltas, s)
		st := wireOwner{Node: "o", Epoch: epoch, Head: uint64(c)}
		for _, name := range slices.Sorted(maps.Keys(h.final)) {
			st.Sources = append(st.Sources, wireSource{Source: name, Counter: lastChange(h.deltas, name), Records: h.final[name]})
		}
		h.states = append(h.states, st)
	}
	return h
}

func lastChange(ds []wireSource, src string) uint64 {
	var c uint64
	for _, d := range ds {
		if d.Source == src {
			c = d.Counter
		}
	}
	return c
}

func live(o *ownerState) map[string][]wireRecord {
	out := map[string][]wireRecord{}
	for name, e := range o.sources {
		if !e.deleted {
			out[name] = e.records
		}
	}
	return out
}

// Whatever the order in which deltas and full states (current or stale) arrive, and whichever tombstones were
// collected meanwhile, a copy that received the owner's last change ends as the owner is: no deleted source
// comes back, no live one is missing.
func TestMergeOrderDoesNotMatter(t *testing.T) {
	for seed := range 300 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		h := makeHistory(r, 100, 1+r.IntN(30), 1+r.IntN(6))
		type msg struct {
			delta *wireSource
			state *wireOwner
		}
		var msgs []msg
		for i := range h.deltas {
			if r.IntN(4) != 0 || i == len(h.deltas)-1 {
				msgs = append(msgs, msg{delta: &h.deltas[i]})
			}
			if r.IntN(3) == 0 {
				msgs = append(msgs, msg{state: &h.states[i]})
			}
		}
		r.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
		// The last change alone may not complete the copy (deltas were lost): the final state, as a pull would
		// fetch it, arrives somewhere in the sequence.
		at := r.IntN(len(msgs) + 1)
		final := h.states[len(h.states)-1]
		msgs = slices.Insert(msgs, at, msg{state: &final})

		o := newOwner(0, 0)
		now := time.Unix(0, 0)
		for i, m := range msgs {
			if m.delta != nil {
				o.applyDelta(h.epoch, 0, *m.delta, now)
			} else {
				o.merge(*m.state, now)
			}
			if r.IntN(5) == 0 {
				o.collect(now.Add(time.Duration(i+1) * time.Second)) // collect every tombstone so far
			}
		}
		require.Equal(t, h.final, live(o), "seed %d", seed)
		require.Equal(t, uint64(len(h.deltas)), o.head, "seed %d: head", seed)
	}
}

// Two copies exchanging full states in either order end equal (push/pull is symmetric).
func TestMergeIsSymmetric(t *testing.T) {
	for seed := range 200 {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		h := makeHistory(r, 5, 2+r.IntN(20), 1+r.IntN(5))
		a, b := newOwner(0, 0), newOwner(0, 0)
		now := time.Unix(0, 0)
		for _, d := range h.deltas {
			switch r.IntN(3) {
			case 0:
				a.applyDelta(h.epoch, 0, d, now)
			case 1:
				b.applyDelta(h.epoch, 0, d, now)
			default:
				a.applyDelta(h.epoch, 0, d, now)
				b.applyDelta(h.epoch, 0, d, now)
			}
		}
		wa, wb := a.wire("o"), b.wire("o")
		if a.epoch != 0 {
			b.merge(wa, now)
		}
		if b.epoch != 0 {
			a.merge(wb, now)
		}
		require.Equal(t, live(a), live(b), "seed %d", seed)
	}
}

func TestApplyDelta(t *testing.T) {
	rec := []wireRecord{{Name: "a.lab.test.", Type: "A", Value: "10.0.0.1", TTL: 60}}
	now := time.Unix(0, 0)
	tests := []struct {
		name string
		prep func(*ownerState)
		// the delta
		epoch uint64
		src   wireSource
		want  deltaResult
	}{
		{"first", func(*ownerState) {}, 1, wireSource{Source: "docker:a", Counter: 1, Records: rec}, deltaApplied},
		{"duplicate", func(o *ownerState) {
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 1, Records: rec}, now)
		}, 1, wireSource{Source: "docker:a", Counter: 1, Records: rec}, deltaStale},
		{"older epoch", func(o *ownerState) {
			o.applyDelta(2, 0, wireSource{Source: "docker:a", Counter: 1, Records: rec}, now)
		}, 1, wireSource{Source: "docker:a", Counter: 5, Records: rec}, deltaStale},
		{"stale add after a delete", func(o *ownerState) {
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 1, Records: rec}, now)
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 2, Deleted: true}, now)
		}, 1, wireSource{Source: "docker:a", Counter: 1, Records: rec}, deltaStale},
		{"stale add after the tombstone is collected", func(o *ownerState) {
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 1, Records: rec}, now)
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 2, Deleted: true}, now)
			o.collect(now.Add(time.Second))
		}, 1, wireSource{Source: "docker:a", Counter: 1, Records: rec}, deltaStale},
		{"later epoch while records are held: pull", func(o *ownerState) {
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 1, Records: rec}, now)
		}, 2, wireSource{Source: "docker:b", Counter: 1, Records: rec}, deltaNewer},
		{"later epoch with nothing held", func(o *ownerState) {
			o.applyDelta(1, 0, wireSource{Source: "docker:a", Counter: 1, Deleted: true}, now)
		}, 2, wireSource{Source: "docker:b", Counter: 1, Records: rec}, deltaApplied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOwner(0, 0)
			tt.prep(o)
			require.Equal(t, tt.want, o.applyDelta(tt.epoch, 0, tt.src, now))
		})
	}
}

// A later epoch replaces the copy wholesale: what the restarted owner no longer has is gone.
func TestMergeLaterEpochReplaces(t *testing.T) {
	rec := []wireRecord{{Name: "a.lab.test.", Type: "A", Value: "10.0.0.1", TTL: 60}}
	o := newOwner(0, 0)
	now := time.Unix(0, 0)
	o.merge(wireOwner{Node: "o", Epoch: 1, Head: 3, Sources: []wireSource{{Source: "docker:old", Counter: 3, Records: rec}}}, now)
	require.True(t, o.merge(wireOwner{Node: "o", Epoch: 2, Head: 1, Sources: []wireSource{{Source: "docker:new", Counter: 1, Records: rec}}}, now))
	require.Equal(t, map[string][]wireRecord{"docker:new": rec}, live(o))
	require.False(t, o.merge(wireOwner{Node: "o", Epoch: 1, Head: 9, Sources: []wireSource{{Source: "docker:old", Counter: 9, Records: rec}}}, now),
		"an older epoch changed the copy")
}
