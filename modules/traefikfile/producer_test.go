package traefikfile

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

type harness struct {
	t        *testing.T
	app      *fxtest.App
	bus      *events.Bus
	store    *dnsstore.Store
	producer *Producer
	watch    *eventstest.Watcher
}

func newHarness(t *testing.T, cfg Config, opts ...fx.Option) *harness {
	t.Helper()
	h := &harness{t: t}
	h.app = fxtest.New(t,
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		fx.Supply(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)), cfg, events.DefaultConfig(), records.DefaultConfig()),
		events.Module, dnsstore.Module, records.Module, Module,
		fx.Populate(&h.bus, &h.store, &h.producer),
		fx.Options(opts...),
	)
	h.watch = eventstest.NewWatcher(t, h.bus, events.Filter{Sources: []string{moduleName}})
	h.app.RequireStart()
	t.Cleanup(h.app.RequireStop)
	return h
}

func (h *harness) answers(name string) []string {
	c, err := dnsname.Canonical(name)
	require.NoError(h.t, err)
	var out []string
	for _, r := range h.store.Snapshot().Lookup(c).Records {
		out = append(out, dns.TypeToString[r.Type]+" "+r.Value)
	}
	slices.Sort(out)
	return out
}

func (h *harness) requireAnswers(name string, want ...string) {
	h.t.Helper()
	require.EventuallyWithT(h.t, func(c *assert.CollectT) {
		assert.Equal(c, want, h.answers(name), "answers for %s", name)
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
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(rule("ignored.lab.test")), 0o644))
	cfg := testConfig(dir)
	cfg.HostIP6 = "2001:db8::30"
	h := newHarness(t, cfg)

	h.requireAnswers("nas.lab.test", "A 192.0.2.30", "AAAA 2001:db8::30")
	assert.Empty(t, h.answers("ignored.lab.test"), "only YAML files are read")
	e := h.watch.Expect(t, "file_created", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileCreated)))
	assert.Equal(t, SourcePrefix+existing, e.(*events.FileEvent).Snapshot.Source)

	t.Run("a new file", func(t *testing.T) {
		write(t, filepath.Join(dir, "vm.yaml"), rule("vm.lab.test"))
		h.requireAnswers("vm.lab.test", "A 192.0.2.30", "AAAA 2001:db8::30")
	})
	t.Run("a changed file replaces its names", func(t *testing.T) {
		write(t, existing, rule("nas2.lab.test"))
		h.requireAnswers("nas2.lab.test", "A 192.0.2.30", "AAAA 2001:db8::30")
		h.requireAnswers("nas.lab.test")
	})
	t.Run("invalid YAML keeps the last records", func(t *testing.T) {
		write(t, existing, "http: [unclosed\n")
		marker := filepath.Join(dir, "marker.yml")
		write(t, marker, rule("marker.lab.test"))
		h.requireAnswers("marker.lab.test", "A 192.0.2.30", "AAAA 2001:db8::30")
		assert.Equal(t, []string{"A 192.0.2.30", "AAAA 2001:db8::30"}, h.answers("nas2.lab.test"))
	})
	t.Run("a deleted file removes its names", func(t *testing.T) {
		require.NoError(t, os.Remove(existing))
		h.requireAnswers("nas2.lab.test")
		h.watch.Expect(t, "file_deleted", eventstest.Kind(events.FamilyTraefikFile, events.Kind(events.FileDeleted)))
	})
	st := h.producer.Status()
	assert.True(t, st.Running)
	assert.Equal(t, 2, st.Files)
	assert.Equal(t, 4, st.Records)
}

func TestDirectoryAppearsLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynamic")
	h := newHarness(t, testConfig(dir))
	require.NoError(t, os.Mkdir(dir, 0o755))
	write(t, filepath.Join(dir, "late.yml"), rule("late.lab.test"))
	h.requireAnswers("late.lab.test", "A 192.0.2.30")
	// Now watched: a change is seen.
	write(t, filepath.Join(dir, "late.yml"), rule("later.lab.test"))
	h.requireAnswers("later.lab.test", "A 192.0.2.30")
}

func TestNotADirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	app := fxtest.New(t,
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		fx.Supply(zap.NewNop(), testConfig(path), events.DefaultConfig(), records.DefaultConfig()),
		events.Module, dnsstore.Module, records.Module, Module,
	)
	err := app.Start(t.Context())
	require.ErrorContains(t, err, "is not a directory")
}

func TestHostAddressDetected(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), rule("auto.lab.test"))
	var addr atomic.Pointer[netip.Addr]
	first, second := netip.MustParseAddr("192.0.2.40"), netip.MustParseAddr("192.0.2.41")
	addr.Store(&first)
	cfg := testConfig(dir)
	cfg.HostIP = ""
	h := newHarness(t, cfg, fx.Invoke(func(p *Producer) {
		p.detect = func() (netip.Addr, error) { return *addr.Load(), nil }
	}))
	h.requireAnswers("auto.lab.test", "A 192.0.2.40")
	addr.Store(&second)
	h.requireAnswers("auto.lab.test", "A 192.0.2.41")
	assert.Equal(t, "192.0.2.41", h.producer.Status().HostIP)
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
			_, err := New(Params{Lifecycle: fxtest.NewLifecycle(t), Logger: zap.NewNop(), Config: cfg})
			assert.ErrorContains(t, err, tt.err)
		})
	}
}
