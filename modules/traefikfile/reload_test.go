package traefikfile

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// fileEvents returns the file events published after the first n as "kind dir/file [name=value/ttl ...]", with
// the path relative to root.
func (h *harness) fileEvents(root string, n int) []string {
	var out []string
	for _, e := range h.watch.Events()[n:] {
		fe, ok := e.(*events.FileEvent)
		if !ok {
			continue
		}
		rel, err := filepath.Rel(root, fe.Path)
		require.NoError(h.t, err)
		var recs []string
		for _, r := range fe.Snapshot.Records {
			recs = append(recs, fmt.Sprintf("%s%s=%s/%d", r.Name, r.Type, r.Value, r.TTL))
		}
		out = append(out, fmt.Sprintf("%s %s %v", fe.Kind, rel, recs))
	}
	return out
}

// TestApply changes the configuration of a running producer: each case lists exactly the file events the change
// publishes (in order, up to Apply's return; a file of the kept directory whose records stay is in none), and a
// file written afterwards shows the new watcher at work.
func TestApply(t *testing.T) {
	detected := netip.MustParseAddr("192.0.2.50")
	tests := []struct {
		name   string
		change func(c *Config, root string)
		err    string
		events []string
		// anyOrder: the events come from re-checking the host address, which goes over the files in no order.
		anyOrder bool
		// after is a file written (relative to the root) once Apply returned, and the event it must cause.
		after, content, event string
	}{
		{
			name: "a directory replaced by another, one kept",
			change: func(c *Config, root string) {
				c.Directories = []string{filepath.Join(root, "kept"), filepath.Join(root, "added")}
			},
			// The new directory's names come before the old one's go: a name that moved is never missing.
			events: []string{"file_created added/n.yml [new.lab.test.A=192.0.2.30/60]", "file_deleted old/o.yml []"},
			after:  "added/n2.yml", content: rule("newer.lab.test"),
			event: "file_created added/n2.yml [newer.lab.test.A=192.0.2.30/60]",
		},
		{
			name:   "ttl",
			change: func(c *Config, _ string) { c.TTL = 300 },
			events: []string{"file_changed kept/k.yml [kept.lab.test.A=192.0.2.30/300]", "file_changed old/o.yml [old.lab.test.A=192.0.2.30/300]"},
			after:  "kept/k2.yml", content: rule("more.lab.test"),
			event: "file_created kept/k2.yml [more.lab.test.A=192.0.2.30/300]",
		},
		{
			name:   "host_ip",
			change: func(c *Config, _ string) { c.HostIP = "192.0.2.31" },
			events: []string{"file_changed kept/k.yml [kept.lab.test.A=192.0.2.31/60]", "file_changed old/o.yml [old.lab.test.A=192.0.2.31/60]"},
		},
		{
			name:   "host_ip6 added",
			change: func(c *Config, _ string) { c.HostIP6 = "2001:db8::30" },
			events: []string{
				"file_changed kept/k.yml [kept.lab.test.A=192.0.2.30/60 kept.lab.test.AAAA=2001:db8::30/60]",
				"file_changed old/o.yml [old.lab.test.A=192.0.2.30/60 old.lab.test.AAAA=2001:db8::30/60]",
			},
		},
		{
			name:     "host_ip emptied: the detected address",
			change:   func(c *Config, _ string) { c.HostIP = "" },
			events:   []string{"file_changed kept/k.yml [kept.lab.test.A=192.0.2.50/60]", "file_changed old/o.yml [old.lab.test.A=192.0.2.50/60]"},
			anyOrder: true,
		},
		{
			name:   "allowed_domains without the names'",
			change: func(c *Config, _ string) { c.AllowedDomains = []string{"other.test"} },
			events: []string{"file_changed kept/k.yml []", "file_changed old/o.yml []"},
			after:  "old/o2.yml", content: rule("x.other.test"),
			event: "file_created old/o2.yml [x.other.test.A=192.0.2.30/60]",
		},
		{
			name:   "rule_syntax v2 reads the rule v3 refused",
			change: func(c *Config, _ string) { c.RuleSyntax = "v2" },
			events: []string{"file_created kept/m.yml [c.lab.test.A=192.0.2.30/60 d.lab.test.A=192.0.2.30/60]"},
		},
		{
			name:   "poll_interval and debounce: nothing is announced again",
			change: func(c *Config, _ string) { c.PollInterval, c.Debounce = 150*time.Millisecond, 0 },
			after:  "kept/k3.yml", content: rule("polled.lab.test"),
			event: "file_created kept/k3.yml [polled.lab.test.A=192.0.2.30/60]",
		},
		{
			name: "a directory that is a file: refused, the old watcher goes on",
			change: func(c *Config, root string) {
				c.Directories = []string{filepath.Join(root, "kept", "k.yml")}
				c.TTL = 300
			},
			err:   "is not a directory",
			after: "old/o3.yml", content: rule("still.lab.test"),
			event: "file_created old/o3.yml [still.lab.test.A=192.0.2.30/60]",
		},
		{
			name:   "no directories: refused",
			change: func(c *Config, _ string) { c.Directories = nil },
			err:    "traefikfile.directories is empty",
		},
		{
			name:   "a bad host address: refused",
			change: func(c *Config, _ string) { c.HostIP = "2001:db8::1" },
			err:    "traefikfile.host_ip",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, dir := range []string{"kept", "old", "added"} {
				require.NoError(t, os.Mkdir(filepath.Join(root, dir), 0o755))
			}
			write(t, filepath.Join(root, "kept", "k.yml"), rule("kept.lab.test"))
			// Two names in one Host(): Traefik v2's syntax, which v3 refuses.
			write(t, filepath.Join(root, "kept", "m.yml"), rule("c.lab.test`, `d.lab.test"))
			write(t, filepath.Join(root, "old", "o.yml"), rule("old.lab.test"))
			write(t, filepath.Join(root, "added", "n.yml"), rule("new.lab.test"))
			cfg := testConfig(filepath.Join(root, "kept"))
			cfg.Directories = append(cfg.Directories, filepath.Join(root, "old"))
			h := newHarness(t, cfg, func(p *Producer) {
				p.detect = func() (netip.Addr, error) { return detected, nil }
			})
			h.requireRecords(filepath.Join(root, "kept", "k.yml"), "kept.lab.test. A 192.0.2.30")
			h.requireRecords(filepath.Join(root, "old", "o.yml"), "old.lab.test. A 192.0.2.30")
			mark := len(h.watch.Events())

			next := cfg
			tt.change(&next, root)
			err := h.producer.Apply(context.Background(), next)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				assert.Equal(t, cfg.Directories, h.producer.Status().Directories, "the old directories stay")
			} else {
				require.NoError(t, err)
			}
			// Publish is synchronous, the watcher's delivery is not: wait for as many events as expected.
			require.Eventually(t, func() bool { return len(h.fileEvents(root, mark)) >= len(tt.events) }, waitFor, 10*time.Millisecond)
			got := h.fileEvents(root, mark)
			if tt.anyOrder {
				slices.Sort(got)
			}
			assert.Equal(t, tt.events, got)
			assert.True(t, h.producer.Status().Running)

			if tt.after != "" {
				mark = len(h.watch.Events())
				write(t, filepath.Join(root, tt.after), tt.content)
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					assert.Contains(c, h.fileEvents(root, mark), tt.event)
				}, waitFor, 10*time.Millisecond)
			}
		})
	}
}

// TestApplyKeepsDirectoryServed replaces the configuration many times, changing the other directory each time: the
// kept directory's file is never deleted, emptied or announced again, so its names are served throughout.
func TestApplyKeepsDirectoryServed(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"kept", "a", "b"} {
		require.NoError(t, os.Mkdir(filepath.Join(root, dir), 0o755))
		write(t, filepath.Join(root, dir, "r.yml"), rule(dir+".lab.test"))
	}
	cfg := testConfig(filepath.Join(root, "kept"))
	cfg.Directories = append(cfg.Directories, filepath.Join(root, "a"))
	h := newHarness(t, cfg)
	h.requireRecords(filepath.Join(root, "a", "r.yml"), "a.lab.test. A 192.0.2.30")
	for i := range 20 {
		next := cfg
		next.Directories = []string{filepath.Join(root, "kept"), filepath.Join(root, []string{"b", "a"}[i%2])}
		require.NoError(t, h.producer.Apply(context.Background(), next))
	}
	count := func(prefix string) int {
		n := 0
		for _, e := range h.fileEvents(root, 0) {
			if strings.HasPrefix(e, prefix) {
				n++
			}
		}
		return n
	}
	// b was watched at ten of the swaps and removed at the next: everything has arrived once its ten removals have.
	require.Eventually(t, func() bool { return count("file_deleted b/r.yml") == 10 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, 10, count("file_created b/r.yml"))
	assert.Equal(t, []string{"file_created kept/r.yml [kept.lab.test.A=192.0.2.30/60]"}, slices.DeleteFunc(h.fileEvents(root, 0),
		func(e string) bool { return !strings.Contains(e, " kept/") }), "the kept file is announced once, at start, and never again")
}

// TestApplyRepublishesBrokenFile: a file that does not parse now keeps the records it had, and a new TTL applies
// to them too.
func TestApplyRepublishesBrokenFile(t *testing.T) {
	root := t.TempDir()
	broken, marker := filepath.Join(root, "broken.yml"), filepath.Join(root, "zz-marker.yml")
	write(t, broken, rule("broken.lab.test"))
	cfg := testConfig(root)
	h := newHarness(t, cfg)
	h.requireRecords(broken, "broken.lab.test. A 192.0.2.30")
	write(t, broken, "http: [unclosed\n")
	write(t, marker, rule("marker.lab.test")) // read after broken.yml: once it is out, broken.yml was refused
	h.requireRecords(marker, "marker.lab.test. A 192.0.2.30")
	mark := len(h.watch.Events())

	cfg.TTL = 300
	require.NoError(t, h.producer.Apply(context.Background(), cfg))
	want := []string{"file_changed broken.yml [broken.lab.test.A=192.0.2.30/300]", "file_changed zz-marker.yml [marker.lab.test.A=192.0.2.30/300]"}
	require.Eventually(t, func() bool { return len(h.fileEvents(root, mark)) >= len(want) }, waitFor, 10*time.Millisecond)
	got := h.fileEvents(root, mark)
	slices.Sort(got)
	assert.Equal(t, want, got)
}

// TestApplyWhileStopped: a producer that is not running takes the configuration for its next Start.
func TestApplyWhileStopped(t *testing.T) {
	old, added := t.TempDir(), t.TempDir()
	write(t, filepath.Join(added, "n.yml"), rule("new.lab.test"))
	p, err := NewProducer(testConfig(old), zaptest.NewLogger(t), eventstest.NewBus(t))
	require.NoError(t, err)
	next := testConfig(added)
	next.TTL = 120
	require.NoError(t, p.Apply(context.Background(), next))
	assert.Equal(t, []string{added}, p.Status().Directories)
	assert.False(t, p.Status().Running, "Apply starts nothing")
	st := p.settings.Load()
	assert.Equal(t, uint32(120), st.cfg.TTL)
	assert.Equal(t, []string{added}, st.dirs)
}

func TestModuleReloadTarget(t *testing.T) {
	old, added := t.TempDir(), t.TempDir()
	write(t, filepath.Join(old, "o.yml"), rule("old.lab.test"))
	write(t, filepath.Join(added, "n.yml"), rule("new.lab.test"))
	bus := eventstest.NewBus(t)
	watch := eventstest.NewWatcher(t, bus, events.Filter{Sources: []string{moduleName}})
	var target reload.Target
	cfg := testConfig(old)
	app := fxtest.New(t,
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		fx.Supply(zaptest.NewLogger(t), cfg, bus),
		Module,
		fx.Invoke(func(r reload.Targets) {
			require.Len(t, r.Targets, 1)
			target = r.Targets[0]
		}),
	)
	app.RequireStart()
	defer app.RequireStop()
	watch.Expect(t, "file_created", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileCreated)))

	assert.Equal(t, "traefikfile", target.Module)
	for _, key := range []string{"directories", "host_ip", "host_ip6", "ttl", "allowed_domains", "rule_syntax", "poll_interval", "debounce"} {
		assert.True(t, target.Covers("traefikfile."+key), key)
	}
	assert.False(t, target.Covers("docker.host_ip"))
	require.ErrorContains(t, target.Apply(context.Background(), cfg.Directories), "not a traefikfile.Config")
	cfg.Directories = []string{added}
	require.NoError(t, target.Apply(context.Background(), cfg))
	watch.Expect(t, "the old directory's file removed", func(e events.Event) bool {
		fe, ok := e.(*events.FileEvent)
		return ok && fe.Kind == events.FileDeleted && fe.Path == filepath.Join(old, "o.yml")
	})
	watch.Expect(t, "the new directory's file created", func(e events.Event) bool {
		fe, ok := e.(*events.FileEvent)
		return ok && fe.Kind == events.FileCreated && fe.Path == filepath.Join(added, "n.yml")
	})
}
