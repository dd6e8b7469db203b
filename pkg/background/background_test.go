package background

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCancelAndWait(t *testing.T) {
	tests := []struct {
		name string
		// start starts the loop under test, if at all; the func it returns lets a loop that ignores its context end.
		start func(l *Loop) (release func())
		// expired makes the wait's context end before Wait is called: a stop that times out.
		expired bool
		want    error
	}{
		{
			name:  "never started",
			start: func(*Loop) func() { return func() {} },
		},
		{
			name: "a loop that returns when cancelled",
			start: func(l *Loop) func() {
				l.Start(func(ctx context.Context) { <-ctx.Done() })
				return func() {}
			},
		},
		{
			name: "a loop that outlives the wait",
			start: func(l *Loop) func() {
				release := make(chan struct{})
				l.Start(func(context.Context) { <-release })
				return func() { close(release) }
			},
			expired: true,
			want:    context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Loop
			release := tt.start(&l)
			ctx, cancel := context.WithCancel(context.Background())
			if tt.expired {
				cancel()
			}
			l.Cancel()
			assert.ErrorIs(t, l.Wait(ctx), tt.want)
			cancel()
			release()
			assert.NoError(t, l.Wait(context.Background()), "the loop ends once released")
		})
	}
}

func TestRestart(t *testing.T) {
	tests := []struct {
		name string
		// old starts the loop's first goroutine, if any; the func it returns lets it end after its cancellation.
		old func(l *Loop, returned chan<- struct{}) (release func())
	}{
		{
			name: "never started",
			old: func(_ *Loop, returned chan<- struct{}) func() {
				close(returned) // there is nothing to wait for
				return func() {}
			},
		},
		{
			name: "the old goroutine returns when cancelled",
			old: func(l *Loop, returned chan<- struct{}) func() {
				l.Start(func(ctx context.Context) {
					defer close(returned)
					<-ctx.Done()
				})
				return func() {}
			},
		},
		{
			name: "the old goroutine outlives its cancellation",
			old: func(l *Loop, returned chan<- struct{}) func() {
				release := make(chan struct{})
				l.Start(func(ctx context.Context) {
					defer close(returned)
					<-ctx.Done()
					<-release
				})
				return func() { close(release) }
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Loop
			oldReturned := make(chan struct{})
			release := tt.old(&l, oldReturned)
			started := make(chan bool, 1) // whether the old goroutine had returned when the new one began
			l.Restart(func(ctx context.Context) {
				select {
				case <-oldReturned:
					started <- true
				default:
					started <- false
				}
				<-ctx.Done()
			})
			release()
			assert.True(t, <-started, "the new goroutine runs only once the old one has returned")
			l.Cancel()
			assert.NoError(t, l.Wait(context.Background()))
		})
	}
}

func TestReplace(t *testing.T) {
	tests := []struct {
		name    string
		expired bool // Replace's context has ended
		want    error
	}{
		{name: "returns once the new goroutine is ready"},
		{name: "returns when its context ends first; the new goroutine runs on", expired: true, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Loop
			l.Start(func(ctx context.Context) { <-ctx.Done() })
			release := make(chan struct{})
			var readied atomic.Bool
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.expired {
				cancel()
			} else {
				go func() { close(release) }()
			}
			err := l.Replace(ctx, func(ctx context.Context, ready func()) {
				<-release
				readied.Store(true)
				ready()
				ready() // a second call does nothing
				<-ctx.Done()
			})
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, !tt.expired, readied.Load(), "Replace returned nil only once the new goroutine was ready")
			if tt.expired {
				close(release)
			}
			l.Cancel()
			assert.NoError(t, l.Wait(context.Background()))
		})
	}
}
