package cluster

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
)

func testKey(b byte) string {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return base64.StdEncoding.EncodeToString(k)
}

// A node with another key, or none, can neither join a keyed cluster nor put a record in it.
func TestWrongKeyCannotJoin(t *testing.T) {
	for _, key := range []string{testKey(2), ""} {
		t.Run("key="+key[:min(4, len(key))], func(t *testing.T) {
			tc := newTestCluster(t)
			keyed := func(c *Config) { c.Key = testKey(1) }
			a := tc.add("a", keyed)
			tc.add("b", keyed)
			tc.members(2, 5*time.Second)
			a.set("docker:1", "a.lab.test=10.0.0.1")
			intruder := tc.add("x", func(c *Config) { c.Key = key })
			intruder.set("docker:1", "evil.lab.test=10.6.6.6")
			time.Sleep(time.Second) // rejoin attempts happen meanwhile (rejoin_interval 1 s)
			for _, n := range tc.nodes[:2] {
				require.Equal(t, 2, n.c.ml.NumMembers(), "%s let the intruder in", n.name)
				require.Equal(t, []string{"a.lab.test=10.0.0.1"}, n.answers(), n.name)
			}
		})
	}
}

// Key rotation without downtime through the keyring file: add the new key everywhere, make it primary, remove
// the old one; changes keep flowing at every step, and at the end a node with only the old key is shut out.
func TestKeyRotation(t *testing.T) {
	old := keyringPoll
	keyringPoll = 50 * time.Millisecond
	t.Cleanup(func() { keyringPoll = old })
	dir := t.TempDir()
	tc := newTestCluster(t)
	var files []string
	write := func(keys ...string) {
		for _, f := range files {
			require.NoError(t, os.WriteFile(f, []byte(strings.Join(keys, "\n")+"\n"), 0o600))
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		f := filepath.Join(dir, name)
		files = append(files, f)
		require.NoError(t, os.WriteFile(f, []byte(testKey(1)+"\n"), 0o600))
		tc.add(name, func(c *Config) { c.KeyringFile = f })
	}
	tc.members(3, 5*time.Second)
	a := tc.nodes[0]
	steps := [][]string{{testKey(1), testKey(2)}, {testKey(2), testKey(1)}, {testKey(2)}}
	var want []string
	for i, keys := range steps {
		write(keys...)
		time.Sleep(200 * time.Millisecond) // every node reads its file again (every 50 ms here)
		rec := "step" + string(rune('0'+i)) + ".lab.test=10.0.0.1"
		want = append(want, rec)
		a.set("docker:"+string(rune('0'+i)), rec)
		tc.converge(want, 5*time.Second)
		tc.members(3, time.Second)
	}
	stale := tc.add("old", func(c *Config) { c.Key = testKey(1) })
	stale.set("docker:1", "stale.lab.test=10.6.6.6")
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 3, a.c.ml.NumMembers())
	require.Equal(t, want, a.answers())
}

// rogue is a memberlist node that is not Joyride: its push/pull state and its messages are whatever a test says.
type rogue struct {
	mu    sync.Mutex
	state []byte
}

func (r *rogue) NodeMeta(int) []byte             { return nil }
func (r *rogue) NotifyMsg([]byte)                {}
func (r *rogue) GetBroadcasts(int, int) [][]byte { return nil }
func (r *rogue) MergeRemoteState([]byte, bool)   {}
func (r *rogue) LocalState(bool) []byte          { r.mu.Lock(); defer r.mu.Unlock(); return r.state }
func (r *rogue) set(s wireState)                 { r.mu.Lock(); defer r.mu.Unlock(); r.state = encode(msgState, s) }
func (r *rogue) setRaw(b []byte)                 { r.mu.Lock(); defer r.mu.Unlock(); r.state = b }
func rec(name, addr string) wireRecord {
	return wireRecord{Name: name, Type: "A", Value: addr, TTL: 60}
}
func src(name string, c uint64, rs ...wireRecord) wireSource {
	return wireSource{Source: name, Counter: c, Records: rs}
}

// A peer that claims the receiver's own sources, sends a record outside the allowed domains, or sends garbage:
// what it may publish is published, the rest is dropped and reported, and nothing of the receiver's is touched.
func TestHostilePeer(t *testing.T) {
	tc := newTestCluster(t)
	a := tc.add("a")
	a.set("docker:1", "a.lab.test=10.0.0.1")
	var reports []string
	var mu sync.Mutex
	a.bus.Subscribe("test", events.Filter{Families: []events.Family{events.FamilyError}}, func(_ context.Context, e events.Event) error {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, e.(*events.ErrorEvent).Message)
		return nil
	})
	r := &rogue{}
	r.set(wireState{Version: 1, Owners: []wireOwner{
		{Node: "a", Epoch: 1 << 62, Head: 5, Sources: []wireSource{src("docker:1", 5, rec("a.lab.test.", "10.6.6.6"))}},
		{Node: "evil", Epoch: 1, Head: 2, Sources: []wireSource{
			src("docker:1", 1, rec("fine.lab.test.", "10.0.0.9")),
			src("hosts:/x", 2, rec("bank.example.com.", "10.6.6.6")),
		}},
	}})
	mc := memberlist.DefaultLANConfig()
	mc.Name, mc.BindAddr, mc.BindPort, mc.Delegate = "evil", "127.0.0."+strconv.Itoa(tc.hosts+5), 0, r
	mc.Logger = newMemberlistLogger(a.c.log.Named("rogue"), nil)
	ml, err := memberlist.Create(mc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ml.Shutdown() })
	_, err = ml.Join([]string{a.addr()})
	require.NoError(t, err)
	require.True(t, waitFor(5*time.Second, func() bool {
		return strings.Join(a.answers(), " ") == "a.lab.test=10.0.0.1 fine.lab.test=10.0.0.9"
	}), "a answers %v", a.answers())
	require.True(t, waitFor(2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		all := strings.Join(reports, "\n")
		return strings.Contains(all, "did not publish") && strings.Contains(all, "bank.example.com.")
	}), "reports: %v", reports)

	// Garbage, a state that claims a local namespace for a store source, and an oversized claim: dropped
	// whole, reported, and what was there stays.
	for _, bad := range [][]byte{
		[]byte("s{garbage"),
		encode(msgState, wireState{Version: 1, Owners: []wireOwner{{Node: "evil", Epoch: 2, Head: 1,
			Sources: []wireSource{src("node:a/docker:1", 1, rec("x.lab.test.", "10.6.6.6"))}}}}),
	} {
		r.setRaw(bad)
		_, err = ml.Join([]string{a.addr()})
		require.NoError(t, err)
	}
	// The joined node merges after it has answered the join: its count is awaited.
	require.True(t, waitFor(2*time.Second, func() bool { return a.c.Status().Stats.Rejected >= 4 }),
		"rejected: %d", a.c.Status().Stats.Rejected)
	require.Equal(t, []string{"a.lab.test=10.0.0.1", "fine.lab.test=10.0.0.9"}, a.answers())
}
