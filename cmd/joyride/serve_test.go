package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/fx"
)

// syncBuffer is a bytes.Buffer that a running command may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// served runs serve on an app built from opts in the background.
type served struct {
	signals chan os.Signal
	stderr  *syncBuffer
	started chan struct{}
	code    chan int
}

func startServe(t *testing.T, opts ...fx.Option) *served {
	t.Helper()
	s := &served{signals: make(chan os.Signal, 2), stderr: &syncBuffer{}, started: make(chan struct{}), code: make(chan int, 1)}
	app := fx.New(append([]fx.Option{fx.NopLogger}, opts...)...)
	go func() { s.code <- serve(app, s.signals, s.stderr, func() { close(s.started) }) }()
	return s
}

func (s *served) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.code:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
		return -1
	}
}

func (s *served) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-s.started:
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}
}

// hook registers h on the application's lifecycle.
func hook(h fx.Hook) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle) { lc.Append(h) })
}

func TestServeGracefulStop(t *testing.T) {
	stopped := make(chan struct{})
	s := startServe(t, hook(fx.Hook{OnStop: func(context.Context) error { close(stopped); return nil }}))
	s.waitStarted(t)
	s.signals <- syscall.SIGTERM
	assert.Equal(t, 0, s.exit(t))
	assert.Empty(t, s.stderr.String())
	select {
	case <-stopped:
	default:
		t.Fatal("stop hooks did not run")
	}
}

// A module that hits a fatal runtime error asks fx.Shutdowner to stop with a code; the process exits with it.
func TestServeShutdownerExitCode(t *testing.T) {
	s := startServe(t, fx.Invoke(func(lc fx.Lifecycle, sd fx.Shutdowner) {
		lc.Append(fx.Hook{OnStart: func(context.Context) error { return sd.Shutdown(fx.ExitCode(3)) }})
	}))
	assert.Equal(t, 3, s.exit(t))
	assert.Empty(t, s.stderr.String())
}

func TestServeFailures(t *testing.T) {
	tests := []struct {
		name string
		opts []fx.Option
		want string
	}{
		{
			"start hook error on one line",
			[]fx.Option{hook(fx.Hook{OnStart: func(context.Context) error {
				return errors.New("dns: listen udp 127.0.0.1:53: bind: address already in use\nand more")
			}})},
			"joyride: dns: listen udp 127.0.0.1:53: bind: address already in use; and more\n",
		},
		{
			"constructor error without fx's wrapping",
			[]fx.Option{fx.Provide(func() (*bytes.Buffer, error) { return nil, errors.New("records[0] (x A y): bad") }),
				fx.Invoke(func(*bytes.Buffer) {})},
			"joyride: records[0] (x A y): bad\n",
		},
		{
			"start timeout",
			[]fx.Option{fx.StartTimeout(50 * time.Millisecond), hook(fx.Hook{OnStart: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}})},
			"joyride: start did not finish within 50ms (service.start_timeout)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServe(t, tt.opts...)
			assert.Equal(t, 1, s.exit(t))
			assert.Equal(t, tt.want, s.stderr.String())
		})
	}
}

func TestServeStopFailure(t *testing.T) {
	s := startServe(t, hook(fx.Hook{OnStop: func(context.Context) error { return errors.New("hosts: close watcher: boom") }}))
	s.waitStarted(t)
	s.signals <- os.Interrupt
	assert.Equal(t, 1, s.exit(t))
	assert.Equal(t, "joyride: stop: hosts: close watcher: boom\n", s.stderr.String())
}

func TestServeSignalDuringStart(t *testing.T) {
	starting := make(chan struct{})
	s := startServe(t, hook(fx.Hook{OnStart: func(ctx context.Context) error {
		close(starting)
		<-ctx.Done()
		return ctx.Err()
	}}))
	<-starting
	s.signals <- os.Interrupt
	assert.Equal(t, 1, s.exit(t))
	assert.Equal(t, "joyride: interrupted while starting\n", s.stderr.String())
}

// A second signal ends the process even though a stop hook hangs.
func TestServeSecondSignalForces(t *testing.T) {
	stopping, release := make(chan struct{}), make(chan struct{})
	s := startServe(t, hook(fx.Hook{OnStop: func(context.Context) error {
		close(stopping)
		<-release
		return nil
	}}))
	defer close(release) // lets the abandoned stop finish, so no goroutine outlives the test
	s.waitStarted(t)
	s.signals <- os.Interrupt
	<-stopping
	s.signals <- os.Interrupt
	assert.Equal(t, 1, s.exit(t))
	assert.True(t, strings.HasPrefix(s.stderr.String(), "joyride: second signal"), s.stderr.String())
}
