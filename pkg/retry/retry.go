package retry

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/joyride-dns/joyride/pkg/events"
)

// The policy's numbers (see the package doc); only the cap differs between sources.
const (
	// Initial is the first delay after a failure.
	Initial = 250 * time.Millisecond
	// Multiplier is how much each further failure lengthens the delay.
	Multiplier = 2
	// Jitter randomises every delay by this fraction either way, so that nodes restarted together, or sources
	// that failed together, do not retry in step.
	Jitter = 0.2
	// Threshold is how many failures in a row open the circuit.
	Threshold = 5
	// OpenFactor is the open interval as a multiple of the cap: longer than any delay of the backoff, so an open
	// circuit is felt.
	OpenFactor = 2
)

// Policy is how a failing source is retried. Use For; the fields are exported to be read (tests, docs).
type Policy struct {
	Initial    time.Duration
	Max        time.Duration // the cap of every delay while the circuit is closed
	Multiplier float64
	Jitter     float64
	Threshold  int
	Open       time.Duration // how long an open circuit leaves the source alone (±Jitter)
}

// For is the one policy, capped at max: delays from Initial (or max, when smaller) growing by Multiplier up to
// max, ±Jitter; Threshold failures in a row open the circuit for OpenFactor×max.
func For(max time.Duration) Policy {
	return Policy{
		Initial: min(Initial, max), Max: max, Multiplier: Multiplier, Jitter: Jitter,
		Threshold: Threshold, Open: OpenFactor * max,
	}
}

// State is a circuit breaker's state.
type State string

// The breaker's states.
const (
	// Closed: the source is tried, after each failure once its backoff delay has passed.
	Closed State = "closed"
	// Open: Threshold failures in a row (or a failed probe); the source is left alone for the open interval.
	Open State = "open"
	// HalfOpen: the open interval is over and one attempt, the probe, is under way.
	HalfOpen State = "half_open"
)

// Status is a breaker's state as a module shows it in its status.Reporter.
type Status struct {
	State State `json:"state"`
	// Failures counts the failed attempts in a row; zero once an attempt works.
	Failures int `json:"failures"`
	// NextAttempt is when the next attempt is due after a failure; zero while none is waited for.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// LastError is the latest failure; it stays after a recovery, for diagnosis.
	LastError string `json:"last_error,omitempty"`
	// Retries counts every failed attempt since the breaker was made: each one was retried.
	Retries uint64 `json:"retries"`
}

// Event is what a Breaker reports: a failed attempt, or a transition of its circuit.
type Event struct {
	Kind     events.RetryKind
	From, To State // the circuit's state before and after
	// Failures counts the failed attempts in a row, this one included; for recovered, those before the success.
	Failures int
	// Delay is the time until the next attempt; zero when none is waited for.
	Delay time.Duration
	Err   error
	// Status is the breaker's after the event, for the module's own Status.
	Status Status
}

// String is the event in a line, for a health message or a log: "circuit open after 5 failures; next try in
// 1m0s: <error>".
func (e Event) String() string {
	var s string
	switch e.Kind {
	case events.AttemptFailed:
		s = fmt.Sprintf("attempt %d failed; next try in %v", e.Failures, round(e.Delay))
	case events.CircuitOpened:
		s = fmt.Sprintf("circuit open after %d failures; next try in %v", e.Failures, round(e.Delay))
	case events.CircuitHalfOpen:
		return fmt.Sprintf("circuit half-open after %d failures: probing", e.Failures)
	case events.Recovered:
		return fmt.Sprintf("recovered after %d failures", e.Failures)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// round keeps a delay readable: "1.25s", not "1.253917482s".
func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

// Breaker is one source's circuit breaker and backoff under a Policy. It keeps the state; its owner keeps the
// schedule (a timer for the Delay of each Failure). It is not safe for concurrent use: it belongs to the loop
// that tries the source.
type Breaker struct {
	policy Policy
	bo     *backoff.ExponentialBackOff // the delays while closed
	open   *backoff.ExponentialBackOff // the open interval: Open ±Jitter, never growing
	now    func() time.Time
	status Status
}

// New returns a closed breaker for policy p.
func New(p Policy) *Breaker {
	bo := &backoff.ExponentialBackOff{InitialInterval: p.Initial, MaxInterval: p.Max, Multiplier: p.Multiplier,
		RandomizationFactor: p.Jitter}
	bo.Reset()
	open := &backoff.ExponentialBackOff{InitialInterval: p.Open, MaxInterval: p.Open, Multiplier: 1,
		RandomizationFactor: p.Jitter}
	open.Reset()
	return &Breaker{policy: p, bo: bo, open: open, now: time.Now, status: Status{State: Closed}}
}

// SetMax changes the cap to max, as For(max) sets it, keeping the breaker's state: a reloaded setting
// (docker.max_backoff) takes effect from the next delay, without forgetting the failures so far.
func (b *Breaker) SetMax(max time.Duration) {
	p := For(max)
	b.policy.Initial, b.policy.Max, b.policy.Open = p.Initial, p.Max, p.Open
	b.bo.InitialInterval, b.bo.MaxInterval = p.Initial, p.Max
	b.open.InitialInterval, b.open.MaxInterval = p.Open, p.Open
	b.open.Reset() // it never grows: its next interval is the new one
}

// Status returns the breaker's state.
func (b *Breaker) Status() Status { return b.status }

// Attempt marks the start of an attempt the owner's schedule made due. When the circuit is open, this attempt is
// its probe: the circuit becomes half-open, and the returned Event (ok true) says so.
func (b *Breaker) Attempt() (Event, bool) {
	if b.status.State != Open {
		return Event{}, false
	}
	b.status.State, b.status.NextAttempt = HalfOpen, time.Time{}
	return Event{Kind: events.CircuitHalfOpen, From: Open, To: HalfOpen, Failures: b.status.Failures,
		Status: b.status}, true
}

// Failure records a failed attempt and returns what to report: attempt_failed, or circuit_opened when it was
// the Threshold-th failure in a row or a failed probe. Its Delay is how long to wait before the next attempt.
func (b *Breaker) Failure(err error) Event {
	from := b.status.State
	b.status.Failures++
	b.status.Retries++
	if err != nil {
		b.status.LastError = err.Error()
	}
	e := Event{Kind: events.AttemptFailed, From: from, Err: err}
	if from == Closed && b.status.Failures < b.policy.Threshold {
		e.Delay = min(b.bo.NextBackOff(), b.policy.Max)
	} else {
		// The Threshold-th failure, or one while the circuit is not closed (a failed probe): open it.
		e.Kind, b.status.State = events.CircuitOpened, Open
		e.Delay = b.open.NextBackOff()
	}
	b.status.NextAttempt = b.now().Add(e.Delay)
	e.To, e.Failures, e.Status = b.status.State, b.status.Failures, b.status
	return e
}

// Success records an attempt that worked: the circuit closes and the backoff starts again from Initial. After
// failures it returns a recovered Event (ok true); a success after a success reports nothing.
func (b *Breaker) Success() (Event, bool) {
	if b.status.Failures == 0 && b.status.State == Closed {
		return Event{}, false
	}
	from, failures := b.status.State, b.status.Failures
	b.status.State, b.status.Failures, b.status.NextAttempt = Closed, 0, time.Time{}
	b.bo.Reset()
	return Event{Kind: events.Recovered, From: from, To: Closed, Failures: failures, Status: b.status}, true
}
