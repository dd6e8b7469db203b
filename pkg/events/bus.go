package events

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/validation"
)

// ErrClosed is returned by Publish once the bus has stopped.
var ErrClosed = errors.New("events: bus is stopped")

// Handler receives delivered events. Its context carries the event's correlation ID (see CorrelationID), so events
// it publishes with that context are correlated with the one it handles. A returned error is reported as an
// ErrorEvent; it does not stop delivery.
type Handler func(ctx context.Context, e Event) error

// PublishFunc is one step of the publish chain.
type PublishFunc func(ctx context.Context, e Event) error

// PublishMiddleware wraps publishing; it sees every event after its metadata is filled in and may reject it by
// returning an error.
type PublishMiddleware func(next PublishFunc) PublishFunc

// DeliverMiddleware wraps every handler call of every subscriber.
type DeliverMiddleware func(subscriber string, next Handler) Handler

// Config tunes the bus.
type Config struct {
	// HistorySize is how many recent events are kept for replay and the dashboard.
	HistorySize int `koanf:"history_size" validate:"min=0,max=1000000"`
	// QueueLimit is the per-subscriber queue length beyond which informational events are dropped for that
	// subscriber. Events that carry state are always queued.
	QueueLimit int `koanf:"queue_limit" validate:"min=1"`
}

// DefaultConfig keeps enough history for a dashboard and lets a subscriber fall far behind before dropping.
func DefaultConfig() Config { return Config{HistorySize: 1000, QueueLimit: 4096} }

// Stats are the bus's counters since it was created.
type Stats struct {
	Published uint64 // accepted by Publish
	Rejected  uint64 // refused by validation or middleware
	Delivered uint64 // handler calls completed
	Dropped   uint64 // informational events dropped for a subscriber over its queue limit
	// DroppedByFamily splits Dropped by the events' family (a family never dropped is absent): what the
	// metrics need to tell a flood of hosts record diffs from lost error reports.
	DroppedByFamily map[Family]uint64
	Failed          uint64 // handler calls that returned an error
	Panics          uint64 // handler calls that panicked
	QueueDepth      int    // events waiting in all subscriber queues now
}

type busState uint8

const (
	stateNew busState = iota
	stateRunning
	stateStopping
	stateStopped
)

// Bus is an in-process, typed, validated publish/subscribe bus. See the package documentation.
type Bus struct {
	cfg Config
	log *zap.Logger
	reg *registry

	mu       sync.Mutex
	idle     *sync.Cond // signalled when pending drops to zero
	state    busState
	subs     map[*Subscription]struct{}
	history  []Event
	histNext int
	histFull bool
	pending  int // queued or in-flight deliveries across all subscribers
	// droppedBy counts drops per family; kept under mu, where drops happen, so it costs nothing until one does.
	droppedBy map[Family]uint64

	chain     atomic.Pointer[PublishFunc]
	publishMW []PublishMiddleware
	deliverMW atomic.Pointer[[]DeliverMiddleware]

	runCtx    context.Context
	runCancel context.CancelFunc
	workers   sync.WaitGroup

	published, rejected, delivered, dropped, failed, panics atomic.Uint64
}

// NewBus builds a bus that queues what is published until Start. It starts no goroutine. An invalid cfg is an
// error naming the key: start from DefaultConfig.
func NewBus(cfg Config, log *zap.Logger) (*Bus, error) {
	if err := validation.Section("events", cfg); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	b := &Bus{
		cfg:  cfg,
		log:  log,
		reg:  newRegistry(),
		subs: make(map[*Subscription]struct{}),
	}
	if cfg.HistorySize > 0 {
		b.history = make([]Event, cfg.HistorySize)
	}
	b.idle = sync.NewCond(&b.mu)
	b.runCtx, b.runCancel = context.WithCancel(context.Background())
	b.deliverMW.Store(&[]DeliverMiddleware{})
	b.publishMW = []PublishMiddleware{b.validation}
	b.rebuildChain()
	return b, nil
}

// Register adds an embedding application's own event family. Events of unregistered families are rejected.
func (b *Bus) Register(spec FamilySpec) error { return b.reg.register(spec) }

// Use adds publish middleware. It runs after validation, in the order added, so it only sees valid events.
func (b *Bus) Use(mw ...PublishMiddleware) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.publishMW = append(b.publishMW, mw...)
	b.rebuildChain()
}

// UseDelivery adds delivery middleware around every handler call, in the order added (first is outermost).
func (b *Bus) UseDelivery(mw ...DeliverMiddleware) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := *b.deliverMW.Load()
	next := append(append([]DeliverMiddleware(nil), cur...), mw...)
	b.deliverMW.Store(&next)
}

func (b *Bus) rebuildChain() {
	f := PublishFunc(b.enqueue)
	for i := len(b.publishMW) - 1; i >= 0; i-- {
		f = b.publishMW[i](f)
	}
	b.chain.Store(&f)
}

// Publish fills in the event's ID, timestamp and correlation ID when empty, runs the middleware chain (validation
// first) and queues the event for every matching subscriber. It never waits for a subscriber. An invalid event is
// returned as an error naming the field and reaches no handler.
func (b *Bus) Publish(ctx context.Context, e Event) error {
	if e == nil {
		return errors.New("events: publish of a nil event")
	}
	m := e.Meta()
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now()
	}
	if m.CorrelationID == "" {
		if id := CorrelationID(ctx); id != "" {
			m.CorrelationID = id
		} else {
			m.CorrelationID = m.ID
		}
	}
	if err := (*b.chain.Load())(ctx, e); err != nil {
		b.rejected.Add(1)
		return err
	}
	return nil
}

// validation is the first publish middleware: the family and kind must be registered and the struct's validate
// tags must hold.
func (b *Bus) validation(next PublishFunc) PublishFunc {
	return func(ctx context.Context, e Event) error {
		spec, ok := b.reg.lookup(e.Family())
		if !ok {
			return fmt.Errorf("events: %T: family %q is not registered", e, e.Family())
		}
		if !spec.has(e.EventKind()) {
			return fmt.Errorf("events: %T: field Kind: %q is not a kind of family %q", e, e.EventKind(), e.Family())
		}
		if err := validation.Check(e); err != nil {
			return fmt.Errorf("events: invalid %s/%s event: %w", e.Family(), e.EventKind(), err)
		}
		return next(ctx, e)
	}
}

// enqueue is the end of the publish chain. Holding the bus lock across history and every queue gives all
// subscribers one global publish order.
func (b *Bus) enqueue(_ context.Context, e Event) error {
	spec, _ := b.reg.lookup(e.Family())
	informational := spec.informational(e.EventKind())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateStopped {
		return ErrClosed
	}
	b.published.Add(1)
	if len(b.history) > 0 {
		b.history[b.histNext] = historyEntry(e)
		b.histNext = (b.histNext + 1) % len(b.history)
		if b.histNext == 0 {
			b.histFull = true
		}
	}
	for s := range b.subs {
		if s.filter.Match(e) {
			b.push(s, e, informational)
		}
	}
	return nil
}

// push queues e for s. Called with b.mu held.
func (b *Bus) push(s *Subscription, e Event, informational bool) {
	s.mu.Lock()
	over := len(s.queue) >= s.limit
	if over && informational {
		s.mu.Unlock()
		s.dropped.Add(1)
		b.dropped.Add(1)
		if b.droppedBy == nil {
			b.droppedBy = make(map[Family]uint64)
		}
		b.droppedBy[e.Family()]++
		return
	}
	s.queue = append(s.queue, e)
	warn := over && !s.overLimit
	if over {
		s.overLimit = true
	}
	s.mu.Unlock()
	b.pending++
	if warn {
		b.log.Warn("subscriber is behind; queueing state events beyond its limit and dropping informational ones",
			zap.String("subscriber", s.name), zap.Int("limit", s.limit))
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxHistoryEntries is the largest record snapshot, and the longest list of record changes, the history keeps.
// The state a snapshot carries is in the record store once handled, and the changes are consumed when delivered;
// a 100,000-line hosts file's snapshot or change list (some 10 MB with its strings) would otherwise stay in
// memory, held by the history alone, until HistorySize newer events push it out.
const maxHistoryEntries = 256

// historyEntry is what the history keeps of e: e itself, or, for an event whose snapshot or change list holds
// more than maxHistoryEntries entries, its copy without them.
func historyEntry(e Event) Event {
	if s, ok := e.(Snapshotter); ok {
		if snap := s.RecordSnapshot(); snap != nil && len(snap.Records) > maxHistoryEntries {
			e = s.WithoutSnapshot()
		}
	}
	if c, ok := e.(ChangeCarrier); ok && c.ChangeCount() > maxHistoryEntries {
		e = c.WithoutChanges()
	}
	return e
}

// History returns the retained recent events that match f, oldest first.
func (b *Bus) History(f Filter) []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.historyLocked(f)
}

func (b *Bus) historyLocked(f Filter) []Event {
	var out []Event
	n, start := b.histNext, 0
	if b.histFull {
		n, start = len(b.history), b.histNext
	}
	for i := 0; i < n; i++ {
		if e := b.history[(start+i)%len(b.history)]; f.Match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Stats returns the bus's counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	depth := b.pending
	byFamily := maps.Clone(b.droppedBy)
	b.mu.Unlock()
	return Stats{
		Published: b.published.Load(), Rejected: b.rejected.Load(), Delivered: b.delivered.Load(),
		Dropped: b.dropped.Load(), DroppedByFamily: byFamily, Failed: b.failed.Load(), Panics: b.panics.Load(),
		QueueDepth: depth,
	}
}

// Start begins delivery, including of events published before it.
func (b *Bus) Start(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateNew {
		return fmt.Errorf("events: bus cannot start twice")
	}
	b.state = stateRunning
	for s := range b.subs {
		b.startWorker(s)
	}
	return nil
}

// Stop stops accepting new events once everything published before it — and whatever handlers publish while
// draining — has been delivered. If ctx ends first, delivery is cancelled and Stop returns ctx's error without
// waiting further, also for a handler that ignores its context: that handler's goroutine ends when it returns.
func (b *Bus) Stop(ctx context.Context) error {
	b.mu.Lock()
	if b.state == stateStopped || b.state == stateStopping {
		b.mu.Unlock()
		return nil
	}
	wasRunning := b.state == stateRunning
	b.state = stateStopping
	b.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		b.mu.Lock()
		for wasRunning && b.pending > 0 && b.state == stateStopping {
			b.idle.Wait()
		}
		b.state = stateStopped
		b.mu.Unlock()
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("events: stop before every event was delivered: %w", ctx.Err())
		b.mu.Lock()
		b.state = stateStopped
		b.idle.Broadcast()
		b.mu.Unlock()
		<-drained
	}
	b.runCancel()
	b.mu.Lock()
	for s := range b.subs {
		s.closeLocked()
	}
	b.mu.Unlock()
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		b.workers.Wait()
	}()
	select {
	case <-workersDone:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("events: stop while a handler was still running: %w", ctx.Err())
		}
	}
	return err
}

// done records that one queued delivery finished or was discarded.
func (b *Bus) done(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.pending -= n
	if b.pending == 0 {
		b.idle.Broadcast()
	}
	b.mu.Unlock()
}

// SubscribeOption configures a subscription.
type SubscribeOption func(*Subscription)

// WithReplay queues the matching events from history before any new one, so a late subscriber catches up.
func WithReplay() SubscribeOption { return func(s *Subscription) { s.replay = true } }

// WithQueueLimit overrides the bus's QueueLimit for one subscriber.
func WithQueueLimit(n int) SubscribeOption {
	return func(s *Subscription) {
		if n > 0 {
			s.limit = n
		}
	}
}

// Subscribe registers h for the events matching f. Subscribe in constructors: everything published after start is
// then delivered whatever order the fx hooks run in. Each subscription has its own queue and goroutine, so
// a slow handler never delays another subscriber, and receives its events in publish order.
func (b *Bus) Subscribe(name string, f Filter, h Handler, opts ...SubscribeOption) *Subscription {
	s := &Subscription{bus: b, name: name, filter: f, handler: h, limit: b.cfg.QueueLimit, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateStopped {
		s.closed = true
		return s
	}
	if s.replay {
		for _, e := range b.historyLocked(f) {
			s.queue = append(s.queue, e)
			b.pending++
		}
	}
	b.subs[s] = struct{}{}
	if b.state == stateRunning || b.state == stateStopping {
		b.startWorker(s)
	}
	return s
}

// startWorker runs s's delivery loop. Called with b.mu held.
func (b *Bus) startWorker(s *Subscription) {
	s.started = true
	// Read under s.mu: once the worker runs, it takes events off the queue.
	s.mu.Lock()
	queued := len(s.queue) > 0
	s.mu.Unlock()
	if queued {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		s.run(b.runCtx)
	}()
}

// Subscription is one subscriber's queue and delivery goroutine.
type Subscription struct {
	bus     *Bus
	name    string
	filter  Filter
	handler Handler
	limit   int
	replay  bool
	started bool // guarded by bus.mu
	wake    chan struct{}
	quit    chan struct{}
	dropped atomic.Uint64

	mu        sync.Mutex
	queue     []Event
	overLimit bool
	closed    bool
}

// Dropped counts informational events dropped for this subscriber.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery to s; events still queued for it are discarded.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
	if !s.started {
		// No worker will discard the queue, so account for it here.
		s.mu.Lock()
		b.pending -= len(s.queue)
		s.queue = nil
		s.mu.Unlock()
		if b.pending == 0 {
			b.idle.Broadcast()
		}
	}
	s.closeLocked()
}

// closeLocked is called with bus.mu held.
func (s *Subscription) closeLocked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.quit)
}

func (s *Subscription) run(ctx context.Context) {
	for {
		select {
		case <-s.quit:
			s.mu.Lock()
			n := len(s.queue)
			s.queue = nil
			s.mu.Unlock()
			s.bus.done(n)
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 || s.closed {
				s.overLimit = false
				s.mu.Unlock()
				break
			}
			e := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			s.deliver(ctx, e)
			s.bus.done(1)
		}
	}
}

// deliver calls the handler through the delivery middleware, recovering a panic so that one bad handler neither
// kills the process nor stops the bus.
func (s *Subscription) deliver(ctx context.Context, e Event) {
	b := s.bus
	h := s.handler
	mws := *b.deliverMW.Load()
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](s.name, h)
	}
	ctx = WithCorrelationID(ctx, e.Meta().CorrelationID)
	err, panicked := call(ctx, h, e)
	b.delivered.Add(1)
	if err == nil {
		return
	}
	kind := ErrorHandler
	if panicked {
		kind = ErrorPanic
		b.panics.Add(1)
	} else {
		b.failed.Add(1)
	}
	// The failure is handled once: reported as an ErrorEvent, which the logging handler turns into a log line.
	// It is logged here only when it cannot be reported: a failure to handle an error report (reporting it
	// could loop for ever) or a bus that no longer accepts events.
	var perr error
	if _, isErr := e.(*ErrorEvent); isErr {
		perr = errors.New("not reported: the failed event is an error report")
	} else {
		report := &ErrorEvent{Metadata: Metadata{Source: "events"}, Kind: kind, Module: s.name, Message: err.Error(), EventID: e.Meta().ID}
		perr = b.Publish(ctx, report)
	}
	if perr != nil {
		b.log.Error("event handler failed", zap.String("subscriber", s.name), zap.String("event_id", e.Meta().ID),
			zap.String("family", string(e.Family())), zap.String("kind", string(e.EventKind())), zap.Error(err),
			zap.NamedError("report_error", perr))
	}
}

func call(ctx context.Context, h Handler, e Event) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("panic: %v\n%s", r, debug.Stack()), true
		}
	}()
	return h(ctx, e), false
}

type correlationKey struct{}

// WithCorrelationID returns a context whose published events are correlated with id.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation ID carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}
