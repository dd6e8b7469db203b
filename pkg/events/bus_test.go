package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newBus is a bus that is not started yet.
func newBus(t testing.TB, cfg events.Config) *events.Bus {
	t.Helper()
	b, err := events.NewBus(cfg, nil)
	require.NoError(t, err)
	return b
}

func container(kind events.ContainerKind, id string) *events.ContainerEvent {
	return &events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: kind, ContainerID: id}
}

func TestPublishValidation(t *testing.T) {
	tests := []struct {
		name    string
		event   events.Event
		wantErr string // empty: accepted
	}{
		{"valid container", container(events.ContainerStarted, "abc"), ""},
		{"missing container id", container(events.ContainerStarted, ""), `container/started event: container_id = "": must be set`},
		{"kind of another family", &events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: "file_changed", ContainerID: "x"}, `"file_changed" is not a kind of family "container"`},
		{"missing source", &events.ContainerEvent{Kind: events.ContainerStopped, ContainerID: "x"}, `Metadata.source = "": must be set`},
		{"file event without path", &events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.FileChanged}, `path = "": must be set`},
		{"snapshot without source", &events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.FileChanged, Path: "/h", Snapshot: &events.RecordSnapshot{}}, `snapshot.source = "": must be set`},
		{"unregistered family", &customEvent{Metadata: events.Metadata{Source: "test"}, Kind: "ping"}, `family "custom" is not registered`},
		{"system event", &events.SystemEvent{Metadata: events.Metadata{Source: "system"}, Kind: events.ServiceStarted, Service: "joyride"}, ""},
		{"kind of no family", &events.SystemEvent{Metadata: events.Metadata{Source: "system"}, Kind: "exploded", Service: "joyride"}, `"exploded" is not a kind of family "system"`},
		{"missing kind", &events.HealthEvent{Metadata: events.Metadata{Source: "health"}, Component: "dns"}, `"" is not a kind of family "health"`},
		{"traefik file event", &events.FileEvent{Metadata: events.Metadata{Source: "traefikfile"}, Kind: events.FileCreated, Path: "/t/a.yml"}, ""},
		{"traefik files have no per-record kinds", &events.FileEvent{Metadata: events.Metadata{Source: "traefikfile"}, Kind: "record_added", Path: "/t/a.yml"}, `"record_added" is not a kind of family "traefikfile"`},
		{"file event of an unregistered producer", &events.FileEvent{Metadata: events.Metadata{Source: "nfs"}, Kind: events.FileCreated, Path: "/n"}, `family "nfs" is not registered`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := eventstest.NewBus(t)
			w := eventstest.NewWatcher(t, b, events.Filter{})
			err := b.Publish(context.Background(), tt.event)
			if tt.wantErr == "" {
				require.NoError(t, err)
				w.Expect(t, "the published event", func(e events.Event) bool { return e == tt.event })
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Equal(t, uint64(1), b.Stats().Rejected)
			assert.Empty(t, b.History(events.Filter{}), "a rejected event must not reach history")
		})
	}
}

type customEvent struct {
	events.Metadata
	Kind string `validate:"required"`
	N    int    `validate:"min=1"`
}

func (*customEvent) Family() events.Family    { return "custom" }
func (e *customEvent) EventKind() events.Kind { return events.Kind(e.Kind) }

func TestNewBusConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     events.Config
		wantErr string // empty: valid
	}{
		{"default", events.DefaultConfig(), ""},
		{"no history", events.Config{HistorySize: 0, QueueLimit: 1}, ""},
		{"zero is not the default", events.Config{}, `events.queue_limit = 0: must be at least 1`},
		{"negative history", events.Config{HistorySize: -1, QueueLimit: 10}, `events.history_size = -1: must be at least 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/NewBus", func(t *testing.T) {
			_, err := events.NewBus(tt.cfg, nil)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
		t.Run(tt.name+"/Module", func(t *testing.T) {
			app := fx.New(fx.NopLogger, events.Module, fx.Supply(tt.cfg), fx.Invoke(func(*events.Bus) {}))
			if tt.wantErr == "" {
				require.NoError(t, app.Err())
				return
			}
			require.ErrorContains(t, app.Err(), tt.wantErr)
		})
	}
}

func TestRegisterFamily(t *testing.T) {
	b := eventstest.NewBus(t)
	require.NoError(t, b.Register(events.FamilySpec{Family: "custom", Kinds: []events.Kind{"ping"}}))
	require.Error(t, b.Register(events.FamilySpec{Family: "custom", Kinds: []events.Kind{"ping"}}), "registering twice")
	require.Error(t, b.Register(events.FamilySpec{Family: "empty"}), "a family without kinds")

	w := eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{"custom"}})
	require.NoError(t, b.Publish(context.Background(), &customEvent{Metadata: events.Metadata{Source: "embedder"}, Kind: "ping", N: 1}))
	err := b.Publish(context.Background(), &customEvent{Metadata: events.Metadata{Source: "embedder"}, Kind: "ping", N: 0})
	require.ErrorContains(t, err, "N = 0: must be at least 1")
	require.ErrorContains(t, b.Publish(context.Background(), &customEvent{Metadata: events.Metadata{Source: "embedder"}, Kind: "pong", N: 1}), `"pong"`)
	w.Expect(t, "the custom event", eventstest.Kind("custom", "ping"))
	require.Len(t, w.Events(), 1)
}

func TestFilter(t *testing.T) {
	e := container(events.ContainerStarted, "a")
	tests := []struct {
		name   string
		filter events.Filter
		want   bool
	}{
		{"empty matches all", events.Filter{}, true},
		{"family", events.Filter{Families: []events.Family{events.FamilyContainer}}, true},
		{"other family", events.Filter{Families: []events.Family{events.FamilyHosts}}, false},
		{"kind", events.Filter{Kinds: []events.Kind{"started"}}, true},
		{"other kind", events.Filter{Kinds: []events.Kind{"stopped"}}, false},
		{"source", events.Filter{Sources: []string{"docker"}}, true},
		{"other source", events.Filter{Sources: []string{"hosts"}}, false},
		{"all three", events.Filter{Families: []events.Family{events.FamilyContainer}, Kinds: []events.Kind{"started"}, Sources: []string{"docker"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.filter.Match(e)) })
	}
}

func TestMetadataAndCorrelation(t *testing.T) {
	b := eventstest.NewBus(t)
	// A handler that derives an event from what it receives, as the records handler does.
	b.Subscribe("deriver", events.Filter{Families: []events.Family{events.FamilyContainer}}, func(ctx context.Context, e events.Event) error {
		return b.Publish(ctx, &events.DNSEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.DNSRecordAdded, Owner: "docker:a"})
	})
	w := eventstest.NewWatcher(t, b, events.Filter{})
	start := container(events.ContainerStarted, "a")
	require.NoError(t, b.Publish(context.Background(), start))
	require.NotEmpty(t, start.ID)
	require.False(t, start.Timestamp.IsZero())
	require.Equal(t, start.ID, start.CorrelationID, "a root event is its own correlation")
	derived := w.Expect(t, "the derived DNS event", eventstest.Kind(events.FamilyDNS, "record_added"))
	assert.Equal(t, start.ID, derived.Meta().CorrelationID)
	assert.NotEqual(t, start.ID, derived.Meta().ID)
}

func TestPublishOrderPerSubscriber(t *testing.T) {
	b := eventstest.NewBus(t)
	const n = 500
	var got [2][]string
	var mu sync.Mutex
	for i := range got {
		b.Subscribe("s", events.Filter{}, func(_ context.Context, e events.Event) error {
			mu.Lock()
			got[i] = append(got[i], e.(*events.ContainerEvent).ContainerID)
			mu.Unlock()
			return nil
		})
	}
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ { // concurrent publishers: all subscribers must still agree on one order
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				assert.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, string(rune('a'+p))+string(rune(i)))))
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got[0]) == 4*n && len(got[1]) == 4*n
	}, 5*time.Second, 5*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, got[0], got[1])
}

func TestSlowSubscriberDoesNotStallOthersOrLoseState(t *testing.T) {
	b := newBus(t, events.Config{HistorySize: 10, QueueLimit: 4})
	require.NoError(t, b.Start(context.Background()))
	release := make(chan struct{})
	var slowState, slowInfo atomic.Int64
	slow := b.Subscribe("slow", events.Filter{}, func(_ context.Context, e events.Event) error {
		<-release
		if e.Family() == events.FamilyHosts && e.EventKind() == events.Kind(events.RecordAdded) {
			slowInfo.Add(1)
		} else {
			slowState.Add(1)
		}
		return nil
	})
	const n = 50
	var fast atomic.Int64
	b.Subscribe("fast", events.Filter{}, func(context.Context, events.Event) error { fast.Add(1); return nil }, events.WithQueueLimit(4*n))

	for i := 0; i < n; i++ {
		require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "c")))
		require.NoError(t, b.Publish(context.Background(), &events.HostsRecordEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.RecordAdded, Path: "/h"}))
	}
	require.Eventually(t, func() bool { return fast.Load() == 2*n }, 5*time.Second, time.Millisecond,
		"the fast subscriber must receive everything while the slow one is blocked")
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, b.Stop(ctx))
	assert.Equal(t, int64(n), slowState.Load(), "state-carrying events are never dropped")
	assert.Less(t, slowInfo.Load(), int64(n), "informational events over the limit are dropped")
	assert.Equal(t, uint64(n)-uint64(slowInfo.Load()), slow.Dropped())
	assert.Equal(t, slow.Dropped(), b.Stats().Dropped)
	assert.Equal(t, map[events.Family]uint64{events.FamilyHosts: slow.Dropped()}, b.Stats().DroppedByFamily,
		"only the informational hosts record events were dropped")
}

func TestPanickingHandlerIsReported(t *testing.T) {
	b := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilyError}})
	var after atomic.Int64
	b.Subscribe("boom", events.Filter{Families: []events.Family{events.FamilyContainer}}, func(_ context.Context, e events.Event) error {
		if e.(*events.ContainerEvent).ContainerID == "bad" {
			panic("handler bug")
		}
		after.Add(1)
		return nil
	})
	bad := container(events.ContainerStarted, "bad")
	require.NoError(t, b.Publish(context.Background(), bad))
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "good")))
	got := w.Expect(t, "an error event", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorPanic))).(*events.ErrorEvent)
	assert.Equal(t, "boom", got.Module)
	assert.Equal(t, bad.ID, got.EventID)
	assert.Equal(t, bad.CorrelationID, got.CorrelationID)
	assert.Contains(t, got.Message, "handler bug")
	require.Eventually(t, func() bool { return after.Load() == 1 }, 5*time.Second, time.Millisecond, "delivery goes on after a panic")
	assert.Equal(t, uint64(1), b.Stats().Panics)
}

// TestHandlerErrorIsReportedOnce: a handler's error is handled once, as an ErrorEvent that the logging handler
// logs; the bus logs it itself only when it cannot be reported.
func TestHandlerErrorIsReportedOnce(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b, err := events.NewBus(events.DefaultConfig(), zap.New(core))
	require.NoError(t, err)
	require.NoError(t, b.Start(context.Background()))
	w := eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilyError}})
	// Fails on everything, including the error reports themselves: must not loop.
	b.Subscribe("failing", events.Filter{}, func(context.Context, events.Event) error { return errors.New("nope") })
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerStopped, "x")))
	w.Expect(t, "a handler error", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorHandler)))
	require.Eventually(t, func() bool { return b.Stats().QueueDepth == 0 }, 5*time.Second, time.Millisecond)
	assert.Len(t, w.Events(), 1)
	assert.Equal(t, uint64(2), b.Stats().Failed, "the event and its error report")
	require.NoError(t, b.Stop(context.Background()))

	logged := logs.FilterMessage("event handler failed").All()
	require.Len(t, logged, 1, "only the failure that could not be reported is logged")
	assert.Equal(t, "error/handler_error", logged[0].ContextMap()["family"].(string)+"/"+logged[0].ContextMap()["kind"].(string))
}

func TestQueuedBeforeStartAndDrainedOnStop(t *testing.T) {
	b := newBus(t, events.DefaultConfig())
	var got atomic.Int64
	b.Subscribe("s", events.Filter{}, func(context.Context, events.Event) error {
		time.Sleep(time.Millisecond) // a slowish handler, so Stop has something to wait for
		got.Add(1)
		return nil
	})
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerDiscovered, "early")))
	assert.Equal(t, int64(0), got.Load(), "nothing is delivered before start")
	require.NoError(t, b.Start(context.Background()))
	for i := 0; i < 20; i++ {
		require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "x")))
	}
	require.NoError(t, b.Stop(context.Background()))
	assert.Equal(t, int64(21), got.Load(), "stop delivers everything published before it")
	assert.ErrorIs(t, b.Publish(context.Background(), container(events.ContainerStarted, "late")), events.ErrClosed)
}

// TestStopHonoursContext: Stop returns when its context ends, also while a handler that ignores its own context
// is still blocked.
func TestStopHonoursContext(t *testing.T) {
	tests := []struct {
		name    string
		handler func(block chan struct{}) events.Handler
	}{
		{"handler honours its context", func(block chan struct{}) events.Handler {
			return func(ctx context.Context, _ events.Event) error {
				select {
				case <-block:
				case <-ctx.Done():
				}
				return nil
			}
		}},
		{"handler ignores its context", func(block chan struct{}) events.Handler {
			return func(context.Context, events.Event) error {
				<-block
				return nil
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, events.DefaultConfig())
			require.NoError(t, b.Start(context.Background()))
			block := make(chan struct{})
			defer close(block) // lets the blocked handler's goroutine end before goleak looks
			b.Subscribe("stuck", events.Filter{}, tt.handler(block))
			require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "x")))
			const timeout = 50 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err := b.Stop(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 20*timeout, "Stop returned long after its context ended")
			assert.ErrorIs(t, b.Publish(context.Background(), container(events.ContainerStarted, "late")), events.ErrClosed)
		})
	}
}

func TestHistoryAndReplay(t *testing.T) {
	b := newBus(t, events.Config{HistorySize: 3, QueueLimit: 10})
	require.NoError(t, b.Start(context.Background()))
	defer func() { require.NoError(t, b.Stop(context.Background())) }()
	for _, id := range []string{"1", "2", "3", "4"} {
		require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, id)))
	}
	ids := func(es []events.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.(*events.ContainerEvent).ContainerID)
		}
		return out
	}
	assert.Equal(t, []string{"2", "3", "4"}, ids(b.History(events.Filter{})), "bounded, oldest first")

	late := eventstest.NewWatcher(t, b, events.Filter{}) // subscribes with WithReplay
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "5")))
	require.Eventually(t, func() bool { return len(late.Events()) == 4 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"2", "3", "4", "5"}, ids(late.Events()), "replay then live, no gap, no duplicate")
}

// TestHistoryLeavesOutLargeSnapshots: subscribers get every snapshot whole, but the history keeps a large
// one only as its event without the snapshot, so that it does not hold a big hosts file's records.
func TestHistoryLeavesOutLargeSnapshots(t *testing.T) {
	b := newBus(t, events.Config{HistorySize: 10, QueueLimit: 10})
	live := eventstest.NewWatcher(t, b, events.Filter{}) // nothing to replay yet
	require.NoError(t, b.Start(context.Background()))
	defer func() { require.NoError(t, b.Stop(context.Background())) }()

	snapshot := func(n int) *events.RecordSnapshot {
		recs := make([]events.Record, n)
		for i := range recs {
			recs[i] = events.Record{Name: "h.lan.", Type: "A", Value: "10.0.0.1", TTL: 60}
		}
		return &events.RecordSnapshot{Source: "s", Records: recs}
	}
	require.NoError(t, b.Register(events.FamilySpec{Family: "inventory", Kinds: []events.Kind{"synced"}}))
	const limit = 256 // events.maxHistoryEntries
	published := []events.Event{
		&events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.FileCreated, Path: "/h/small", Snapshot: snapshot(limit), BadLines: 1},
		&events.FileEvent{Metadata: events.Metadata{Source: "hosts"}, Kind: events.FileCreated, Path: "/h/big", Snapshot: snapshot(limit + 1), BadLines: 2},
		&events.FileEvent{Metadata: events.Metadata{Source: "traefikfile"}, Kind: events.FileChanged, Path: "/t/big.yml", Snapshot: snapshot(limit + 1)},
		&events.ContainerEvent{Metadata: events.Metadata{Source: "docker"}, Kind: events.ContainerStarted, ContainerID: "c", Snapshot: snapshot(limit + 1)},
		&events.SyncEvent{Metadata: events.Metadata{Source: "cluster"}, Kind: events.DNSRecordSynced, NodeID: "n", Snapshot: snapshot(limit + 1)},
		&inventoryEvent{Metadata: events.Metadata{Source: "embedder"}, Kind: "synced", Site: "lab", Snapshot: snapshot(limit + 1)},
	}
	for _, e := range published {
		require.NoError(t, b.Publish(context.Background(), e))
	}
	require.Eventually(t, func() bool { return len(live.Events()) == len(published) }, 5*time.Second, time.Millisecond)
	assert.Equal(t, published, live.Events(), "subscribers get the events as published")

	hist := b.History(events.Filter{})
	require.Len(t, hist, len(published))
	assert.Same(t, published[0], hist[0], "a snapshot up to the limit is kept")
	for i, e := range hist[1:] {
		orig := published[i+1]
		assert.NotSame(t, orig, e)
		assert.IsType(t, orig, e)
		assert.Nil(t, e.(events.Snapshotter).RecordSnapshot(), "%T keeps no large snapshot", e)
		assert.Equal(t, *orig.Meta(), *e.Meta())
		assert.Equal(t, orig.EventKind(), e.EventKind())
		assert.NotNil(t, orig.(events.Snapshotter).RecordSnapshot(), "the published event is not modified")
	}
	assert.Equal(t, "/h/big", hist[1].(*events.FileEvent).Path)
	assert.Equal(t, 2, hist[1].(*events.FileEvent).BadLines)
	assert.Equal(t, "lab", hist[len(hist)-1].(*inventoryEvent).Site, "an embedder's event keeps its other fields")
}

// TestHistoryLeavesOutLongChangeLists: a source_replaced DNSEvent carries every change of its snapshot to its
// subscribers (the audit log), but the history keeps a long list only as its event without it, with its counts.
func TestHistoryLeavesOutLongChangeLists(t *testing.T) {
	b := newBus(t, events.Config{HistorySize: 10, QueueLimit: 10})
	live := eventstest.NewWatcher(t, b, events.Filter{})
	require.NoError(t, b.Start(context.Background()))
	defer func() { require.NoError(t, b.Stop(context.Background())) }()

	const limit = 256 // events.maxHistoryEntries
	replaced := func(n int) *events.DNSEvent {
		changes := make([]events.RecordChange, n)
		for i := range changes {
			changes[i] = events.RecordChange{Kind: events.DNSRecordAdded,
				Record: events.Record{Name: fmt.Sprintf("h%d.lan.", i), Type: "A", Value: "10.0.0.1", TTL: 60}}
		}
		return &events.DNSEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.DNSSourceReplaced,
			Owner: "hosts:/h/big", Changes: changes, Added: n}
	}
	tests := []struct {
		name string
		n    int
		kept bool
	}{
		{name: "up to the limit is kept whole", n: limit, kept: true},
		{name: "beyond the limit is kept without its changes", n: limit + 1},
	}
	var published []events.Event
	for _, tt := range tests {
		published = append(published, replaced(tt.n))
		require.NoError(t, b.Publish(context.Background(), published[len(published)-1]))
	}
	require.Eventually(t, func() bool { return len(live.Events()) == len(published) }, 5*time.Second, time.Millisecond)
	assert.Equal(t, published, live.Events(), "subscribers get every change")
	hist := b.History(events.Filter{})
	require.Len(t, hist, len(published))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, got := published[i].(*events.DNSEvent), hist[i].(*events.DNSEvent)
			if tt.kept {
				assert.Same(t, orig, got)
				return
			}
			assert.NotSame(t, orig, got)
			assert.Nil(t, got.Changes)
			assert.Equal(t, tt.n, got.Added, "the counts stay")
			assert.Equal(t, *orig.Meta(), *got.Meta())
			assert.Equal(t, "hosts:/h/big", got.Owner)
			assert.Len(t, orig.Changes, tt.n, "the published event is not modified")
		})
	}
}

// TestLazyChanges: a change list set with SetChanges is built on its first read, once for every subscriber however
// many read it at once, never when nobody reads it (the history weighs it by its counts), and a long one is left
// out of the history with its builder.
func TestLazyChanges(t *testing.T) {
	b := newBus(t, events.Config{HistorySize: 10, QueueLimit: 10})
	require.NoError(t, b.Start(context.Background()))
	defer func() { require.NoError(t, b.Stop(context.Background())) }()

	var builds atomic.Int32
	lazy := func(n int) *events.DNSEvent {
		e := &events.DNSEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.DNSSourceReplaced,
			Owner: "hosts:/h/big", Added: n}
		e.SetChanges(func() []events.RecordChange {
			builds.Add(1)
			return make([]events.RecordChange, n)
		})
		return e
	}
	small, big := lazy(3), lazy(257)
	require.NoError(t, b.Publish(context.Background(), small))
	require.NoError(t, b.Publish(context.Background(), big))
	hist := b.History(events.Filter{})
	require.Len(t, hist, 2)
	assert.Same(t, small, hist[0], "a short list is kept")
	assert.Zero(t, builds.Load(), "publishing and the history build nothing")
	assert.Equal(t, 257, big.ChangeCount())
	assert.Nil(t, hist[1].(*events.DNSEvent).RecordChanges(), "a long one is kept without its builder")
	assert.Zero(t, builds.Load())

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.Len(t, big.RecordChanges(), 257) })
	}
	wg.Wait()
	assert.Equal(t, int32(1), builds.Load(), "built once for every reader")
}

// inventoryEvent is an embedding application's own event that carries records.
type inventoryEvent struct {
	events.Metadata
	Kind     string
	Site     string
	Snapshot *events.RecordSnapshot
}

func (*inventoryEvent) Family() events.Family                    { return "inventory" }
func (e *inventoryEvent) EventKind() events.Kind                 { return events.Kind(e.Kind) }
func (e *inventoryEvent) RecordSnapshot() *events.RecordSnapshot { return e.Snapshot }
func (e *inventoryEvent) WithoutSnapshot() events.Event {
	c := *e
	c.Snapshot = nil
	return &c
}

type recorder struct {
	mu        sync.Mutex
	published []string
	delivered []string
}

func (r *recorder) Published(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.published = append(r.published, string(e.EventKind()))
}

func (r *recorder) Delivered(sub string, e events.Event, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered = append(r.delivered, sub+":"+string(e.EventKind())+":"+strings.TrimSpace(errString(err)))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMiddleware(t *testing.T) {
	b := eventstest.NewBus(t)
	rec := &recorder{}
	pub, del := events.Observe(rec)
	b.Use(pub)
	b.UseDelivery(del)
	var order []string
	b.Use(func(next events.PublishFunc) events.PublishFunc {
		return func(ctx context.Context, e events.Event) error {
			order = append(order, "outer")
			if e.(*events.ContainerEvent).ContainerID == "veto" {
				return errors.New("vetoed")
			}
			return next(ctx, e)
		}
	})
	done := make(chan struct{}, 1)
	b.Subscribe("sub", events.Filter{}, func(context.Context, events.Event) error { done <- struct{}{}; return nil })

	require.ErrorContains(t, b.Publish(context.Background(), container(events.ContainerStarted, "veto")), "vetoed")
	require.Error(t, b.Publish(context.Background(), container(events.ContainerStarted, "")), "validation runs before middleware")
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "ok")))
	<-done
	require.Eventually(t, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.delivered) == 1 }, 5*time.Second, time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, []string{"started"}, rec.published, "only the accepted event is observed")
	assert.Equal(t, []string{"sub:started:"}, rec.delivered)
	assert.Equal(t, []string{"outer", "outer"}, order, "the invalid event never reached later middleware")
}

func TestSubscriptionClose(t *testing.T) {
	b := eventstest.NewBus(t)
	var n atomic.Int64
	s := b.Subscribe("s", events.Filter{}, func(context.Context, events.Event) error { n.Add(1); return nil })
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "1")))
	require.Eventually(t, func() bool { return n.Load() == 1 }, 5*time.Second, time.Millisecond)
	s.Close()
	require.NoError(t, b.Publish(context.Background(), container(events.ContainerStarted, "2")))
	require.Eventually(t, func() bool { return b.Stats().QueueDepth == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int64(1), n.Load())
}

func BenchmarkPublishToDeliver(b *testing.B) {
	bus := newBus(b, events.DefaultConfig())
	require.NoError(b, bus.Start(context.Background()))
	got := make(chan struct{}, 1024)
	bus.Subscribe("bench", events.Filter{}, func(context.Context, events.Event) error { got <- struct{}{}; return nil })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bus.Publish(context.Background(), container(events.ContainerStarted, "c")); err != nil {
			b.Fatal(err)
		}
		<-got
	}
	b.StopTimer()
	require.NoError(b, bus.Stop(context.Background()))
}

func TestLoggingMiddleware(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b := eventstest.NewBus(t)
	b.UseDelivery(events.Logging(zap.New(core)))
	done := make(chan struct{})
	b.Subscribe("records", events.Filter{}, func(context.Context, events.Event) error { close(done); return errors.New("bad record") })
	e := container(events.ContainerStarted, "x")
	require.NoError(t, b.Publish(context.Background(), e))
	<-done
	require.Eventually(t, func() bool { return logs.FilterMessage("delivered").Len() == 1 }, eventstest.Timeout, time.Millisecond)
	f := logs.FilterMessage("delivered").All()[0].ContextMap()
	assert.Equal(t, "records", f["subscriber"])
	assert.Equal(t, "container/started", f["event"])
	assert.Equal(t, e.CorrelationID, f["correlation_id"])
	assert.Equal(t, "bad record", f["error"])
}
