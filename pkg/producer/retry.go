package producer

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/retry"
)

// Retries is what a module shows of the sources it retries under the retry policy (pkg/retry): the Docker
// engine, the watched directories, the cluster's seeds, the audit log's path. Its loop owns each source's
// retry.Breaker and hands every Event the breaker returns to Report, which publishes it as a RetryEvent, keeps the
// source's Status for the module's Status and metrics, and reports the module's health: unhealthy when a circuit
// opens, healthy again when one recovers and no other is open. Its methods are safe for concurrent use.
type Retries struct {
	bus     *events.Bus
	log     *zap.Logger
	module  string
	health  func(context.Context, events.HealthKind, string)
	metrics retry.Metrics

	mu     sync.Mutex
	status map[string]retry.Status
}

// NewRetries keeps the retries of module's targets (see Track). health reports the module's health; nil
// publishes a HealthEvent with Health. log may be nil.
func NewRetries(module string, bus *events.Bus, log *zap.Logger, health func(context.Context, events.HealthKind, string)) *Retries {
	if log == nil {
		log = zap.NewNop()
	}
	r := &Retries{bus: bus, log: log, module: module, health: health, metrics: retry.NewMetrics(module),
		status: make(map[string]retry.Status)}
	if r.health == nil {
		r.health = func(ctx context.Context, kind events.HealthKind, msg string) {
			Health(ctx, bus, log, module, kind, msg)
		}
	}
	return r
}

// Track adds targets, closed until reported otherwise, so that they are shown (and exported) before their
// first failure. A target already known keeps its state.
func (r *Retries) Track(targets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range targets {
		if _, ok := r.status[t]; !ok {
			r.status[t] = retry.Status{State: retry.Closed}
		}
	}
}

// Retarget makes targets the tracked ones, for a module whose targets change while it runs (a reload of the
// watched directories): new ones start closed, and those no longer listed are forgotten. When a forgotten target's
// circuit was the only one open, the module is healthy again.
func (r *Retries) Retarget(ctx context.Context, targets ...string) {
	r.mu.Lock()
	forgotOpen, open := false, false
	for t, s := range r.status {
		if !slices.Contains(targets, t) {
			forgotOpen = forgotOpen || s.State != retry.Closed
			delete(r.status, t)
		}
	}
	for _, t := range targets {
		if _, ok := r.status[t]; !ok {
			r.status[t] = retry.Status{State: retry.Closed}
		}
	}
	for _, s := range r.status {
		open = open || s.State != retry.Closed
	}
	r.mu.Unlock()
	if forgotOpen && !open {
		r.health(ctx, events.Healthy, "no target is failing: those that were are no longer configured")
	}
}

// Report publishes e, what target's breaker returned, keeps its Status, and reports the module unhealthy when
// e opened a closed circuit ("<target>: circuit open after 5 failures; next try in 1m0s: <error>"), healthy when
// it recovered from an open one and no other target's circuit is open. A failed probe changes nothing in the
// health: the circuit was open already.
func (r *Retries) Report(ctx context.Context, target string, e retry.Event) {
	ev := &events.RetryEvent{Metadata: events.Metadata{Source: r.module}, Kind: e.Kind, Target: target,
		From: string(e.From), Circuit: string(e.To), Failures: e.Failures, Delay: e.Delay}
	if e.Err != nil {
		ev.Error = e.Err.Error()
	}
	if err := r.bus.Publish(ctx, ev); err != nil && !errors.Is(err, events.ErrClosed) {
		r.log.Error("publishing a retry", zap.String("target", target), zap.String("kind", string(e.Kind)), zap.Error(err))
	}
	r.mu.Lock()
	r.status[target] = e.Status
	open := false
	for _, s := range r.status {
		open = open || s.State != retry.Closed
	}
	r.mu.Unlock()
	switch {
	case e.Kind == events.CircuitOpened && e.From == retry.Closed:
		r.health(ctx, events.Unhealthy, target+": "+e.String())
	case e.Kind == events.Recovered && e.From != retry.Closed && !open:
		r.health(ctx, events.Healthy, target+": "+e.String())
	}
}

// Status returns target's breaker state; closed for a target never tracked or reported.
func (r *Retries) Status(target string) retry.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.status[target]; ok {
		return s
	}
	return retry.Status{State: retry.Closed}
}

// All returns every target's breaker state.
func (r *Retries) All() map[string]retry.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.status)
}

// Descs describe the metrics Collect sends, for the module's collector.
func (r *Retries) Descs() []*prometheus.Desc { return r.metrics.Descs() }

// Collect sends every target's metrics (retry.Metrics), in target order.
func (r *Retries) Collect(ch chan<- prometheus.Metric) {
	all := r.All()
	for _, t := range slices.Sorted(maps.Keys(all)) {
		r.metrics.Collect(ch, t, all[t])
	}
}
