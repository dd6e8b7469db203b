package traefikfile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/hostaddr"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
)

// moduleName is the Metadata.Source of every event the producer publishes.
const moduleName = "traefikfile"

// SourcePrefix starts the record-store source of every file: "traefik:/etc/traefik/dynamic/nas.yml".
const SourcePrefix = "traefik:"

// maxFileSize bounds what is read of one file; Traefik dynamic configurations are a few kilobytes.
const maxFileSize = 4 << 20

// Status is what the HTTP API reports for the producer.
type Status struct {
	Enabled     bool     `json:"enabled"`
	Running     bool     `json:"running"`
	Directories []string `json:"directories"`
	HostIP      string   `json:"host_ip,omitempty"`
	Files       int      `json:"files"`   // files loaded
	Records     int      `json:"records"` // records across them
	// Retry is each directory's circuit breaker (pkg/retry): a directory that vanished or cannot be listed is
	// looked at again under the retry policy, and the module is unhealthy while one's circuit is open.
	Retry map[string]retry.Status `json:"retry"`
}

// Producer watches directories of Traefik dynamic-configuration files and publishes the hosts of their routers.
// Create it with NewProducer (or New under fx); it watches only between Start and Stop.
type Producer struct {
	cfg     Config
	log     *zap.Logger
	bus     *events.Bus
	dirs    []string
	allowed dnsname.Domains
	syntax  traefikrule.Syntax
	hostIP  netip.Addr // configured; invalid means auto-detect
	hostV6  netip.Addr
	// detect finds the host address when HostIP is empty; a field so tests can change it.
	detect func() (netip.Addr, error)

	// Set by Start, read by Stop; they must not run concurrently (fx never runs two hooks at once).
	goroutine background.Loop
	// loop outlives a Start: what it published stays in the store across a Stop, so a restarted producer
	// compares the files it finds with it (and removes those gone meanwhile) rather than starting blind.
	loop *loop
	// retries are the directories' circuit breakers as the watcher last reported them.
	retries *producer.Retries

	mu     sync.Mutex
	status Status
}

// NewProducer checks cfg and returns a stopped producer publishing on bus; directories are looked at by Start.
func NewProducer(cfg Config, log *zap.Logger, bus *events.Bus) (*Producer, error) {
	log, err := producer.Check(moduleName, cfg, log, bus)
	if err != nil {
		return nil, err
	}
	if len(cfg.Directories) == 0 {
		// Running with nothing to watch would look like a working producer that never finds a router.
		return nil, errors.New("traefikfile.directories is empty: set the directories Traefik's file provider " +
			"reads, or leave the traefikfile module out")
	}
	dirs, err := dirwatch.Dirs("traefikfile.directories", cfg.Directories)
	if err != nil {
		return nil, err
	}
	allowed, err := dnsname.ParseDomains("traefikfile.allowed_domains", cfg.AllowedDomains)
	if err != nil {
		return nil, err
	}
	pr := &Producer{
		cfg:     cfg,
		log:     log,
		bus:     bus,
		dirs:    dirs,
		allowed: allowed,
		syntax:  traefikrule.Syntax(cfg.RuleSyntax),
		detect:  hostaddr.Detect,
	}
	if cfg.HostIP != "" {
		pr.hostIP = netip.MustParseAddr(cfg.HostIP) // the validate tags guarantee it parses
	}
	if cfg.HostIP6 != "" {
		pr.hostV6 = netip.MustParseAddr(cfg.HostIP6)
	}
	pr.status = Status{Enabled: true, Directories: dirs, HostIP: cfg.HostIP}
	pr.loop = &loop{p: pr, host: hostAddrs{v4: pr.hostIP, v6: pr.hostV6}, files: make(map[string]*file)}
	pr.retries = producer.NewRetries(moduleName, bus, log, nil)
	pr.retries.Track(dirs...)
	return pr, nil
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

func (p *Producer) updateStatus(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// Start refuses a configured path that exists but is not a directory (a missing one is looked for every
// PollInterval), starts watching the directories and starts the loop, which loads the files.
func (p *Producer) Start(context.Context) error {
	if p.Status().Running {
		return errors.New("traefikfile: already started")
	}
	w, err := dirwatch.New(dirwatch.Config{
		Dirs:         p.dirs,
		Match:        isConfigFile,
		Mode:         dirwatch.Auto,
		PollInterval: p.cfg.PollInterval,
		Debounce:     p.cfg.Debounce,
		MinInterval:  dirwatch.DefaultMinInterval,
		OnRetry:      func(ctx context.Context, r dirwatch.Retry) { p.retries.Report(ctx, r.Dir, r.Event) },
	}, p.log)
	if err != nil {
		return fmt.Errorf("traefikfile: %w", err)
	}
	if err := w.Open(); err != nil {
		return fmt.Errorf("traefikfile: %w", err)
	}
	l := p.loop
	p.updateStatus(func(s *Status) { s.Running = true })
	p.goroutine.Start(func(ctx context.Context) {
		defer p.updateStatus(func(s *Status) { s.Running = false })
		var wg sync.WaitGroup
		defer wg.Wait()
		if !p.hostIP.IsValid() {
			l.checkAddress(ctx) // before the first load, so that it has an address to publish
			wg.Go(func() { l.recheckAddress(ctx) })
		}
		w.Run(ctx, dirwatch.First(l.apply, p.loaded))
	})
	return nil
}

// loaded reports the producer healthy once the first batch, every present directory's files, is published: its
// first load is done (pkg/status). A directory that is not there yet does not hold it up; it is named.
func (p *Producer) loaded(ctx context.Context, b dirwatch.Batch) {
	st := p.Status()
	producer.Health(ctx, p.bus, p.log, moduleName, events.Healthy, dirwatch.Summary(st.Files, st.Records, p.dirs, b))
}

// Stop cancels the loop (which closes fsnotify) and waits for it, or for ctx. It is safe without a Start.
func (p *Producer) Stop(ctx context.Context) error {
	p.goroutine.Cancel()
	if err := p.goroutine.Wait(ctx); err != nil {
		return fmt.Errorf("traefikfile: waiting for the watch loop: %w", err)
	}
	return nil
}

type hostAddrs struct{ v4, v6 netip.Addr }

// file is the last loaded state of one configuration file.
type file struct {
	sum   [sha256.Size]byte
	names []string
	// records are those the bus last accepted for the file; published says whether it accepted any event for it,
	// so that the first one is file_created even when the file's first read did not parse.
	records   []events.Record
	published bool
}

// loop is the runtime state. The watcher's goroutine loads files into it and, when the host address is
// detected, a second goroutine re-checks the address; mu serialises the two.
type loop struct {
	p     *Producer
	mu    sync.Mutex
	host  hostAddrs
	files map[string]*file
}

// isConfigFile reports whether a file name is a YAML configuration file, as Traefik's file provider reads them
// (editors' temporary files are not).
func isConfigFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return (ext == ".yml" || ext == ".yaml") && !strings.HasPrefix(name, ".")
}

// apply loads the files the watcher reports changed and removes the sources of those that are gone.
func (l *loop) apply(ctx context.Context, b dirwatch.Batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A directory's full scan lists every file it holds: a file known from an earlier Start that it did not
	// list is gone (Batch.Apply removes it).
	b.Apply(ctx, maps.Keys(l.files), l.load, l.remove)
	l.updateCounts()
}

func (l *loop) remove(ctx context.Context, path string) {
	f := l.files[path]
	if f == nil {
		return
	}
	delete(l.files, path)
	if len(f.records) > 0 {
		l.publish(ctx, events.FileDeleted, path, nil)
	}
	l.p.log.Info("traefik configuration file removed", zap.String("file", path))
}

// load reads one file and publishes its records when its content changed. A file that does not parse keeps the
// records it last had, so a half-saved edit does not make names disappear.
func (l *loop) load(ctx context.Context, path string) {
	log := l.p.log.With(zap.String("file", path))
	data, err := readFile(path)
	if err != nil {
		log.Warn("cannot read traefik configuration file; keeping its records", zap.Error(err))
		return
	}
	sum := sha256.Sum256(data)
	f := l.files[path]
	if f != nil && f.sum == sum {
		return
	}
	names, probs, err := parseFile(data, l.p.syntax, l.p.allowed)
	if err != nil {
		log.Warn("traefik configuration file is not valid YAML; keeping its previous records", zap.Error(err))
		if f == nil {
			l.files[path] = &file{sum: sum}
		} else {
			f.sum = sum
		}
		return
	}
	for _, pr := range probs {
		log.Warn("traefik router value ignored", zap.String("router", pr.Router), zap.String("value", pr.Value),
			zap.String("reason", pr.Reason))
	}
	if f == nil {
		f = &file{}
		l.files[path] = f
	}
	f.sum, f.names = sum, names
	l.announce(ctx, path, f)
}

// announce publishes f's records for the current host address unless they are those last published.
func (l *loop) announce(ctx context.Context, path string, f *file) {
	recs := hostRecords(f.names, l.host, l.p.cfg.TTL)
	if slices.Equal(recs, f.records) {
		return
	}
	kind := events.FileChanged
	if !f.published {
		kind = events.FileCreated
	}
	if l.publish(ctx, kind, path, recs) {
		f.records, f.published = recs, true
	}
}

// readFile reads at most maxFileSize octets of path, and fails on a larger file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d octets", maxFileSize)
	}
	return data, nil
}

// publish is the producer's one way onto the bus: a file's whole snapshot. It reports whether the bus took it;
// when it did not, the file's state stays as it was, so its next change is compared with what was published.
func (l *loop) publish(ctx context.Context, kind events.FileKind, path string, recs []events.Record) bool {
	e := &events.FileEvent{
		Metadata: events.Metadata{Source: moduleName},
		Kind:     kind,
		Path:     path,
		Snapshot: &events.RecordSnapshot{Source: SourcePrefix + path, Records: recs},
	}
	err := l.p.bus.Publish(ctx, e)
	if err != nil && !errors.Is(err, events.ErrClosed) {
		l.p.log.Error("publishing file event", zap.String("file", path), zap.Error(err))
	}
	return err == nil
}

// recheckAddress re-detects the host address every PollInterval until ctx ends.
func (l *loop) recheckAddress(ctx context.Context) {
	t := time.NewTicker(l.p.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.checkAddress(ctx)
		}
	}
}

// checkAddress re-detects the host address and re-publishes every file when it changed; a failed detection
// keeps the last address.
func (l *loop) checkAddress(ctx context.Context) {
	a, err := l.p.detect()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if !l.host.v4.IsValid() {
			l.p.log.Warn("host address not detected; set traefikfile.host_ip", zap.Error(err))
		}
		return
	}
	if a == l.host.v4 {
		return
	}
	l.p.log.Info("host address for traefik routers", zap.Stringer("host_ip", a))
	l.host.v4 = a
	l.p.updateStatus(func(s *Status) { s.HostIP = a.String() })
	for path, f := range l.files {
		l.announce(ctx, path, f)
	}
	l.updateCounts()
}

func (l *loop) updateCounts() {
	n := 0
	for _, f := range l.files {
		n += len(f.records)
	}
	l.p.updateStatus(func(s *Status) { s.Files, s.Records = len(l.files), n })
}

// hostRecords points every name at the host's addresses.
func hostRecords(names []string, host hostAddrs, ttl uint32) []events.Record {
	var recs []events.Record
	for _, n := range names {
		if host.v4.IsValid() {
			recs = append(recs, events.Record{Name: n, Type: "A", Value: host.v4.String(), TTL: ttl})
		}
		if host.v6.IsValid() {
			recs = append(recs, events.Record{Name: n, Type: "AAAA", Value: host.v6.String(), TTL: ttl})
		}
	}
	return recs
}
