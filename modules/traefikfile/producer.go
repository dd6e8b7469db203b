package traefikfile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/hostaddr"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
	"github.com/joyride-dns/joyride/pkg/validation"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/events"
)

// moduleName is the Metadata.Source of every event the producer publishes.
const moduleName = "traefikfile"

// SourcePrefix starts the record-store source of every file: "traefik:/etc/traefik/dynamic/nas.yml".
const SourcePrefix = "traefik:"

// maxFileSize bounds what is read of one file; Traefik dynamic configurations are a few kilobytes.
const maxFileSize = 4 << 20

// Module provides the *Producer and anchors it so its hooks are registered.
var Module = fx.Module(moduleName,
	fx.Provide(New),
	fx.Invoke(func(*Producer) {}),
)

// Params are the producer's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Config    Config
}

// Status is what the HTTP API reports for the producer.
type Status struct {
	Enabled     bool     `json:"enabled"`
	Running     bool     `json:"running"`
	Directories []string `json:"directories"`
	HostIP      string   `json:"host_ip,omitempty"`
	Files       int      `json:"files"`   // files loaded
	Records     int      `json:"records"` // records across them
}

// Producer watches directories of Traefik dynamic-configuration files and publishes the hosts of their routers.
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

	// Set by start, read by stop; fx never runs the two concurrently.
	goroutine background.Loop
	fsw       *fsnotify.Watcher

	mu     sync.Mutex
	status Status
}

// New checks the configuration and registers the lifecycle hooks; directories are looked at in OnStart.
func New(p Params) (*Producer, error) {
	cfg := p.Config
	if err := validation.Section("traefikfile", cfg); err != nil {
		return nil, err
	}
	if len(cfg.Directories) == 0 {
		// Running with nothing to watch would look like a working producer that never finds a router.
		return nil, errors.New("traefikfile.directories is empty: set the directories Traefik's file provider " +
			"reads, or leave the traefikfile module out")
	}
	var dirs []string
	for _, d := range cfg.Directories {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("traefikfile.directories: value %q: %w", d, err)
		}
		if !slices.Contains(dirs, abs) {
			dirs = append(dirs, abs)
		}
	}
	allowed, err := dnsname.ParseDomains("traefikfile.allowed_domains", cfg.AllowedDomains)
	if err != nil {
		return nil, err
	}
	pr := &Producer{
		cfg:     cfg,
		log:     p.Logger.Named(moduleName),
		bus:     p.Bus,
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
	p.Lifecycle.Append(fx.StartStopHook(pr.start, pr.stop))
	return pr, nil
}

// Status reports the producer's state; it is safe to call at any time.
func (p *Producer) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.status
	s.Directories = slices.Clone(s.Directories)
	return s
}

func (p *Producer) updateStatus(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// start refuses a configured path that exists but is not a directory, sets up fsnotify (polling alone where it
// is unavailable) and starts the loop, which loads the files.
func (p *Producer) start(context.Context) error {
	for _, d := range p.dirs {
		info, err := os.Stat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.log.Warn("traefik configuration directory does not exist; will load it when it appears",
				zap.String("directory", d), zap.Duration("check_interval", p.cfg.PollInterval))
		case err != nil:
			return fmt.Errorf("traefikfile: directory %q: %w", d, err)
		case !info.IsDir():
			return fmt.Errorf("traefikfile: directory %q is not a directory", d)
		}
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		p.log.Warn("fsnotify unavailable; polling", zap.Error(err), zap.Duration("poll_interval", p.cfg.PollInterval))
		fsw = nil
	}
	l := &loop{p: p, fsw: fsw, host: hostAddrs{v4: p.hostIP, v6: p.hostV6},
		files: make(map[string]*file), watched: make(map[string]bool), problems: make(map[string]string)}
	p.fsw = fsw
	p.updateStatus(func(s *Status) { s.Running = true })
	p.goroutine.Start(func(ctx context.Context) {
		defer p.updateStatus(func(s *Status) { s.Running = false })
		l.run(ctx)
	})
	return nil
}

// stop cancels the loop, closes fsnotify and waits for the loop, or for ctx.
func (p *Producer) stop(ctx context.Context) error {
	p.goroutine.Cancel()
	if p.fsw != nil {
		if err := p.fsw.Close(); err != nil {
			p.log.Warn("closing fsnotify watcher", zap.Error(err))
		}
	}
	if err := p.goroutine.Wait(ctx); err != nil {
		return fmt.Errorf("traefikfile: waiting for the watch loop: %w", err)
	}
	return nil
}

type hostAddrs struct{ v4, v6 netip.Addr }

// file is the last loaded state of one configuration file.
type file struct {
	sum     [sha256.Size]byte
	names   []string
	records []events.Record
}

// loop owns the runtime state; only its goroutine touches it.
type loop struct {
	p        *Producer
	fsw      *fsnotify.Watcher
	host     hostAddrs
	files    map[string]*file
	watched  map[string]bool   // directories fsnotify watches
	problems map[string]string // directory → last problem logged, so a lasting one is logged once
}

func (l *loop) run(ctx context.Context) {
	auto := !l.p.hostIP.IsValid()
	if auto {
		l.checkAddress(ctx)
	}
	l.scan(ctx)
	poll := time.NewTicker(l.p.cfg.PollInterval)
	defer poll.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var (
		fsEvents <-chan fsnotify.Event
		fsErrors <-chan error
	)
	if l.fsw != nil {
		fsEvents, fsErrors = l.fsw.Events, l.fsw.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fsEvents:
			if !ok {
				fsEvents = nil
				continue
			}
			// Any change in a watched directory (a file, a rename, a ConfigMap's ..data swap) means a rescan,
			// which only re-parses files whose content changed.
			l.p.log.Debug("directory changed", zap.Stringer("event", ev))
			debounce.Reset(l.p.cfg.Debounce)
		case err, ok := <-fsErrors:
			if !ok {
				fsErrors = nil
				continue
			}
			// An overflow loses events; the rescan recovers them.
			l.p.log.Debug("fsnotify error; rescanning", zap.Error(err))
			debounce.Reset(l.p.cfg.Debounce)
		case <-debounce.C:
			l.scan(ctx)
		case <-poll.C:
			if auto {
				l.checkAddress(ctx)
			}
			l.scan(ctx)
		}
	}
}

// isConfigFile reports whether a file name is a YAML configuration file, as Traefik's file provider reads them
// (editors' temporary files are not).
func isConfigFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return (ext == ".yml" || ext == ".yaml") && !strings.HasPrefix(name, ".")
}

// scan loads every configuration file of every directory and removes the sources of files that are gone.
func (l *loop) scan(ctx context.Context) {
	seen := make(map[string]bool)
	for _, d := range l.p.dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			l.watched[d] = false // a removed directory loses its watch; re-added when it is back
			if !errors.Is(err, fs.ErrNotExist) {
				// Unreadable for now: keep what it served rather than dropping it for a transient error.
				for path := range l.files {
					if filepath.Dir(path) == d {
						seen[path] = true
					}
				}
			}
			l.problem(d, err.Error())
			continue
		}
		l.problem(d, "")
		if l.fsw != nil && !l.watched[d] {
			if err := l.fsw.Add(d); err != nil {
				l.p.log.Warn("cannot watch directory; polling it", zap.String("directory", d), zap.Error(err))
			}
			l.watched[d] = true
		}
		for _, e := range entries {
			if !isConfigFile(e.Name()) {
				continue
			}
			path := filepath.Join(d, e.Name())
			info, err := os.Stat(path) // follows symlinks (Kubernetes ConfigMap volumes)
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			seen[path] = true
			l.load(ctx, path, info.Size())
		}
	}
	for path, f := range l.files {
		if seen[path] {
			continue
		}
		delete(l.files, path)
		if len(f.records) > 0 {
			l.publish(ctx, events.FileDeleted, path, nil)
		}
		l.p.log.Info("traefik configuration file removed", zap.String("file", path))
	}
	l.updateCounts()
}

// problem logs a directory's problem once, and its recovery.
func (l *loop) problem(dir, msg string) {
	if l.problems[dir] == msg {
		return
	}
	if msg == "" {
		l.p.log.Info("traefik configuration directory is readable", zap.String("directory", dir))
	} else {
		l.p.log.Warn("traefik configuration directory not readable; retrying", zap.String("directory", dir),
			zap.String("error", msg))
	}
	l.problems[dir] = msg
}

// load reads one file and publishes its records when its content changed. A file that does not parse keeps the
// records it last had, so a half-saved edit does not make names disappear.
func (l *loop) load(ctx context.Context, path string, size int64) {
	log := l.p.log.With(zap.String("file", path))
	if size > maxFileSize {
		log.Warn("traefik configuration file too large; skipped", zap.Int64("size", size), zap.Int("max", maxFileSize))
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		log.Warn("cannot read traefik configuration file", zap.Error(err))
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
	kind := events.FileChanged
	if f == nil {
		kind = events.FileCreated
		f = &file{}
		l.files[path] = f
	}
	recs := hostRecords(names, l.host, l.p.cfg.TTL)
	f.sum, f.names = sum, names
	if slices.Equal(recs, f.records) {
		return
	}
	f.records = recs
	l.publish(ctx, kind, path, recs)
}

func (l *loop) publish(ctx context.Context, kind events.FileKind, path string, recs []events.Record) {
	e := &events.FileEvent{
		Metadata: events.Metadata{Source: moduleName},
		Kind:     kind,
		Path:     path,
		Snapshot: &events.RecordSnapshot{Source: SourcePrefix + path, Records: recs},
	}
	if err := l.p.bus.Publish(ctx, e); err != nil && !errors.Is(err, events.ErrClosed) {
		l.p.log.Error("publishing file event", zap.String("file", path), zap.Error(err))
	}
}

// checkAddress re-detects the host address and re-publishes every file when it changed; a failed detection
// keeps the last address.
func (l *loop) checkAddress(ctx context.Context) {
	a, err := l.p.detect()
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
		recs := hostRecords(f.names, l.host, l.p.cfg.TTL)
		if !slices.Equal(recs, f.records) {
			f.records = recs
			l.publish(ctx, events.FileChanged, path, recs)
		}
	}
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
