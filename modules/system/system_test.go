package system_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/modules/system"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func kinds(es []events.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.EventKind()))
	}
	return out
}

func TestLifecycleEvents(t *testing.T) {
	tests := []struct {
		name       string
		withLogger bool
		failStart  bool
		want       []string
	}{
		{"with fx logger", true, false, []string{"service_starting", "service_started", "service_stopping", "service_stopped"}},
		{"embedded without the logger", false, false, []string{"service_starting", "service_stopped"}},
		{"a hook fails", true, true, []string{"service_starting", "service_failed", "service_stopping", "service_stopped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w *eventstest.Watcher
			opts := []fx.Option{
				fx.Provide(zap.NewNop), events.Module, system.Module,
				fx.Supply(system.Config{Service: "joyride-test"}, events.DefaultConfig()),
				fx.Invoke(func(b *events.Bus) {
					w = eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilySystem}})
				}),
				fx.Invoke(func(lc fx.Lifecycle) {
					lc.Append(fx.Hook{OnStart: func(context.Context) error {
						if tt.failStart {
							return errors.New("port taken")
						}
						return nil
					}})
				}),
			}
			if tt.withLogger {
				opts = append(opts, system.WithLogger)
			} else {
				opts = append(opts, fx.NopLogger)
			}
			app := fxtest.New(t, opts...)
			err := app.Start(context.Background())
			if tt.failStart {
				require.Error(t, err) // fx rolls back: the hooks that ran are stopped
			} else {
				require.NoError(t, err)
				require.NoError(t, app.Stop(context.Background()))
			}
			got := w.Events()
			assert.Equal(t, tt.want, kinds(got))
			for _, e := range got {
				assert.Equal(t, "joyride-test", e.(*events.SystemEvent).Service)
			}
			if tt.failStart {
				assert.Contains(t, got[1].(*events.SystemEvent).Error, "port taken")
			}
		})
	}
}

// The producer works without fx: Start and Stop publish what the fx hooks would.
func TestWithoutFx(t *testing.T) {
	_, err := system.NewProducer(system.DefaultConfig(), nil, nil)
	require.ErrorContains(t, err, "system: an event bus is required")
	_, err = system.NewProducer(system.Config{}, nil, eventstest.NewBus(t))
	require.ErrorContains(t, err, "system.service")

	bus := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilySystem}})
	p, err := system.NewProducer(system.DefaultConfig(), nil, bus)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background()))
	w.Expect(t, "service_starting", eventstest.Kind(events.FamilySystem, events.Kind(events.ServiceStarting)))
	require.NoError(t, p.Stop(context.Background()))
	w.Expect(t, "service_stopped", eventstest.Kind(events.FamilySystem, events.Kind(events.ServiceStopped)))
}
