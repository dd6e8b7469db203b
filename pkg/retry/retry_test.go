package retry

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// clock is a fake clock: the breaker reads it, the test moves it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestBreaker(p Policy) (*Breaker, *clock) {
	c := &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	b := New(p)
	b.now = c.now
	return b, c
}

// within asserts that d is the nominal delay base randomised by at most Jitter either way (the library's +1ns
// of rounding allowed), and never above the cap.
func within(t *testing.T, p Policy, base, d time.Duration, msg string, args ...any) {
	t.Helper()
	lo := time.Duration(float64(base) * (1 - p.Jitter))
	hi := time.Duration(float64(base)*(1+p.Jitter)) + 1
	assert.GreaterOrEqual(t, d, lo, append([]any{msg}, args...)...)
	assert.LessOrEqual(t, d, hi, append([]any{msg}, args...)...)
}

func TestFor(t *testing.T) {
	tests := []struct {
		name     string
		max      time.Duration
		want     Policy
		wantOpen time.Duration
	}{
		{name: "docker's default cap", max: 30 * time.Second,
			want: Policy{Initial: 250 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.2, Threshold: 5,
				Open: time.Minute}},
		{name: "a cap below the initial delay starts at the cap", max: 100 * time.Millisecond,
			want: Policy{Initial: 100 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2, Jitter: 0.2,
				Threshold: 5, Open: 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, For(tt.max))
		})
	}
}

// The delays while the circuit is closed grow by the multiplier from Initial, each within the jitter, and never
// pass the cap. Many runs, because every delay is random.
func TestBackoffGrowsAndIsCapped(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		policy Policy
		want   []time.Duration // nominal delays after the 1st, 2nd, … failure
	}{
		{name: "docker's cap: four delays before the circuit opens", policy: For(30 * time.Second),
			want: []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second}},
		{name: "a cap of 1s is reached", policy: For(time.Second),
			want: []time.Duration{250 * ms, 500 * ms, time.Second, time.Second}},
		{name: "a cap below the initial delay", policy: For(100 * ms),
			want: []time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms}},
		{name: "a higher threshold stays at the cap",
			policy: Policy{Initial: 250 * ms, Max: 3 * time.Second, Multiplier: 2, Jitter: 0.2, Threshold: 9, Open: 6 * time.Second},
			want: []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second,
				3 * time.Second, 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for run := range 200 {
				b, _ := newTestBreaker(tt.policy)
				for i, base := range tt.want {
					e := b.Failure(errors.New("refused"))
					require.Equal(t, events.AttemptFailed, e.Kind, "run %d failure %d", run, i+1)
					within(t, tt.policy, base, e.Delay, "run %d: delay after failure %d", run, i+1)
					require.LessOrEqual(t, e.Delay, tt.policy.Max, "run %d: delay after failure %d is capped", run, i+1)
				}
				e := b.Failure(errors.New("refused"))
				require.Equal(t, events.CircuitOpened, e.Kind, "run %d: the %d-th failure", run, len(tt.want)+1)
				within(t, tt.policy, tt.policy.Open, e.Delay, "run %d: the open interval", run)
			}
		})
	}
}

// The breaker's transitions, step by step, with the clock moved to each next attempt.
func TestBreaker(t *testing.T) {
	type step struct {
		do        string // "fail", "attempt" or "succeed"
		want      events.RetryKind
		reported  bool // for attempt and succeed: whether an Event is returned
		state     State
		failures  int // in the Status after the step
		evFailure int // in the Event
	}
	fail := func(kind events.RetryKind, state State, failures int) step {
		return step{do: "fail", want: kind, reported: true, state: state, failures: failures, evFailure: failures}
	}
	threshold := []step{
		fail(events.AttemptFailed, Closed, 1), fail(events.AttemptFailed, Closed, 2), fail(events.AttemptFailed, Closed, 3),
		fail(events.AttemptFailed, Closed, 4), fail(events.CircuitOpened, Open, 5),
	}
	probe := func(failures int) step {
		return step{do: "attempt", want: events.CircuitHalfOpen, reported: true, state: HalfOpen, failures: failures,
			evFailure: failures}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "a success without failures reports nothing",
			steps: []step{{do: "succeed", state: Closed}, {do: "attempt", state: Closed}}},
		{name: "a success after failures recovers without opening",
			steps: []step{
				fail(events.AttemptFailed, Closed, 1), fail(events.AttemptFailed, Closed, 2),
				{do: "attempt", state: Closed, failures: 2},
				{do: "succeed", want: events.Recovered, reported: true, state: Closed, evFailure: 2},
				fail(events.AttemptFailed, Closed, 1),
			}},
		{name: "opens after five failures, probes, closes on success",
			steps: append(threshold[:5:5], probe(5),
				step{do: "succeed", want: events.Recovered, reported: true, state: Closed, evFailure: 5},
				fail(events.AttemptFailed, Closed, 1))},
		{name: "a failed probe opens the circuit again",
			steps: append(threshold[:5:5], probe(5), fail(events.CircuitOpened, Open, 6), probe(6),
				fail(events.CircuitOpened, Open, 7), probe(7),
				step{do: "succeed", want: events.Recovered, reported: true, state: Closed, evFailure: 7})},
		{name: "a failure while open without a probe keeps it open",
			steps: append(threshold[:5:5], fail(events.CircuitOpened, Open, 6))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := For(10 * time.Second)
			b, clk := newTestBreaker(p)
			retries := uint64(0)
			for i, s := range tt.steps {
				from := b.Status().State
				var e Event
				reported := true
				switch s.do {
				case "fail":
					retries++
					e = b.Failure(errors.New("refused"))
					require.Equal(t, clk.t.Add(e.Delay), b.Status().NextAttempt, "step %d: next attempt", i)
					if s.want == events.CircuitOpened {
						within(t, p, p.Open, e.Delay, "step %d: open interval", i)
					} else {
						assert.LessOrEqual(t, e.Delay, p.Max, "step %d", i)
					}
					clk.t = b.Status().NextAttempt // the owner's timer fires
				case "attempt":
					e, reported = b.Attempt()
				case "succeed":
					e, reported = b.Success()
				}
				st := b.Status()
				require.Equal(t, s.reported, reported, "step %d (%s): reported", i, s.do)
				assert.Equal(t, s.state, st.State, "step %d (%s): state", i, s.do)
				assert.Equal(t, s.failures, st.Failures, "step %d (%s): failures", i, s.do)
				assert.Equal(t, retries, st.Retries, "step %d (%s): retries", i, s.do)
				if st.Failures == 0 || st.State == HalfOpen {
					assert.True(t, st.NextAttempt.IsZero(), "step %d (%s): no attempt waited for", i, s.do)
				}
				if !reported {
					continue
				}
				assert.Equal(t, s.want, e.Kind, "step %d (%s)", i, s.do)
				assert.Equal(t, from, e.From, "step %d (%s): from", i, s.do)
				assert.Equal(t, s.state, e.To, "step %d (%s): to", i, s.do)
				assert.Equal(t, s.evFailure, e.Failures, "step %d (%s): the event's failures", i, s.do)
				assert.Equal(t, st, e.Status, "step %d (%s): the event carries the status", i, s.do)
			}
		})
	}
}

// After a recovery the backoff starts again from the initial delay, and the last error stays for diagnosis.
func TestRecoveryRestartsBackoff(t *testing.T) {
	p := For(30 * time.Second)
	b, _ := newTestBreaker(p)
	for range 3 {
		b.Failure(errors.New("first outage"))
	}
	_, ok := b.Success()
	require.True(t, ok)
	assert.Equal(t, "first outage", b.Status().LastError)
	e := b.Failure(errors.New("second outage"))
	within(t, p, p.Initial, e.Delay, "the first delay after a recovery")
	assert.Equal(t, "second outage", b.Status().LastError)
	assert.EqualValues(t, 4, b.Status().Retries)
}

func TestEventString(t *testing.T) {
	err := errors.New("connection refused")
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"failed", Event{Kind: events.AttemptFailed, Failures: 2, Delay: 503 * time.Millisecond, Err: err},
			"attempt 2 failed; next try in 500ms: connection refused"},
		{"opened", Event{Kind: events.CircuitOpened, Failures: 5, Delay: time.Minute + 1234*time.Microsecond, Err: err},
			"circuit open after 5 failures; next try in 1m0s: connection refused"},
		{"half-open", Event{Kind: events.CircuitHalfOpen, Failures: 5}, "circuit half-open after 5 failures: probing"},
		{"recovered", Event{Kind: events.Recovered, Failures: 6}, "recovered after 6 failures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.e.String())
		})
	}
}

// Two modules describe the same metrics with their own source label, and register side by side.
func TestMetrics(t *testing.T) {
	collector := func(module, target string, s Status) prometheus.Collector {
		m := NewMetrics(module)
		return status.NewCollector(func(ch chan<- prometheus.Metric) { m.Collect(ch, target, s) }, m.Descs()...)
	}
	got := statustest.Collect(t,
		collector("docker", "unix:///run/docker.sock", Status{State: Open, Failures: 5, Retries: 7}),
		collector("hosts", "/app/hosts", Status{State: Closed}),
	).Series
	assert.Equal(t, map[string]float64{
		`joyride_retry_circuit{source="docker",state="closed",target="unix:///run/docker.sock"}`:    0,
		`joyride_retry_circuit{source="docker",state="open",target="unix:///run/docker.sock"}`:      1,
		`joyride_retry_circuit{source="docker",state="half_open",target="unix:///run/docker.sock"}`: 0,
		`joyride_retry_failures_total{source="docker",target="unix:///run/docker.sock"}`:            7,
		`joyride_retry_circuit{source="hosts",state="closed",target="/app/hosts"}`:                  1,
		`joyride_retry_circuit{source="hosts",state="open",target="/app/hosts"}`:                    0,
		`joyride_retry_circuit{source="hosts",state="half_open",target="/app/hosts"}`:               0,
		`joyride_retry_failures_total{source="hosts",target="/app/hosts"}`:                          0,
	}, got)
}

// SetMax takes a new cap from the next delay on and keeps the failures counted so far.
func TestSetMax(t *testing.T) {
	for run := range 100 {
		b, _ := newTestBreaker(For(30 * time.Second))
		for range 3 {
			b.Failure(errors.New("refused"))
		}
		b.SetMax(300 * time.Millisecond)
		p := For(300 * time.Millisecond)
		e := b.Failure(errors.New("refused"))
		require.Equal(t, events.AttemptFailed, e.Kind, "run %d", run)
		require.LessOrEqual(t, e.Delay, p.Max, "run %d: the fourth delay is under the new cap", run)
		e = b.Failure(errors.New("refused"))
		require.Equal(t, events.CircuitOpened, e.Kind, "run %d: the failures before SetMax still count", run)
		within(t, p, p.Open, e.Delay, "run %d: the open interval follows the new cap", run)
	}
}
