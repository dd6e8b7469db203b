package cluster

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// ownerState is this node's copy of one owner's sources: the owner's epoch (its boot), and per source the
// version (the owner's change counter) of the latest change known, its records or a tombstone.
//
// head is how far the copy is complete: every change of the owner up to head is reflected in it. The owner's own
// copy is always complete; a copy advances head by a full state (push/pull) or by the delta right after head.
// It is what lets deletions win without tombstones kept forever: a source this copy lacks although its version is
// at most head was deleted (or changed again) since, so an older copy that still has it is stale, and a copy
// complete to a later version that lacks a source this copy has proves that source gone. Tombstones are then
// only needed by copies older than the deletion, and are collected after tombstone_ttl.
//
// Merging follows from that and does not depend on the order in which messages arrive: a later epoch replaces a
// full state wholesale; within an epoch every source keeps its highest version.
type ownerState struct {
	epoch    uint64
	head     uint64
	priority int
	sources  map[string]*entry
	// created is when this node made the copy: a copy of a node that never becomes a member (a relay's stale
	// state, a forgery) is dropped after tombstone_ttl.
	created time.Time
}

type entry struct {
	counter uint64
	deleted bool
	records []wireRecord
	// since is when this node learned the tombstone: tombstones are collected tombstone_ttl after it.
	since time.Time
}

func newOwner(epoch uint64, priority int) *ownerState {
	return &ownerState{epoch: epoch, priority: priority, sources: make(map[string]*entry)}
}

// deltaResult is what applying a delta did.
type deltaResult int

const (
	deltaStale   deltaResult = iota // known already, or older than what is known
	deltaApplied                    // new: the copy changed (and the delta is worth relaying)
	deltaNewer                      // from a later epoch than the copy: pull the owner's full state
)

// applyDelta applies one source of an owner at one version.
func (o *ownerState) applyDelta(epoch uint64, priority int, s wireSource, now time.Time) deltaResult {
	switch {
	case epoch < o.epoch:
		return deltaStale
	case epoch > o.epoch:
		if o.hasLive() {
			// Replacing the copy with one source would withdraw every other record of the owner until its full
			// state arrives; the old copy stays until then.
			return deltaNewer
		}
		o.reset(epoch, priority)
	}
	cur, ok := o.sources[s.Source]
	if (ok && cur.counter >= s.Counter) || (!ok && s.Counter <= o.head) {
		return deltaStale
	}
	o.sources[s.Source] = newEntry(s, now)
	o.priority = priority
	o.advance()
	return deltaApplied
}

// reset empties the copy for a new epoch of its owner.
func (o *ownerState) reset(epoch uint64, priority int) {
	o.epoch, o.head, o.priority = epoch, 0, priority
	o.sources = make(map[string]*entry)
}

// merge merges a full state (or a relay's copy) of the owner and reports whether the copy changed.
func (o *ownerState) merge(r wireOwner, now time.Time) bool {
	switch {
	case r.Epoch < o.epoch:
		return false
	case r.Epoch > o.epoch:
		o.reset(r.Epoch, r.Priority)
		o.head = r.Head
		for _, s := range r.Sources {
			o.sources[s.Source] = newEntry(s, now)
		}
		o.advance()
		return true
	}
	changed := false
	in := make(map[string]struct{}, len(r.Sources))
	for _, s := range r.Sources {
		in[s.Source] = struct{}{}
		cur, ok := o.sources[s.Source]
		if (ok && cur.counter >= s.Counter) || (!ok && s.Counter <= o.head) {
			continue
		}
		o.sources[s.Source] = newEntry(s, now)
		changed = true
	}
	for name, e := range o.sources {
		if _, ok := in[name]; !ok && e.counter <= r.Head {
			// The remote copy is complete to r.Head and no longer has it: it was deleted and its tombstone
			// collected.
			delete(o.sources, name)
			changed = changed || !e.deleted
		}
	}
	if r.Head > o.head {
		o.head = r.Head
	}
	if o.priority != r.Priority && r.Head >= o.head {
		o.priority, changed = r.Priority, true
	}
	o.advance()
	return changed
}

// advance moves head over the versions right after it that the copy holds: each version is one change to one
// source, so holding version head+1 means holding every change up to it.
func (o *ownerState) advance() {
	var above []uint64
	for _, e := range o.sources {
		if e.counter > o.head {
			above = append(above, e.counter)
		}
	}
	slices.Sort(above)
	for _, c := range above {
		if c != o.head+1 {
			return
		}
		o.head = c
	}
}

// collect drops tombstones learned before cutoff.
func (o *ownerState) collect(cutoff time.Time) {
	maps.DeleteFunc(o.sources, func(_ string, e *entry) bool { return e.deleted && e.since.Before(cutoff) })
}

func (o *ownerState) hasLive() bool {
	for _, e := range o.sources {
		if !e.deleted {
			return true
		}
	}
	return false
}

// wire returns the copy as a full state.
func (o *ownerState) wire(node string) wireOwner {
	w := wireOwner{Node: node, Epoch: o.epoch, Head: o.head, Priority: o.priority, Sources: make([]wireSource, 0, len(o.sources))}
	for name, e := range o.sources {
		w.Sources = append(w.Sources, wireSource{Source: name, Counter: e.counter, Deleted: e.deleted, Records: e.records})
	}
	slices.SortFunc(w.Sources, func(a, b wireSource) int { return strings.Compare(a.Source, b.Source) })
	return w
}

// records counts the live records of the copy.
func (o *ownerState) records() int {
	n := 0
	for _, e := range o.sources {
		n += len(e.records)
	}
	return n
}

func newEntry(s wireSource, now time.Time) *entry {
	e := &entry{counter: s.Counter, deleted: s.Deleted, records: s.Records}
	if s.Deleted {
		e.records, e.since = nil, now
	}
	return e
}
