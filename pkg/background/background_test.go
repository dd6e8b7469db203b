package background

import (
	"context"
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
