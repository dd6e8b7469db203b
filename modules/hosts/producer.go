package hosts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// moduleName is the Metadata.Source of every event the producer publishes.
const moduleName = "hosts"

// SourcePrefix starts the record-store source of every hosts file: "hosts:/app/hosts/lab".
const SourcePrefix = "hosts:"

// Status is what the HTTP API reports as hosts_monitor, with joyride-python's fields (directory, records_count).
type Status struct {
	Enabled bool `json:"enabled"`
	// Directory is the first of Directories: joyride-python watched one (HOSTS_DIRECTORY).
	Directory    string   `json:"directory"`
	Directories  []string `json:"directories"`
	Running      bool     `json:"running"`
	Files        int      `json:"files"`         // hosts files currently loaded
	RecordsCount int      `json:"records_count"` // records across those files
	BadLines     int      `json:"bad_lines"`     // lines skipped in those files as they were last read
	// Retry is each directory's circuit breaker (pkg/retry): a directory that vanished or cannot be listed is
	// looked at again under the retry policy, and the module is unhealthy while one's circuit is open.
	Retry map[string]retry.Status `json:"retry"`
}

// Producer watches the configured directories and publishes their hosts files on the bus. Create it with
// NewProducer (or New under fx); it watches only between Start and Stop.
type Producer struct {
	log *zap.Logger
	bus *events.Bus
	// minReread is the least time between two reads of a file that keeps changing; a field so tests can
	// shorten it.
	minReread time.Duration

	// cfg is the configuration as last applied (NewProducer, then Apply). Start and Apply use it and, with Stop,
	// the goroutine; the three must not run concurrently (fx never runs two hooks at once, and pkg/reload calls
	// Apply only between them).
	cfg       Config
	goroutine background.Loop
	// loader outlives a Start: what it published stays in the store across a Stop, so a restarted producer
	// compares the files it finds with it (and removes those gone meanwhile) rather than starting blind.
	loader *loader
	// retries are the directories' circuit breakers as the watcher last reported them.
	retries *producer.Retries

	mu     sync.Mutex
	status Status // its Directories are cfg's, absolute, cleaned, without duplicates
}

// NewProducer checks cfg and returns a stopped producer publishing on bus. It touches no file: directories are
// checked by Start, so building the app (fx.ValidateApp, `config validate`) works on any machine.
func NewProducer(cfg Config, log *zap.Logger, bus *events.Bus) (*Producer, error) {
	log, err := producer.Check(moduleName, cfg, log, bus)
	if err != nil {
		return nil, err
	}
	dirs, err := dirwatch.Dirs("hosts.directories", cfg.Directories)
	if err != nil {
		return nil, err
	}
	p := &Producer{log: log, bus: bus, minReread: dirwatch.DefaultMinInterval, status: Status{Enabled: true}}
	p.setConfig(cfg, dirs)
	p.loader = newLoader(p)
	p.retries = producer.NewRetries(moduleName, bus, log, nil)
	p.retries.Track(dirs...)
	return p, nil
}

// setConfig makes cfg, whose directories are dirs, the configuration.
func (p *Producer) setConfig(cfg Config, dirs []string) {
	p.cfg = cfg
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status.Directories, p.status.Directory = dirs, ""
	if len(dirs) > 0 {
		p.status.Directory = dirs[0]
	}
}

// directories returns the watched directories, absolute; the slice is replaced, never modified.
func (p *Producer) directories() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status.Directories
}

// Status reports the producer's state; it is safe to call at any time.
func (p *Producer) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.status
	s.Directories = slices.Clone(s.Directories)
	s.Retry = p.retries.All()
	return s
}

func (p *Producer) setRunning(running bool) {
	p.mu.Lock()
	p.status.Running = running
	p.mu.Unlock()
}

func (p *Producer) setCounts(files, records, bad int) {
	p.mu.Lock()
	p.status.Files, p.status.RecordsCount, p.status.BadLines = files, records, bad
	p.mu.Unlock()
}

// Start checks every directory, starts watching them and starts the loop that loads the files. A directory
// that is missing is not an error (it is looked for every PollInterval); one that exists but cannot be read,
// or is not a directory, is, and so is fsnotify failing in notify mode.
func (p *Producer) Start(context.Context) error {
	if p.Status().Running {
		return errors.New("hosts: already started")
	}
	dirs := p.directories()
	w, err := p.open(p.cfg, dirs)
	if err != nil {
		return err
	}
	p.setRunning(true)
	ttl := p.cfg.TTL
	// After a Stop that timed out, the new goroutine waits for the old one to return (background.Loop).
	p.goroutine.Start(func(ctx context.Context) { p.run(ctx, w, ttl, dirs, func() {}) })
	return nil
}

// open makes the watcher of dirs with cfg's settings and opens it (see dirwatch.Watcher.Open). After a nil error
// it must be run: Run releases what Open acquired.
func (p *Producer) open(cfg Config, dirs []string) (*dirwatch.Watcher, error) {
	w, err := dirwatch.New(dirwatch.Config{
		Dirs:         dirs,
		Match:        func(name string) bool { return !ignored(name) },
		Mode:         dirwatch.Mode(cfg.Mode),
		PollInterval: cfg.PollInterval,
		Debounce:     cfg.Debounce,
		MinInterval:  p.minReread,
		OnRetry:      func(ctx context.Context, r dirwatch.Retry) { p.retries.Report(ctx, r.Dir, r.Event) },
	}, p.log)
	if err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	if err := w.Open(); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	return w, nil
}

// run is the producer's goroutine: it loads the files w reports, with ttl, until ctx ends. After w's first
// batch (every present directory of dirs listed in full) it removes the files outside dirs, which were loaded
// under an earlier configuration, reports the producer healthy and calls loaded. A first batch cut short by ctx
// does neither: the run that replaces this one (Apply) does it, or none is needed (Stop).
func (p *Producer) run(ctx context.Context, w *dirwatch.Watcher, ttl uint32, dirs []string, loaded func()) {
	p.loader.ttl = ttl
	w.Run(ctx, dirwatch.First(p.loader.apply, func(ctx context.Context, b dirwatch.Batch) {
		if !p.loader.keepOnly(ctx, dirs) {
			return
		}
		p.reportLoaded(ctx, dirs, b)
		loaded()
	}))
}

// reportLoaded reports the producer healthy once a watcher's first batch, every present directory's files, is
// published: its first load is done (pkg/status), and after Apply the message says what the new directories
// hold. A directory that is not there yet does not hold it up; it is named.
func (p *Producer) reportLoaded(ctx context.Context, dirs []string, b dirwatch.Batch) {
	st := p.Status()
	producer.Health(ctx, p.bus, p.log, moduleName, events.Healthy, dirwatch.Summary(st.Files, st.RecordsCount, dirs, b))
}

// Apply makes cfg the configuration while the producer runs: directories, mode, poll_interval, debounce and ttl.
// It checks cfg and opens a watcher for it (an error, such as a configured path that is not a directory, changes
// nothing), then replaces the running watcher with it, never two at once: the new one lists every present
// directory in full and the files are loaded again, so a file whose records did not change is not announced
// again and its names are served throughout (no removal and re-addition), a file of a new directory is
// published as created, and a changed TTL re-publishes every file read with it. Only then are the files of the
// directories no longer configured removed (FileDeleted with an empty snapshot), so a name that moved to a new
// directory is never missing. Apply returns once that is done. If ctx ends first it returns ctx's error, but the
// new configuration stands and its load goes on: past the replacement there is no way back. A stopped producer
// only takes cfg for its next Start.
func (p *Producer) Apply(ctx context.Context, cfg Config) error {
	if err := validation.Section(moduleName, cfg); err != nil {
		return err
	}
	dirs, err := dirwatch.Dirs("hosts.directories", cfg.Directories)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hosts: configuration not applied: %w", err)
	}
	if !p.Status().Running {
		p.setConfig(cfg, dirs)
		p.retries.Retarget(ctx, dirs...)
		return nil
	}
	w, err := p.open(cfg, dirs)
	if err != nil {
		return err
	}
	p.setConfig(cfg, dirs)
	p.retries.Retarget(ctx, dirs...)
	err = p.goroutine.Replace(ctx, func(ctx context.Context, loaded func()) { p.run(ctx, w, cfg.TTL, dirs, loaded) })
	if err != nil {
		return fmt.Errorf("hosts: the new configuration stands, but loading its files goes on: %w", err)
	}
	return nil
}

// Stop cancels the loop (which closes fsnotify) and waits for it, or for ctx. It is safe without a Start.
func (p *Producer) Stop(ctx context.Context) error {
	p.goroutine.Cancel()
	err := p.goroutine.Wait(ctx)
	p.setRunning(false)
	if err != nil {
		return fmt.Errorf("hosts: waiting for the watch loop: %w", err)
	}
	return nil
}
