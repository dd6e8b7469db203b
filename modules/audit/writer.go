package audit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"
)

// The writer's states, as Status reports them.
const (
	stateOff      = "off"      // no path: nothing is written
	stateStarting = "starting" // not opened yet
	stateWriting  = "writing"
	stateFailing  = "failing" // the last open, write or rotation failed; retried under the retry policy
)

const (
	// chunkSize bounds one write: lines are gathered up to it, so a burst costs a few hundred writes, not a
	// hundred thousand, and a failed write is retried whole.
	chunkSize = 64 << 10
	// retryCap is the cap of the retry policy (pkg/retry) for a failing log: tries 0.25, 0.5, 1 and 1 s apart,
	// then, the circuit open, a probe every 2 s (±20 %). A try is one stat and one open, cheap enough to make
	// often; the lines wait in memory meanwhile, so writing resumes within about 2 s of the disk having room
	// again.
	retryCap = time.Second
)

// settings are the keys that can change while the writer runs.
type settings struct {
	path     string
	maxSize  int64
	maxFiles int
}

// writer owns the audit log file on a goroutine of its own. The bus's goroutine hands it batches (enqueue) and
// never waits for it; what the file cannot take in time waits in a queue of at most limit lines, and lines past
// that are dropped and counted.
type writer struct {
	bus *events.Bus
	log *zap.Logger
	// retryCap caps the retry policy of a failing log; a field so that tests can shorten it.
	retryCap time.Duration
	// retries publishes the breaker's events and keeps its Status for Status and the metrics, under the path.
	retries *producer.Retries
	wake    chan struct{}

	mu       sync.Mutex
	settings settings
	gen      uint64 // counts reconfigurations, so the goroutine sees one
	queue    []*batch
	pending  int // lines queued, or taken by the goroutine and not written yet
	limit    int
	stopped  bool
	state    string
	lastErr  string

	written, dropped, failures, rotations atomic.Uint64

	// node is this node, in the lines about its own sources: set by start, under mu, before the goroutine runs.
	node string

	// The goroutine's own.
	file    *logFile
	breaker *retry.Breaker // file's: a new path is a new source, retried from scratch
	fileGen uint64
	cur     *batch
	idx     int // next line of cur
	buf     []byte
	lines   int // in buf
	enc     *encoder
}

func newWriter(cfg Config, bus *events.Bus, log *zap.Logger) *writer {
	w := &writer{bus: bus, log: log, retryCap: retryCap, wake: make(chan struct{}, 1), limit: cfg.QueueSize,
		state: stateStarting, enc: newEncoder()}
	// The module's health is the writer's own (setState), reported at the first failure: Retries' would say it a
	// second time when the circuit opens, and a second line in the log (doc.go, Failures).
	w.retries = producer.NewRetries(moduleName, bus, log, func(context.Context, events.HealthKind, string) {})
	w.settings = settingsOf(cfg)
	if cfg.Path == "" {
		w.state = stateOff
	} else {
		w.retries.Track(cfg.Path)
	}
	w.gen = 1 // the goroutine starts at 0: its first pass opens the file
	return w
}

func settingsOf(cfg Config) settings {
	return settings{path: cfg.Path, maxSize: cfg.MaxSize, maxFiles: cfg.MaxFiles}
}

// enqueue hands b to the writer without waiting: when the queue has no room for all of b's lines, the rest are
// dropped and counted. Nothing is queued while the log is off.
func (w *writer) enqueue(b *batch) {
	w.mu.Lock()
	if w.settings.path == "" {
		w.mu.Unlock()
		return
	}
	room := w.limit - w.pending
	if w.stopped {
		room = 0
	}
	if b.n > room {
		w.dropped.Add(uint64(b.n - max(room, 0)))
		b.n = max(room, 0)
	}
	if b.n > 0 {
		w.queue = append(w.queue, b)
		w.pending += b.n
	}
	w.mu.Unlock()
	w.signal()
}

// on reports whether the log is written (a path is set), so that lines are not made for nothing while it is off.
func (w *writer) on() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.settings.path != ""
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// reconfigure makes the writer use cfg's path and rotation from its next line on.
func (w *writer) reconfigure(cfg Config) {
	w.mu.Lock()
	w.settings = settingsOf(cfg)
	w.gen++
	w.mu.Unlock()
	w.signal()
}

// run writes until ctx ends, then writes what is queued once more and closes the file. While the log is failing
// it waits for the retry policy's delay (or a reconfiguration) rather than trying again for every new line.
func (w *writer) run(ctx context.Context) {
	defer w.finish()
	for ctx.Err() == nil {
		delay, failing := w.work(ctx)
		var retry *time.Timer
		var due <-chan time.Time
		if failing {
			retry = time.NewTimer(delay)
			due = retry.C
		}
		more := w.wait(ctx, failing, due)
		if retry != nil {
			retry.Stop()
		}
		if !more {
			return
		}
	}
}

// wait returns when there is something to do, false when ctx ended.
func (w *writer) wait(ctx context.Context, failing bool, retry <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-retry:
			return true
		case <-w.wake:
			if !failing || w.reconfigured() {
				return true
			}
		}
	}
}

func (w *writer) reconfigured() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen != w.fileGen
}

// finish is the last pass: what is queued is written if the file takes it, and what is left is dropped. It is no
// attempt of the retry policy: there is no next one to schedule.
func (w *writer) finish() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.apply(context.Background())
	if w.file != nil {
		_ = w.write() // an error is counted (write_errors), and the lines it leaves are dropped below
	}
	w.mu.Lock()
	w.dropped.Add(uint64(w.pending))
	w.pending, w.queue = 0, nil
	w.mu.Unlock()
	if w.file != nil {
		w.file.close()
	}
}

// work writes every queued line; while the log is failing it returns true and the delay before the next
// attempt, the unwritten lines kept for it. Each pass that finds the log failing, or leaves it so, is an attempt
// of the retry policy: the path's breaker says when the next one is, and what it returns is reported through
// Retries (a RetryEvent, the Status, the metrics).
func (w *writer) work(ctx context.Context) (time.Duration, bool) {
	w.apply(ctx)
	if w.file == nil {
		w.discard()
		w.setState(stateOff, nil, 0)
		return 0, false
	}
	if e, ok := w.breaker.Attempt(); ok { // the circuit was open: this attempt is its probe
		w.retries.Report(ctx, w.file.path, e)
	}
	if err := w.write(); err != nil {
		e := w.breaker.Failure(err)
		w.setState(stateFailing, err, e.Delay)
		w.retries.Report(ctx, w.file.path, e)
		return e.Delay, true
	}
	if e, ok := w.breaker.Success(); ok {
		w.retries.Report(ctx, w.file.path, e)
	}
	w.setState(stateWriting, nil, 0)
	return 0, false
}

// write writes every queued line to the file; on an error the unwritten lines stay for the next try.
func (w *writer) write() error {
	for {
		if w.cur == nil || w.idx == w.cur.n {
			if w.cur = w.next(); w.cur == nil {
				break
			}
			w.idx = 0
		}
		line := w.enc.line(w.cur, w.idx, w.node)
		if n := len(w.buf) + len(line); len(w.buf) > 0 && (n > chunkSize || w.file.size+int64(n) > w.file.maxSize) {
			if err := w.flush(); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, line...)
		w.lines++
		w.idx++
	}
	return w.flush() // with nothing gathered, it opens the file: a start or a new path is checked
}

// apply takes in a reconfiguration: a new path is a new file (the old one closed) and a new source for the retry
// policy (the old one forgotten, so its circuit leaves the Status and the metrics); new rotation limits apply to
// the open file.
func (w *writer) apply(ctx context.Context) {
	w.mu.Lock()
	s, gen := w.settings, w.gen
	w.fileGen = gen
	w.mu.Unlock()
	if w.file != nil && w.file.path == s.path {
		w.file.maxSize, w.file.maxFiles = s.maxSize, s.maxFiles
		return
	}
	if w.file == nil && s.path == "" {
		return
	}
	if w.file != nil {
		w.file.close()
	}
	w.file, w.breaker = nil, nil
	if s.path == "" {
		w.retries.Retarget(ctx)
		return
	}
	w.file = newLogFile(s.path, s.maxSize, s.maxFiles)
	w.breaker = retry.New(retry.For(w.retryCap))
	w.retries.Retarget(ctx, s.path)
}

// next takes the next batch off the queue, or nil.
func (w *writer) next() *batch {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nil
	}
	b := w.queue[0]
	w.queue[0] = nil
	w.queue = w.queue[1:]
	return b
}

// discard drops what is queued and gathered: the log was switched off.
func (w *writer) discard() {
	w.mu.Lock()
	w.dropped.Add(uint64(w.pending))
	w.pending, w.queue = 0, nil
	w.mu.Unlock()
	w.cur, w.idx, w.buf, w.lines = nil, 0, w.buf[:0], 0
}

// flush writes the gathered lines.
func (w *writer) flush() error {
	rotated, err := w.file.write(w.buf)
	if rotated {
		w.rotations.Add(1)
	}
	if err != nil {
		w.failures.Add(1)
		return err
	}
	w.written.Add(uint64(w.lines))
	w.mu.Lock()
	w.pending -= w.lines
	w.mu.Unlock()
	w.buf, w.lines = w.buf[:0], 0
	return nil
}

// setState records the writer's state (err: why it is failing) and reports a change to or from failing on the
// bus, once: the HealthEvent is the one log line (the logging module writes it), the metric and the /status
// entry of the change. next is the delay before the next attempt.
func (w *writer) setState(state string, err error, next time.Duration) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	w.mu.Lock()
	old, path := w.state, w.settings.path
	w.state, w.lastErr = state, msg
	w.mu.Unlock()
	switch {
	case state == stateFailing && old != stateFailing:
		producer.Health(context.Background(), w.bus, w.log, moduleName, events.Unhealthy,
			fmt.Sprintf("cannot write the audit log %s: %s; lines are kept (up to audit.queue_size) and it is tried again with backoff, next in %v",
				path, msg, next.Round(10*time.Millisecond)))
	case state != stateFailing && old == stateFailing && state == stateOff:
		producer.Health(context.Background(), w.bus, w.log, moduleName, events.Healthy, "audit log off")
	case state != stateFailing && old == stateFailing:
		producer.Health(context.Background(), w.bus, w.log, moduleName, events.Healthy, "writing the audit log "+path+" again")
	}
}

// Status is what /status and the dashboard show of the audit log.
type Status struct {
	Path  string `json:"path"`  // "" when off
	State string `json:"state"` // off, starting, writing or failing
	// Error is why the log is failing.
	Error        string `json:"error,omitempty"`
	Node         string `json:"node"` // this node, as its lines name it
	LinesWritten uint64 `json:"lines_written"`
	LinesDropped uint64 `json:"lines_dropped"` // past audit.queue_size, switched off, or at stop
	WriteErrors  uint64 `json:"write_errors"`  // failed opens, writes and rotations, retries included
	Rotations    uint64 `json:"rotations"`
	Queued       int    `json:"queued"` // lines waiting for the file
	// Retry is the path's circuit breaker (pkg/retry): its state, the failures in a row and when the next
	// attempt is due; absent while the log is off.
	Retry retry.Status `json:"retry,omitzero"`
}

func (w *writer) status() Status {
	w.mu.Lock()
	st := Status{Path: w.settings.path, State: w.state, Error: w.lastErr, Node: w.node, Queued: w.pending}
	w.mu.Unlock()
	st.LinesWritten, st.LinesDropped = w.written.Load(), w.dropped.Load()
	st.WriteErrors, st.Rotations = w.failures.Load(), w.rotations.Load()
	if st.Path != "" {
		st.Retry = w.retries.Status(st.Path)
	}
	return st
}
