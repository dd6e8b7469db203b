// Package watcher is the configuration watcher: it reloads the configuration when its file changes or the process
// receives SIGHUP, and applies what can change while the node runs.
//
// A reload loads the configuration from the same sources as at start (profile, file, environment, --set flags)
// and validates it as `joyride config validate` does. An invalid or unreadable file is rejected: the node keeps
// running on what it runs, and the rejection is a configuration_rejected event with the error, a log line and a
// metric. A valid one is compared key by key (config.Diff) with the one loaded before; every changed key that a
// module can apply live (a reload.Target covers it) is handed to that module, and every other key needs a
// restart: the node keeps its running value, says so in the log, and marks it Restart in the
// configuration_changed event that lists every change. A key of a module that is switched off changes nothing.
//
// # Lifecycle and concurrency
//
// New only checks its targets. OnStart watches the file's directory with pkg/dirwatch (so that editors that save
// by renaming and Kubernetes' ConfigMap symlink swaps are seen) and starts one goroutine that does every reload,
// one at a time: a change that arrives during a reload triggers one more, which reads the file as it is then, so
// a burst of saves ends with the last content applied. Apply calls run on that goroutine, after every module has
// started (the watcher depends on every Target, so fx starts it last) and stop before any module stops.
package watcher

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/config"
	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Name is the watcher's module name, its Reporter's and its events' Source.
const Name = "config"

// Module watches the configuration; the application supplies a Source.
var Module = fx.Module(Name,
	fx.Provide(New),
	status.Provide(func(w *Watcher) status.Reporter { return status.Reporter{Name: Name, Status: w.Status} }),
	status.ProvideCollector(func(w *Watcher) prometheus.Collector { return w.collector() }),
	fx.Invoke(func(*Watcher) {}),
)

// Source is how the running node was configured.
type Source struct {
	// Options are the options it was loaded with; a reload loads with the same.
	Options config.Options
	// Result is what they gave at start: the running configuration.
	Result *config.Result
	// Hangups delivers SIGHUP, which asks for a reload; nil when nothing forwards it.
	Hangups <-chan os.Signal
	// ApplyTimeout bounds each module's Apply (DefaultApplyTimeout when zero): a module stuck on its source (a
	// Docker engine that accepts and never answers) fails its keys instead of holding up every later reload.
	ApplyTimeout time.Duration
}

// DefaultApplyTimeout is Source.ApplyTimeout's default.
const DefaultApplyTimeout = 30 * time.Second

// Params are the watcher's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Source    Source
	Targets   []reload.Target `group:"joyride.reload"`
}

// The results of a reload, as the metric and the Reporter name them.
const (
	Applied   = "applied"   // at least one change, every live one applied
	Unchanged = "unchanged" // a valid configuration with no change
	Rejected  = "rejected"  // invalid or unreadable: nothing applied
	Failed    = "failed"    // valid, but a module could not apply its change
)

// Watcher reloads the configuration.
type Watcher struct {
	bus     *events.Bus
	log     *zap.Logger
	opts    config.Options
	file    string
	profile string
	hangups <-chan os.Signal
	timeout time.Duration
	targets []reload.Target
	dw      *dirwatch.Watcher
	loop    background.Loop
	kick    chan struct{}

	// Only the loop's goroutine writes these after start.
	loaded  config.Config // the last valid configuration read
	running config.Config // what the modules run on: loaded, but for the keys that need a restart

	mu    sync.Mutex // guards what Status and the metrics read
	state Status
}

// Status is the watcher as /status shows it.
type Status struct {
	File       string         `json:"file,omitempty"`
	Profile    string         `json:"profile"`
	Reloads    map[string]int `json:"reloads"`
	LastReload time.Time      `json:"last_reload,omitzero"`
	LastResult string         `json:"last_result,omitempty"`
	LastError  string         `json:"last_error,omitempty"`
	// RestartPending are the keys whose new value waits for a restart.
	RestartPending []string `json:"restart_pending,omitempty"`
}

// New checks that every target names a section of the configuration. It starts nothing.
func New(p Params) (*Watcher, error) {
	if p.Source.Result == nil {
		return nil, fmt.Errorf("%s: the configuration the node was started with is required", Name)
	}
	for _, t := range p.Targets {
		if _, ok := p.Source.Result.Config.Section(t.Module); !ok || t.Apply == nil {
			return nil, fmt.Errorf("%s: reload target %q: no such configuration section, or no Apply", Name, t.Module)
		}
	}
	w := &Watcher{
		bus: p.Bus, log: p.Logger.Named(Name), opts: p.Source.Options, file: p.Source.Result.File,
		profile: p.Source.Result.Profile, hangups: p.Source.Hangups, targets: p.Targets,
		timeout: cmp.Or(p.Source.ApplyTimeout, DefaultApplyTimeout),
		kick:    make(chan struct{}, 1),
		loaded:  p.Source.Result.Config, running: p.Source.Result.Config,
	}
	// A reload reads the file the node started with, even when JOYRIDE_CONFIG named it.
	w.opts.File = w.file
	w.state = Status{File: w.file, Profile: w.profile, Reloads: map[string]int{}}
	if w.file != "" {
		base := filepath.Base(w.file)
		dw, err := dirwatch.New(dirwatch.Config{
			Dirs: []string{filepath.Dir(w.file)}, Match: func(name string) bool { return name == base },
			Mode: dirwatch.Auto, PollInterval: pollInterval, Debounce: debounce,
		}, w.log)
		if err != nil {
			return nil, err
		}
		w.dw = dw
	}
	p.Lifecycle.Append(fx.StartStopHook(w.Start, w.Stop))
	return w, nil
}

// The file watch: an editor's save settles within the debounce; polling is the safety net where fsnotify cannot
// watch.
const (
	pollInterval = 5 * time.Second
	debounce     = 100 * time.Millisecond
)

// Start watches the file and SIGHUP.
func (w *Watcher) Start(ctx context.Context) error {
	if w.dw != nil {
		if err := w.dw.Open(); err != nil {
			return fmt.Errorf("%s: watching %s: %w", Name, w.file, err)
		}
	}
	w.loop.Start(func(ctx context.Context) {
		var wg sync.WaitGroup
		if w.dw != nil {
			// The first batch is the file as it is now: reloading it catches a save made since the node loaded it.
			wg.Go(func() { w.dw.Run(ctx, func(context.Context, dirwatch.Batch) { w.trigger() }) })
		}
		w.run(ctx)
		wg.Wait()
	})
	producer.Health(ctx, w.bus, w.log, Name, events.Healthy, "watching "+cmp.Or(w.file, "SIGHUP only: no configuration file"))
	return nil
}

// Stop ends the watch; a reload under way is cancelled.
func (w *Watcher) Stop(ctx context.Context) error {
	w.loop.Cancel()
	return w.loop.Wait(ctx)
}

func (w *Watcher) trigger() {
	select {
	case w.kick <- struct{}{}:
	default: // one is pending already, and it will read the file as it is then
	}
}

func (w *Watcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.hangups:
			w.log.Info("SIGHUP: reloading the configuration")
			w.reload(ctx)
		case <-w.kick:
			w.reload(ctx)
		}
	}
}

// reload loads, compares and applies. Every event it causes (the modules' record changes as well as its own)
// shares one correlation ID, so that the audit log and /events tie a record's change to the reload behind it.
func (w *Watcher) reload(ctx context.Context) {
	ctx = events.WithCorrelationID(ctx, uuid.NewString())
	res, err := config.Load(w.opts)
	if err != nil {
		w.reject(ctx, err)
		return
	}
	changes := config.Diff(w.loaded, res.Config)
	if len(changes) == 0 {
		w.log.Debug("configuration unchanged", zap.String("file", w.file))
		w.record(Unchanged, "", w.pending())
		return
	}
	// The keys the running configuration does not hold yet, whatever the file said before.
	differs := map[string]bool{}
	for _, c := range config.Diff(w.running, res.Config) {
		differs[c.Key] = true
	}
	out := make([]events.ConfigChange, len(changes))
	live := map[int][]string{} // target index → the changed keys it covers
	var inert []string         // keys that change nothing now: a module switched off, or back to the running value
	for i, c := range changes {
		out[i] = events.ConfigChange{Key: c.Key, From: c.From, To: c.To}
		t := slices.IndexFunc(w.targets, func(t reload.Target) bool { return t.Covers(c.Key) })
		switch {
		case !differs[c.Key] || w.off(c.Key):
			inert = append(inert, c.Key)
		case t >= 0:
			live[t] = append(live[t], c.Key)
		default:
			out[i].Restart = true
		}
	}
	running := config.With(w.running, res.Config, inert)
	failed := map[string]bool{}
	var applyErrs []string
	for _, ti := range slices.Sorted(maps.Keys(live)) {
		t, keys := w.targets[ti], live[ti]
		next := config.With(running, res.Config, keys)
		section, _ := next.Section(t.Module)
		actx, cancel := context.WithTimeout(ctx, w.timeout)
		err := t.Apply(actx, section)
		cancel()
		if err != nil {
			applyErrs = append(applyErrs, t.Module+": "+err.Error())
			for _, k := range keys {
				failed[k] = true
			}
			continue
		}
		running = next
	}
	w.running = running
	// A key a module failed to apply counts as not read yet, so that the next reload tries it again.
	w.loaded = config.With(res.Config, running, slices.Collect(maps.Keys(failed)))
	var applied, restart, notApplied, inactive []string
	for i := range out {
		switch {
		case slices.Contains(inert, out[i].Key):
			out[i].Inactive = true
			inactive = append(inactive, out[i].Key)
		case failed[out[i].Key]:
			out[i].Failed = true
			notApplied = append(notApplied, out[i].Key)
		case out[i].Restart:
			restart = append(restart, out[i].Key)
		default:
			applied = append(applied, out[i].Key)
		}
	}
	result, msg := Applied, fmt.Sprintf("%d key(s) changed: %d applied", len(out), len(applied))
	if len(restart) > 0 {
		msg += fmt.Sprintf("; %d need a restart, and the node runs on their old values until then (%s)", len(restart),
			strings.Join(restart, ", "))
	}
	if len(inactive) > 0 {
		msg += fmt.Sprintf("; %d change nothing now: their module is off, or they are back to the running value (%s)",
			len(inactive), strings.Join(inactive, ", "))
	}
	if len(notApplied) > 0 {
		result = Failed
		msg += fmt.Sprintf("; %d could not be applied, and the node keeps their old values (%s)", len(notApplied),
			strings.Join(notApplied, ", "))
	}
	w.record(result, strings.Join(applyErrs, "; "), w.pending())
	w.publish(ctx, &events.SystemEvent{Kind: events.ConfigurationChanged, Message: msg,
		Error: strings.Join(applyErrs, "; "), Changes: out})
}

// off reports whether key belongs to a module that is switched off in the running configuration: its value
// changes nothing until the module is switched on, which needs a restart (and is a change of its own).
func (w *Watcher) off(key string) bool {
	m := config.ModuleOf(key)
	return m != "" && !w.running.Enabled(m)
}

// pending are the keys whose new value waits for a restart.
func (w *Watcher) pending() []string {
	var out []string
	for _, c := range config.Diff(w.running, w.loaded) {
		out = append(out, c.Key)
	}
	return out
}

func (w *Watcher) reject(ctx context.Context, err error) {
	w.record(Rejected, err.Error(), w.pending())
	w.publish(ctx, &events.SystemEvent{Kind: events.ConfigurationRejected, Error: err.Error(),
		Message: "configuration " + cmp.Or(w.file, "sources") + " rejected; the node keeps running on its current configuration"})
}

func (w *Watcher) record(result, errText string, pending []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state.Reloads[result]++
	w.state.LastReload = time.Now()
	w.state.LastResult = result
	w.state.LastError = errText
	w.state.RestartPending = pending
}

// publish announces a reload; the logging module makes it a log line. When the bus cannot take it, the event is
// logged here instead, so that a rejected file or a key waiting for a restart is never silent.
func (w *Watcher) publish(ctx context.Context, e *events.SystemEvent) {
	e.Source = Name
	e.Service = w.running.Service.Name
	if err := w.bus.Publish(ctx, e); err != nil {
		w.log.Warn(string(e.Kind), zap.String("file", w.file), zap.String("message", e.Message),
			zap.String("error", e.Error), zap.Any("changes", e.Changes), zap.NamedError("publish_error", err))
	}
}

// Status is the watcher's state for /status.
func (w *Watcher) Status() any {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state
	s.Reloads = make(map[string]int, len(w.state.Reloads))
	for k, v := range w.state.Reloads {
		s.Reloads[k] = v
	}
	s.RestartPending = slices.Clone(w.state.RestartPending)
	return s
}

var (
	reloadsDesc = prometheus.NewDesc("joyride_config_reloads_total",
		"Configuration reloads by result: applied, unchanged, rejected (invalid or unreadable) or failed (a module could not apply its change).",
		[]string{"result"}, nil)
	pendingDesc = prometheus.NewDesc("joyride_config_restart_pending",
		"Configuration keys whose new value waits for a restart.", nil, nil)
)

func (w *Watcher) collector() prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, r := range []string{Applied, Unchanged, Rejected, Failed} {
			ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(w.state.Reloads[r]), r)
		}
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(len(w.state.RestartPending)))
	}, reloadsDesc, pendingDesc)
}
