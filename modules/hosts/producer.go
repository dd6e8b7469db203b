package hosts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/joyride-dns/joyride/pkg/validation"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/events"
)

// moduleName is the Metadata.Source of every event the producer publishes.
const moduleName = "hosts"

// SourcePrefix starts the record-store source of every hosts file: "hosts:/app/hosts/lab".
const SourcePrefix = "hosts:"

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

// Status is what the HTTP API reports as hosts_monitor.
type Status struct {
	Enabled     bool     `json:"enabled"`
	Directories []string `json:"directories"`
	Running     bool     `json:"running"`
	Files       int      `json:"files"`   // hosts files currently loaded
	Records     int      `json:"records"` // records across those files
}

// Producer watches the configured directories and publishes their hosts files on the bus.
type Producer struct {
	cfg  Config
	log  *zap.Logger
	bus  *events.Bus
	dirs []string // absolute, cleaned, without duplicates

	// Set by start, read by stop; fx never runs the two concurrently.
	goroutine background.Loop
	fsw       *fsnotify.Watcher

	mu     sync.Mutex
	status Status
}

// New checks the configuration and registers the lifecycle hooks. It touches no file: directories are checked
// in OnStart, so building the app (fx.ValidateApp, `config validate`) works on any machine.
func New(p Params) (*Producer, error) {
	if err := validation.Section("hosts", p.Config); err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(p.Config.Directories))
	for _, d := range p.Config.Directories {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("hosts: directory %q: %w", d, err)
		}
		if !slices.Contains(dirs, abs) {
			dirs = append(dirs, abs)
		}
	}
	pr := &Producer{
		cfg:  p.Config,
		log:  p.Logger.Named(moduleName),
		bus:  p.Bus,
		dirs: dirs,
	}
	pr.status = Status{Enabled: true, Directories: dirs}
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

func (p *Producer) setRunning(running bool) {
	p.mu.Lock()
	p.status.Running = running
	p.mu.Unlock()
}

func (p *Producer) setCounts(files, records int) {
	p.mu.Lock()
	p.status.Files, p.status.Records = files, records
	p.mu.Unlock()
}

// start checks every directory, sets up the fsnotify watches and starts the watch loop, which loads the files.
// A directory that is missing is not an error (it is looked for every PollInterval); one that exists but cannot
// be read, or is not a directory, is.
func (p *Producer) start(context.Context) error {
	w := newWatcher(p)
	for _, d := range p.dirs {
		present, err := checkDir(d)
		if err != nil {
			return err
		}
		if !present {
			p.log.Warn("hosts directory does not exist; will load it when it appears",
				zap.String("directory", d), zap.Duration("check_interval", p.cfg.PollInterval))
		}
		w.dirs[d].present = present
	}
	if p.cfg.Mode != "poll" && len(p.dirs) > 0 {
		fsw, err := fsnotify.NewWatcher()
		switch {
		case err != nil && p.cfg.Mode == "notify":
			return fmt.Errorf("hosts: start fsnotify: %w", err)
		case err != nil:
			p.log.Warn("fsnotify unavailable; polling every directory", zap.Error(err))
		default:
			w.fsw = fsw
		}
	}
	for _, d := range p.dirs {
		if !w.dirs[d].present {
			continue
		}
		if p.cfg.Mode != "notify" {
			w.watchOrPoll(d)
		} else if err := w.watch(d); err != nil {
			w.closeFS()
			return fmt.Errorf("hosts: watch directory %q: %w", d, err)
		}
	}
	p.fsw = w.fsw
	p.setRunning(true)
	p.goroutine.Start(func(ctx context.Context) {
		defer p.setRunning(false)
		w.run(ctx)
	})
	return nil
}

// stop cancels the loop, closes fsnotify (which ends its goroutine) and waits for the loop, or for ctx.
func (p *Producer) stop(ctx context.Context) error {
	p.goroutine.Cancel()
	if p.fsw != nil {
		if err := p.fsw.Close(); err != nil {
			p.log.Warn("closing fsnotify watcher", zap.Error(err))
		}
	}
	if err := p.goroutine.Wait(ctx); err != nil {
		return fmt.Errorf("hosts: waiting for the watch loop: %w", err)
	}
	return nil
}

// checkDir reports whether dir exists, and an error naming it when it exists but cannot be used.
func checkDir(dir string) (bool, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("hosts: directory %q: %w", dir, err)
	}
	if !info.IsDir() {
		return false, fmt.Errorf("hosts: directory %q is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("hosts: directory %q cannot be read: %w", dir, err)
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("hosts: directory %q cannot be read: %w", dir, err)
	}
	return true, nil
}
