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

func testWriter(t *testing.T, bus *events.Bus, cfg Config) *writer {
	w := newWriter(cfg, bus, zaptest.NewLogger(t))
	w.retry = 5 * time.Millisecond
	w.node = "here"
	return w
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

// TestFailureAndRecovery: a write that fails (a full disk) makes the log unhealthy once, however many retries
// fail, keeps the lines (up to the bound) and writes them once the disk takes them again, healthy again.
func TestFailureAndRecovery(t *testing.T) {
	bus := eventstest.NewBus(t)
	health := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth}})
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	require.NoError(t, os.Symlink("/dev/full", path))
	w := testWriter(t, bus, config(path))
	running(t, w)
	w.enqueue(added("a", 100))

	health.Expect(t, "unhealthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Unhealthy)))
	require.Eventually(t, func() bool { return w.status().WriteErrors >= 3 }, eventstest.Timeout, time.Millisecond,
		"retried")
	st := w.status()
	assert.Equal(t, stateFailing, st.State)
	assert.Contains(t, st.Error, "no space left on device")
	assert.Equal(t, 100, st.Queued)
	w.enqueue(added("b", 10))

	require.NoError(t, os.Remove(path)) // room again
	health.Expect(t, "healthy again", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
	require.Eventually(t, func() bool { return w.status().LinesWritten == 110 }, eventstest.Timeout, time.Millisecond)
	assert.Equal(t, append(names("a", 100), names("b", 10)...), readLines(t, path))

	var kinds []events.HealthKind
	for _, e := range health.Events() {
		he := e.(*events.HealthEvent)
		assert.Equal(t, "audit", he.Component)
		kinds = append(kinds, he.Kind)
	}
	assert.Equal(t, []events.HealthKind{events.Unhealthy, events.Healthy}, kinds, "one event per change of state")
	assert.Contains(t, health.Events()[0].(*events.HealthEvent).Message, path)
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
