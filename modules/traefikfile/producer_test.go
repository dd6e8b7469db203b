package traefikfile

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

// harness is a started producer on a real bus, with a watcher on what it publishes.
type harness struct {
	t        *testing.T
	producer *Producer
	watch    *eventstest.Watcher
}

// newHarness starts a producer without fx; setup runs before Start.
func newHarness(t *testing.T, cfg Config, setup ...func(*Producer)) *harness {
	t.Helper()
	bus := eventstest.NewBus(t)
	h := &harness{t: t, watch: eventstest.NewWatcher(t, bus, events.Filter{Sources: []string{moduleName}})}
	p, err := NewProducer(cfg, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)), bus)
	require.NoError(t, err)
	for _, f := range setup {
		f(p)
	}
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, p.Stop(context.Background())) }) // before the bus's cleanup
	h.producer = p
	return h
}

// records returns the records of the last FileEvent for path as "name TYPE value" strings, sorted; nil when
// none was published or the last removed the file.
func (h *harness) records(path string) []string {
	var last *events.FileEvent
	for _, e := range h.watch.Events() {
		if fe, ok := e.(*events.FileEvent); ok && fe.Path == path {
			last = fe
		}
	}
	if last == nil {
		return nil
	}
	var out []string
	for _, r := range last.Snapshot.Records {
		out = append(out, r.Name+" "+r.Type+" "+r.Value)
	}
	slices.Sort(out)
	return out
}

func (h *harness) requireRecords(path string, want ...string) {
	h.t.Helper()
	require.EventuallyWithT(h.t, func(c *assert.CollectT) {
		assert.Equal(c, want, h.records(path), "records of %s", path)
	}, waitFor, 10*time.Millisecond)
}

func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.Directories = []string{dir}
	cfg.AllowedDomains = []string{"*"}
	cfg.HostIP = "192.0.2.30"
	cfg.PollInterval = 100 * time.Millisecond
	cfg.Debounce = 10 * time.Millisecond
	return cfg
}

func write(t *testing.T, path, content string) {
	t.Helper()
	// Write a temporary file and rename it, as editors and config management do, so no half-written file is read.
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

func rule(host string) string {
	return "http:\n  routers:\n    r:\n      rule: \"Host(`" + host + "`)\"\n"
}

func TestFileLifecycle(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "nas.yml")
	write(t, existing, rule("nas.lab.test"))
	notes := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte(rule("ignored.lab.test")), 0o644))
	cfg := testConfig(dir)
	cfg.HostIP6 = "2001:db8::30"
	h := newHarness(t, cfg)

	h.requireRecords(existing, "nas.lab.test. A 192.0.2.30", "nas.lab.test. AAAA 2001:db8::30")
	e := h.watch.Expect(t, "file_created", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileCreated)))
	assert.Equal(t, SourcePrefix+existing, e.(*events.FileEvent).Snapshot.Source)

	t.Run("a new file", func(t *testing.T) {
		vm := filepath.Join(dir, "vm.yaml")
		write(t, vm, rule("vm.lab.test"))
		h.requireRecords(vm, "vm.lab.test. A 192.0.2.30", "vm.lab.test. AAAA 2001:db8::30")
	})
	t.Run("a changed file replaces its names", func(t *testing.T) {
		write(t, existing, rule("nas2.lab.test"))
		h.requireRecords(existing, "nas2.lab.test. A 192.0.2.30", "nas2.lab.test. AAAA 2001:db8::30")
	})
	t.Run("invalid YAML keeps the last records", func(t *testing.T) {
		write(t, existing, "http: [unclosed\n")
		// Events arrive in order: once a later file is published, the invalid one has been read.
		marker := filepath.Join(dir, "zz-marker.yml") // after nas.yml, also when both are in one batch
		write(t, marker, rule("marker.lab.test"))
		h.requireRecords(marker, "marker.lab.test. A 192.0.2.30", "marker.lab.test. AAAA 2001:db8::30")
		assert.Equal(t, []string{"nas2.lab.test. A 192.0.2.30", "nas2.lab.test. AAAA 2001:db8::30"}, h.records(existing))
	})
	t.Run("a deleted file removes its names", func(t *testing.T) {
		require.NoError(t, os.Remove(existing))
		e := h.watch.Expect(t, "file_deleted", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileDeleted)))
		fe := e.(*events.FileEvent)
		assert.Equal(t, existing, fe.Path)
		assert.Equal(t, SourcePrefix+existing, fe.Snapshot.Source)
		assert.Empty(t, fe.Snapshot.Records)
	})
	assert.Nil(t, h.records(notes), "only YAML files are read")
	// Status is updated once the whole batch is published, so it may trail the event just seen.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st := h.producer.Status()
		assert.True(c, st.Running)
		assert.Equal(c, 2, st.Files)
		assert.Equal(c, 4, st.Records)
	}, waitFor, 10*time.Millisecond)
}

func TestDirectoryAppearsLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynamic")
	h := newHarness(t, testConfig(dir))
	require.NoError(t, os.Mkdir(dir, 0o755))
	late := filepath.Join(dir, "late.yml")
	write(t, late, rule("late.lab.test"))
	h.requireRecords(late, "late.lab.test. A 192.0.2.30")
	// Now watched: a change is seen.
	write(t, late, rule("later.lab.test"))
	h.requireRecords(late, "later.lab.test. A 192.0.2.30")
}

// A directory that cannot be listed any more (a symlink swapped to a regular file) keeps its routers' records,
// is retried under the retry policy and makes the module unhealthy while its circuit is open; /metrics shows the
// open circuit. A probe that lists it again closes it.
func TestUnlistableDirectoryRetried(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "v1"), 0o755))
	dir := filepath.Join(root, "dynamic")
	require.NoError(t, os.Symlink(filepath.Join(root, "v1"), dir))
	path := filepath.Join(dir, "nas.yml")
	write(t, path, rule("nas.lab.test"))
	h := newHarness(t, testConfig(dir))
	h.requireRecords(path, "nas.lab.test. A 192.0.2.30")

	swap := func(target string) {
		require.NoError(t, os.Symlink(target, dir+".new"))
		require.NoError(t, os.Rename(dir+".new", dir))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	swap(filepath.Join(root, "file"))
	h.watch.Expect(t, "the circuit open", eventstest.Kind(events.FamilyRetry, events.Kind(events.CircuitOpened)))
	sick := h.watch.Expect(t, "unhealthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy))).(*events.HealthEvent)
	assert.Contains(t, sick.Message, dir+": circuit open after 5 failures")
	assert.Equal(t, []string{"nas.lab.test. A 192.0.2.30"}, h.records(path), "the records are kept")
	series := statustest.Collect(t, newCollector(h.producer)).Series
	assert.Equal(t, 0.0, series[`joyride_retry_circuit{source="traefikfile",state="closed",target="`+dir+`"}`])
	assert.GreaterOrEqual(t, series[`joyride_retry_failures_total{source="traefikfile",target="`+dir+`"}`], 5.0)

	require.NoError(t, os.Mkdir(filepath.Join(root, "v2"), 0o755))
	write(t, filepath.Join(root, "v2", "nas.yml"), rule("nas2.lab.test"))
	swap(filepath.Join(root, "v2"))
	h.requireRecords(path, "nas2.lab.test. A 192.0.2.30")
	h.watch.Expect(t, "recovered", eventstest.Kind(events.FamilyRetry, events.Kind(events.Recovered)))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, retry.Closed, h.producer.Status().Retry[dir].State)
	}, waitFor, 10*time.Millisecond)
}

func TestNotADirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	p, err := NewProducer(testConfig(path), zap.NewNop(), eventstest.NewBus(t))
	require.NoError(t, err)
	require.ErrorContains(t, p.Start(context.Background()), "is not a directory")
	require.NoError(t, p.Stop(context.Background()), "Stop is safe after a failed Start")
	assert.False(t, p.Status().Running)
}

func TestHostAddressDetected(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yml")
	write(t, path, rule("auto.lab.test"))
	var addr atomic.Pointer[netip.Addr]
	first, second := netip.MustParseAddr("192.0.2.40"), netip.MustParseAddr("192.0.2.41")
	addr.Store(&first)
	cfg := testConfig(dir)
	cfg.HostIP = ""
	h := newHarness(t, cfg, func(p *Producer) {
		p.detect = func() (netip.Addr, error) { return *addr.Load(), nil }
	})
	h.requireRecords(path, "auto.lab.test. A 192.0.2.40")
	addr.Store(&second)
	h.requireRecords(path, "auto.lab.test. A 192.0.2.41")
	assert.Equal(t, "192.0.2.41", h.producer.Status().HostIP)
}

func TestModule(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "nas.yml"), rule("nas.lab.test"))
	bus := eventstest.NewBus(t)
	watch := eventstest.NewWatcher(t, bus, events.Filter{Sources: []string{moduleName}})
	var p *Producer
	app := fxtest.New(t,
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		fx.Supply(zaptest.NewLogger(t), testConfig(dir), bus),
		Module,
		fx.Populate(&p),
	)
	app.RequireStart()
	watch.Expect(t, "file_created", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileCreated)))
	assert.True(t, p.Status().Running)
	assert.ErrorContains(t, p.Start(context.Background()), "already started")
	app.RequireStop()
	assert.False(t, p.Status().Running)
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		err    string
	}{
		{name: "host ip", mutate: func(c *Config) { c.HostIP = "nope" }, err: `traefikfile.host_ip = "nope": must be an IPv4 address`},
		{name: "syntax", mutate: func(c *Config) { c.RuleSyntax = "v1" }, err: "traefikfile.rule_syntax"},
		{name: "poll", mutate: func(c *Config) { c.PollInterval = 0 }, err: "traefikfile.poll_interval"},
		{name: "allowed domain", mutate: func(c *Config) { c.AllowedDomains = []string{"a b"} }, err: "traefikfile.allowed_domains[0]"},
		{name: "no directories", mutate: func(c *Config) { c.Directories = nil },
			err: "traefikfile.directories is empty: set the directories Traefik's file provider reads, or leave the traefikfile module out"},
		{name: "no allowed domains", mutate: func(c *Config) { c.AllowedDomains = nil },
			err: `traefikfile.allowed_domains is empty: set it to the domains names may be claimed in (usually the DNS zones), or to ["*"] to allow any name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.AllowedDomains = []string{"lab.test"}
			cfg.Directories = []string{t.TempDir()}
			tt.mutate(&cfg)
			_, err := New(Params{Lifecycle: fxtest.NewLifecycle(t), Logger: zap.NewNop(), Bus: eventstest.NewBus(t), Config: cfg})
			assert.ErrorContains(t, err, tt.err)
		})
	}
}

// A file whose first read is not valid YAML is announced as created when it first parses: nothing was published
// for it before, so a subscriber has not seen it.
func TestFirstPublishedIsCreated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "half.yml")
	write(t, path, "http: [unclosed\n")
	// Loaded after half.yml in the first batch: once its records are out, half.yml has been read and refused.
	marker := filepath.Join(dir, "zz-marker.yml")
	write(t, marker, rule("marker.lab.test"))
	h := newHarness(t, testConfig(dir))
	h.requireRecords(marker, "marker.lab.test. A 192.0.2.30")
	require.Nil(t, h.records(path))
	write(t, path, rule("half.lab.test"))
	h.requireRecords(path, "half.lab.test. A 192.0.2.30")
	var kinds []events.Kind
	for _, e := range h.watch.Events() {
		if fe, ok := e.(*events.FileEvent); ok && fe.Path == path {
			kinds = append(kinds, fe.EventKind())
		}
	}
	assert.Equal(t, []events.Kind{events.Kind(events.FileCreated)}, kinds)
}

// Started again without fx, the producer keeps what it published: an unchanged file is not announced again, and
// one deleted while it was stopped has its records removed.
func TestStartedAgain(t *testing.T) {
	dir := t.TempDir()
	kept, gone := filepath.Join(dir, "kept.yml"), filepath.Join(dir, "gone.yml")
	write(t, kept, rule("kept.lab.test"))
	write(t, gone, rule("gone.lab.test"))
	bus := eventstest.NewBus(t)
	watch := eventstest.NewWatcher(t, bus, events.Filter{Sources: []string{moduleName}})
	p, err := NewProducer(testConfig(dir), zaptest.NewLogger(t), bus)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background()))
	watch.Expect(t, "gone.yml", func(e events.Event) bool { fe, ok := e.(*events.FileEvent); return ok && fe.Path == gone })
	watch.Expect(t, "kept.yml", func(e events.Event) bool { fe, ok := e.(*events.FileEvent); return ok && fe.Path == kept })
	require.NoError(t, p.Stop(context.Background()))

	require.NoError(t, os.Remove(gone))
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, p.Stop(context.Background())) })
	watch.Expect(t, "gone.yml removed", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileDeleted)))
	var got []string
	for _, e := range watch.Events() {
		if fe, ok := e.(*events.FileEvent); ok {
			got = append(got, string(fe.Kind)+" "+filepath.Base(fe.Path))
		}
	}
	assert.Equal(t, []string{"file_created gone.yml", "file_created kept.yml", "file_deleted gone.yml"}, got)
}
