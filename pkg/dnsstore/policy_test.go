package dnsstore

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is the time the policy tests' records are set at, by their owner, in minutes after it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func minute(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

// put is one ReplaceOwnedFrom of a policy test: records at web.test., each address set at its own minute.
type put struct {
	source string
	origin Origin
	addrs  map[string]int // address → minute set at
}

func (p put) records(t *testing.T) []Record {
	var recs []Record
	for addr, m := range p.addrs {
		recs = append(recs, rec(t, "web.test", "A", addr, 60).WithSetAt(minute(m)))
	}
	return recs
}

// answered returns the addresses web.test. answers, sorted.
func answered(s *Store) []string {
	var out []string
	for _, r := range s.Snapshot().Lookup("web.test.").Records {
		out = append(out, r.Value())
	}
	return out
}

func TestPolicy(t *testing.T) {
	local := Origin{Node: "self", Priority: 5}
	tests := []struct {
		name   string
		policy Policy
		puts   []put
		want   []string
	}{
		{"all answers every node", All, []put{
			{"docker:a", Origin{}, map[string]int{"10.0.0.1": 1}},
			{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 2}},
		}, []string{"10.0.0.1", "10.0.0.2"}},
		{"newest: the node that set the name last", Newest, []put{
			{"docker:a", Origin{}, map[string]int{"10.0.0.1": 1}},
			{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 2}},
			{"node:beta/docker:c", Origin{"beta", 9}, map[string]int{"10.0.0.3": 0}},
		}, []string{"10.0.0.2"}},
		{"newest: a node's latest record counts", Newest, []put{
			{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 2}},
			{"node:beta/docker:c", Origin{"beta", 1}, map[string]int{"10.0.0.3": 0, "10.0.0.4": 3}},
		}, []string{"10.0.0.3", "10.0.0.4"}},
		{"newest: a tie goes to the lowest node ID", Newest, []put{
			{"node:beta/docker:c", Origin{"beta", 1}, map[string]int{"10.0.0.3": 2}},
			{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 2}},
		}, []string{"10.0.0.2"}},
		{"priority: the highest, however old", Priority, []put{
			{"docker:a", Origin{}, map[string]int{"10.0.0.1": 9}},
			{"node:alpha/docker:b", Origin{"alpha", 7}, map[string]int{"10.0.0.2": 1}},
			{"node:beta/docker:c", Origin{"beta", 6}, map[string]int{"10.0.0.3": 9}},
		}, []string{"10.0.0.2"}},
		{"priority: this node's from SetPolicy", Priority, []put{
			{"docker:a", Origin{}, map[string]int{"10.0.0.1": 1}},
			{"node:alpha/docker:b", Origin{"alpha", 4}, map[string]int{"10.0.0.2": 2}},
		}, []string{"10.0.0.1"}},
		{"priority: equals go to the newest", Priority, []put{
			{"node:alpha/docker:b", Origin{"alpha", 3}, map[string]int{"10.0.0.2": 1}},
			{"node:beta/docker:c", Origin{"beta", 3}, map[string]int{"10.0.0.3": 2}},
		}, []string{"10.0.0.3"}},
		{"priority: equals of one time go to the lowest node ID", Priority, []put{
			{"node:beta/docker:c", Origin{"beta", 3}, map[string]int{"10.0.0.3": 2}},
			{"node:alpha/docker:b", Origin{"alpha", 3}, map[string]int{"10.0.0.2": 2}},
		}, []string{"10.0.0.2"}},
		{"a node's sources are answered together", Newest, []put{
			{"docker:a", Origin{}, map[string]int{"10.0.0.1": 5}},
			{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 6}},
			{"node:alpha/hosts:/etc/hosts", Origin{"alpha", 1}, map[string]int{"10.0.0.3": 0}},
		}, []string{"10.0.0.2", "10.0.0.3"}},
		{"one node's sources only: merged as under all", Priority, []put{
			{"docker:a", Origin{}, map[string]int{"10.0.0.1": 1}},
			{"hosts:/etc/hosts", Origin{}, map[string]int{"10.0.0.2": 2}},
		}, []string{"10.0.0.1", "10.0.0.2"}},
	}
	for _, tt := range tests {
		for _, policyFirst := range []bool{true, false} {
			name := tt.name + "/policy set before the records"
			if !policyFirst {
				name = tt.name + "/policy set after the records"
			}
			t.Run(name, func(t *testing.T) {
				s := New()
				if policyFirst {
					s.SetPolicy(tt.policy, local)
				}
				for _, p := range tt.puts {
					require.False(t, s.ReplaceOwnedFrom(p.source, p.origin, p.records(t)).Empty())
				}
				if !policyFirst {
					s.SetPolicy(tt.policy, local)
				}
				assert.Equal(t, tt.want, answered(s))
				var reverse []string
				for _, p := range tt.puts {
					for addr := range p.addrs {
						if len(s.Snapshot().Reverse(netip.MustParseAddr(addr))) > 0 {
							reverse = append(reverse, addr)
						}
					}
				}
				slices.Sort(reverse)
				assert.Equal(t, tt.want, reverse, "the addresses with a PTR answer are those answered")
				assert.Equal(t, len(tt.puts), len(s.Snapshot().Sources()), "a policy hides no source")
			})
		}
	}
}

// TestPolicyWinnerRemoved: the records a policy left out come back when the chosen node's go, whether the
// sources have a bulk index or not.
func TestPolicyWinnerRemoved(t *testing.T) {
	for _, bulkMin := range []int{defaultBulkMin, 1} {
		t.Run(fmt.Sprintf("bulkMin=%d", bulkMin), func(t *testing.T) {
			s := New()
			s.bulkMin = bulkMin
			s.SetPolicy(Newest, Origin{Node: "self"})
			old := put{"node:alpha/docker:b", Origin{"alpha", 0}, map[string]int{"10.0.0.2": 1}}
			winner := put{"node:beta/docker:c", Origin{"beta", 0}, map[string]int{"10.0.0.3": 2}}
			s.ReplaceOwnedFrom(old.source, old.origin, old.records(t))
			s.ReplaceOwnedFrom(winner.source, winner.origin, winner.records(t))
			require.Equal(t, []string{"10.0.0.3"}, answered(s))
			assert.Empty(t, s.Snapshot().Reverse(netip.MustParseAddr("10.0.0.2")), "a losing bulk source's name has no PTR")

			s.ReplaceOwnedFrom(winner.source, winner.origin, nil)
			assert.Equal(t, []string{"10.0.0.2"}, answered(s))
			assert.Equal(t, []string{"web.test."}, s.Snapshot().Reverse(netip.MustParseAddr("10.0.0.2")))
		})
	}
}

// TestOriginChange: a source replaced with the same records and another origin changes no record but is weighed
// again, in a new snapshot.
func TestOriginChange(t *testing.T) {
	s := New()
	s.SetPolicy(Priority, Origin{Node: "self", Priority: 5})
	s.Replace("docker:a", []Record{rec(t, "web.test", "A", "10.0.0.1", 60)})
	peer := put{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 1}}
	s.ReplaceOwnedFrom(peer.source, peer.origin, peer.records(t))
	require.Equal(t, []string{"10.0.0.1"}, answered(s))

	tests := []struct {
		name    string
		origin  Origin
		want    []string
		wantGen bool // a new snapshot
	}{
		{"same origin: nothing", Origin{"alpha", 1}, []string{"10.0.0.1"}, false},
		{"higher priority wins", Origin{"alpha", 6}, []string{"10.0.0.2"}, true},
		{"this node's own origin: answered together", Origin{"self", 5}, []string{"10.0.0.1", "10.0.0.2"}, true},
		{"the zero origin is this node's", Origin{}, []string{"10.0.0.1", "10.0.0.2"}, true},
		{"back to low", Origin{"alpha", 1}, []string{"10.0.0.1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := s.Snapshot().Generation()
			d := s.ReplaceOwnedFrom(peer.source, tt.origin, peer.records(t))
			assert.True(t, d.Empty(), "no record changed")
			assert.Equal(t, tt.want, answered(s))
			assert.Equal(t, tt.wantGen, s.Snapshot().Generation() > gen)
		})
	}
}

// TestSetPolicy: SetPolicy re-weighs the names already stored, only when it changes something.
func TestSetPolicy(t *testing.T) {
	s := New()
	s.Replace("docker:a", []Record{rec(t, "web.test", "A", "10.0.0.1", 60)})
	peer := put{"node:alpha/docker:b", Origin{"alpha", 1}, map[string]int{"10.0.0.2": 1}}
	s.ReplaceOwnedFrom(peer.source, peer.origin, peer.records(t))
	steps := []struct {
		name    string
		policy  Policy
		local   Origin
		want    []string
		wantGen bool
	}{
		{"all is the default", All, Origin{}, []string{"10.0.0.1", "10.0.0.2"}, false},
		{"priority, this node higher", Priority, Origin{"self", 2}, []string{"10.0.0.1"}, true},
		{"the same again", Priority, Origin{"self", 2}, []string{"10.0.0.1"}, false},
		{"this node's priority lowered", Priority, Origin{"self", 0}, []string{"10.0.0.2"}, true},
		{"all again", All, Origin{"self", 0}, []string{"10.0.0.1", "10.0.0.2"}, true},
	}
	for _, st := range steps {
		gen := s.Snapshot().Generation()
		s.SetPolicy(st.policy, st.local)
		assert.Equal(t, st.want, answered(s), st.name)
		assert.Equal(t, st.wantGen, s.Snapshot().Generation() > gen, st.name)
		assert.Equal(t, 2, s.Snapshot().Len(), st.name)
	}
}

// TestReplaceKeepsGivenSetAt: a record given its owner's SetAt is stored with it, and a new time for the same
// record is an update; records without one are stamped as before.
func TestReplaceKeepsGivenSetAt(t *testing.T) {
	now := minute(100)
	a := func(t *testing.T, ttl uint32) Record { return rec(t, "a.test", "A", "10.0.0.1", ttl) }
	tests := []struct {
		name        string
		before      func(t *testing.T) []Record
		recs        func(t *testing.T) []Record
		wantSetAt   time.Time
		wantUpdated bool
	}{
		{"given: kept", nil, func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(1))} }, minute(1), false},
		{"none: now", nil, func(t *testing.T) []Record { return []Record{a(t, 60)} }, now, false},
		{"zero given: now", nil, func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(time.Time{})} }, now, false},
		{"given in another zone: UTC", nil, func(t *testing.T) []Record {
			return []Record{a(t, 60).WithSetAt(minute(1).In(time.FixedZone("X", 3600)))}
		}, minute(1), false},
		{"a new time is an update",
			func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(1))} },
			func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(2))} }, minute(2), true},
		{"the same time is no change",
			func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(1))} },
			func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(1))} }, minute(1), false},
		{"no time keeps the stored one",
			func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(1))} },
			func(t *testing.T) []Record { return []Record{a(t, 60)} }, minute(1), false},
		{"a TTL change without a time: now",
			func(t *testing.T) []Record { return []Record{a(t, 60).WithSetAt(minute(1))} },
			func(t *testing.T) []Record { return []Record{a(t, 30)} }, now, true},
		{"duplicates: the lowest TTL, then the latest time", nil, func(t *testing.T) []Record {
			return []Record{a(t, 60).WithSetAt(minute(9)), a(t, 30).WithSetAt(minute(1)), a(t, 30).WithSetAt(minute(3)), a(t, 30)}
		}, minute(3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			s.now = func() time.Time { return now }
			if tt.before != nil {
				s.Replace("src", tt.before(t))
			}
			d := s.Replace("src", tt.recs(t))
			assert.Equal(t, tt.wantUpdated, len(d.Updated) == 1)
			got := s.Snapshot().SourceRecords("src")
			require.Len(t, got, 1)
			assert.Equal(t, tt.wantSetAt, got[0].SetAt())
			assert.Equal(t, time.UTC, got[0].SetAt().Location())
			assert.Equal(t, "src", got[0].Source())
		})
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    Policy
		wantErr bool
	}{
		{"all", All, false},
		{"Newest", Newest, false},
		{"priority", Priority, false},
		{"oldest", All, true},
		{"", All, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePolicy(tt.in)
			assert.Equal(t, tt.wantErr, err != nil, err)
			assert.Equal(t, tt.want, p)
			if !tt.wantErr {
				again, err := ParsePolicy(p.String())
				require.NoError(t, err)
				assert.Equal(t, p, again)
			}
		})
	}
	assert.Equal(t, "Policy(7)", Policy(7).String())
}
