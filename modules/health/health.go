package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// critical are the components whose failure makes a node that was ready not ready any more: a node whose DNS
// listener died cannot answer at all, whereas one whose Docker engine or peers went away still answers from
// what it knows.
var critical = []string{"dns"}

// source is the Metadata.Source of the events the handler publishes.
const source = "health"

// records is the records handler's component and the Source of its acknowledgements: a healthy HealthEvent for
// another component, published once it has applied every snapshot that component published before its first
// healthy report (modules/records).
const records = "records"

// Handler keeps every component's health from the HealthEvents on the bus and the node's readiness from the
// system's lifecycle. Create it with NewHandler (or New under fx); it subscribes at once and starts nothing.
type Handler struct {
	bus     *events.Bus
	log     *zap.Logger
	service string

	mu       sync.Mutex
	started  bool
	required []string // the Reporters' names: readiness waits for their first load
	// applied is set when the records module runs (a required component is "records"): a component's first
	// load is then done when the records handler acknowledges it, not when the component reports healthy,
	// because the records handler applies the component's snapshots on a goroutine of its own.
	applied    bool
	components map[string]*status.Component
}

var _ status.Health = (*Handler)(nil)

// NewHandler subscribes to the health events and to the system's start and stop on bus. required names the
// components readiness waits for (the modules that provide a Reporter); they show as starting until they
// report. When one of them is "records", the records module runs, and a component other than records counts as
// loaded once the records handler has acknowledged its first healthy report (its records are in the store).
// service names the service in the SystemEvents it publishes ("joyride" when empty). log may be nil.
func NewHandler(bus *events.Bus, log *zap.Logger, service string, required []string) *Handler {
	if log == nil {
		log = zap.NewNop()
	}
	h := &Handler{
		bus:        bus,
		log:        log.Named(source),
		service:    cmp.Or(service, "joyride"),
		components: make(map[string]*status.Component),
	}
	for _, name := range required {
		if _, ok := h.components[name]; !ok {
			h.components[name] = &status.Component{Name: name, State: status.Starting}
			h.required = append(h.required, name)
		}
	}
	slices.Sort(h.required)
	h.applied = slices.Contains(h.required, records)
	bus.Subscribe(source, events.Filter{
		Families: []events.Family{events.FamilyHealth, events.FamilySystem},
		Kinds: []events.Kind{
			events.Kind(events.Healthy), events.Kind(events.Unhealthy),
			events.Kind(events.ServiceStarted), events.Kind(events.ServiceStopping),
		},
	}, h.Handle)
	return h
}

// Handle takes one event in. The bus calls it from one goroutine, so the SystemEvents it publishes follow the
// order of the changes.
func (h *Handler) Handle(ctx context.Context, e events.Event) error {
	switch ev := e.(type) {
	case *events.SystemEvent:
		h.mu.Lock()
		h.started = ev.Kind == events.ServiceStarted
		h.mu.Unlock()
	case *events.HealthEvent:
		if kind, msg, ok := h.update(ev); ok {
			err := h.bus.Publish(ctx, &events.SystemEvent{
				Metadata: events.Metadata{Source: source}, Kind: kind, Service: h.service, Message: msg,
			})
			if err != nil && !errors.Is(err, events.ErrClosed) {
				h.log.Error("publishing a health change", zap.String("component", ev.Component), zap.Error(err))
			}
		}
	}
	return nil
}

// update applies e to its component and returns the SystemEvent kind and message to publish when the component
// went from healthy (or starting) to unhealthy, or from unhealthy to healthy. A first healthy is a first load,
// not a recovery: it publishes nothing. The records handler's acknowledgement only marks the first load done:
// it arrives after the report it acknowledges and perhaps after later ones, so it says nothing of the state now.
func (h *Handler) update(e *events.HealthEvent) (events.SystemKind, string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.components[e.Component]
	if c == nil {
		c = &status.Component{Name: e.Component, State: status.Starting}
		h.components[e.Component] = c
	}
	if h.applied && e.Source == records && e.Component != records {
		c.Loaded = c.Loaded || e.Kind == events.Healthy
		return "", "", false
	}
	was := c.State
	c.Message = e.Message
	c.State = status.Unhealthy
	if e.Kind == events.Healthy {
		c.State = status.Healthy
		c.Loaded = c.Loaded || !h.applied || e.Component == records
	}
	if c.State == was {
		return "", "", false
	}
	c.Since = e.Timestamp
	switch {
	case c.State == status.Unhealthy:
		return events.HealthCheckFailed, describe(c), true
	case was == status.Unhealthy:
		return events.HealthCheckRecovered, describe(c), true
	}
	return "", "", false
}

func describe(c *status.Component) string {
	if c.Message == "" {
		return fmt.Sprintf("%s is %s", c.Name, c.State)
	}
	return fmt.Sprintf("%s is %s: %s", c.Name, c.State, c.Message)
}

// Ready reports whether the node can answer correctly: the application has started (and is not stopping), every
// required component has finished its first load, and no critical component is unhealthy now.
func (h *Handler) Ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started && len(h.waitingLocked()) == 0
}

// Waiting names what the node waits for before it is ready, sorted: "start" until the application has started,
// the required components not loaded yet, and the critical components that are unhealthy. It is empty when
// Ready is true.
func (h *Handler) Waiting() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.waitingLocked()
	if !h.started {
		w = append([]string{"start"}, w...)
	}
	return w
}

func (h *Handler) waitingLocked() []string {
	var w []string
	for name, c := range h.components {
		if (slices.Contains(h.required, name) && !c.Loaded) ||
			(slices.Contains(critical, name) && c.State == status.Unhealthy) {
			w = append(w, name)
		}
	}
	slices.Sort(w)
	return w
}

// Components returns every component's health, sorted by name: the required ones (starting until they report)
// and any other that reported.
func (h *Handler) Components() []status.Component {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]status.Component, 0, len(h.components))
	for _, name := range slices.Sorted(maps.Keys(h.components)) {
		out = append(out, *h.components[name])
	}
	return out
}
