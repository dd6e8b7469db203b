// Package background runs the one goroutine a module owns from OnStart to OnStop. The goroutine gets a context of
// its own because OnStart's expires when start-up ends, and OnStop must both cancel it and wait for it (bounded by
// the stop context), so that a stopped module leaves nothing running behind it. A module whose settings change
// while it runs (pkg/reload) replaces its goroutine with Restart, which never lets the two run at once.
package background

import (
	"context"
	"sync"
)

// Loop is a goroutine started by Start, replaced by Restart, asked to end by Cancel and waited for by Wait. The
// zero value is ready to use; its methods must not run concurrently, which fx guarantees for the hooks that call
// them (and pkg/reload for Apply, never called during a hook).
//
// Cancel and Wait are apart so that a stop hook can close what the goroutine reads from (an fsnotify watcher)
// between the two.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run in a new goroutine with a context that only Cancel (or Restart) cancels.
func (l *Loop) Start(run func(ctx context.Context)) { l.Restart(run) }

// Restart cancels the running goroutine and runs run in a new one, with a new context, once the old one has
// returned: the two never run at once, so state only the goroutine touches needs no lock across the swap. It does
// not wait: a caller that must know when run has taken over learns it from run itself. Wait then waits for the new
// goroutine, which has waited for the old.
func (l *Loop) Restart(run func(ctx context.Context)) {
	prev := l.done
	l.Cancel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	l.cancel, l.done = cancel, done
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		run(ctx)
	}()
}

// Replace is Restart for a goroutine that says when it has taken over (a module's new settings applied): run
// calls ready once it has (calling it again does nothing), and Replace returns then, or with ctx's error when ctx
// ends first. Either way the new goroutine runs: the old one has been cancelled, so there is no way back.
func (l *Loop) Replace(ctx context.Context, run func(ctx context.Context, ready func())) error {
	taken := make(chan struct{})
	ready := sync.OnceFunc(func() { close(taken) })
	l.Restart(func(ctx context.Context) { run(ctx, ready) })
	select {
	case <-taken:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
