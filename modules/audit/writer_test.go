package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// added is a source_replaced batch of n added records named <prefix><i>.lab.test.
func added(prefix string, n int) *batch {
	changes := make([]events.RecordChange, n)
	for i := range changes {
		changes[i] = events.RecordChange{Kind: events.DNSRecordAdded,
			Record: events.Record{Name: fmt.Sprintf("%s%d.lab.test.", prefix, i), Type: "A", Value: "10.0.0.1", TTL: 60}}
	}
	return recordBatch(&events.DNSEvent{Metadata: events.Metadata{ID: "e-" + prefix, CorrelationID: "c-" + prefix,
		Timestamp: time.Now(), Source: "records"}, Kind: events.DNSSourceReplaced, Owner: "hosts:/h/" + prefix, Changes: changes})
}

// readLines returns the names of the records in the audit file at path, in order.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l recordLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line %q", sc.Text())
		out = append(out, l.Name)
	}
	require.NoError(t, sc.Err())
	return out
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d.lab.test.", prefix, i)
	}
	return out
}

// running starts w's goroutine; the returned function stops it and waits.
func running(t *testing.T, w *writer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx)
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// testCap is the retry policy's cap in these tests: every delay 5 ms (the first, 250 ms, is cut at the cap), the
// open interval 10 ms.
const testCap = 5 * time.Millisecond

func testWriter(t *testing.T, bus *events.Bus, cfg Config) *writer {
	w := newWriter(cfg, bus, zaptest.NewLogger(t))
	w.retryCap = testCap
	w.node = "here"
	return w
}

// kinds names each of evs as "family/kind".
func kinds(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Family()) + "/" + string(e.EventKind())
	}
	return out
}

// count is how many of evs are of family f and kind k.
func count(evs []events.Event, f events.Family, k events.Kind) int {
	n := 0
	for _, e := range evs {
		if e.Family() == f && e.EventKind() == k {
			n++
		}
	}
	return n
}

func config(path string) Config {
	cfg := DefaultConfig()
	cfg.Path = path
	return cfg
}

// TestQueueBound: the handler never waits for the writer; lines past the queue's size are dropped and counted,
// and those queued are all written.
func TestQueueBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	cfg := config(path)
	cfg.QueueSize = 5
	w := testWriter(t, eventstest.NewBus(t), cfg)
	w.enqueue(added("a", 3))
	w.enqueue(added("b", 4))
	w.enqueue(added("c", 1))
	st := w.status()
	assert.Equal(t, 5, st.Queued)
	assert.Equal(t, uint64(3), st.LinesDropped, "the two lines of b past the bound, and c")

	stop := running(t, w)
	require.Eventually(t, func() bool { return w.status().LinesWritten == 5 }, eventstest.Timeout, time.Millisecond)
	assert.Equal(t, append(names("a", 3), names("b", 2)...), readLines(t, path))
	assert.Equal(t, stateWriting, w.status().State)
	assert.Zero(t, w.status().Queued)
	stop()
}

// TestFailureAndRecovery: a write that fails (a full disk) makes the log unhealthy at once, with the first
// failure, and once, however many retries fail. The retries follow the retry policy (pkg/retry), each a
// RetryEvent of source audit naming the path: four failed attempts a delay apart (at most the cap), then the
// fifth opens the circuit for the open interval, after which a probe is made, and a failed probe opens it again.
// The lines are kept (up to the bound) and written once the disk takes them again: the next probe recovers, and
// the log is healthy again, once.
func TestFailureAndRecovery(t *testing.T) {
	bus := eventstest.NewBus(t)
	seen := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth, events.FamilyRetry}})
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	require.NoError(t, os.Symlink("/dev/full", path))
	w := testWriter(t, bus, config(path))
	running(t, w)
	w.enqueue(added("a", 100))

	require.Eventually(t, func() bool {
		return count(seen.Events(), events.FamilyRetry, events.Kind(events.CircuitHalfOpen)) >= 2
	}, eventstest.Timeout, time.Millisecond, "two probes")
	st := w.status()
	assert.Equal(t, stateFailing, st.State)
	assert.Contains(t, st.Error, "no space left on device")
	assert.Equal(t, 100, st.Queued)
	assert.Contains(t, []retry.State{retry.Open, retry.HalfOpen}, st.Retry.State, "the path's breaker in the Status")
	assert.GreaterOrEqual(t, st.Retry.Failures, 6)
	assert.Equal(t, st.WriteErrors, st.Retry.Retries, "every failed write was an attempt of the policy")
	w.enqueue(added("b", 10))

	require.NoError(t, os.Remove(path)) // room again
	seen.Expect(t, "healthy again", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
	require.Eventually(t, func() bool { return w.status().LinesWritten == 110 }, eventstest.Timeout, time.Millisecond)
	assert.Equal(t, append(names("a", 100), names("b", 10)...), readLines(t, path))
	st = w.status()
	assert.Equal(t, retry.Closed, st.Retry.State)
	assert.Zero(t, st.Retry.Failures)
	assert.Contains(t, st.Retry.LastError, "no space left on device", "kept for diagnosis")

	evs := seen.Events()
	got := kinds(evs)
	t.Logf("events: %v", got)
	require.GreaterOrEqual(t, len(got), 11)
	assert.Equal(t, []string{"health/unhealthy", "retry/attempt_failed", "retry/attempt_failed", "retry/attempt_failed",
		"retry/attempt_failed", "retry/circuit_opened", "retry/circuit_half_open", "retry/circuit_opened"}, got[:8],
		"unhealthy at the first failure, then the policy")
	assert.Equal(t, []string{"retry/circuit_half_open", "retry/recovered", "health/healthy"}, got[len(got)-3:],
		"a probe writes the lines")
	for i := 8; i < len(got)-3; i += 2 {
		assert.Equal(t, []string{"retry/circuit_half_open", "retry/circuit_opened"}, got[i:i+2], "only probes while open")
	}
	assert.Equal(t, 1, count(evs, events.FamilyHealth, events.Kind(events.Unhealthy)), "one report of the failure")
	assert.Equal(t, 1, count(evs, events.FamilyHealth, events.Kind(events.Healthy)), "one report of the recovery")
	sick := evs[0].(*events.HealthEvent)
	assert.Equal(t, "audit", sick.Component)
	assert.Contains(t, sick.Message, path)
	assert.Contains(t, sick.Message, "no space left on device")

	for i, e := range evs[1 : len(evs)-1] {
		re := e.(*events.RetryEvent)
		assert.Equal(t, "audit", re.Source)
		assert.Equal(t, path, re.Target)
		switch {
		case i < 4:
			assert.Equal(t, i+1, re.Failures)
			assert.Positive(t, re.Delay)
			assert.LessOrEqual(t, re.Delay, testCap, "a delay is at most the cap")
			assert.Contains(t, re.Error, "no space left on device")
		case re.Kind == events.CircuitOpened:
			assert.GreaterOrEqual(t, re.Delay, time.Duration(float64(retry.OpenFactor*testCap)*(1-retry.Jitter)),
				"the open interval")
			assert.LessOrEqual(t, re.Delay, time.Duration(float64(retry.OpenFactor*testCap)*(1+retry.Jitter)),
				"the open interval")
		case re.Kind == events.Recovered:
			assert.Equal(t, "half_open", re.From)
			assert.Equal(t, "closed", re.Circuit)
		}
	}
	assert.Equal(t, 5, evs[5].(*events.RetryEvent).Failures, "the fifth failure opens the circuit")
}

// TestReconfigureRetargets: a reload that moves a failing log to a path that works writes the kept lines there
// and is healthy again; the new path is a new source, its breaker closed, and the old one is forgotten. Switched
// off, the log has no breaker.
func TestReconfigureRetargets(t *testing.T) {
	bus := eventstest.NewBus(t)
	health := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth}})
	dir := t.TempDir()
	full, good := filepath.Join(dir, "full.log"), filepath.Join(dir, "good.log")
	require.NoError(t, os.Symlink("/dev/full", full))
	w := testWriter(t, bus, config(full))
	assert.Equal(t, map[string]retry.Status{full: {State: retry.Closed}}, w.retries.All(), "shown before the first write")
	running(t, w)
	w.enqueue(added("a", 3))
	require.Eventually(t, func() bool { return w.status().Retry.State != retry.Closed }, eventstest.Timeout,
		time.Millisecond, "the circuit opens")

	w.reconfigure(config(good))
	require.Eventually(t, func() bool { return w.status().LinesWritten == 3 }, eventstest.Timeout, time.Millisecond)
	assert.Equal(t, names("a", 3), readLines(t, good))
	e := health.Expect(t, "healthy again", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
	assert.Equal(t, "writing the audit log "+good+" again", e.Message)
	assert.Equal(t, map[string]retry.Status{good: {State: retry.Closed}}, w.retries.All(), "the failing path forgotten")
	assert.Equal(t, retry.Status{State: retry.Closed}, w.status().Retry)

	w.reconfigure(config(""))
	require.Eventually(t, func() bool { return w.status().State == stateOff }, eventstest.Timeout, time.Millisecond)
	assert.Empty(t, w.retries.All())
	assert.Zero(t, w.status().Retry)
}

// TestReconfigure: a new path takes the next lines; an empty one switches the log off, and lines are no longer
// queued.
func TestReconfigure(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.log"), filepath.Join(dir, "sub", "second.log")
	w := testWriter(t, eventstest.NewBus(t), config(first))
	running(t, w)
	w.enqueue(added("a", 2))
	require.Eventually(t, func() bool { return w.status().LinesWritten == 2 }, eventstest.Timeout, time.Millisecond)

	w.reconfigure(config(second))
	w.enqueue(added("b", 2))
	require.Eventually(t, func() bool { return w.status().LinesWritten == 4 }, eventstest.Timeout, time.Millisecond)
	assert.Equal(t, names("a", 2), readLines(t, first))
	assert.Equal(t, names("b", 2), readLines(t, second), "its directory created")

	w.reconfigure(config(""))
	require.Eventually(t, func() bool { return w.status().State == stateOff }, eventstest.Timeout, time.Millisecond)
	w.enqueue(added("c", 2))
	st := w.status()
	assert.Zero(t, st.Queued)
	assert.Zero(t, st.LinesDropped, "off is not a loss")
	assert.Equal(t, uint64(4), st.LinesWritten)
}

// TestStopWritesWhatIsQueued: stopping writes the queue before the file is closed; lines handed in after the stop
// are dropped and counted.
func TestStopWritesWhatIsQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w := testWriter(t, eventstest.NewBus(t), config(path))
	w.enqueue(added("a", 1000))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.run(ctx) // stopped before it wrote anything
	assert.Len(t, readLines(t, path), 1000)
	w.enqueue(added("b", 3))
	assert.Equal(t, uint64(3), w.status().LinesDropped)
}
