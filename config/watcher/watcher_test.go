package watcher_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/config"
	"github.com/joyride-dns/joyride/config/watcher"
	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/reload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target is a fake module that records the sections it is handed.
type target struct {
	mu       sync.Mutex
	sections []dnsserver.Config
	fail     error
	stuck    bool // Apply waits for its context to end, as a module stuck on its source would
}

func (tg *target) apply(ctx context.Context, section any) error {
	tg.mu.Lock()
	stuck := tg.stuck
	tg.mu.Unlock()
	if stuck {
		<-ctx.Done()
		return ctx.Err()
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.fail != nil {
		return tg.fail
	}
	tg.sections = append(tg.sections, section.(dnsserver.Config))
	return nil
}

func (tg *target) last() (dnsserver.Config, int) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if len(tg.sections) == 0 {
		return dnsserver.Config{}, 0
	}
	return tg.sections[len(tg.sections)-1], len(tg.sections)
}

type harness struct {
	file    string
	w       *watcher.Watcher
	dns     *target
	events  *eventstest.Watcher
	hangups chan os.Signal
}

// start runs the watcher over file (written with content first, unless content is empty) on the hosts-only
// profile (docker is off there), with a fake target for dns.negative_ttl and dns.forwarders.
func start(t *testing.T, file, content string) *harness {
	t.Helper()
	if content != "" {
		write(t, file, content)
	}
	res, err := config.Load(config.Options{Profile: "hosts-only", File: file})
	require.NoError(t, err)
	bus := eventstest.NewBus(t)
	h := &harness{file: file, dns: &target{}, hangups: make(chan os.Signal, 1)}
	h.events = eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilySystem}})
	app := fxtest.New(t,
		fx.NopLogger,
		fx.Supply(zaptest.NewLogger(t), bus, watcher.Source{
			Options: config.Options{Profile: "hosts-only", File: file}, Result: res, Hangups: h.hangups,
			ApplyTimeout: applyTimeout,
		}),
		reload.Provide(func() reload.Target {
			return reload.Target{Module: "dns", Keys: []string{"dns.negative_ttl", "dns.forwarders"}, Apply: h.dns.apply}
		}),
		watcher.Module,
		fx.Populate(&h.w),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return h
}

// applyTimeout is short: the fake targets answer at once unless stuck.
const applyTimeout = 300 * time.Millisecond

func write(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path)) // as editors save
}

// expect waits for the event of kind that follows the first after of them.
func (h *harness) expect(t *testing.T, kind events.SystemKind, after int) *events.SystemEvent {
	t.Helper()
	var got *events.SystemEvent
	require.Eventually(t, func() bool {
		n := 0
		for _, e := range h.events.Events() {
			if se, ok := e.(*events.SystemEvent); ok && se.Kind == kind {
				if n == after {
					got = se
					return true
				}
				n++
			}
		}
		return false
	}, eventstest.Timeout, 10*time.Millisecond, "%s event number %d", kind, after+1)
	return got
}

func changes(e *events.SystemEvent) map[string]events.ConfigChange {
	out := map[string]events.ConfigChange{}
	for _, c := range e.Changes {
		out[c.Key] = c
	}
	return out
}

func TestLiveAndRestartKeys(t *testing.T) {
	h := start(t, filepath.Join(t.TempDir(), "joyride.yaml"), "dns:\n  negative_ttl: 30\n")
	write(t, h.file, "dns:\n  negative_ttl: 5\n  port: 5354\n  forwarders: [127.0.0.1:5399]\nlog:\n  format: console\n")

	e := h.expect(t, events.ConfigurationChanged, 0)
	c := changes(e)
	require.Len(t, c, 5, "%+v", e.Changes)
	assert.Equal(t, events.ConfigChange{Key: "dns.negative_ttl", From: "30", To: "5"}, c["dns.negative_ttl"])
	assert.False(t, c["dns.forwarders"].Restart)
	assert.True(t, c["dns.port"].Restart, "the port needs a restart")
	assert.True(t, c["log.format"].Restart, "no target covers log.format")
	assert.False(t, c["cluster.dns_port"].Restart, "derived from dns.port, for a cluster module that is off")
	assert.Contains(t, e.Message, "2 need a restart")

	got, n := h.dns.last()
	require.Equal(t, 1, n, "one Apply for the module")
	assert.EqualValues(t, 5, got.NegativeTTL)
	assert.Equal(t, []string{"127.0.0.1:5399"}, got.Forwarders)
	assert.Equal(t, dnsserver.DefaultConfig().Port, got.Port, "the section keeps the running port")

	st := h.w.Status().(watcher.Status)
	assert.Equal(t, watcher.Applied, st.LastResult)
	assert.ElementsMatch(t, []string{"dns.port", "log.format"}, st.RestartPending)

	// Putting the port back is no longer pending, and needs no restart.
	write(t, h.file, "dns:\n  negative_ttl: 5\n  forwarders: [127.0.0.1:5399]\nlog:\n  format: console\n")
	e = h.expect(t, events.ConfigurationChanged, 1)
	c = changes(e)
	require.Len(t, c, 2, "dns.port and the cluster.dns_port derived from it: %+v", e.Changes)
	assert.False(t, c["dns.port"].Restart)
	assert.Equal(t, []string{"log.format"}, h.w.Status().(watcher.Status).RestartPending)
	_, n = h.dns.last()
	assert.Equal(t, 1, n, "the module is not handed a section that did not change for it")
}

func TestInvalidFileIsRejected(t *testing.T) {
	h := start(t, filepath.Join(t.TempDir(), "joyride.yaml"), "dns:\n  negative_ttl: 30\n")
	write(t, h.file, "dns:\n  negative_ttl: 7\n  port: 70000\n")

	e := h.expect(t, events.ConfigurationRejected, 0)
	// The error is the one `joyride config validate` prints: key, value, file and line, rule.
	want := fmt.Sprintf("config: dns.port = 70000 (file %s:3): must be at most 65535", h.file)
	assert.Equal(t, want, e.Error)
	_, n := h.dns.last()
	assert.Zero(t, n, "nothing of a rejected file is applied")
	st := h.w.Status().(watcher.Status)
	assert.Equal(t, watcher.Rejected, st.LastResult)
	assert.Equal(t, want, st.LastError)

	// Unparsable, then valid again: the change is counted from the last valid file.
	write(t, h.file, "dns: [\n")
	h.expect(t, events.ConfigurationRejected, 1)
	write(t, h.file, "dns:\n  negative_ttl: 9\n")
	e = h.expect(t, events.ConfigurationChanged, 0)
	assert.Equal(t, events.ConfigChange{Key: "dns.negative_ttl", From: "30", To: "9"}, changes(e)["dns.negative_ttl"])
	got, _ := h.dns.last()
	assert.EqualValues(t, 9, got.NegativeTTL)
}

func TestOffModuleAndFailedApply(t *testing.T) {
	h := start(t, filepath.Join(t.TempDir(), "joyride.yaml"), "dns:\n  negative_ttl: 30\n")
	h.dns.mu.Lock()
	h.dns.fail = errors.New("upstream list refused")
	h.dns.mu.Unlock()
	write(t, h.file, "dns:\n  negative_ttl: 4\ndocker:\n  ttl: 99\n")

	e := h.expect(t, events.ConfigurationChanged, 0)
	c := changes(e)
	assert.True(t, c["dns.negative_ttl"].Failed)
	assert.Equal(t, events.ConfigChange{Key: "docker.ttl", From: "60", To: "99", Inactive: true}, c["docker.ttl"],
		"docker is off in hosts-only: its keys change nothing now")
	assert.Contains(t, e.Message, "0 applied")
	assert.Equal(t, watcher.Failed, h.w.Status().(watcher.Status).LastResult)

	// A failed key is tried again at the next reload.
	h.dns.mu.Lock()
	h.dns.fail = nil
	h.dns.mu.Unlock()
	h.hangups <- syscall.SIGHUP
	require.Eventually(t, func() bool {
		got, _ := h.dns.last()
		return got.NegativeTTL == 4
	}, 5*time.Second, 10*time.Millisecond, "applied at the next reload")
	// The save may have triggered a second reload that failed again before the module recovered: the reload that
	// applied it is the last event.
	var last *events.SystemEvent
	require.Eventually(t, func() bool {
		evs := h.events.Events()
		last, _ = evs[len(evs)-1].(*events.SystemEvent)
		return last != nil && last.Kind == events.ConfigurationChanged && !last.Changes[0].Failed
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []events.ConfigChange{{Key: "dns.negative_ttl", From: "30", To: "4"}}, last.Changes)
}

// TestRapidSaves: ten saves in a row end with the last one applied.
func TestRapidSaves(t *testing.T) {
	h := start(t, filepath.Join(t.TempDir(), "joyride.yaml"), "dns:\n  negative_ttl: 30\n")
	for i := 1; i <= 10; i++ {
		write(t, h.file, fmt.Sprintf("dns:\n  negative_ttl: %d\n", 100+i))
	}
	require.Eventually(t, func() bool {
		got, _ := h.dns.last()
		return got.NegativeTTL == 110
	}, 5*time.Second, 10*time.Millisecond, "the last save applied")
}

// TestConfigMapSwap: Kubernetes mounts a ConfigMap as symlinks into a directory it swaps atomically.
func TestConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name, "joyride.yaml"), []byte(content), 0o644))
		require.NoError(t, os.Symlink(name, filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	version("..2026_11_30_1", "dns:\n  negative_ttl: 30\n")
	require.NoError(t, os.Symlink("..data/joyride.yaml", filepath.Join(dir, "joyride.yaml")))
	h := start(t, filepath.Join(dir, "joyride.yaml"), "")

	version("..2026_11_30_2", "dns:\n  negative_ttl: 12\n")
	e := h.expect(t, events.ConfigurationChanged, 0)
	assert.Equal(t, "12", changes(e)["dns.negative_ttl"].To)
}

func TestHangup(t *testing.T) {
	h := start(t, filepath.Join(t.TempDir(), "joyride.yaml"), "dns:\n  negative_ttl: 30\n")
	reloads := func() int { return h.w.Status().(watcher.Status).Reloads[watcher.Unchanged] }
	require.Eventually(t, func() bool { return reloads() == 1 }, 5*time.Second, 10*time.Millisecond,
		"the file as it is at start is read once")
	h.hangups <- syscall.SIGHUP
	require.Eventually(t, func() bool { return reloads() == 2 }, 5*time.Second, 10*time.Millisecond,
		"SIGHUP reloads")
	assert.True(t, strings.HasSuffix(h.file, "joyride.yaml"))
}

// TestStuckApply: a module whose Apply does not return (stuck on its source) fails its keys when the apply timeout
// ends, and later saves are still reloaded.
func TestStuckApply(t *testing.T) {
	h := start(t, filepath.Join(t.TempDir(), "joyride.yaml"), "dns:\n  negative_ttl: 30\n")
	h.dns.mu.Lock()
	h.dns.stuck = true
	h.dns.mu.Unlock()
	write(t, h.file, "dns:\n  negative_ttl: 4\n")
	e := h.expect(t, events.ConfigurationChanged, 0)
	assert.True(t, changes(e)["dns.negative_ttl"].Failed)
	assert.Contains(t, e.Error, "dns: "+context.DeadlineExceeded.Error())

	h.dns.mu.Lock()
	h.dns.stuck = false
	h.dns.mu.Unlock()
	write(t, h.file, "dns:\n  negative_ttl: 5\n")
	// A reload the first save triggered twice may apply 4 first (a failed key is tried again): wait for 5.
	require.Eventually(t, func() bool {
		got, _ := h.dns.last()
		return got.NegativeTTL == 5
	}, 5*time.Second, 10*time.Millisecond, "the next save is applied")
}
