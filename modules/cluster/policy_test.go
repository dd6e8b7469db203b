package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The same name from several nodes: every node gives the same answer under each policy, and the losers' records
// return when the winner's go.
func TestPolicies(t *testing.T) {
	tests := []struct {
		policy string
		want   []string // what app.lab.test answers while a and b both publish it (b after a)
		after  []string // after the winner withdraws its record
	}{
		{"all", []string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.1"}}, // b withdraws
		{"newest", []string{"10.0.0.2"}, []string{"10.0.0.1"}},          // b, the newest, withdraws
		{"priority", []string{"10.0.0.1"}, []string{"10.0.0.2"}},        // a, priority 10, withdraws
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			tc := newTestCluster(t)
			prio := map[string]int{"a": 10, "b": 1, "c": 5}
			for _, name := range []string{"a", "b", "c"} {
				tc.add(name, func(c *Config) { c.Policy, c.Priority = tt.policy, prio[name] })
			}
			tc.members(3, 5*time.Second)
			a, b := tc.nodes[0], tc.nodes[1]
			a.set("docker:1", "app.lab.test=10.0.0.1")
			tc.converge([]string{"app.lab.test=10.0.0.1"}, 3*time.Second)
			time.Sleep(5 * time.Millisecond) // b's record is set at a later millisecond
			b.set("docker:1", "app.lab.test=10.0.0.2")
			tc.converge([]string{"app.lab.test=10.0.0.1", "app.lab.test=10.0.0.2"}, 3*time.Second)
			tc.answer("app.lab.test", tt.want, 3*time.Second)
			if tt.policy == "priority" {
				a.set("docker:1")
			} else {
				b.set("docker:1")
			}
			tc.answer("app.lab.test", tt.after, 3*time.Second)
		})
	}
}

// answer waits until every running node answers name with want.
func (tc *testCluster) answer(name string, want []string, within time.Duration) {
	tc.t.Helper()
	var got []string
	ok := waitFor(within, func() bool {
		got = nil
		for _, n := range tc.nodes {
			if n.c != nil {
				l := n.lookup(name)
				got = append(got, n.name+":"+strings.Join(l, ","))
				if !slices.Equal(l, want) {
					return false
				}
			}
		}
		return true
	})
	require.True(tc.t, ok, "%s: want %v on every node, got %v", name, want, got)
}
