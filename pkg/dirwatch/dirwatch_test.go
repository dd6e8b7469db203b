package dirwatch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

func testConfig(mode Mode, dirs ...string) Config {
	return Config{
		Dirs:         dirs,
		Match:        func(name string) bool { return !strings.HasPrefix(name, ".") },
		Mode:         mode,
		PollInterval: 100 * time.Millisecond,
		Debounce:     10 * time.Millisecond,
	}
}

// run is a Watcher running on its own goroutine, recording every batch.
type run struct {
	mu      sync.Mutex
	batches []Batch
	last    map[string]time.Time // when each path was last delivered
	retries []Retry
	logs    *observer.ObservedLogs
}

func start(t *testing.T, cfg Config) *run {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	r := &run{logs: logs, last: make(map[string]time.Time)}
	cfg.OnRetry = func(_ context.Context, rt Retry) {
		r.mu.Lock()
		r.retries = append(r.retries, rt)
		r.mu.Unlock()
	}
	w, err := New(cfg, zap.New(core))
	require.NoError(t, err)
	require.NoError(t, w.Open())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, func(_ context.Context, b Batch) {
			r.mu.Lock()
			r.batches = append(r.batches, b)
			for _, c := range b.Changes {
				r.last[c.Path] = time.Now()
			}
			r.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func (r *run) all() []Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Batch(nil), r.batches...)
}

// changes returns every change delivered for path, in order.
func (r *run) changes(path string) []Change {
	var out []Change
	for _, b := range r.all() {
		for _, c := range b.Changes {
			if c.Path == path {
				out = append(out, c)
			}
		}
	}
	return out
}

// waitChanges waits until path has had n changes delivered and the last one is removed or not.
func (r *run) waitChanges(t *testing.T, path string, n int, removed bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		cs := r.changes(path)
		return len(cs) == n && cs[n-1].Removed == removed
	}, waitFor, tick, "want %d changes of %s, last removed=%v; got %v", n, path, removed, r.changes(path))
}

// retried returns the retry reports so far.
func (r *run) retried() []Retry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Retry(nil), r.retries...)
}

// kinds are the kinds of the retry reports so far.
func (r *run) kinds() []events.RetryKind {
	var out []events.RetryKind
	for _, rt := range r.retried() {
		out = append(out, rt.Kind)
	}
	return out
}

func (r *run) scanned() []string {
	var out []string
	for _, b := range r.all() {
		out = append(out, b.Scanned...)
	}
	return out
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"mode", func(c *Config) { c.Mode = "inotify" }, `mode "inotify"`},
		{"poll interval", func(c *Config) { c.PollInterval = 0 }, "poll interval"},
		{"debounce", func(c *Config) { c.Debounce = -1 }, "debounce"},
		{"min interval", func(c *Config) { c.MinInterval = -1 }, "minimum interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(Auto, t.TempDir())
			tt.modify(&cfg)
			_, err := New(cfg, nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestOpenRejectsUnusableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	write(t, file, "")
	w, err := New(testConfig(Auto, file), nil)
	require.NoError(t, err)
	err = w.Open()
	assert.ErrorContains(t, err, file)
	assert.ErrorContains(t, err, "not a directory")
}

func TestChanges(t *testing.T) {
	for _, mode := range []Mode{Notify, Poll, Auto} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			existing := filepath.Join(dir, "existing")
			write(t, existing, "1")
			write(t, filepath.Join(dir, ".ignored"), "1")
			require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
			cfg := testConfig(mode, dir)
			if mode != Poll {
				// Changes must come from fsnotify alone: a rescan racing an event would deliver a file a second
				// time (harmless, and by design, but it would make the counts below unpredictable).
				cfg.PollInterval = time.Hour
			}
			r := start(t, cfg)

			r.waitChanges(t, existing, 1, false)
			first := r.all()[0]
			assert.Equal(t, []Change{{Path: existing}}, first.Changes, "the initial batch holds every file, nothing else")
			assert.Equal(t, []string{dir}, first.Scanned)

			added := filepath.Join(dir, "added")
			write(t, added, "1")
			r.waitChanges(t, added, 1, false)

			write(t, existing, "22")
			r.waitChanges(t, existing, 2, false)

			// Saved by rename: a new inode under the old name.
			tmp := filepath.Join(dir, ".existing.tmp")
			write(t, tmp, "33")
			require.NoError(t, os.Rename(tmp, existing))
			r.waitChanges(t, existing, 3, false)

			require.NoError(t, os.Remove(added))
			r.waitChanges(t, added, 2, true)

			for _, b := range r.all() {
				for _, c := range b.Changes {
					assert.NotContains(t, c.Path, "ignored")
					assert.NotContains(t, c.Path, "sub")
				}
			}
			assert.Equal(t, []string{dir}, r.scanned(), "scanned once")
		})
	}
}

func TestMissingDirectoryAppearsAndVanishes(t *testing.T) {
	for _, mode := range []Mode{Auto, Poll} {
		t.Run(string(mode), func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "later")
			r := start(t, testConfig(mode, dir))
			assert.Equal(t, 1, r.logs.FilterMessage("directory does not exist; will load it when it appears").Len())
			require.Never(t, func() bool { return len(r.retried()) > 0 }, 300*time.Millisecond, tick,
				"a directory not there since Open is looked for, not retried")

			// Created fully formed elsewhere and moved in, so the test does not race the first look.
			staging := filepath.Join(root, "staging")
			require.NoError(t, os.Mkdir(staging, 0o755))
			path := filepath.Join(dir, "f")
			write(t, filepath.Join(staging, "f"), "1")
			require.NoError(t, os.Rename(staging, dir))
			r.waitChanges(t, path, 1, false)
			assert.Equal(t, []string{dir}, r.scanned())

			write(t, path, "22")
			r.waitChanges(t, path, 2, false)

			require.NoError(t, os.RemoveAll(dir))
			r.waitChanges(t, path, 3, true)
			// The file's removal can be seen before the directory's: wait for the directory to be known gone
			// before it comes back, or the watcher may never see it missing (then it only re-watches it).
			require.Eventually(t, func() bool {
				return r.logs.FilterMessage("directory disappeared; removing its files until it comes back").Len() == 1
			}, waitFor, tick)

			require.NoError(t, os.Mkdir(staging, 0o755))
			write(t, filepath.Join(staging, "f"), "333")
			require.NoError(t, os.Rename(staging, dir))
			r.waitChanges(t, path, 4, false)
			assert.Equal(t, []string{dir, dir}, r.scanned(), "scanned again when it came back")

			// The new directory is watched (or polled), not the old one.
			write(t, path, "4444")
			r.waitChanges(t, path, 5, false)
			assert.Equal(t, 1, r.logs.FilterMessage("directory disappeared; removing its files until it comes back").Len())
			// Once it had been there, its absence was a failure, retried until it came back.
			kinds := r.kinds()
			require.NotEmpty(t, kinds)
			assert.Equal(t, events.AttemptFailed, kinds[0])
			assert.Equal(t, events.Recovered, kinds[len(kinds)-1])
		})
	}
}

// swap points the symlink link at target atomically (a new link renamed over it), so that no look ever finds
// link missing in between.
func swap(t *testing.T, link, target string) {
	t.Helper()
	tmp := link + ".new"
	require.NoError(t, os.Symlink(target, tmp))
	require.NoError(t, os.Rename(tmp, link))
}

// A directory that cannot be listed any more, or that vanished, is looked at again under the retry policy
// (capped at PollInterval): four failed looks, then the circuit opens and a probe is made every open interval;
// the directory coming back closes it. Files of a directory that cannot be listed keep their records; those of a
// vanished one are removed. The watched path is a symlink swapped at once to a regular file (root lists a
// directory whatever its mode), so that no look finds it missing in between.
func TestFailingDirectoryRetried(t *testing.T) {
	tests := []struct {
		name        string
		mode        Mode
		breakDir    func(t *testing.T, dir, root string)
		wantRemoved bool
	}{
		{name: "replaced by a file, polled", mode: Poll, breakDir: func(t *testing.T, dir, root string) {
			write(t, filepath.Join(root, "file"), "a file where the directory was")
			swap(t, dir, filepath.Join(root, "file"))
		}},
		{name: "replaced by a file, watched", mode: Auto, breakDir: func(t *testing.T, dir, root string) {
			write(t, filepath.Join(root, "file"), "a file where the directory was")
			swap(t, dir, filepath.Join(root, "file"))
		}},
		{name: "removed", mode: Auto, wantRemoved: true, breakDir: func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Remove(dir))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "hosts")
			require.NoError(t, os.Mkdir(filepath.Join(root, "v1"), 0o755))
			require.NoError(t, os.Symlink(filepath.Join(root, "v1"), dir))
			path := filepath.Join(dir, "f")
			write(t, path, "1")
			cfg := testConfig(tt.mode, dir)
			policy := retry.For(cfg.PollInterval)
			r := start(t, cfg)
			r.waitChanges(t, path, 1, false)
			require.Empty(t, r.retried())

			tt.breakDir(t, dir, root)
			// Two probes that failed: the circuit opened, was half-open and opened again, twice.
			require.Eventually(t, func() bool {
				n := 0
				for _, k := range r.kinds() {
					if k == events.CircuitOpened {
						n++
					}
				}
				return n == 3
			}, waitFor, tick, "retries: %v", r.kinds())
			rs := r.retried()
			want := []events.RetryKind{events.AttemptFailed, events.AttemptFailed, events.AttemptFailed,
				events.AttemptFailed, events.CircuitOpened, events.CircuitHalfOpen, events.CircuitOpened,
				events.CircuitHalfOpen, events.CircuitOpened}
			require.Equal(t, want, r.kinds()[:len(want)])
			for i, rt := range rs[:len(want)] {
				assert.Equal(t, dir, rt.Dir)
				switch rt.Kind {
				case events.AttemptFailed:
					assert.LessOrEqual(t, rt.Delay, policy.Max, "report %d: the delay is capped at PollInterval", i)
					assert.Positive(t, rt.Delay, "report %d", i)
				case events.CircuitOpened:
					assert.GreaterOrEqual(t, rt.Delay, time.Duration(float64(policy.Open)*(1-policy.Jitter)), "report %d", i)
					assert.Error(t, rt.Err, "report %d", i)
				}
			}
			if tt.wantRemoved {
				r.waitChanges(t, path, 2, true)
			} else {
				assert.Len(t, r.changes(path), 1, "the file of a directory that cannot be listed is kept")
			}

			// The directory comes back with the file changed: the next probe scans it.
			require.NoError(t, os.Mkdir(filepath.Join(root, "v2"), 0o755))
			write(t, filepath.Join(root, "v2", "f"), "22")
			swap(t, dir, filepath.Join(root, "v2"))
			require.Eventually(t, func() bool {
				ks := r.kinds()
				return ks[len(ks)-1] == events.Recovered
			}, waitFor, tick, "retries: %v", r.kinds())
			last := r.retried()[len(r.retried())-1]
			assert.Equal(t, retry.HalfOpen, last.From, "the probe closed the circuit")
			assert.Equal(t, retry.Closed, last.Status.State)
			assert.GreaterOrEqual(t, last.Failures, 7)
			n := 2
			if tt.wantRemoved {
				n = 3
			}
			r.waitChanges(t, path, n, false)
		})
	}
}

// A Kubernetes ConfigMap volume: the visible files are symlinks through "..data", which is swapped atomically;
// the event is on a name Match refuses, and the rescan it causes sees the file's new inode.
func TestKubernetesConfigMapUpdate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "..v1"), 0o755))
	write(t, filepath.Join(dir, "..v1", "lab"), "1")
	require.NoError(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	require.NoError(t, os.Symlink("..data/lab", filepath.Join(dir, "lab")))
	path := filepath.Join(dir, "lab")
	cfg := testConfig(Notify, dir)
	cfg.PollInterval = time.Hour // only the event can find it
	r := start(t, cfg)
	r.waitChanges(t, path, 1, false)

	require.NoError(t, os.Mkdir(filepath.Join(dir, "..v2"), 0o755))
	write(t, filepath.Join(dir, "..v2", "lab"), "2")
	require.NoError(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	r.waitChanges(t, path, 2, false)
}

// TestContinuousWriterIsBounded appends to a file every millisecond for a while: it is delivered at most once
// per MinInterval (plus the first change and the last), and its last change is delivered.
func TestContinuousWriterIsBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	write(t, path, "start\n")
	cfg := testConfig(Notify, dir)
	const interval = 300 * time.Millisecond
	cfg.MinInterval = interval
	r := start(t, cfg)
	r.waitChanges(t, path, 1, false)

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	began := time.Now()
	writes := 0
	for time.Since(began) < 1500*time.Millisecond {
		_, err := f.WriteString("a line that is not a hosts line\n")
		require.NoError(t, err)
		writes++
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, f.Close())
	stopped := time.Now()
	took := stopped.Sub(began)

	// The last write is always delivered.
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.last[path].After(stopped)
	}, waitFor, tick, "the last change was not delivered")
	reads := len(r.changes(path)) - 1
	bound := int(took/interval) + 2
	t.Logf("%d writes in %v: %d deliveries (bound %d)", writes, took, reads, bound)
	assert.LessOrEqual(t, reads, bound)
	assert.GreaterOrEqual(t, reads, 2, "a file that keeps changing is still re-read")
}

func TestOverflowForcesEveryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	write(t, path, "1")
	w, err := New(testConfig(Notify, dir), nil)
	require.NoError(t, err)
	w.dirs[dir].present = true
	w.fullScan(dir)
	b, ok := w.take()
	require.True(t, ok)
	require.Equal(t, []Change{{Path: path}}, b.Changes)

	// Same size, mtime and inode: a poll cannot see this edit, but after lost events every file is delivered.
	info, err := os.Stat(path)
	require.NoError(t, err)
	write(t, path, "2")
	require.NoError(t, os.Chtimes(path, info.ModTime(), info.ModTime()))
	w.tick()
	_, ok = w.take()
	require.False(t, ok, "a poll trusts size, mtime and inode")

	w.onError(fsnotify.ErrEventOverflow)
	b, ok = w.take()
	require.True(t, ok)
	assert.Equal(t, []Change{{Path: path}}, b.Changes)
}

func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name        string
		debounce    time.Duration
		minInterval time.Duration
		read        time.Duration // since t0 that the file was last delivered; 0: never
		events      []time.Duration
		wantDue     time.Duration
	}{
		{name: "one event waits a debounce", debounce: ms(100), events: []time.Duration{0}, wantDue: ms(100)},
		{name: "a burst restarts it", debounce: ms(100), events: []time.Duration{0, ms(50), ms(90)}, wantDue: ms(190)},
		{
			name: "a burst cannot postpone for ever", debounce: ms(100),
			events:  []time.Duration{0, ms(300), ms(600), ms(900), ms(950)},
			wantDue: maxDebounceFactor * ms(100),
		},
		{
			name: "a file read recently waits out the minimum interval", debounce: ms(10), minInterval: ms(1000),
			read: ms(1), events: []time.Duration{ms(100)}, wantDue: ms(1001),
		},
		{
			name: "a file read long ago only debounces", debounce: ms(10), minInterval: ms(1000),
			read: ms(1), events: []time.Duration{ms(2000)}, wantDue: ms(2010),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(Notify, "/d")
			cfg.Debounce, cfg.MinInterval = tt.debounce, tt.minInterval
			w, err := New(cfg, nil)
			require.NoError(t, err)
			if tt.read > 0 {
				w.files["/d/f"] = &fileState{read: t0.Add(tt.read)}
			}
			for _, e := range tt.events {
				w.schedule("/d/f", true, t0.Add(e))
			}
			due, ok := w.nextDue()
			require.True(t, ok)
			assert.Equal(t, t0.Add(tt.wantDue), due)
			assert.True(t, w.pending["/d/f"].force)
		})
	}
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	w, err := New(testConfig(Auto, t.TempDir()), nil)
	require.NoError(t, err)
	require.NoError(t, w.Open())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, func(context.Context, Batch) {})
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Run did not return after its context ended")
	}
	assert.Nil(t, w.fsw, "fsnotify is closed")
}

// TestProblemLoggedOnce: a lasting problem is logged once however many polls see it, and logged again only
// once it has cleared and come back.
func TestProblemLoggedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	core, logs := observer.New(zapcore.DebugLevel)
	w, err := New(testConfig(Poll, path), zap.New(core))
	require.NoError(t, err)
	require.NoError(t, w.Open())
	const problem = "directory appeared but cannot be used"
	// A poll, and a retry of a failing directory as late as the policy ever makes it.
	look := func() {
		w.tick()
		w.retryDue(time.Now().Add(time.Hour))
	}

	write(t, path, "a file where the directory should be")
	for range 3 {
		look()
	}
	assert.Equal(t, 1, logs.FilterMessage(problem).Len(), "logged once over three polls")

	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o755))
	write(t, filepath.Join(path, "f"), "1")
	look()
	b, ok := w.take()
	require.True(t, ok)
	assert.Equal(t, Batch{Changes: []Change{{Path: filepath.Join(path, "f")}}, Scanned: []string{path}}, b)
	assert.Equal(t, 1, logs.FilterMessage("directory appeared").Len())

	require.NoError(t, os.RemoveAll(path))
	look()
	write(t, path, "the file again")
	look()
	look()
	assert.Equal(t, 2, logs.FilterMessage(problem).Len(), "logged again after it cleared")
}

func TestDirs(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"none", nil, []string{}},
		{"relative made absolute", []string{"hosts"}, []string{filepath.Join(wd, "hosts")}},
		{"order kept, duplicates dropped", []string{"/b", "/a", "/b/", "/a/../b"}, []string{"/b", "/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dirs("hosts.directories", tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUnlisted(t *testing.T) {
	b := Batch{Changes: []Change{{Path: "/a/kept"}, {Path: "/a/new"}}, Scanned: []string{"/a"}}
	tests := []struct {
		name  string
		known []string
		want  []string
	}{
		{"nothing known", nil, nil},
		{"listed files stay", []string{"/a/kept"}, nil},
		{"a file the scan did not list is gone", []string{"/a/kept", "/a/gone", "/a/also-gone"}, []string{"/a/also-gone", "/a/gone"}},
		{"a directory not scanned says nothing", []string{"/b/x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, b.Unlisted(slices.Values(tt.known)))
		})
	}
}

func TestOutside(t *testing.T) {
	tests := []struct {
		name  string
		known []string
		dirs  []string
		want  []string
	}{
		{"nothing known", nil, []string{"/a"}, nil},
		{"files of watched directories stay", []string{"/a/x", "/b/y"}, []string{"/b", "/a"}, nil},
		{"files of others go, sorted", []string{"/c/z", "/a/x", "/b/y", "/b/w"}, []string{"/a"}, []string{"/b/w", "/b/y", "/c/z"}},
		{"a subdirectory is another directory", []string{"/a/sub/x"}, []string{"/a"}, []string{"/a/sub/x"}},
		{"no directories: every file goes", []string{"/a/x"}, nil, []string{"/a/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Outside(slices.Values(tt.known), tt.dirs))
		})
	}
}

// The first batch comes even when no directory is there yet, so a caller knows its first load is done; First
// calls its function after that batch only.
func TestFirstBatchWithoutDirectories(t *testing.T) {
	tests := []struct {
		name    string
		present bool
		want    int // changes in the first batch
	}{
		{name: "missing directory", present: false, want: 0},
		{name: "present directory", present: true, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "hosts")
			if tt.present {
				require.NoError(t, os.Mkdir(dir, 0o755))
				write(t, filepath.Join(dir, "f"), "1")
			}
			w, err := New(testConfig(Poll, dir), zap.NewNop())
			require.NoError(t, err)
			require.NoError(t, w.Open())
			var batches, loaded []Batch
			ctx, cancel := context.WithCancel(context.Background())
			deliver := First(
				func(_ context.Context, b Batch) { batches = append(batches, b) },
				func(_ context.Context, b Batch) { loaded = append(loaded, b); cancel() },
			)
			w.Run(ctx, deliver)
			require.Len(t, batches, 1)
			assert.Len(t, batches[0].Changes, tt.want)
			assert.Equal(t, batches, loaded, "loaded is called with the first batch")
			deliver(context.Background(), Batch{})
			assert.Len(t, loaded, 1, "only after the first batch")
		})
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name  string
		dirs  []string
		first Batch
		want  string
	}{
		{name: "every directory scanned", dirs: []string{"/a", "/b"}, first: Batch{Scanned: []string{"/a", "/b"}},
			want: "loaded 2 files, 5 records"},
		{name: "one not there yet", dirs: []string{"/a", "/b", "/c"}, first: Batch{Scanned: []string{"/b"}},
			want: "loaded 2 files, 5 records; not found yet: /a, /c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Summary(2, 5, tt.dirs, tt.first))
		})
	}
}

func TestFile(t *testing.T) {
	dirs := []string{"/app/hosts", "/etc/hosts.d"}
	tests := []struct {
		name, source string
		want         string
		ok           bool
	}{
		{name: "a file of a watched directory", source: "hosts:/app/hosts/lab", want: "/app/hosts/lab", ok: true},
		{name: "of the second directory", source: "hosts:/etc/hosts.d/nas", want: "/etc/hosts.d/nas", ok: true},
		{name: "outside every directory", source: "hosts:/etc/passwd", want: "/etc/passwd"},
		{name: "below a watched directory, not in it", source: "hosts:/app/hosts/sub/lab", want: "/app/hosts/sub/lab"},
		{name: "climbing out", source: "hosts:/app/hosts/../../etc/passwd", want: "/app/hosts/../../etc/passwd"},
		{name: "another prefix", source: "traefik:/app/hosts/lab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := File(tt.source, "hosts:", dirs)
			assert.Equal(t, tt.ok, ok)
			if ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}
