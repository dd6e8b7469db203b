package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"
)

// engine is every Engine API call the producer makes. All of them are GET requests (plus the HEAD /_ping of API
// version negotiation), which is why Joyride works behind a socket proxy that allows only containers and events.
type engine interface {
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
}

const (
	// sinceMargin asks the engine to replay this much of its event log on every subscription. The Docker daemon
	// answers the events request before it registers the subscriber, so without a replay an event in between
	// could be lost; replayed events are harmless because the list that follows, and the stream after it,
	// converge on the engine's state (see doc.go).
	sinceMargin = time.Second
	// stableStream is how long a connection's stream must last to count as a success of the retry policy, which
	// closes the circuit and starts the next failure's backoff from the beginning; an engine that accepts and then
	// drops every stream is retried ever more slowly, and its circuit opens, instead.
	stableStream = 10 * time.Second
)

// container is a container whose labels name records.
type container struct {
	id, name string
	// labels are the container's, as the engine gave them: they never change while it exists, and a reload
	// parses them again under the new rules.
	labels  map[string]string
	target  target
	records []events.Record // as last published; never modified in place
	// removeAt is set while a stopped container's records are kept for StopGrace.
	removeAt time.Time
}

// stream is one subscription to the engine's events.
type stream struct {
	msgs   <-chan dockerevents.Message
	errs   <-chan error
	cancel context.CancelFunc
}

// close ends the subscription and waits for the client's reading goroutine to exit (it closes errs).
func (s *stream) close() {
	s.cancel()
	for range s.errs {
	}
}

// loop owns all of the producer's runtime state; only its goroutine touches it, so there is no lock.
type loop struct {
	p   *Producer
	eng engine
	log *zap.Logger
	// retry is the engine's circuit breaker and backoff (pkg/retry, capped at MaxBackoff).
	retry *retry.Breaker

	host    hostAddrs
	tracked map[string]*container
	// ignored are running containers whose labels name nothing usable; remembered so their problems are
	// logged once, not on every reconnect.
	ignored map[string]struct{}

	grace   *time.Timer
	graceOn bool
	// addrCheck re-detects an auto-detected host address; nil when the address is configured or the check off.
	addrCheck *time.Ticker

	healthKnown bool
	connected   bool
	// everConnected is set by the first connection, after which each is a reconnect.
	everConnected bool
}

func newLoop(p *Producer, eng engine) *loop {
	grace := time.NewTimer(time.Hour)
	grace.Stop()
	return &loop{
		p:       p,
		eng:     eng,
		log:     p.log,
		retry:   retry.New(retry.For(p.cfg.MaxBackoff)),
		host:    hostAddrs{v4: p.hostIP, v6: p.hostV6},
		tracked: make(map[string]*container),
		ignored: make(map[string]struct{}),
		grace:   grace,
	}
}

func (l *loop) run(ctx context.Context) {
	if l.p.hostIP.IsValid() {
		l.log.Info("host address configured", zap.Stringer("host_ip", l.host.v4))
	} else {
		l.checkAddress(ctx)
	}
	l.resetAddressCheck()
	defer l.stopAddressCheck()
	defer l.grace.Stop()

	var s *stream
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	// attempt fires for the next connection attempt, or, while connected, once the stream has lasted stableStream.
	attempt := time.NewTimer(0)
	defer attempt.Stop()
	for {
		var (
			msgs <-chan dockerevents.Message
			errs <-chan error
		)
		if s != nil {
			msgs, errs = s.msgs, s.errs
		}
		var graceC, tick <-chan time.Time
		if l.graceOn {
			graceC = l.grace.C
		}
		if l.addrCheck != nil {
			tick = l.addrCheck.C
		}
		select {
		case <-ctx.Done():
			return
		case <-attempt.C:
			if s != nil {
				// The stream has lasted stableStream: the connection worked.
				if e, ok := l.retry.Success(); ok {
					l.report(ctx, e)
				}
				break
			}
			if e, ok := l.retry.Attempt(); ok {
				l.report(ctx, e)
			}
			var err error
			if s, err = l.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				attempt.Reset(l.disconnected(ctx, err))
				break
			}
			attempt.Reset(l.p.stable)
		case m := <-msgs:
			l.handle(ctx, m)
		case err := <-errs:
			// The client sends every message before the error that ends the stream, so none is lost here.
			s.close()
			s = nil
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("event stream closed")
			}
			attempt.Reset(l.disconnected(ctx, fmt.Errorf("event stream: %w", err)))
		case <-graceC:
			l.graceOn = false
			l.expire(ctx)
		case <-tick:
			l.checkAddress(ctx)
		case r := <-l.p.reconf:
			err := l.reconfigure(ctx, r.settings, s != nil)
			close(r.done)
			if err != nil && s != nil {
				// The new rules are in force; the containers they may now name are listed at the reconnect.
				s.close()
				s = nil
				if ctx.Err() != nil {
					return
				}
				attempt.Reset(l.disconnected(ctx, err))
			}
		}
	}
}

// connect subscribes to container events first and lists the running containers second, so that a change
// between the two is in the stream; then it reconciles the list with what is served.
func (l *loop) connect(ctx context.Context) (*stream, error) {
	since := time.Now().Add(-sinceMargin)
	sctx, cancel := context.WithCancel(ctx)
	res := l.eng.Events(sctx, client.EventsListOptions{
		Since: since.UTC().Format(time.RFC3339Nano),
		Filters: make(client.Filters).
			Add("type", string(dockerevents.ContainerEventType)).
			Add("event", "start", "unpause", "die", "stop", "kill", "pause", "destroy"),
	})
	s := &stream{msgs: res.Messages, errs: res.Err, cancel: cancel}
	list, err := l.eng.ContainerList(ctx, client.ContainerListOptions{
		Filters: make(client.Filters).Add("status", "running"),
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("list containers: %w", err)
	}
	// A failed subscription (a proxy that forbids /events) shows up as an error on the stream right away.
	select {
	case err := <-s.errs:
		s.close()
		if err == nil {
			err = errors.New("event stream closed")
		}
		return nil, fmt.Errorf("subscribe to events: %w", err)
	default:
	}
	// The containers first: the healthy report that setConnected makes after the first list says that the
	// first load is done (pkg/status), so it follows their events.
	l.reconcile(ctx, list.Items, nil)
	l.setConnected(ctx)
	return s, nil
}

// reconcile makes the served containers exactly the running ones: those that vanished while the stream was
// down are stopped (with the stop grace), new ones discovered, unchanged ones left alone. before, when not nil,
// is the label rules of the configuration before a reload: the problems they also found were logged then.
func (l *loop) reconcile(ctx context.Context, items []dockercontainer.Summary, before *labelParser) {
	running := make(map[string]struct{}, len(items))
	for _, it := range items {
		running[it.ID] = struct{}{}
	}
	for id := range l.tracked {
		if _, ok := running[id]; !ok {
			l.stopped(ctx, id)
		}
	}
	for id := range l.ignored {
		if _, ok := running[id]; !ok {
			delete(l.ignored, id)
		}
	}
	for _, it := range items {
		name := ""
		if len(it.Names) > 0 {
			name = strings.TrimPrefix(it.Names[0], "/")
		}
		l.started(ctx, it.ID, name, it.Labels, events.ContainerDiscovered, before)
	}
	l.p.updateStatus(func(s *Status) { s.Containers = len(l.tracked) })
}

// handle applies one engine event. It uses the labels the event carries, never an inspect: after a destroy the
// container is gone, and a start must resolve without another round trip.
func (l *loop) handle(ctx context.Context, m dockerevents.Message) {
	if m.Type != dockerevents.ContainerEventType || m.Actor.ID == "" {
		return
	}
	id, attrs := m.Actor.ID, m.Actor.Attributes
	switch m.Action {
	case dockerevents.ActionStart, dockerevents.ActionUnPause:
		l.started(ctx, id, attrs["name"], attrs, events.ContainerStarted, nil)
	case dockerevents.ActionDie, dockerevents.ActionStop, dockerevents.ActionPause:
		l.stopped(ctx, id)
	case dockerevents.ActionDestroy:
		l.stopped(ctx, id)
		delete(l.ignored, id)
	case dockerevents.ActionKill:
		// Only SIGKILL is sure to stop the container; after any other signal it may keep running, and the die
		// event that follows a real exit stops it.
		switch attrs["signal"] {
		case "9", "KILL", "SIGKILL":
			l.stopped(ctx, id)
		}
	}
	l.p.updateStatus(func(s *Status) { s.Containers = len(l.tracked) })
}

// started serves a running container's records. A container already served with the same records publishes
// nothing, so a replayed event or a re-list is not a duplicate. before is reconcile's.
func (l *loop) started(ctx context.Context, id, name string, labels map[string]string, kind events.ContainerKind,
	before *labelParser) {
	if c := l.tracked[id]; c != nil {
		wasStopping := !c.removeAt.IsZero()
		c.removeAt = time.Time{}
		recs := c.target.records(l.host)
		if !wasStopping && slices.Equal(recs, c.records) {
			return
		}
		if wasStopping {
			l.armGrace()
		}
		c.records = recs
		l.publish(ctx, kind, c)
		return
	}
	if _, ok := l.ignored[id]; ok {
		return
	}
	t, probs := l.p.labels.parse(labels)
	if before != nil {
		_, old := before.parse(labels)
		probs = fresh(probs, old)
	}
	l.warn(name, id, probs)
	if len(t.names) == 0 {
		l.ignored[id] = struct{}{}
		return
	}
	c := &container{id: id, name: name, labels: labels, target: t, records: t.records(l.host)}
	l.tracked[id] = c
	if len(c.records) == 0 {
		l.log.Warn("no host address known; the container's names are served once one is detected",
			zap.String("container", name), zap.String("id", shortID(id)), zap.Strings("names", t.names))
		return
	}
	l.publish(ctx, kind, c)
}

// stopped removes a container's records, after StopGrace when one is set.
func (l *loop) stopped(ctx context.Context, id string) {
	c := l.tracked[id]
	if c == nil || !c.removeAt.IsZero() {
		return
	}
	if g := l.p.cfg.StopGrace; g > 0 && len(c.records) > 0 {
		c.removeAt = time.Now().Add(g)
		l.armGrace()
		l.log.Debug("container stopped; keeping its records for the stop grace",
			zap.String("container", c.name), zap.String("id", shortID(id)), zap.Duration("stop_grace", g))
		return
	}
	l.remove(ctx, c)
}

func (l *loop) remove(ctx context.Context, c *container) {
	delete(l.tracked, c.id)
	if len(c.records) > 0 {
		c.records = nil
		l.publish(ctx, events.ContainerStopped, c)
	}
}

// expire removes the containers whose stop grace has ended.
func (l *loop) expire(ctx context.Context) {
	now := time.Now()
	for _, c := range l.tracked {
		if !c.removeAt.IsZero() && !c.removeAt.After(now) {
			l.remove(ctx, c)
		}
	}
	l.armGrace()
	l.p.updateStatus(func(s *Status) { s.Containers = len(l.tracked) })
}

// armGrace sets the grace timer to the earliest pending removal, or stops it.
func (l *loop) armGrace() {
	var next time.Time
	for _, c := range l.tracked {
		if !c.removeAt.IsZero() && (next.IsZero() || c.removeAt.Before(next)) {
			next = c.removeAt
		}
	}
	l.grace.Stop()
	l.graceOn = !next.IsZero()
	if l.graceOn {
		l.grace.Reset(time.Until(next))
	}
}

func (l *loop) publish(ctx context.Context, kind events.ContainerKind, c *container) {
	e := &events.ContainerEvent{
		Metadata:      events.Metadata{Source: moduleName},
		Kind:          kind,
		ContainerID:   c.id,
		ContainerName: c.name,
		Names:         c.target.names,
		Snapshot:      &events.RecordSnapshot{Source: SourcePrefix + c.id, Records: c.records},
	}
	if err := l.p.bus.Publish(ctx, e); err != nil && !errors.Is(err, events.ErrClosed) {
		l.log.Error("publishing container event", zap.String("container", c.name), zap.Error(err))
	}
	l.p.served(c)
}

// checkAddress detects the host address and, when it changed, re-publishes every container that uses it.
func (l *loop) checkAddress(ctx context.Context) {
	if !l.detectAddress() {
		return
	}
	for _, c := range l.tracked {
		recs := c.target.records(l.host)
		if slices.Equal(recs, c.records) {
			continue
		}
		c.records = recs
		l.publish(ctx, events.ContainerDiscovered, c)
	}
}

// detectAddress detects the host address and reports whether it changed. A failed detection keeps the last
// address: dropping every record because the network blinked would be worse.
func (l *loop) detectAddress() bool {
	a, err := l.p.detect()
	if err != nil {
		if !l.host.v4.IsValid() {
			l.log.Warn("host address not detected; set docker.host_ip (HOSTIP)", zap.Error(err))
		} else {
			l.log.Debug("host address re-check failed; keeping the last one", zap.Error(err))
		}
		return false
	}
	if a == l.host.v4 {
		return false
	}
	if l.host.v4.IsValid() {
		l.log.Info("host address changed; re-publishing container records",
			zap.Stringer("old", l.host.v4), zap.Stringer("new", a))
	} else {
		l.log.Info("host address detected from the default route", zap.Stringer("host_ip", a))
	}
	l.host.v4 = a
	l.p.updateStatus(func(s *Status) { s.HostIP = a.String() })
	return true
}

// resetAddressCheck starts the periodic re-detection of an auto-detected host address with the configured
// interval, or stops it when the address is configured or the interval is 0.
func (l *loop) resetAddressCheck() {
	l.stopAddressCheck()
	if !l.p.hostIP.IsValid() && l.p.cfg.AddressCheckInterval > 0 {
		l.addrCheck = time.NewTicker(l.p.cfg.AddressCheckInterval)
	}
}

func (l *loop) stopAddressCheck() {
	if l.addrCheck != nil {
		l.addrCheck.Stop()
		l.addrCheck = nil
	}
}

// setConnected records a working connection and reports the change in health.
func (l *loop) setConnected(ctx context.Context) {
	reconnect := l.everConnected
	l.everConnected = true
	l.p.updateStatus(func(s *Status) {
		s.Connected = true
		if reconnect {
			s.Reconnects++
		}
	})
	if l.healthKnown && l.connected {
		return
	}
	l.healthKnown, l.connected = true, true
	ep := l.p.Status().Endpoint
	l.log.Info("connected to the container engine", zap.String("endpoint", ep))
	l.health(ctx, events.Healthy, "connected to "+ep)
}

// disconnected records a failure, reports the change in health and returns the delay before the next attempt.
func (l *loop) disconnected(ctx context.Context, err error) time.Duration {
	e := l.retry.Failure(err)
	l.report(ctx, e)
	wait := e.Delay
	l.p.updateStatus(func(s *Status) { s.Connected, s.LastError = false, err.Error() })
	if l.healthKnown && !l.connected {
		l.log.Debug("container engine still unreachable", zap.Error(err), zap.Duration("retry_in", wait))
		return wait
	}
	l.healthKnown, l.connected = true, false
	l.log.Warn("container engine unreachable; retrying with backoff", zap.String("endpoint", l.p.Status().Endpoint),
		zap.Error(err), zap.Duration("retry_in", wait))
	l.health(ctx, events.Unhealthy, err.Error())
	return wait
}

// report hands what the breaker returned to the producer's Retries: a RetryEvent, the Status, and the health
// when the circuit opens or recovers.
func (l *loop) report(ctx context.Context, e retry.Event) {
	l.p.retries.Report(ctx, l.p.Status().Endpoint, e)
}

func (l *loop) health(ctx context.Context, kind events.HealthKind, msg string) {
	producer.Health(ctx, l.p.bus, l.log, moduleName, kind, msg)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
