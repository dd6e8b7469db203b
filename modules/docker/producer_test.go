package docker

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	hostIP = "192.0.2.10"
	// waitFor bounds every wait on the engine; the machine is small and shared, so it is generous.
	waitFor = 20 * time.Second
	tick    = 10 * time.Millisecond
)

// name returns a name under this run's test domain.
func name(label string) string { return label + "." + testDomain }

// harness is a started producer on a real bus, with a watcher on what it publishes. What the store would serve is
// computed from the events, not read from it: the records handler and the store have tests of their own.
type harness struct {
	t        *testing.T
	producer *Producer
	watch    *eventstest.Watcher
	logs     *observer.ObservedLogs
}

// testConfig points names at a fixed address and confines the producer to this run's domain, so containers of
// other tests or runs on the same engine are refused, not served.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.HostIP = hostIP
	cfg.AllowedDomains = []string{testDomain}
	cfg.MaxBackoff = 200 * time.Millisecond
	cfg.AddressCheckInterval = 0
	return cfg
}

// newHarness starts a producer without fx; setup runs before Start.
func newHarness(t *testing.T, cfg Config, setup ...func(*Producer)) *harness {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Core(), core))
	bus := eventstest.NewBus(t)
	h := &harness{t: t, logs: logs}
	h.watch = eventstest.NewWatcher(t, bus, events.Filter{
		Families: []events.Family{events.FamilyContainer, events.FamilyHealth},
		Sources:  []string{moduleName},
	})
	p, err := NewProducer(cfg, log, bus)
	require.NoError(t, err)
	for _, f := range setup {
		f(p)
	}
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, p.Stop(context.Background())) }) // before the bus's cleanup
	h.producer = p
	return h
}

// served returns, per container ID, the records of the last event published for it: what the records handler
// serves, since every event carries the container's whole set and an empty one removes it.
func (h *harness) served() map[string][]events.Record {
	m := make(map[string][]events.Record)
	for _, e := range h.watch.Events() {
		ce, ok := e.(*events.ContainerEvent)
		if !ok {
			continue
		}
		if len(ce.Snapshot.Records) == 0 {
			delete(m, ce.ContainerID)
		} else {
			m[ce.ContainerID] = ce.Snapshot.Records
		}
	}
	return m
}

// answers returns what is served for a name, as "A 192.0.2.10" strings, sorted and without duplicates.
func (h *harness) answers(n string) []string {
	c, err := dnsname.Canonical(n)
	require.NoError(h.t, err)
	var out []string
	for _, recs := range h.served() {
		for _, r := range recs {
			if a := r.Type + " " + r.Value; r.Name == c && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (h *harness) requireAnswers(n string, want ...string) {
	h.t.Helper()
	slices.Sort(want)
	require.EventuallyWithT(h.t, func(c *assert.CollectT) {
		assert.Equal(c, want, h.answers(n), "answers for %s", n)
	}, waitFor, tick)
}

func (h *harness) requireResolves(n string) { h.t.Helper(); h.requireAnswers(n, "A "+hostIP) }

func (h *harness) requireGone(n string) { h.t.Helper(); h.requireAnswers(n) }

// dockerSources returns the IDs of the containers whose records are served.
func (h *harness) dockerSources() []string {
	return slices.Collect(maps.Keys(h.served()))
}

// expectContainer waits for a container event of kind for id and returns it.
func (h *harness) expectContainer(kind events.ContainerKind, id string) *events.ContainerEvent {
	h.t.Helper()
	e := h.watch.Expect(h.t, fmt.Sprintf("container %s %s", kind, shortID(id)), func(e events.Event) bool {
		ce, ok := e.(*events.ContainerEvent)
		return ok && ce.Kind == kind && ce.ContainerID == id
	})
	return e.(*events.ContainerEvent)
}

func (h *harness) countContainer(kind events.ContainerKind, id string) int {
	n := 0
	for _, e := range h.watch.Events() {
		if ce, ok := e.(*events.ContainerEvent); ok && ce.Kind == kind && ce.ContainerID == id {
			n++
		}
	}
	return n
}

func (h *harness) healthKinds() []events.HealthKind {
	var out []events.HealthKind
	for _, e := range h.watch.Events() {
		if he, ok := e.(*events.HealthEvent); ok {
			out = append(out, he.Kind)
		}
	}
	return out
}

// requireWarning waits for a warning that names the container and the offending value.
func (h *harness) requireWarning(container, value string) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		for _, e := range h.logs.FilterLevelExact(zap.WarnLevel).All() {
			f := e.ContextMap()
			if f["container"] == container && f["value"] == value {
				return true
			}
		}
		return false
	}, waitFor, tick, "no warning naming container %s and value %q", container, value)
}

func TestExistingContainersAtStart(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	a, _ := cs.run(map[string]string{"joyride.host.name": name("existing-a")})
	b, _ := cs.run(map[string]string{"coredns.host.name": name("existing-b")})
	stopped, _ := cs.create(map[string]string{"joyride.host.name": name("existing-stopped")})
	_ = stopped

	h := newHarness(t, testConfig())
	h.requireResolves(name("existing-a"))
	h.requireResolves(name("existing-b"))
	e := h.expectContainer(events.ContainerDiscovered, a)
	assert.Equal(t, []string{name("existing-a") + "."}, e.Names)
	assert.Equal(t, SourcePrefix+a, e.Snapshot.Source)
	h.expectContainer(events.ContainerDiscovered, b)
	assert.Empty(t, h.answers(name("existing-stopped")), "a created but not started container is not served")
	assert.Equal(t, []events.HealthKind{events.Healthy}, h.healthKinds())
	// The healthy report says that the first listing is done (pkg/status): it follows the listed containers.
	h.watch.Expect(t, "healthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
	order := map[string]int{}
	for i, e := range h.watch.Events() {
		switch ev := e.(type) {
		case *events.ContainerEvent:
			order[ev.ContainerID] = i
		case *events.HealthEvent:
			order["healthy"] = i
		}
	}
	assert.Greater(t, order["healthy"], order[a], "healthy after the first container")
	assert.Greater(t, order["healthy"], order[b], "healthy after the second container")
	// Status is updated once the listing is published, so it may trail the events just seen.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st := h.producer.Status()
		assert.True(c, st.Running)
		assert.True(c, st.Connected)
		assert.GreaterOrEqual(c, st.Containers, 2)
		assert.Equal(c, hostIP, st.HostIP)
	}, waitFor, tick)
}

func TestContainerLifecycle(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	h := newHarness(t, testConfig())
	n := name("lifecycle")
	id, _ := cs.run(map[string]string{"joyride.host.name": n})

	h.requireResolves(n)
	h.expectContainer(events.ContainerStarted, id)

	t.Run("pause and unpause", func(t *testing.T) {
		cs.pause(id)
		h.requireGone(n)
		cs.unpause(id)
		h.requireResolves(n)
	})
	t.Run("stop and start", func(t *testing.T) {
		cs.stop(id)
		h.requireGone(n)
		e := h.expectContainer(events.ContainerStopped, id)
		assert.Empty(t, e.Snapshot.Records, "stopped carries an empty snapshot")
		assert.Equal(t, SourcePrefix+id, e.Snapshot.Source)
		cs.start(id)
		h.requireResolves(n)
	})
	t.Run("a signal that does not stop the container keeps its records", func(t *testing.T) {
		cs.kill(id, "SIGWINCH") // ignored by the sleeper
		// Events arrive in order: once a later container resolves, the kill has been handled.
		marker := name("after-winch")
		cs.run(map[string]string{"joyride.host.name": marker})
		h.requireResolves(marker)
		assert.Equal(t, []string{"A " + hostIP}, h.answers(n))
	})
	t.Run("kill", func(t *testing.T) {
		cs.kill(id, "SIGKILL")
		h.requireGone(n)
		cs.start(id)
		h.requireResolves(n)
	})
	t.Run("rm of a running container", func(t *testing.T) {
		cs.remove(id)
		h.requireGone(n)
		assert.NotContains(t, h.dockerSources(), id)
	})
}

func TestNamesAndValidation(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	cfg := testConfig()
	h := newHarness(t, cfg)

	t.Run("several names per label, comma and space separated, in both default label keys", func(t *testing.T) {
		id, _ := cs.run(map[string]string{
			"joyride.host.name": name("multi-a") + ", " + name("multi-b") + " " + name("Multi-C"),
			"coredns.host.name": name("multi-d"),
		})
		for _, l := range []string{"multi-a", "multi-b", "multi-c", "multi-d"} {
			h.requireResolves(name(l))
		}
		e := h.expectContainer(events.ContainerStarted, id)
		assert.Len(t, e.Names, 4)
	})
	t.Run("invalid names are skipped and logged, valid ones served", func(t *testing.T) {
		bad := []string{"bad_na!me." + testDomain, "-dash." + testDomain, strings.Repeat("x", 64) + "." + testDomain}
		id, cname := cs.run(map[string]string{
			"joyride.host.name": strings.Join(append([]string{name("valid-one")}, bad...), ","),
		})
		h.requireResolves(name("valid-one"))
		e := h.expectContainer(events.ContainerStarted, id)
		assert.Equal(t, []string{name("valid-one") + "."}, e.Names)
		for _, b := range bad {
			h.requireWarning(cname, b)
		}
	})
	t.Run("only invalid names: nothing served, nothing published", func(t *testing.T) {
		id, cname := cs.run(map[string]string{"joyride.host.name": "nope!." + testDomain})
		h.requireWarning(cname, "nope!."+testDomain)
		marker := name("after-invalid")
		cs.run(map[string]string{"joyride.host.name": marker})
		h.requireResolves(marker)
		assert.Zero(t, h.countContainer(events.ContainerStarted, id))
	})
	t.Run("names outside the allowed domains are refused", func(t *testing.T) {
		outside := "takeover.example.com"
		_, cname := cs.run(map[string]string{"joyride.host.name": outside + " " + name("inside")})
		h.requireResolves(name("inside"))
		h.requireWarning(cname, outside)
		assert.Empty(t, h.answers(outside))
	})
	t.Run("host ip and ttl overrides", func(t *testing.T) {
		id, _ := cs.run(map[string]string{
			"joyride.host.name": name("override"),
			IPLabel:             "10.1.2.3, fd00::1",
			TTLLabel:            "7",
		})
		h.requireAnswers(name("override"), "A 10.1.2.3", "AAAA fd00::1")
		for _, r := range h.served()[id] {
			assert.EqualValues(t, 7, r.TTL, "%s", r.Value)
		}
	})
	t.Run("invalid ip override skips the container", func(t *testing.T) {
		_, cname := cs.run(map[string]string{"joyride.host.name": name("bad-ip"), IPLabel: "10.1.2.999"})
		h.requireWarning(cname, "10.1.2.999")
		marker := name("after-bad-ip")
		cs.run(map[string]string{"joyride.host.name": marker})
		h.requireResolves(marker)
		assert.Empty(t, h.answers(name("bad-ip")))
	})
	t.Run("invalid ttl falls back to the default", func(t *testing.T) {
		id, cname := cs.run(map[string]string{"joyride.host.name": name("bad-ttl"), TTLLabel: "soon"})
		h.requireResolves(name("bad-ttl"))
		h.requireWarning(cname, "soon")
		recs := h.served()[id]
		require.Len(t, recs, 1)
		assert.Equal(t, cfg.TTL, recs[0].TTL)
	})
}

func TestTwoContainersOneName(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	h := newHarness(t, testConfig())
	n := name("shared")
	a, _ := cs.run(map[string]string{"joyride.host.name": n})
	b, _ := cs.run(map[string]string{"joyride.host.name": n})
	h.requireResolves(n)
	require.Eventually(t, func() bool {
		s := h.dockerSources()
		return slices.Contains(s, a) && slices.Contains(s, b)
	}, waitFor, tick, "each container is its own source")

	cs.stop(a)
	h.expectContainer(events.ContainerStopped, a)
	assert.Equal(t, []string{"A " + hostIP}, h.answers(n), "the name stays while the other container runs")
	cs.stop(b)
	h.requireGone(n)
}

func TestStopGrace(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	cfg := testConfig()
	cfg.StopGrace = 1500 * time.Millisecond
	h := newHarness(t, cfg)

	t.Run("records outlive the container by the grace", func(t *testing.T) {
		n := name("grace")
		id, _ := cs.run(map[string]string{"joyride.host.name": n})
		h.requireResolves(n)
		stopAt := time.Now()
		cs.stop(id)
		h.requireGone(n)
		assert.GreaterOrEqual(t, time.Since(stopAt), cfg.StopGrace, "removed before the stop grace ended")
		h.expectContainer(events.ContainerStopped, id)
	})
	t.Run("a restart within the grace never drops the name", func(t *testing.T) {
		// A producer of its own with a grace no engine needs to stop and start a small container, even on a
		// loaded machine; the test waits until the grace after the stop has passed, so it proves the pending
		// removal was cancelled by the restart.
		long := testConfig()
		long.StopGrace = 5 * time.Second
		h := newHarness(t, long)
		n := name("grace-restart")
		id, _ := cs.run(map[string]string{"joyride.host.name": n})
		h.requireResolves(n)
		h.expectContainer(events.ContainerStarted, id)
		began := time.Now()
		cs.stop(id)
		cs.start(id)
		took := time.Since(began)
		require.Less(t, took, long.StopGrace, "the engine took longer than the grace to stop and start a container")
		require.Eventually(t, func() bool { return h.countContainer(events.ContainerStarted, id) >= 2 },
			waitFor, tick, "restart not seen")
		require.Never(t, func() bool { return h.countContainer(events.ContainerStopped, id) > 0 },
			long.StopGrace-time.Since(began)+time.Second, 50*time.Millisecond, "records removed despite the restart")
		assert.Equal(t, []string{"A " + hostIP}, h.answers(n))
	})
	t.Run("rm within the grace still removes after it", func(t *testing.T) {
		n := name("grace-rm")
		id, _ := cs.run(map[string]string{"joyride.host.name": n})
		h.requireResolves(n)
		cs.remove(id)
		h.requireGone(n)
		assert.NotContains(t, h.dockerSources(), id)
	})
}

// TestChurn starts, stops, restarts and removes 100 containers concurrently; the records must end up exactly
// those of the running set.
func TestChurn(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	h := newHarness(t, testConfig())
	const total = 100
	ids := make([]string, total)
	parallel(t, total, func(i int) {
		ids[i], _ = cs.create(map[string]string{"joyride.host.name": name(fmt.Sprintf("churn-%d", i))})
	})
	r := rand.New(rand.NewPCG(1, 2))
	parallel(t, total, func(i int) { cs.start(ids[i]) })
	perm := r.Perm(total)
	stop, rm, restart := perm[:50], perm[50:75], perm[:15] // restart some of the stopped ones
	parallel(t, len(stop), func(i int) { cs.stop(ids[stop[i]]) })
	parallel(t, len(rm), func(i int) { cs.remove(ids[rm[i]]) })
	parallel(t, len(restart), func(i int) { cs.start(ids[restart[i]]) })

	want := cs.running()
	require.Len(t, want, total-50-25+15)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got := h.dockerSources()
		slices.Sort(got)
		assert.Equal(c, want, got)
	}, 60*time.Second, 50*time.Millisecond, "the served containers must be exactly the running ones")
	for i, id := range ids {
		if slices.Contains(want, id) {
			assert.Equal(t, []string{"A " + hostIP}, h.answers(name(fmt.Sprintf("churn-%d", i))))
		} else {
			assert.Empty(t, h.answers(name(fmt.Sprintf("churn-%d", i))))
		}
	}
}

// parallel runs f(0..n-1) on a few workers; the engine is the bottleneck, not the test.
func parallel(t *testing.T, n int, f func(i int)) {
	t.Helper()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 6 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

func TestReconnectAndReconcile(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	proxy := newEngineProxy(t)
	cfg := testConfig()
	cfg.Host = proxy.host()
	h := newHarness(t, cfg)

	stays, _ := cs.run(map[string]string{"joyride.host.name": name("stays")})
	vanishes, _ := cs.run(map[string]string{"joyride.host.name": name("vanishes")})
	stopsLater, _ := cs.run(map[string]string{"joyride.host.name": name("stops-later")})
	h.requireResolves(name("stays"))
	h.requireResolves(name("vanishes"))
	h.requireResolves(name("stops-later"))

	proxy.interrupt()
	require.Eventually(t, func() bool { return !h.producer.Status().Connected }, waitFor, tick)
	cs.remove(vanishes)
	cs.stop(stopsLater)
	appeared, _ := cs.run(map[string]string{"joyride.host.name": name("appeared")})
	assert.Equal(t, []string{"A " + hostIP}, h.answers(name("vanishes")), "nothing changes while disconnected")
	proxy.restore()

	h.requireResolves(name("appeared"))
	h.requireGone(name("vanishes"))
	h.requireGone(name("stops-later"))
	h.requireResolves(name("stays"))
	h.expectContainer(events.ContainerDiscovered, appeared)
	require.Eventually(t, func() bool { return h.producer.Status().Connected }, waitFor, tick)

	// After the reconcile, the stream is live again.
	late, _ := cs.run(map[string]string{"joyride.host.name": name("late")})
	h.requireResolves(name("late"))
	h.expectContainer(events.ContainerStarted, late)

	assert.Equal(t, 1, h.countContainer(events.ContainerStarted, stays)+h.countContainer(events.ContainerDiscovered, stays),
		"an unchanged container is not re-published by the reconcile")
	assert.Equal(t, []events.HealthKind{events.Healthy, events.Unhealthy, events.Healthy}, h.healthKinds())
	assert.NotEmpty(t, h.producer.Status().LastError)
	assert.Equal(t, 1, h.producer.Status().Reconnects)
	assert.Empty(t, proxy.writes(), "the producer must only read from the engine")
	assert.NotEmpty(t, proxy.requests())
}

func TestEngineUnreachableAtStart(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	proxy := newEngineProxy(t)
	proxy.interrupt()
	cfg := testConfig()
	cfg.Host = proxy.host()
	id, _ := cs.run(map[string]string{"joyride.host.name": name("waiting")})

	h := newHarness(t, cfg) // starting must not fail
	h.watch.Expect(t, "unhealthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy)))
	st := h.producer.Status()
	assert.True(t, st.Running)
	assert.False(t, st.Connected)
	assert.Contains(t, st.LastError, "engine cut by the test")
	assert.Empty(t, h.answers(name("waiting")))

	proxy.restore()
	h.requireResolves(name("waiting"))
	h.expectContainer(events.ContainerDiscovered, id)
	h.watch.Expect(t, "healthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
	assert.Zero(t, h.producer.Status().Reconnects, "the first connection is not a reconnect, however late")
}

// The engine's circuit breaker (pkg/retry): five failed connections open it (an event, and the health says so),
// a probe that fails opens it again, and once the engine answers the connection holds for the stable period and
// the circuit closes. An engine that accepts connections and drops each stream at once is not a success: its
// failures add up until the circuit opens again.
func TestEngineCircuit(t *testing.T) {
	testEngine(t) // the engine behind the proxy, once restored
	proxy := newEngineProxy(t)
	proxy.interrupt()
	cfg := testConfig() // MaxBackoff 200ms: probes every 400ms ±20 %
	cfg.Host = proxy.host()
	h := newHarness(t, cfg, func(p *Producer) { p.stable = 500 * time.Millisecond })
	retries := eventstest.NewWatcher(t, h.producer.bus, events.Filter{Families: []events.Family{events.FamilyRetry}})
	isRetry := func(kind events.RetryKind, from retry.State) func(events.Event) bool {
		return func(e events.Event) bool {
			re, ok := e.(*events.RetryEvent)
			return ok && re.Kind == kind && re.From == string(from)
		}
	}

	opened := retries.Expect(t, "the circuit open", isRetry(events.CircuitOpened, retry.Closed)).(*events.RetryEvent)
	assert.Equal(t, 5, opened.Failures)
	assert.Equal(t, cfg.Host, opened.Target)
	assert.Contains(t, opened.Error, "engine cut by the test")
	sick := h.watch.Expect(t, "the health says so", func(e events.Event) bool {
		he, ok := e.(*events.HealthEvent)
		return ok && he.Kind == events.Unhealthy && strings.Contains(he.Message, "circuit open after 5 failures")
	}).(*events.HealthEvent)
	assert.True(t, strings.HasPrefix(sick.Message, cfg.Host+": "), sick.Message)
	retries.Expect(t, "a probe", isRetry(events.CircuitHalfOpen, retry.Open))
	reopened := retries.Expect(t, "the failed probe", isRetry(events.CircuitOpened, retry.HalfOpen)).(*events.RetryEvent)
	assert.Equal(t, 6, reopened.Failures)
	st := h.producer.Status().Retry
	assert.Contains(t, []retry.State{retry.Open, retry.HalfOpen}, st.State)
	assert.GreaterOrEqual(t, st.Failures, 6)
	series := statustest.Collect(t, newCollector(h.producer)).Series
	assert.Equal(t, 0.0, series[`joyride_retry_circuit{source="docker",state="closed",target="`+cfg.Host+`"}`])
	assert.GreaterOrEqual(t, series[`joyride_retry_failures_total{source="docker",target="`+cfg.Host+`"}`], 6.0)

	proxy.restore()
	h.watch.Expect(t, "connected", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
	rec := retries.Expect(t, "the connection held", isRetry(events.Recovered, retry.HalfOpen)).(*events.RetryEvent)
	assert.GreaterOrEqual(t, rec.Failures, 6)
	require.Eventually(t, func() bool { return h.producer.Status().Retry.State == retry.Closed }, waitFor, tick)
	assert.Zero(t, h.producer.Status().Retry.Failures)

	// A flapping engine: every stream dropped long before the stable period.
	for range 10 {
		require.Eventually(t, func() bool { return h.producer.Status().Connected }, waitFor, tick)
		proxy.interrupt()
		require.Eventually(t, func() bool { return !h.producer.Status().Connected }, waitFor, tick)
		proxy.restore()
		if h.producer.Status().Retry.State != retry.Closed {
			break
		}
	}
	again := retries.Expect(t, "the circuit open again", func(e events.Event) bool {
		re, ok := e.(*events.RetryEvent)
		return ok && re.Kind == events.CircuitOpened && re.From == string(retry.Closed) && re.Timestamp.After(rec.Timestamp)
	}).(*events.RetryEvent)
	assert.Equal(t, 5, again.Failures, "five short-lived connections in a row")
	for _, e := range retries.Events() {
		re := e.(*events.RetryEvent)
		if re.Timestamp.After(rec.Timestamp) && re.Timestamp.Before(again.Timestamp) {
			assert.NotEqual(t, events.Recovered, re.Kind, "a stream dropped at once is no recovery")
		}
	}
}

func TestNoEngineAtAll(t *testing.T) {
	cfg := testConfig()
	cfg.Host = "unix://" + t.TempDir() + "/missing.sock"
	h := newHarness(t, cfg)
	h.watch.Expect(t, "unhealthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy)))
	st := h.producer.Status()
	assert.True(t, st.Running)
	assert.False(t, st.Connected)
	assert.Equal(t, cfg.Host, st.Endpoint)

	// Stop returns promptly although the loop is between retries.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, h.producer.Stop(ctx))
	assert.False(t, h.producer.Status().Running)
}

func TestStopClosesStream(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	proxy := newEngineProxy(t)
	cfg := testConfig()
	cfg.Host = proxy.host()
	h := newHarness(t, cfg)
	n := name("before-stop")
	cs.run(map[string]string{"joyride.host.name": n})
	h.requireResolves(n)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, h.producer.Stop(ctx))
	st := h.producer.Status()
	assert.False(t, st.Running)
	assert.False(t, st.Connected)
}

func TestHostAddressChange(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	var addr atomic.Pointer[netip.Addr]
	first, second := netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("192.0.2.21")
	addr.Store(&first)
	cfg := testConfig()
	cfg.HostIP = ""
	cfg.HostIP6 = "2001:db8::20"
	cfg.AddressCheckInterval = 20 * time.Millisecond
	h := newHarness(t, cfg, func(p *Producer) {
		p.detect = func() (netip.Addr, error) { return *addr.Load(), nil }
	})
	n := name("dhcp")
	id, _ := cs.run(map[string]string{"joyride.host.name": n})
	h.requireAnswers(n, "A 192.0.2.20", "AAAA 2001:db8::20")
	h.expectContainer(events.ContainerStarted, id)

	addr.Store(&second)
	h.requireAnswers(n, "A 192.0.2.21", "AAAA 2001:db8::20")
	h.expectContainer(events.ContainerDiscovered, id)
	assert.Equal(t, "192.0.2.21", h.producer.Status().HostIP)
}

func TestTraefikLabels(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	cfg := testConfig()
	cfg.Traefik = true
	h := newHarness(t, cfg)

	_, cname := cs.run(map[string]string{
		"traefik.http.routers.web.rule":       "Host(`" + name("traefik-a") + "`) || Host(`" + name("traefik-b") + "`)",
		"traefik.http.routers.old.rule":       "Host(`" + name("traefik-v2") + "`, `" + name("traefik-v2b") + "`)",
		"traefik.http.routers.old.ruleSyntax": "v2",
		"traefik.tcp.routers.db.rule":         "HostSNI(`" + name("traefik-sni") + "`)",
		"traefik.http.routers.re.rule":        "HostRegexp(`^.+\\." + strings.ReplaceAll(testDomain, ".", "\\.") + "$`)",
	})
	for _, l := range []string{"traefik-a", "traefik-b", "traefik-v2", "traefik-v2b", "traefik-sni"} {
		h.requireResolves(name(l))
	}
	h.requireWarning(cname, "^.+\\."+strings.ReplaceAll(testDomain, ".", "\\.")+"$")

	cs.run(map[string]string{
		"traefik.enable":                "false",
		"traefik.http.routers.off.rule": "Host(`" + name("traefik-off") + "`)",
	})
	marker := name("after-traefik-off")
	cs.run(map[string]string{"joyride.host.name": marker})
	h.requireResolves(marker)
	assert.Empty(t, h.answers(name("traefik-off")))
}

func TestModule(t *testing.T) {
	cfg := testConfig()
	cfg.Host = "unix://" + t.TempDir() + "/missing.sock"
	bus := eventstest.NewBus(t)
	watch := eventstest.NewWatcher(t, bus, events.Filter{Sources: []string{moduleName}})
	var p *Producer
	var collectors []prometheus.Collector
	app := fxtest.New(t,
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		fx.Supply(zaptest.NewLogger(t), cfg, bus),
		Module,
		fx.Populate(&p),
		fx.Invoke(fx.Annotate(func(cs []prometheus.Collector) { collectors = cs }, fx.ParamTags(status.CollectorGroup))),
	)
	app.RequireStart()
	require.Len(t, collectors, 1, "the module's metrics")
	require.Contains(t, statustest.Collect(t, collectors...).Families, "joyride_docker_connected")
	watch.Expect(t, "unhealthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy)))
	assert.True(t, p.Status().Running)
	assert.ErrorContains(t, p.Start(context.Background()), "already started")
	app.RequireStop()
	assert.False(t, p.Status().Running)
}
