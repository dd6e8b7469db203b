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
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/validation"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness is a producer on a real started bus, with a watcher on the hosts family and the logs captured.
type harness struct {
	t    *testing.T
	bus  *events.Bus
	seen *eventstest.Watcher
	p    *Producer
	lc   *fxtest.Lifecycle
	logs *observer.ObservedLogs
}

func testConfig(mode string, dirs ...string) Config {
	cfg := DefaultConfig()
	cfg.Directories = dirs
	cfg.Mode = mode
	cfg.PollInterval = 100 * time.Millisecond
	cfg.Debounce = 10 * time.Millisecond
	return cfg
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	bus := eventstest.NewBus(t)
	seen := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHosts}})
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))
	lc := fxtest.NewLifecycle(t)
	p, err := New(Params{Lifecycle: lc, Logger: log, Bus: bus, Config: cfg})
	require.NoError(t, err)
	return &harness{t: t, bus: bus, seen: seen, p: p, lc: lc, logs: logs}
}

// start starts the producer and stops it when the test ends (before the bus, which was registered first).
func (h *harness) start() *harness {
	h.lc.RequireStart()
	h.t.Cleanup(h.lc.RequireStop)
	return h
}

func (h *harness) expectFile(kind events.FileKind, path string, records ...events.Record) *events.FileEvent {
	h.t.Helper()
	what := string(kind) + " " + path
	e := h.seen.Expect(h.t, what, func(e events.Event) bool {
		fe, ok := e.(*events.FileEvent)
		return ok && fe.Kind == kind && fe.Path == path &&
			(kind == events.DirectoryScanned || sameRecords(fe.Snapshot.Records, records))
	})
	return e.(*events.FileEvent)
}

// sameRecords compares record sets; empty and nil are the same.
func sameRecords(got, want []events.Record) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func a(name, addr string) events.Record {
	return events.Record{Name: name + ".", Type: "A", Value: addr, TTL: 60}
}

func aaaa(name, addr string) events.Record {
	return events.Record{Name: name + ".", Type: "AAAA", Value: addr, TTL: 60}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// saveByRename replaces path the way most editors and config tools do: a temporary file renamed over it.
func saveByRename(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Rename(f.Name(), path))
}

func TestInitialLoad(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "lab")
	v6 := filepath.Join(dir, "v6.hosts")
	write(t, lab, "# lab\n10.0.0.1 web.lan www.lan\n10.0.0.2 db.lan\n")
	write(t, v6, "fd00::1 v6.lan\n")
	for _, ignored := range []string{".hidden", "lab~", "lab.swp", "lab.tmp", "#lab#"} {
		write(t, filepath.Join(dir, ignored), "10.9.9.9 ignored.lan\n")
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	write(t, filepath.Join(dir, "sub", "inner"), "10.9.9.9 inner.lan\n")

	h := newHarness(t, testConfig("auto", dir)).start()
	h.expectFile(events.DirectoryScanned, dir)

	got := h.seen.Events()
	require.Len(t, got, 3, "two files and the directory, nothing for ignored entries, no per-record events")
	want := []struct {
		kind    events.FileKind
		path    string
		records []events.Record
	}{
		{events.FileCreated, lab, []events.Record{a("web.lan", "10.0.0.1"), a("www.lan", "10.0.0.1"), a("db.lan", "10.0.0.2")}},
		{events.FileCreated, v6, []events.Record{aaaa("v6.lan", "fd00::1")}},
		{events.DirectoryScanned, dir, nil},
	}
	for i, w := range want {
		fe, ok := got[i].(*events.FileEvent)
		require.True(t, ok, "event %d is %T", i, got[i])
		assert.Equal(t, "hosts", fe.Source)
		assert.Equal(t, w.kind, fe.Kind)
		assert.Equal(t, w.path, fe.Path)
		if w.kind == events.DirectoryScanned {
			assert.Nil(t, fe.Snapshot)
			continue
		}
		require.NotNil(t, fe.Snapshot)
		assert.Equal(t, "hosts:"+w.path, fe.Snapshot.Source)
		assert.Equal(t, w.records, fe.Snapshot.Records)
	}

	require.Eventually(t, func() bool { return h.p.Status().Files == 2 }, eventstest.Timeout, 10*time.Millisecond)
	assert.Equal(t, Status{Enabled: true, Directory: dir, Directories: []string{dir}, Running: true, Files: 2, RecordsCount: 4,
		Retry: map[string]retry.Status{dir: {State: retry.Closed}}}, h.p.Status())
}

func TestChanges(t *testing.T) {
	for _, mode := range []string{"notify", "poll"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			h := newHarness(t, testConfig(mode, dir)).start()
			h.expectFile(events.DirectoryScanned, dir)
			path := filepath.Join(dir, "lab")

			// A new file: its snapshot.
			write(t, path, "10.0.0.1 web.lan\n")
			h.expectFile(events.FileCreated, path, a("web.lan", "10.0.0.1"))

			// Edited in place, same size.
			write(t, path, "10.0.0.2 web.lan\n")
			h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.2"))

			// Saved by rename: the watch is on the directory, so the new inode is seen.
			saveByRename(t, path, "10.0.0.2 web.lan\nfd00::2 web.lan\n")
			h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.2"), aaaa("web.lan", "fd00::2"))

			// A dotfile is ignored; a later ordinary file is not.
			write(t, filepath.Join(dir, ".hidden"), "10.9.9.9 hidden.lan\n")
			other := filepath.Join(dir, "other")
			write(t, other, "10.0.0.3 other.lan\n")
			h.expectFile(events.FileCreated, other, a("other.lan", "10.0.0.3"))

			// Deleted: an empty snapshot removes the source.
			require.NoError(t, os.Remove(path))
			deleted := h.expectFile(events.FileDeleted, path)
			require.NotNil(t, deleted.Snapshot)
			assert.Equal(t, "hosts:"+path, deleted.Snapshot.Source)
			assert.Empty(t, deleted.Snapshot.Records)

			for _, e := range h.seen.Events() {
				fe, ok := e.(*events.FileEvent)
				require.True(t, ok, "only file events: the records handler reports records, from the store's diff; got %T", e)
				assert.NotContains(t, fe.Path, ".hidden")
			}
			require.Eventually(t, func() bool {
				s := h.p.Status()
				return s.Files == 1 && s.RecordsCount == 1
			}, eventstest.Timeout, 10*time.Millisecond)
		})
	}
}

func TestBadLinesAreReportedAndSkipped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 good.lan\nthis is not a hosts line\n10.0.0.2 ok.lan bad!name.lan\n")
	h := newHarness(t, testConfig("auto", dir)).start()

	fe := h.expectFile(events.FileCreated, path, a("good.lan", "10.0.0.1"), a("ok.lan", "10.0.0.2"))
	assert.Equal(t, 2, fe.BadLines)

	warnings := h.logs.FilterMessage("skipping bad lines in hosts file").AllUntimed()
	require.Len(t, warnings, 1, "one summary per file")
	fields := warnings[0].ContextMap()
	assert.Equal(t, zapcore.WarnLevel, warnings[0].Level)
	assert.Equal(t, path, fields["file"])
	assert.Equal(t, int64(2), fields["bad_lines"])
	first := fields["first"].([]any)
	require.Len(t, first, 2)
	assert.Contains(t, first[0], "line 2: invalid address")
	assert.Contains(t, first[1], "line 3: ")
	assert.Contains(t, first[1], "bad!name.lan")

	// The Status (and the metrics) count the bad lines of the files as last loaded.
	require.Eventually(t, func() bool { return h.p.Status().BadLines == 2 }, eventstest.Timeout, 10*time.Millisecond)
	write(t, path, "10.0.0.1 good.lan\n10.0.0.2 ok.lan\n")
	h.expectFile(events.FileChanged, path, a("good.lan", "10.0.0.1"), a("ok.lan", "10.0.0.2"))
	require.Eventually(t, func() bool { return h.p.Status().BadLines == 0 }, eventstest.Timeout, 10*time.Millisecond)
}

func TestMissingDirectoryAppearsLater(t *testing.T) {
	for _, mode := range []string{"auto", "poll"} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "later")
			h := newHarness(t, testConfig(mode, dir)).start()
			assert.True(t, h.p.Status().Running, "a missing directory is not fatal")
			assert.Equal(t, 1, h.logs.FilterMessage("directory does not exist; will load it when it appears").Len())

			// Create it fully formed elsewhere and move it in, so the test does not race the first look.
			staging := filepath.Join(t.TempDir(), "staging")
			require.NoError(t, os.Mkdir(staging, 0o755))
			write(t, filepath.Join(staging, "lab"), "10.0.0.1 web.lan\n")
			require.NoError(t, os.Rename(staging, dir))

			path := filepath.Join(dir, "lab")
			h.expectFile(events.FileCreated, path, a("web.lan", "10.0.0.1"))
			h.expectFile(events.DirectoryScanned, dir)

			// It is watched (or polled) from then on.
			write(t, path, "10.0.0.1 web.lan www.lan\n")
			h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.1"), a("www.lan", "10.0.0.1"))
		})
	}
}

func TestDirectoryRemovedAndRecreated(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "hosts")
	require.NoError(t, os.Mkdir(dir, 0o755))
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 web.lan\n")
	h := newHarness(t, testConfig("notify", dir)).start()
	h.expectFile(events.DirectoryScanned, dir)

	require.NoError(t, os.RemoveAll(dir))
	h.expectFile(events.FileDeleted, path)
	require.Eventually(t, func() bool { return h.p.Status().Files == 0 }, eventstest.Timeout, 10*time.Millisecond)

	staging := filepath.Join(root, "staging")
	require.NoError(t, os.Mkdir(staging, 0o755))
	write(t, filepath.Join(staging, "lab"), "10.0.0.5 web.lan\n")
	require.NoError(t, os.Rename(staging, dir))
	h.expectFile(events.FileCreated, path, a("web.lan", "10.0.0.5"))

	// The new directory is watched, not the old one.
	write(t, path, "10.0.0.6 web.lan\n")
	h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.6"))
}

// A directory that cannot be listed any more (here a symlink swapped to a regular file: root lists a directory
// whatever its mode) keeps its files' records; it is looked at again under the retry policy, and the module is
// unhealthy while its circuit is open, healthy again when a probe lists it.
func TestUnlistableDirectoryKeepsRecordsAndIsUnhealthy(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "v1"), 0o755))
	dir := filepath.Join(root, "hosts")
	require.NoError(t, os.Symlink(filepath.Join(root, "v1"), dir))
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 web.lan\n")
	h := newHarness(t, testConfig("auto", dir))
	retries := eventstest.NewWatcher(t, h.bus, events.Filter{Families: []events.Family{events.FamilyRetry, events.FamilyHealth}})
	h.start()
	h.expectFile(events.FileCreated, path, a("web.lan", "10.0.0.1"))
	retries.Expect(t, "healthy after the first load", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))

	swap := func(target string) {
		require.NoError(t, os.Symlink(target, dir+".new"))
		require.NoError(t, os.Rename(dir+".new", dir))
	}
	write(t, filepath.Join(root, "file"), "not a directory")
	swap(filepath.Join(root, "file"))
	opened := retries.Expect(t, "the circuit open", eventstest.Kind(events.FamilyRetry, events.Kind(events.CircuitOpened))).(*events.RetryEvent)
	assert.Equal(t, dir, opened.Target)
	assert.Equal(t, 5, opened.Failures)
	assert.Contains(t, opened.Error, "not a directory")
	sick := retries.Expect(t, "unhealthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy))).(*events.HealthEvent)
	assert.Contains(t, sick.Message, dir+": circuit open after 5 failures")
	st := h.p.Status()
	assert.Contains(t, []retry.State{retry.Open, retry.HalfOpen}, st.Retry[dir].State)
	assert.GreaterOrEqual(t, st.Retry[dir].Failures, 5)
	assert.Equal(t, 1, st.Files, "the file's records are kept")
	for _, e := range h.seen.Events() {
		assert.NotEqual(t, events.FileDeleted, e.(*events.FileEvent).Kind, "nothing removed while the directory cannot be listed")
	}

	require.NoError(t, os.Mkdir(filepath.Join(root, "v2"), 0o755))
	write(t, filepath.Join(root, "v2", "lab"), "10.0.0.2 web.lan\n")
	swap(filepath.Join(root, "v2"))
	h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.2"))
	retries.Expect(t, "recovered", eventstest.Kind(events.FamilyRetry, events.Kind(events.Recovered)))
	well := retries.Expect(t, "healthy again", func(e events.Event) bool {
		he, ok := e.(*events.HealthEvent)
		return ok && he.Kind == events.Healthy && strings.Contains(he.Message, "recovered")
	}).(*events.HealthEvent)
	assert.Equal(t, fmt.Sprintf("%s: recovered after %d failures", dir, h.p.Status().Retry[dir].Retries), well.Message)
	assert.Equal(t, retry.Closed, h.p.Status().Retry[dir].State)
}

// A Kubernetes ConfigMap volume: visible files are symlinks through "..data", which is swapped atomically.
func TestKubernetesConfigMapUpdate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "..v1"), 0o755))
	write(t, filepath.Join(dir, "..v1", "lab"), "10.0.0.1 web.lan\n")
	require.NoError(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	require.NoError(t, os.Symlink("..data/lab", filepath.Join(dir, "lab")))
	path := filepath.Join(dir, "lab")

	h := newHarness(t, testConfig("notify", dir)).start()
	h.expectFile(events.FileCreated, path, a("web.lan", "10.0.0.1"))

	require.NoError(t, os.Mkdir(filepath.Join(dir, "..v2"), 0o755))
	write(t, filepath.Join(dir, "..v2", "lab"), "10.0.0.2 web.lan\n")
	require.NoError(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))

	h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.2"))
}

func TestStartFailsOnUnusableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	write(t, file, "10.0.0.1 web.lan\n")
	h := newHarness(t, testConfig("auto", file))
	err := h.lc.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), file)
	assert.Contains(t, err.Error(), "not a directory")
	assert.False(t, h.p.Status().Running)
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"unknown mode", func(c *Config) { c.Mode = "inotify" }, `hosts.mode = "inotify": must be one of auto, notify, poll`},
		{"ttl beyond RFC 2181", func(c *Config) { c.TTL = 1 << 31 }, "hosts.ttl = 2147483648: must be at most 2147483647 seconds"},
		{"poll interval too short", func(c *Config) { c.PollInterval = 0 }, "hosts.poll_interval"},
		{"negative debounce", func(c *Config) { c.Debounce = -time.Second }, "hosts.debounce"},
		{"empty directory", func(c *Config) { c.Directories = []string{""} }, "hosts.directories[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			_, err := New(Params{Lifecycle: fxtest.NewLifecycle(t), Logger: zap.NewNop(), Bus: eventstest.NewBus(t), Config: cfg})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	require.NoError(t, validation.Section("hosts", DefaultConfig()))
	assert.Equal(t, []string{"/app/hosts"}, DefaultConfig().Directories)
}

func TestModule(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "lab"), "10.0.0.1 web.lan\n")
	bus := eventstest.NewBus(t)
	seen := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHosts}})
	var p *Producer
	app := fxtest.New(t,
		Module,
		fx.Supply(testConfig("auto", dir), bus, zaptest.NewLogger(t)),
		fx.Populate(&p),
	)
	app.RequireStart()
	seen.Expect(t, "directory scan", eventstest.Kind(events.FamilyHosts, events.Kind(events.DirectoryScanned)))
	assert.True(t, p.Status().Running)
	app.RequireStop()
	assert.False(t, p.Status().Running)
}

func TestStopWithoutStart(t *testing.T) {
	h := newHarness(t, testConfig("auto", t.TempDir()))
	require.NoError(t, h.p.Stop(context.Background()), "Stop is safe when Start never ran")
}

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{
		"lab": false, "lab.hosts": false, "10-office": false,
		".hidden": true, "..data": true, "lab~": true, ".lab.swp": true, "lab.swp": true, "lab.swx": true,
		"lab.tmp": true, "#lab#": true,
		".lab-12345": true, // saveByRename's temporary file
	} {
		assert.Equal(t, want, ignored(name), name)
	}
}
