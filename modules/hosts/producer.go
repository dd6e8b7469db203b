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
	cfg  Config
	log  *zap.Logger
	bus  *events.Bus
	dirs []string // absolute, cleaned, without duplicates
	// minReread is the least time between two reads of a file that keeps changing; a field so tests can
	// shorten it.
	minReread time.Duration

	// Set by Start, read by Stop; they must not run concurrently (fx never runs two hooks at once).
	goroutine background.Loop
	// loader outlives a Start: what it published stays in the store across a Stop, so a restarted producer
	// compares the files it finds with it (and removes those gone meanwhile) rather than starting blind.
	loader *loader
	// retries are the directories' circuit breakers as the watcher last reported them.
	retries *producer.Retries

	mu     sync.Mutex
	status Status
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
	p := &Producer{
		cfg:       cfg,
		log:       log,
		bus:       bus,
		dirs:      dirs,
		minReread: dirwatch.DefaultMinInterval,
		status:    Status{Enabled: true, Directories: dirs},
	}
	if len(dirs) > 0 {
		p.status.Directory = dirs[0]
	}
	p.loader = newLoader(p)
	p.retries = producer.NewRetries(moduleName, bus, log, nil)
	p.retries.Track(dirs...)
	return p, nil
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
	w, err := dirwatch.New(dirwatch.Config{
		Dirs:         p.dirs,
		Match:        func(name string) bool { return !ignored(name) },
		Mode:         dirwatch.Mode(p.cfg.Mode),
		PollInterval: p.cfg.PollInterval,
		Debounce:     p.cfg.Debounce,
		MinInterval:  p.minReread,
		OnRetry:      func(ctx context.Context, r dirwatch.Retry) { p.retries.Report(ctx, r.Dir, r.Event) },
	}, p.log)
	if err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	if err := w.Open(); err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	p.setRunning(true)
	p.goroutine.Start(func(ctx context.Context) {
		defer p.setRunning(false)
		w.Run(ctx, dirwatch.First(p.loader.apply, p.loaded))
	})
	return nil
}

// loaded reports the producer healthy once the first batch, every present directory's files, is published: its
// first load is done (pkg/status). A directory that is not there yet does not hold it up; it is named.
func (p *Producer) loaded(ctx context.Context, b dirwatch.Batch) {
	st := p.Status()
	producer.Health(ctx, p.bus, p.log, moduleName, events.Healthy, dirwatch.Summary(st.Files, st.RecordsCount, p.dirs, b))
}

// Stop cancels the loop (which closes fsnotify) and waits for it, or for ctx. It is safe without a Start.
func (p *Producer) Stop(ctx context.Context) error {
	p.goroutine.Cancel()
	if err := p.goroutine.Wait(ctx); err != nil {
		return fmt.Errorf("hosts: waiting for the watch loop: %w", err)
	}
	return nil
}
