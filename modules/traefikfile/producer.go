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
	"sync/atomic"
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
	"github.com/joyride-dns/joyride/pkg/validation"
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
	log *zap.Logger
	bus *events.Bus
	// detect finds the host address when HostIP is empty; a field so tests can change it.
	detect func() (netip.Addr, error)
	// settings are the configuration as last applied (NewProducer, then Apply); Explain reads them from other
	// goroutines, and Apply swaps them whole.
	settings atomic.Pointer[settings]

	// Set by Start, Apply and Stop, which must not run concurrently (fx never runs two hooks at once, and
	// pkg/reload calls Apply only between them).
	goroutine background.Loop
	// loop outlives a Start: what it published stays in the store across a Stop, so a restarted producer
	// compares the files it finds with it (and removes those gone meanwhile) rather than starting blind.
	loop *loop
	// retries are the directories' circuit breakers as the watcher last reported them.
	retries *producer.Retries

	mu     sync.Mutex
	status Status
}

// settings are a Config checked and parsed. A value is never modified once built.
type settings struct {
	cfg     Config
	dirs    []string // absolute, without duplicates
	allowed dnsname.Domains
	syntax  traefikrule.Syntax
	hostIP  netip.Addr // configured; invalid means auto-detect
	hostV6  netip.Addr
}

// newSettings checks what cfg's validate tags do not (NewProducer and Apply check those first) and parses it.
func newSettings(cfg Config) (*settings, error) {
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
	st := &settings{cfg: cfg, dirs: dirs, allowed: allowed, syntax: traefikrule.Syntax(cfg.RuleSyntax)}
	if cfg.HostIP != "" {
		st.hostIP = netip.MustParseAddr(cfg.HostIP) // the validate tags guarantee it parses
	}
	if cfg.HostIP6 != "" {
		st.hostV6 = netip.MustParseAddr(cfg.HostIP6)
	}
	return st, nil
}

// NewProducer checks cfg and returns a stopped producer publishing on bus; directories are looked at by Start.
func NewProducer(cfg Config, log *zap.Logger, bus *events.Bus) (*Producer, error) {
	log, err := producer.Check(moduleName, cfg, log, bus)
	if err != nil {
		return nil, err
	}
	st, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	pr := &Producer{log: log, bus: bus, detect: hostaddr.Detect, status: Status{Enabled: true}}
	pr.setSettings(st)
	pr.loop = &loop{p: pr, files: make(map[string]*file)}
	pr.retries = producer.NewRetries(moduleName, bus, log, nil)
	pr.retries.Track(st.dirs...)
	return pr, nil
}

// setSettings makes st the configuration.
func (p *Producer) setSettings(st *settings) {
	p.settings.Store(st)
	p.updateStatus(func(s *Status) {
		s.Directories = st.dirs
		if st.hostIP.IsValid() || s.HostIP == "" {
			s.HostIP = st.cfg.HostIP // a detected address stays until detection under st says otherwise
		}
	})
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
	st := p.settings.Load()
	w, err := p.open(st)
	if err != nil {
		return err
	}
	p.updateStatus(func(s *Status) { s.Running = true })
	// After a Stop that timed out, the new goroutine waits for the old one to return (background.Loop).
	p.goroutine.Start(func(ctx context.Context) { p.run(ctx, w, st, func() {}) })
	return nil
}

// open makes the watcher of st's directories and opens it (see dirwatch.Watcher.Open). After a nil error it must
// be run: Run releases what Open acquired.
func (p *Producer) open(st *settings) (*dirwatch.Watcher, error) {
	w, err := dirwatch.New(dirwatch.Config{
		Dirs:         st.dirs,
		Match:        isConfigFile,
		Mode:         dirwatch.Auto,
		PollInterval: st.cfg.PollInterval,
		Debounce:     st.cfg.Debounce,
		MinInterval:  dirwatch.DefaultMinInterval,
		OnRetry:      func(ctx context.Context, r dirwatch.Retry) { p.retries.Report(ctx, r.Dir, r.Event) },
	}, p.log)
	if err != nil {
		return nil, fmt.Errorf("traefikfile: %w", err)
	}
	if err := w.Open(); err != nil {
		return nil, fmt.Errorf("traefikfile: %w", err)
	}
	return w, nil
}

// run is the producer's goroutine: it loads the files w reports under st until ctx ends, and, when st's host
// address is to be detected, runs a second goroutine that re-checks it. Every file known is read and parsed
// again (st's rules may differ from those it was last parsed with). After w's first batch it removes the files
// outside st's directories, publishes again any file whose records st changes without its being read (a TTL, a
// host address), reports the producer healthy and calls loaded. A first batch cut short by ctx does none of
// that: the run that replaces this one (Apply) does it, or none is needed (Stop).
func (p *Producer) run(ctx context.Context, w *dirwatch.Watcher, st *settings, loaded func()) {
	l := p.loop
	l.use(st)
	var wg sync.WaitGroup
	defer wg.Wait()
	if !st.hostIP.IsValid() {
		l.checkAddress(ctx) // before the first load, so that it has an address to publish
		wg.Go(func() { l.recheckAddress(ctx, st.cfg.PollInterval) })
	}
	w.Run(ctx, dirwatch.First(l.apply, func(ctx context.Context, b dirwatch.Batch) {
		if !l.settle(ctx, st.dirs) {
			return
		}
		p.reportLoaded(ctx, st.dirs, b)
		loaded()
	}))
}

// reportLoaded reports the producer healthy once a watcher's first batch, every present directory's files, is
// published: its first load is done (pkg/status), and after Apply the message says what the new directories
// hold. A directory that is not there yet does not hold it up; it is named.
func (p *Producer) reportLoaded(ctx context.Context, dirs []string, b dirwatch.Batch) {
	st := p.Status()
	producer.Health(ctx, p.bus, p.log, moduleName, events.Healthy, dirwatch.Summary(st.Files, st.Records, dirs, b))
}

// Apply makes cfg the configuration while the producer runs: every key (directories, host_ip, host_ip6, ttl,
// allowed_domains, rule_syntax, poll_interval, debounce). It checks cfg and opens a watcher for it (an error, such
// as a configured path that is not a directory, changes nothing), then replaces the running watcher with it,
// never two at once. Every file is read and parsed again with the new rules, and published only when its records
// change: a file of a directory still configured whose records stay keeps its names served throughout (no
// removal and re-addition), a new TTL, host address or rule that changes them publishes the file again, and a
// file of a new directory is published as created. Only then are the files of the directories no longer
// configured removed, so a name that moved from one to the other is never missing. Apply returns once that is
// done. If ctx ends first it returns ctx's error, but the new configuration stands: past the replacement there is
// no way back, and the load goes on. A stopped producer only takes cfg for its next Start.
func (p *Producer) Apply(ctx context.Context, cfg Config) error {
	if err := validation.Section(moduleName, cfg); err != nil {
		return err
	}
	st, err := newSettings(cfg)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("traefikfile: configuration not applied: %w", err)
	}
	if !p.Status().Running {
		p.setSettings(st)
		p.retries.Retarget(ctx, st.dirs...)
		return nil
	}
	w, err := p.open(st)
	if err != nil {
		return err
	}
	p.setSettings(st)
	p.retries.Retarget(ctx, st.dirs...)
	err = p.goroutine.Replace(ctx, func(ctx context.Context, loaded func()) { p.run(ctx, w, st, loaded) })
	if err != nil {
		return fmt.Errorf("traefikfile: the new configuration stands, but loading its files goes on: %w", err)
	}
	return nil
}

// Stop cancels the loop (which closes fsnotify) and waits for it, or for ctx. It is safe without a Start.
func (p *Producer) Stop(ctx context.Context) error {
	p.goroutine.Cancel()
	err := p.goroutine.Wait(ctx)
	p.updateStatus(func(s *Status) { s.Running = false })
	if err != nil {
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
	set   *settings // those of the running watcher (use)
	host  hostAddrs
	files map[string]*file
}

// use makes st the settings files are loaded and published with. Every known file is to be parsed again at its
// next read, since st's rules (allowed domains, rule syntax) may differ: its records are compared then, so a file
// whose records stay the same is not published again.
func (l *loop) use(st *settings) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.set = st
	if st.hostIP.IsValid() {
		l.host.v4 = st.hostIP
	}
	l.host.v6 = st.hostV6
	for _, f := range l.files {
		f.sum = [sha256.Size]byte{}
	}
}

// settle follows a watcher's first batch: it removes the files outside dirs (directories no longer configured)
// and publishes again every file whose records the settings changed without its being read again (a file that
// cannot be read now keeps its names, with the new TTL and address). It reports false, having stopped, when ctx
// ends.
func (l *loop) settle(ctx context.Context, dirs []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.updateCounts()
	for _, path := range dirwatch.Outside(maps.Keys(l.files), dirs) {
		if ctx.Err() != nil {
			return false
		}
		l.remove(ctx, path)
	}
	for path, f := range l.files {
		if ctx.Err() != nil {
			return false
		}
		l.announce(ctx, path, f)
	}
	return true
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
	names, probs, err := parseFile(data, l.set.syntax, l.set.allowed)
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
	recs := hostRecords(f.names, l.host, l.set.cfg.TTL)
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

// recheckAddress re-detects the host address every interval until ctx ends.
func (l *loop) recheckAddress(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
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
