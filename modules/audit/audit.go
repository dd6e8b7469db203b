package audit

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/validation"
)

const moduleName = "audit"

// Module subscribes the audit handler and runs its writer from start to stop. The handler is private to the
// module: only its Reporter, collector and reload Target use it.
var Module = fx.Module(moduleName,
	fx.Provide(New, fx.Private),
	fx.Invoke(func(*Handler) {}),
	status.Provide(Reporter),
	status.ProvideCollector(newCollector),
	reload.Provide(Target),
)

// Params are the handler's dependencies. The Config is required: DefaultConfig, or the configuration's section.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Config    Config
}

// Handler turns record and configuration changes into audit log lines.
type Handler struct {
	bus  *events.Bus
	log  *zap.Logger
	cfg  Config
	w    *writer
	loop background.Loop
}

// New builds the handler (NewHandler) and ties Start and Stop to the lifecycle.
func New(p Params) (*Handler, error) {
	h, err := NewHandler(p.Config, p.Logger, p.Bus)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StartStopHook(h.Start, h.Stop))
	return h, nil
}

// NewHandler checks cfg and subscribes to the events the audit log records; it starts nothing. Lines of events
// delivered before Start wait in the queue.
func NewHandler(cfg Config, log *zap.Logger, bus *events.Bus) (*Handler, error) {
	log, err := producer.Check(moduleName, cfg, log, bus)
	if err != nil {
		return nil, err
	}
	h := &Handler{bus: bus, log: log, cfg: cfg, w: newWriter(cfg, bus, log)}
	bus.Subscribe(moduleName, events.Filter{
		Families: []events.Family{events.FamilyDNS, events.FamilySystem},
		Kinds: []events.Kind{events.Kind(events.DNSSourceReplaced), events.Kind(events.ConfigurationChanged),
			events.Kind(events.ConfigurationRejected)},
	}, h.Handle)
	return h, nil
}

// Handle hands e's lines to the writer: every change of a source_replaced DNSEvent, every key of a configuration
// event. Past building the change list once (for every subscriber), it takes constant time whatever their number,
// and never waits for the disk.
func (h *Handler) Handle(_ context.Context, e events.Event) error {
	switch e := e.(type) {
	case *events.DNSEvent:
		// The change list is built on first read: not at all while the log is off.
		if e.Kind == events.DNSSourceReplaced && h.w.on() {
			if b := recordBatch(e); b.n > 0 {
				h.w.enqueue(b)
			}
		}
	case *events.SystemEvent:
		if e.Kind == events.ConfigurationChanged || e.Kind == events.ConfigurationRejected {
			h.w.enqueue(configBatch(e))
		}
	}
	return nil
}

// Start names this node, reports the module's first load done (there is nothing to load: readiness must not wait
// for a disk), and starts the writer, which opens the file and reports unhealthy if it cannot.
func (h *Handler) Start(ctx context.Context) error {
	node := h.cfg.Node
	if node == "" {
		// The cluster's rule for its default node ID, without its data_dir: Joyride's configuration hands the
		// cluster's configured ID down as Config.Node.
		host, err := os.Hostname()
		if err != nil {
			host = "unknown"
		}
		node = strings.ReplaceAll(host, "/", "-")
	}
	h.w.mu.Lock()
	h.w.node = node
	path := h.w.settings.path
	h.w.mu.Unlock()
	msg := "started: audit log off (audit.path is empty)"
	if path != "" {
		msg = "started: audit log " + path
	}
	producer.Health(ctx, h.bus, h.log, moduleName, events.Healthy, msg)
	h.loop.Start(h.w.run)
	return nil
}

// Stop writes what is queued, closes the file and waits for the writer, bounded by ctx.
func (h *Handler) Stop(ctx context.Context) error {
	h.loop.Cancel()
	return h.loop.Wait(ctx)
}

// Status reports the audit log's state; it is safe to call at any time.
func (h *Handler) Status() Status { return h.w.status() }

// Reporter is the audit log as the operator's window sees it.
func Reporter(h *Handler) status.Reporter {
	return status.Reporter{Name: moduleName, Status: func() any { return h.Status() }}
}

// Target applies audit.path, audit.max_size and audit.max_files while the node runs: the next line goes to the
// new path (its directory created if missing), or none when it is empty; the open file is rotated by the new
// limits. The queue's size and the node's name need a restart.
func Target(h *Handler) reload.Target {
	return reload.Target{Module: moduleName, Keys: []string{"audit.path", "audit.max_size", "audit.max_files"},
		Apply: func(_ context.Context, section any) error {
			cfg, ok := section.(Config)
			if !ok {
				return fmt.Errorf("audit: a reload needs an audit.Config, not %T", section)
			}
			if err := validation.Section(moduleName, cfg); err != nil {
				return err
			}
			h.w.reconfigure(cfg)
			return nil
		}}
}
