package hosts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// fileEvents returns the file events published after the first n, as "kind path [records]", in order.
func (h *harness) fileEvents(n int) []string {
	var out []string
	for _, e := range h.seen.Events()[n:] {
		fe, ok := e.(*events.FileEvent)
		if !ok {
			continue
		}
		s := string(fe.Kind) + " " + fe.Path
		if fe.Snapshot != nil {
			var recs []string
			for _, r := range fe.Snapshot.Records {
				recs = append(recs, fmt.Sprintf("%s=%s/%d", r.Name, r.Value, r.TTL))
			}
			s += fmt.Sprintf(" %v", recs)
		}
		out = append(out, s)
	}
	return out
}

// awaitEvent waits for a file event after the first n described (see fileEvents) as want.
func (h *harness) awaitEvent(n int, want string) {
	h.t.Helper()
	require.EventuallyWithT(h.t, func(c *assert.CollectT) {
		assert.Contains(c, h.fileEvents(n), want)
	}, eventstest.Timeout, 10*time.Millisecond)
}

// TestApply changes the configuration of a running producer: each case lists exactly the file events the change
// publishes (in order, up to Apply's return), and a file written afterwards shows the new watcher at work.
func TestApply(t *testing.T) {
	type dirs struct{ kept, old, added string }
	tests := []struct {
		name   string
		change func(*Config, dirs)
		err    string
		// events are what Apply publishes before it returns, in order; the kept directory's file is in none
		// unless its records changed.
		events func(dirs) []string
		// after is a file written once Apply returned, and the event it must cause ("" when none may follow).
		after func(dirs) (path, content, event string)
	}{
		{
			name:   "a directory replaced by another, one kept",
			change: func(c *Config, d dirs) { c.Directories = []string{d.kept, d.added} },
			events: func(d dirs) []string {
				return []string{
					// The new directory's names come before the old one's go: a name that moved is never missing.
					"file_created " + filepath.Join(d.added, "n") + " [new.lan.=10.0.0.3/60]",
					"directory_scanned " + d.kept, "directory_scanned " + d.added,
					"file_deleted " + filepath.Join(d.old, "o") + " []",
				}
			},
			after: func(d dirs) (string, string, string) {
				p := filepath.Join(d.added, "n2")
				return p, "10.0.0.4 newer.lan\n", "file_created " + p + " [newer.lan.=10.0.0.4/60]"
			},
		},
		{
			name:   "ttl: every file published again with it",
			change: func(c *Config, _ dirs) { c.TTL = 300 },
			events: func(d dirs) []string {
				return []string{
					"file_changed " + filepath.Join(d.kept, "k") + " [kept.lan.=10.0.0.1/300]",
					"file_changed " + filepath.Join(d.old, "o") + " [old.lan.=10.0.0.2/300]",
					"directory_scanned " + d.kept, "directory_scanned " + d.old,
				}
			},
			after: func(d dirs) (string, string, string) {
				p := filepath.Join(d.kept, "k2")
				return p, "10.0.0.5 more.lan\n", "file_created " + p + " [more.lan.=10.0.0.5/300]"
			},
		},
		{
			name: "mode, poll interval and debounce: nothing is announced again",
			change: func(c *Config, _ dirs) {
				c.Mode, c.PollInterval, c.Debounce = "poll", 150*time.Millisecond, 0
			},
			events: func(d dirs) []string { return []string{"directory_scanned " + d.kept, "directory_scanned " + d.old} },
			after: func(d dirs) (string, string, string) {
				p := filepath.Join(d.old, "o2")
				return p, "10.0.0.6 polled.lan\n", "file_created " + p + " [polled.lan.=10.0.0.6/60]"
			},
		},
		{
			name:   "every directory removed",
			change: func(c *Config, _ dirs) { c.Directories = nil },
			events: func(d dirs) []string {
				return []string{"file_deleted " + filepath.Join(d.kept, "k") + " []", "file_deleted " + filepath.Join(d.old, "o") + " []"}
			},
		},
		{
			name: "a directory that is a file: refused, the old watcher goes on",
			change: func(c *Config, d dirs) {
				c.Directories = []string{d.kept, filepath.Join(d.kept, "k")}
				c.TTL = 300
			},
			err: "is not a directory",
			after: func(d dirs) (string, string, string) {
				p := filepath.Join(d.old, "o3")
				return p, "10.0.0.7 still.lan\n", "file_created " + p + " [still.lan.=10.0.0.7/60]"
			},
		},
		{
			name:   "an invalid mode: refused",
			change: func(c *Config, _ dirs) { c.Mode = "sometimes" },
			err:    "hosts.mode",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			d := dirs{kept: filepath.Join(root, "kept"), old: filepath.Join(root, "old"), added: filepath.Join(root, "added")}
			for _, dir := range []string{d.kept, d.old, d.added} {
				require.NoError(t, os.Mkdir(dir, 0o755))
			}
			write(t, filepath.Join(d.kept, "k"), "10.0.0.1 kept.lan\n")
			write(t, filepath.Join(d.old, "o"), "10.0.0.2 old.lan\n")
			write(t, filepath.Join(d.added, "n"), "10.0.0.3 new.lan\n")
			cfg := testConfig("auto", d.kept, d.old)
			h := newHarness(t, cfg).start()
			h.expectFile(events.DirectoryScanned, d.kept)
			h.expectFile(events.DirectoryScanned, d.old)
			mark := len(h.seen.Events())

			next := cfg
			tt.change(&next, d)
			err := h.p.Apply(context.Background(), next)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				assert.Equal(t, []string{d.kept, d.old}, h.p.Status().Directories, "the old directories stay")
			} else {
				require.NoError(t, err)
				assert.Equal(t, len(next.Directories), len(h.p.Status().Directories))
			}
			var want []string
			if tt.events != nil {
				want = tt.events(d)
			}
			// Publish is synchronous, the watcher's delivery is not: wait for as many events as expected.
			require.Eventually(t, func() bool { return len(h.fileEvents(mark)) >= len(want) }, eventstest.Timeout, 10*time.Millisecond)
			assert.Equal(t, want, h.fileEvents(mark))
			assert.True(t, h.p.Status().Running)

			if tt.after != nil {
				path, content, event := tt.after(d)
				mark = len(h.seen.Events())
				write(t, path, content)
				h.awaitEvent(mark, event)
			}
		})
	}
}

// TestApplyKeepsDirectoryServed replaces the configuration many times, changing the other directory each time: the
// kept directory's file is never deleted, emptied or announced again, so its names are served throughout.
func TestApplyKeepsDirectoryServed(t *testing.T) {
	root := t.TempDir()
	kept, a, b := filepath.Join(root, "kept"), filepath.Join(root, "a"), filepath.Join(root, "b")
	for i, dir := range []string{kept, a, b} {
		require.NoError(t, os.Mkdir(dir, 0o755))
		write(t, filepath.Join(dir, "hosts"), fmt.Sprintf("10.0.0.%d %s.lan\n", i+1, filepath.Base(dir)))
	}
	cfg := testConfig("auto", kept, a)
	h := newHarness(t, cfg).start()
	h.expectFile(events.DirectoryScanned, a)
	for i := range 20 {
		next := cfg
		next.Directories = []string{kept, []string{b, a}[i%2]}
		require.NoError(t, h.p.Apply(context.Background(), next))
	}
	// b was watched at ten of the swaps, and removed at the next one: everything Apply published has arrived
	// once its ten removals have.
	count := func(prefix string) int {
		n := 0
		for _, e := range h.fileEvents(0) {
			if strings.HasPrefix(e, prefix) {
				n++
			}
		}
		return n
	}
	bFile := filepath.Join(b, "hosts")
	require.Eventually(t, func() bool { return count("file_deleted "+bFile) == 10 }, eventstest.Timeout, 10*time.Millisecond)
	assert.Equal(t, 10, count("file_created "+bFile+" [b.lan.=10.0.0.3/60]"))
	var keptKinds []events.FileKind
	for _, e := range h.seen.Events() {
		if fe := e.(*events.FileEvent); fe.Path == filepath.Join(kept, "hosts") {
			keptKinds = append(keptKinds, fe.Kind)
		}
	}
	assert.Equal(t, []events.FileKind{events.FileCreated}, keptKinds, "the kept file is announced once, at start, and never again")
}

func TestModuleReloadTarget(t *testing.T) {
	old, added := t.TempDir(), t.TempDir()
	write(t, filepath.Join(old, "lab"), "10.0.0.1 web.lan\n")
	write(t, filepath.Join(added, "lab"), "10.0.0.2 app.lan\n")
	bus := eventstest.NewBus(t)
	seen := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHosts}})
	var target reload.Target
	cfg := testConfig("auto", old)
	app := fxtest.New(t,
		Module,
		fx.Supply(cfg, bus, zaptest.NewLogger(t)),
		fx.Invoke(func(r reload.Targets) {
			require.Len(t, r.Targets, 1)
			target = r.Targets[0]
		}),
	)
	app.RequireStart()
	defer app.RequireStop()
	seen.Expect(t, "directory scan", eventstest.Kind(events.FamilyHosts, events.Kind(events.DirectoryScanned)))

	assert.Equal(t, "hosts", target.Module)
	for key, live := range map[string]bool{
		"hosts.directories": true, "hosts.ttl": true, "hosts.mode": true, "hosts.poll_interval": true,
		"hosts.debounce": true, "traefikfile.ttl": false,
	} {
		assert.Equal(t, live, target.Covers(key), key)
	}
	require.ErrorContains(t, target.Apply(context.Background(), "hosts"), "not a hosts.Config")
	cfg.Directories = []string{added}
	require.NoError(t, target.Apply(context.Background(), cfg))
	seen.Expect(t, "the old directory's file removed", func(e events.Event) bool {
		fe, ok := e.(*events.FileEvent)
		return ok && fe.Kind == events.FileDeleted && fe.Path == filepath.Join(old, "lab")
	})
	seen.Expect(t, "the new directory's file created", func(e events.Event) bool {
		fe, ok := e.(*events.FileEvent)
		return ok && fe.Kind == events.FileCreated && fe.Path == filepath.Join(added, "lab")
	})
}

// TestApplyWhileStopped: a producer that is not running takes the configuration for its next Start.
func TestApplyWhileStopped(t *testing.T) {
	old, added := t.TempDir(), t.TempDir()
	write(t, filepath.Join(added, "lab"), "10.0.0.2 app.lan\n")
	h := newHarness(t, testConfig("auto", old))
	next := testConfig("poll", added)
	next.TTL = 120
	require.NoError(t, h.p.Apply(context.Background(), next))
	assert.Equal(t, []string{added}, h.p.Status().Directories)
	assert.False(t, h.p.Status().Running, "Apply starts nothing")
	h.start()
	e := h.expectFile(events.FileCreated, filepath.Join(added, "lab"),
		events.Record{Name: "app.lan.", Type: "A", Value: "10.0.0.2", TTL: 120})
	assert.Equal(t, "hosts:"+filepath.Join(added, "lab"), e.Snapshot.Source)
}
