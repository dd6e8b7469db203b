// Package background runs the one goroutine a module owns from OnStart to OnStop. The goroutine gets a context of
// its own because OnStart's expires when start-up ends, and OnStop must both cancel it and wait for it (bounded by
// the stop context), so that a stopped module leaves nothing running behind it.
package background

import (
	"context"
)

// Loop is a goroutine started once by Start, asked to end by Cancel and waited for by Wait. The zero value is
// ready to use; its methods must not run concurrently, which fx guarantees for the hooks that call them.
//
// Cancel and Wait are apart so that a stop hook can close what the goroutine reads from (an fsnotify watcher)
// between the two.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run in a new goroutine with a context that only Cancel cancels.
func (l *Loop) Start(run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		run(ctx)
	}()
}

// Cancel cancels the loop's context. A loop that was never started, because a start failed part-way, has
// nothing to cancel.
func (l *Loop) Cancel() {
	if l.cancel != nil {
		l.cancel()
	}
}

// Wait waits for run to return, or for ctx to end, whose error it then returns; the goroutine is then left to
// finish on its own. A loop that was never started has nothing to wait for.
func (l *Loop) Wait(ctx context.Context) error {
	if l.done == nil {
		return nil
	}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
