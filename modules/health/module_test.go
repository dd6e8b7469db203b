package health

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestModule(t *testing.T) {
	var (
		h   status.Health
		bus *events.Bus
	)
	app := fxtest.New(t,
		events.Module,
		Module,
		fx.Supply(events.DefaultConfig(), status.Service{Name: "joyride-test"}),
		fx.Provide(zap.NewNop),
		status.Provide(func() status.Reporter { return status.Reporter{Name: "dns"} }),
		status.Provide(func() status.Reporter { return status.Reporter{Name: "hosts"} }),
		fx.Populate(&h, &bus),
	)
	app.RequireStart()
	w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilySystem}})
	assert.False(t, h.Ready())
	assert.Equal(t, []string{"dns", "hosts"}, names(h.Components()), "every reporter is a component from the start")

	ctx := context.Background()
	publish := func(e events.Event) { require.NoError(t, bus.Publish(ctx, e)) }
	health := func(component string, kind events.HealthKind) *events.HealthEvent {
		return &events.HealthEvent{Metadata: events.Metadata{Source: component}, Kind: kind, Component: component}
	}
	publish(&events.SystemEvent{Metadata: events.Metadata{Source: "system"}, Kind: events.ServiceStarted, Service: "joyride-test"})
	publish(health("dns", events.Healthy))
	require.Eventually(t, func() bool { return h.Components()[0].Loaded }, eventstest.Timeout, time.Millisecond)
	assert.False(t, h.Ready(), "hosts has not loaded")

	publish(health("hosts", events.Healthy))
	require.Eventually(t, h.Ready, eventstest.Timeout, time.Millisecond)

	publish(health("hosts", events.Unhealthy))
	e := w.Expect(t, "health_check_failed", eventstest.Kind(events.FamilySystem, events.Kind(events.HealthCheckFailed)))
	assert.Equal(t, "hosts is unhealthy", e.(*events.SystemEvent).Message)
	assert.Equal(t, "joyride-test", e.(*events.SystemEvent).Service)
	assert.True(t, h.Ready(), "hosts failing after its first load leaves the node ready")

	publish(health("dns", events.Unhealthy))
	require.Eventually(t, func() bool { return !h.Ready() }, eventstest.Timeout, time.Millisecond)
	app.RequireStop()
}

func names(cs []status.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
