package health

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func healthEvent(component string, kind events.HealthKind, msg string, at time.Time) *events.HealthEvent {
	return &events.HealthEvent{
		Metadata: events.Metadata{ID: "e", CorrelationID: "c", Timestamp: at, Source: component},
		Kind:     kind, Component: component, Message: msg,
	}
}

// ack is the records handler's acknowledgement of component's first load.
func ack(component string) *events.HealthEvent {
	e := healthEvent(component, events.Healthy, "records applied", time.Unix(1, 0))
	e.Source = "records"
	return e
}

func systemEvent(kind events.SystemKind) *events.SystemEvent {
	return &events.SystemEvent{
		Metadata: events.Metadata{ID: "s", CorrelationID: "c", Timestamp: time.Unix(1, 0), Source: "system"},
		Kind:     kind, Service: "joyride",
	}
}

// TestReadiness drives a handler with events, one step at a time, and checks readiness and what it waits for
// after each.
func TestReadiness(t *testing.T) {
	t0 := time.Unix(100, 0)
	type step struct {
		event   events.Event
		ready   bool
		waiting []string
	}
	tests := []struct {
		name     string
		required []string
		steps    []step
	}{
		{name: "nothing required: ready once started", steps: []step{
			{systemEvent(events.ServiceStarting), false, []string{"start"}},
			{systemEvent(events.ServiceStarted), true, nil},
		}},
		{name: "waits for every reporter's first load", required: []string{"hosts", "dns", "docker"}, steps: []step{
			{systemEvent(events.ServiceStarted), false, []string{"dns", "docker", "hosts"}},
			{healthEvent("dns", events.Healthy, "serving", t0), false, []string{"docker", "hosts"}},
			{healthEvent("docker", events.Unhealthy, "engine down", t0), false, []string{"docker", "hosts"}},
			{healthEvent("hosts", events.Healthy, "", t0), false, []string{"docker"}},
			{healthEvent("docker", events.Healthy, "connected", t0), true, nil},
		}},
		{name: "loaded before start", required: []string{"dns"}, steps: []step{
			{healthEvent("dns", events.Healthy, "", t0), false, []string{"start"}},
			{systemEvent(events.ServiceStarted), true, nil},
		}},
		{name: "a non-critical failure after the first load keeps the node ready", required: []string{"dns", "docker"},
			steps: []step{
				{systemEvent(events.ServiceStarted), false, []string{"dns", "docker"}},
				{healthEvent("dns", events.Healthy, "", t0), false, []string{"docker"}},
				{healthEvent("docker", events.Healthy, "", t0), true, nil},
				{healthEvent("docker", events.Unhealthy, "engine gone", t0), true, nil},
			}},
		{name: "an unhealthy dns makes the node unready until it recovers", required: []string{"dns"}, steps: []step{
			{systemEvent(events.ServiceStarted), false, []string{"dns"}},
			{healthEvent("dns", events.Healthy, "", t0), true, nil},
			{healthEvent("dns", events.Unhealthy, "listener stopped", t0), false, []string{"dns"}},
			{healthEvent("dns", events.Healthy, "", t0), true, nil},
		}},
		{name: "a component without a reporter is not waited for", required: []string{"dns"}, steps: []step{
			{systemEvent(events.ServiceStarted), false, []string{"dns"}},
			{healthEvent("plugin", events.Unhealthy, "", t0), false, []string{"dns"}},
			{healthEvent("dns", events.Healthy, "", t0), true, nil},
		}},
		{name: "with the records module, a first load is done when records acknowledges it",
			required: []string{"records", "hosts", "dns"}, steps: []step{
				{systemEvent(events.ServiceStarted), false, []string{"dns", "hosts", "records"}},
				{healthEvent("records", events.Healthy, "static records applied", t0), false, []string{"dns", "hosts"}},
				{healthEvent("hosts", events.Healthy, "1 file", t0), false, []string{"dns", "hosts"}},
				{healthEvent("dns", events.Healthy, "serving", t0), false, []string{"dns", "hosts"}},
				{ack("hosts"), false, []string{"dns"}},
				{ack("dns"), true, nil},
			}},
		{name: "with the records module, its own report loads it", required: []string{"records"}, steps: []step{
			{systemEvent(events.ServiceStarted), false, []string{"records"}},
			{healthEvent("records", events.Healthy, "", t0), true, nil},
		}},
		{name: "an unhealthy acknowledged component stays unhealthy", required: []string{"records", "dns"}, steps: []step{
			{systemEvent(events.ServiceStarted), false, []string{"dns", "records"}},
			{healthEvent("records", events.Healthy, "", t0), false, []string{"dns"}},
			{healthEvent("dns", events.Healthy, "", t0), false, []string{"dns"}},
			{healthEvent("dns", events.Unhealthy, "listener stopped", t0), false, []string{"dns"}},
			{ack("dns"), false, []string{"dns"}},
			{healthEvent("dns", events.Healthy, "", t0), true, nil},
		}},
		{name: "stopping ends readiness", required: []string{"dns"}, steps: []step{
			{healthEvent("dns", events.Healthy, "", t0), false, []string{"start"}},
			{systemEvent(events.ServiceStarted), true, nil},
			{systemEvent(events.ServiceStopping), false, []string{"start"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(eventstest.NewBus(t), nil, "joyride", tt.required)
			for i, s := range tt.steps {
				require.NoError(t, h.Handle(context.Background(), s.event))
				assert.Equal(t, s.ready, h.Ready(), "step %d: ready", i)
				assert.Equal(t, s.waiting, h.Waiting(), "step %d: waiting", i)
			}
		})
	}
}

func TestComponents(t *testing.T) {
	t0, t1, t2 := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	h := NewHandler(eventstest.NewBus(t), nil, "", []string{"hosts", "dns", "dns"})
	assert.Equal(t, []status.Component{
		{Name: "dns", State: status.Starting},
		{Name: "hosts", State: status.Starting},
	}, h.Components(), "required components start as starting, once each")

	ctx := context.Background()
	require.NoError(t, h.Handle(ctx, healthEvent("hosts", events.Healthy, "1 directory", t0)))
	require.NoError(t, h.Handle(ctx, healthEvent("hosts", events.Unhealthy, "cannot read", t1)))
	require.NoError(t, h.Handle(ctx, healthEvent("hosts", events.Unhealthy, "still cannot read", t2)))
	require.NoError(t, h.Handle(ctx, healthEvent("cluster", events.Healthy, "joined", t2)))
	assert.Equal(t, []status.Component{
		{Name: "cluster", State: status.Healthy, Message: "joined", Since: t2, Loaded: true},
		{Name: "dns", State: status.Starting},
		{Name: "hosts", State: status.Unhealthy, Message: "still cannot read", Since: t1, Loaded: true},
	}, h.Components(), "sorted; Since is the last change of state, the message the last report's")
}

// TestTransitions checks the SystemEvents published for each sequence of reports of one component.
func TestTransitions(t *testing.T) {
	tests := []struct {
		name    string
		reports []events.HealthKind
		want    []events.SystemKind
	}{
		{name: "first load is no recovery", reports: []events.HealthKind{events.Healthy, events.Healthy}},
		{name: "failure and recovery", reports: []events.HealthKind{events.Healthy, events.Unhealthy, events.Healthy},
			want: []events.SystemKind{events.HealthCheckFailed, events.HealthCheckRecovered}},
		{name: "failing from the start, then loaded", reports: []events.HealthKind{events.Unhealthy, events.Healthy},
			want: []events.SystemKind{events.HealthCheckFailed, events.HealthCheckRecovered}},
		{name: "a late acknowledgement is no recovery", reports: []events.HealthKind{events.Healthy, events.Unhealthy, "ack"},
			want: []events.SystemKind{events.HealthCheckFailed}},
		{name: "repeated failures are one change", reports: []events.HealthKind{events.Healthy, events.Unhealthy,
			events.Unhealthy, events.Unhealthy}, want: []events.SystemKind{events.HealthCheckFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := eventstest.NewBus(t)
			w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilySystem}})
			h := NewHandler(bus, nil, "joyride-test", []string{"docker", "records"})
			for i, k := range tt.reports {
				e := healthEvent("docker", k, "report "+string(rune('a'+i)), time.Unix(int64(i), 0))
				if k == "ack" {
					e = ack("docker")
				}
				require.NoError(t, h.Handle(context.Background(), e))
			}
			// Handle has published what the reports caused; the bus delivers in publish order, so once the
			// watcher has the marker published after them, it has them all.
			require.NoError(t, bus.Publish(context.Background(), systemEvent(events.ConfigurationChanged)))
			w.Expect(t, "the marker", eventstest.Kind(events.FamilySystem, events.Kind(events.ConfigurationChanged)))
			var got []events.SystemKind
			for _, e := range w.Events() {
				se := e.(*events.SystemEvent)
				if se.Source != source {
					continue
				}
				got = append(got, se.Kind)
				assert.Equal(t, "joyride-test", se.Service)
				assert.Contains(t, se.Message, "docker is ")
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
