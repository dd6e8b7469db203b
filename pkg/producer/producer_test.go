package producer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/producer"
)

type config struct{ name string }

// runner records what it was built with and which of its methods ran.
type runner struct {
	cfg            config
	bus            *events.Bus
	calls          []string
	startErr, stop error
}

func (r *runner) Start(context.Context) error { r.calls = append(r.calls, "start"); return r.startErr }
func (r *runner) Stop(context.Context) error  { r.calls = append(r.calls, "stop"); return r.stop }

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		buildErr  error
		startErr  error
		wantCalls []string
	}{
		{name: "started and stopped with the lifecycle", wantCalls: []string{"start", "stop"}},
		{name: "a build error is returned and no hook registered", buildErr: errors.New("bad config")},
		{name: "a start error fails the start", startErr: errors.New("port taken"), wantCalls: []string{"start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := fxtest.NewLifecycle(t)
			bus := eventstest.NewBus(t)
			var built *runner
			build := func(c config, _ *zap.Logger, b *events.Bus) (*runner, error) {
				if tt.buildErr != nil {
					return nil, tt.buildErr
				}
				built = &runner{cfg: c, bus: b, startErr: tt.startErr}
				return built, nil
			}
			r, err := producer.New(producer.Params[config]{Lifecycle: lc, Logger: zap.NewNop(), Bus: bus, Config: config{"x"}}, build)
			if tt.buildErr != nil {
				require.ErrorIs(t, err, tt.buildErr)
				require.NoError(t, lc.Start(context.Background()), "no hook was registered")
				require.NoError(t, lc.Stop(context.Background()))
				return
			}
			require.NoError(t, err)
			assert.Same(t, built, r)
			assert.Equal(t, config{"x"}, r.cfg)
			assert.Same(t, bus, r.bus)
			if err := lc.Start(context.Background()); tt.startErr != nil {
				require.ErrorIs(t, err, tt.startErr)
			} else {
				require.NoError(t, err)
				require.NoError(t, lc.Stop(context.Background()))
			}
			assert.Equal(t, tt.wantCalls, r.calls)
		})
	}
}

type checked struct {
	Port int `koanf:"port" validate:"min=1"`
}

func TestCheck(t *testing.T) {
	bus := eventstest.NewBus(t)
	tests := []struct {
		name string
		cfg  checked
		bus  *events.Bus
		err  string
	}{
		{name: "valid", cfg: checked{Port: 53}, bus: bus},
		{name: "an invalid config names the key", cfg: checked{Port: 0}, bus: bus, err: "demo.port = 0: must be at least 1"},
		{name: "a bus is required", cfg: checked{Port: 53}, err: "demo: an event bus is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := producer.Check("demo", tt.cfg, nil, tt.bus)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, log, "a nil logger becomes a no-op one")
			assert.Equal(t, "demo", log.Name())
		})
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name string
		kind events.HealthKind
		msg  string
	}{
		{name: "healthy", kind: events.Healthy, msg: "loaded"},
		{name: "unhealthy", kind: events.Unhealthy, msg: "cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := eventstest.NewBus(t)
			w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth}})
			producer.Health(context.Background(), bus, zap.NewNop(), "hosts", tt.kind, tt.msg)
			e := w.Expect(t, "a health event", eventstest.Kind(events.FamilyHealth, events.Kind(tt.kind))).(*events.HealthEvent)
			assert.Equal(t, "hosts", e.Component)
			assert.Equal(t, "hosts", e.Source)
			assert.Equal(t, tt.msg, e.Message)
		})
	}
}
