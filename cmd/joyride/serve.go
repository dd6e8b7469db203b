package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/dig"
	"go.uber.org/fx"
)

// serve runs app until a signal or a module's fx.Shutdowner ends it, and returns the exit code:
//
//   - 0 after a signal and a graceful stop within the stop timeout;
//   - the Shutdowner's exit code when a module asked to stop (a fatal runtime error);
//   - 1 when construction or start fails, when the stop fails or times out, or when a second signal cuts the
//     stop short.
//
// Each failure is one line "joyride: <reason>" on stderr. A signal during start cancels the start. started is
// called once the application runs.
func serve(app *fx.App, signals <-chan os.Signal, stderr io.Writer, started func()) int {
	fail := func(format string, args ...any) {
		fmt.Fprintf(stderr, "joyride: "+format+"\n", args...)
	}
	if err := app.Err(); err != nil {
		fail("%s", reason(err))
		return 1
	}

	// The first signal asks for a graceful stop (or cancels the start); the second gives up waiting for it.
	first, second, quit := make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer close(quit)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-signals:
			case <-quit:
				return
			}
			if n == 1 {
				close(first)
				continue
			}
			close(second)
			return
		}
	}()

	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	go func() {
		select {
		case <-first:
			cancel()
		case <-startCtx.Done():
		}
	}()
	err := app.Start(startCtx)
	cancel()
	if err != nil {
		select {
		case <-first:
			fail("interrupted while starting")
		default:
			if errors.Is(err, context.DeadlineExceeded) {
				fail("start did not finish within %s (service.start_timeout)", app.StartTimeout())
			} else {
				fail("%s", reason(err))
			}
		}
		return 1
	}
	started()

	code := 0
	select {
	case <-first:
	case s := <-app.Wait():
		code = s.ExitCode
	}

	stopCtx, cancelStop := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancelStop()
	stopped := make(chan error, 1)
	go func() { stopped <- app.Stop(stopCtx) }()
	select {
	case err := <-stopped:
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				fail("stop did not finish within %s (service.stop_timeout)", app.StopTimeout())
			} else {
				fail("stop: %s", reason(err))
			}
			code = max(code, 1)
		}
	case <-second:
		fail("second signal: exiting before the graceful stop finished")
		return max(code, 1)
	}
	return code
}

// reason is err as one line, without fx's and dig's wrapping around a constructor's own error.
func reason(err error) string {
	return strings.ReplaceAll(dig.RootCause(err).Error(), "\n", "; ")
}
