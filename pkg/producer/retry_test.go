package producer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// Two directories fail: the module is unhealthy from the first circuit that opens until the last one recovers;
// every breaker event is a RetryEvent, and each target's state is in All and the metrics.
func TestRetries(t *testing.T) {
	bus := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyRetry, events.FamilyHealth}})
	r := producer.NewRetries("hosts", bus, zap.NewNop(), nil)
	r.Track("/a", "/b")
	a, b := retry.New(retry.For(time.Second)), retry.New(retry.For(time.Second))
	ctx := context.Background()
	refused := errors.New("not a directory")

	type step struct {
		target string
		br     *retry.Breaker
		do     string // fail, attempt, succeed
		health events.HealthKind
	}
	steps := []step{
		{target: "/a", br: a, do: "fail"}, {target: "/a", br: a, do: "fail"}, {target: "/a", br: a, do: "fail"},
		{target: "/a", br: a, do: "fail"},
		{target: "/a", br: a, do: "fail", health: events.Unhealthy}, // opened
		{target: "/a", br: a, do: "attempt"},
		{target: "/a", br: a, do: "fail"}, // a failed probe: open again, and unhealthy already
		{target: "/b", br: b, do: "fail"}, {target: "/b", br: b, do: "fail"}, {target: "/b", br: b, do: "fail"},
		{target: "/b", br: b, do: "fail"},
		{target: "/b", br: b, do: "fail", health: events.Unhealthy}, // the second target's circuit, said too
		{target: "/a", br: a, do: "attempt"},
		{target: "/a", br: a, do: "succeed"}, // /b is still open: still unhealthy
		{target: "/b", br: b, do: "attempt"},
		{target: "/b", br: b, do: "succeed", health: events.Healthy},
	}
	var wantRetries, wantHealth int
	for i, s := range steps {
		var e retry.Event
		ok := true
		switch s.do {
		case "fail":
			e = s.br.Failure(refused)
		case "attempt":
			e, ok = s.br.Attempt()
		case "succeed":
			e, ok = s.br.Success()
		}
		require.True(t, ok, "step %d reports", i)
		r.Report(ctx, s.target, e)
		wantRetries++
		if s.health != "" {
			wantHealth++
		}
		assert.Equal(t, s.br.Status(), r.Status(s.target), "step %d: the status kept", i)
		// The events of this step are published before the next: wait for them.
		require.Eventually(t, func() bool {
			var nr, nh int
			for _, ev := range w.Events() {
				switch ev.(type) {
				case *events.RetryEvent:
					nr++
				case *events.HealthEvent:
					nh++
				}
			}
			return nr == wantRetries && nh == wantHealth
		}, eventstest.Timeout, 5*time.Millisecond, "step %d", i)
		last := w.Events()[len(w.Events())-1]
		if s.health != "" {
			h, isHealth := last.(*events.HealthEvent)
			require.True(t, isHealth, "step %d: health last", i)
			assert.Equal(t, s.health, h.Kind, "step %d", i)
			assert.Equal(t, "hosts", h.Component)
			assert.Contains(t, h.Message, s.target+": ", "step %d names the target", i)
		} else {
			re := last.(*events.RetryEvent)
			assert.Equal(t, e.Kind, re.Kind, "step %d", i)
			assert.Equal(t, s.target, re.Target)
			assert.Equal(t, "hosts", re.Source)
			assert.Equal(t, string(e.From), re.From)
			assert.Equal(t, string(e.To), re.Circuit)
			assert.Equal(t, e.Failures, re.Failures)
			assert.Equal(t, e.Delay, re.Delay)
			if s.do == "fail" {
				assert.Equal(t, "not a directory", re.Error)
			}
		}
	}
	opened := w.Events()[5].(*events.HealthEvent) // after the five RetryEvents of /a
	assert.Regexp(t, `^/a: circuit open after 5 failures; next try in \S+: not a directory$`, opened.Message)

	assert.Equal(t, map[string]retry.Status{"/a": a.Status(), "/b": b.Status()}, r.All())
	series := statustest.Collect(t, status.NewCollector(r.Collect, r.Descs()...)).Series
	assert.Equal(t, 6.0, series[`joyride_retry_failures_total{source="hosts",target="/a"}`], "five failures and a failed probe")
	assert.Equal(t, 1.0, series[`joyride_retry_circuit{source="hosts",state="closed",target="/b"}`])
}

// A target tracked but never reported is closed, and so is one never tracked.
func TestRetriesTrack(t *testing.T) {
	r := producer.NewRetries("docker", eventstest.NewBus(t), nil, nil)
	r.Track("unix:///run/docker.sock")
	assert.Equal(t, map[string]retry.Status{"unix:///run/docker.sock": {State: retry.Closed}}, r.All())
	assert.Equal(t, retry.Status{State: retry.Closed}, r.Status("tcp://elsewhere:2375"))
}
