// Package eventstest helps test code that publishes or consumes events: a started bus bound to a test, and a
// watcher that records what was published and waits for an expected event.
package eventstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/events"
)

// Timeout is how long Expect waits by default.
const Timeout = 5 * time.Second

// NewBus returns a started bus that logs to t and is stopped (draining) when the test ends.
func NewBus(t testing.TB) *events.Bus {
	t.Helper()
	b, err := events.NewBus(events.DefaultConfig(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("eventstest: new bus: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("eventstest: start bus: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("eventstest: stop bus: %v", err)
		}
	})
	return b
}

// Watcher records every event matching its filter, in delivery order.
type Watcher struct {
	mu     sync.Mutex
	events []events.Event
	signal chan struct{}
}

// NewWatcher subscribes to b for the events matching f, replaying history so nothing published earlier is missed.
func NewWatcher(t testing.TB, b *events.Bus, f events.Filter) *Watcher {
	t.Helper()
	w := &Watcher{signal: make(chan struct{}, 1)}
	sub := b.Subscribe("eventstest", f, func(_ context.Context, e events.Event) error {
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
		select {
		case w.signal <- struct{}{}:
		default:
		}
		return nil
	}, events.WithReplay())
	t.Cleanup(sub.Close)
	return w
}

// Events returns what was recorded so far.
func (w *Watcher) Events() []events.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]events.Event(nil), w.events...)
}

// Expect waits up to Timeout for a recorded event satisfying match and returns the first one; it fails the test
// with what was seen if none arrives.
func (w *Watcher) Expect(t testing.TB, what string, match func(events.Event) bool) events.Event {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		for _, e := range w.Events() {
			if match(e) {
				return e
			}
		}
		select {
		case <-w.signal:
		case <-deadline.C:
			seen := w.Events()
			kinds := make([]string, len(seen))
			for i, e := range seen {
				kinds[i] = string(e.Family()) + "/" + string(e.EventKind())
			}
			t.Fatalf("eventstest: no %s within %v; saw %v", what, Timeout, kinds)
			return nil
		}
	}
}

// Kind matches events of one family and kind; the common case for Expect.
func Kind(f events.Family, k events.Kind) func(events.Event) bool {
	return func(e events.Event) bool { return e.Family() == f && e.EventKind() == k }
}
