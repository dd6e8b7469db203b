package records

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// StaticSource owns the records of the configuration file.
const StaticSource = "static:config"

// Static is a record written in the configuration file (top-level `records:`).
type Static struct {
	Name  string `koanf:"name" json:"name" yaml:"name" validate:"required"`
	Type  string `koanf:"type" json:"type" yaml:"type" validate:"required,oneof=A AAAA CNAME TXT SRV a aaaa cname txt srv"`
	Value string `koanf:"value" json:"value" yaml:"value" validate:"required"`
	TTL   uint32 `koanf:"ttl" json:"ttl" yaml:"ttl" validate:"ttl"`
}

// Config configures the records handler. Joyride's configuration fills it from two keys, because its top-level
// `records:` is the static list itself: Static from `records`, MaxEvents from `record_events`. The koanf names
// below are what a validation error calls the fields (records.static[0].type, records.max_events).
type Config struct {
	Static []Static `koanf:"static" validate:"dive"`
	// MaxEvents caps the DNSEvents, and for a hosts file the HostsRecordEvents, published for one snapshot, so
	// loading a 100,000-line hosts file does not flood the bus with per-record events; the rest are counted in a
	// log line. 0 publishes none.
	MaxEvents int `koanf:"max_events" validate:"min=0"`
}

// DefaultConfig has no static records and publishes up to 1,000 events of each kind per snapshot.
func DefaultConfig() Config { return Config{MaxEvents: 1000} }

// Module subscribes the handler and loads the static records at start. The handler is private to the module:
// nothing else needs it, and a host application's own *Handler type cannot collide with it.
var Module = fx.Module("records",
	fx.Provide(New, fx.Private),
	fx.Invoke(func(*Handler) {}),
	status.Provide(Reporter),
	reload.Provide(target),
)

// target is the handler as the configuration watcher sees it (pkg/reload): the static records and the event cap,
// applied by Apply. The keys are Joyride's configuration's, where the section is two top-level keys.
func target(h *Handler) reload.Target {
	return reload.For("records", []string{"records", "record_events"}, h.Apply)
}

// Params are the handler's dependencies. The Config is required: DefaultConfig, or the configuration's section.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Store     *dnsstore.Store
	Config    Config
}

// Handler applies record snapshots to the store.
type Handler struct {
	bus   *events.Bus
	store *dnsstore.Store
	log   *zap.Logger
	// static and max are the Config as last applied (New, then Apply). The bus goroutine (max), Apply and the
	// status readers (static) use them from different goroutines, hence the atomics.
	static atomic.Pointer[staticSet]
	max    atomic.Int64
	// scanned holds the hosts directories whose first scan is complete: changes to their files are announced
	// record by record.
	scanned map[string]struct{}
	// acked holds the components whose first healthy report this handler has acknowledged.
	acked map[string]struct{}
}

// staticSet is the configuration's static records, never modified once built: Apply swaps in a new one.
type staticSet struct {
	records []dnsstore.Record
	config  []Static // as written, for Explain; records[i] is config[i]
}

// New checks the Config and the static records (an invalid one fails start-up with its position, name and value)
// and subscribes to every family that carries snapshots. It starts nothing: the bus delivers once it runs.
func New(p Params) (*Handler, error) {
	if err := validation.Section("records", p.Config); err != nil {
		return nil, err
	}
	static, err := newStaticSet(p.Config.Static)
	if err != nil {
		return nil, err
	}
	h := &Handler{bus: p.Bus, store: p.Store, log: p.Logger.Named("records"), scanned: make(map[string]struct{}),
		acked: make(map[string]struct{})}
	h.static.Store(static)
	h.max.Store(int64(p.Config.MaxEvents))
	// The kinds that carry snapshots, and the end of a directory's first scan: not the per-record hosts events
	// this handler publishes itself, which would come back to it by the thousand after a large file's load. And
	// the healthy reports, to acknowledge first loads: in this one subscription they come after the snapshots
	// published before them.
	snapshots := events.Filter{
		Families: []events.Family{events.FamilyContainer, events.FamilyHosts, events.FamilyTraefikFile, events.FamilySync,
			events.FamilyHealth},
		Kinds: []events.Kind{
			events.Kind(events.ContainerStarted), events.Kind(events.ContainerStopped), events.Kind(events.ContainerDiscovered),
			events.Kind(events.FileCreated), events.Kind(events.FileChanged), events.Kind(events.FileDeleted),
			events.Kind(events.DirectoryScanned), events.Kind(events.DNSRecordSynced), events.Kind(events.Healthy),
		},
	}
	p.Bus.Subscribe("records", snapshots, h.Handle)
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			static := h.static.Load().records
			h.apply(ctx, "records", StaticSource, "", h.store.Replace(StaticSource, static))
			// The static records are this module's first load (pkg/status).
			producer.Health(ctx, h.bus, h.log, "records", events.Healthy,
				fmt.Sprintf("%d static records applied", len(static)))
			return nil
		},
	})
	return h, nil
}

// newStaticSet checks the static records; an error names each bad one by its place, name, type and value.
func newStaticSet(in []Static) (*staticSet, error) {
	var errs []error
	out := make([]dnsstore.Record, 0, len(in))
	for i, s := range in {
		r, err := dnsstore.NewRecord(s.Name, s.Type, s.Value, s.TTL)
		if err != nil {
			errs = append(errs, fmt.Errorf("records[%d] (%s %s %s): %w", i, s.Name, s.Type, s.Value, err))
			continue
		}
		out = append(out, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &staticSet{records: out, config: slices.Clone(in)}, nil
}

// Apply makes cfg the handler's configuration while it runs: the static records replace StaticSource in the store
// the way OnStart put them there, so the store's diff decides what changed and the DNSEvents (and the
// source_replaced event) say so, published with ctx (and its correlation ID); a record still configured is
// neither removed nor added again, so it is served throughout. Explain follows the new list, and MaxEvents caps
// the events of the next snapshot on. An invalid cfg (a bad record, named by its place) or an ended ctx is an
// error and changes nothing.
//
// It needs no lock against Handle, which the bus runs on its own goroutine: the static source is written only
// here and in OnStart, which never run at once (pkg/reload), the store takes concurrent writers, and the cap is
// an atomic.
func (h *Handler) Apply(ctx context.Context, cfg Config) error {
	if err := validation.Section("records", cfg); err != nil {
		return err
	}
	static, err := newStaticSet(cfg.Static)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("records: configuration not applied: %w", err)
	}
	h.max.Store(int64(cfg.MaxEvents))
	h.static.Store(static)
	h.apply(ctx, "records", StaticSource, "", h.store.Replace(StaticSource, static.records))
	return nil
}

// Handle applies one event's snapshot, if it carries one. It is not safe for concurrent use: the bus calls it
// from one goroutine.
func (h *Handler) Handle(ctx context.Context, e events.Event) error {
	if he, ok := e.(*events.HealthEvent); ok {
		h.acknowledge(ctx, he)
		return nil
	}
	path := h.hostsPath(e)
	s, ok := e.(events.Snapshotter)
	if !ok {
		return nil
	}
	snap := s.RecordSnapshot()
	if snap == nil {
		return nil
	}
	origin, err := snapshotOrigin(e, snap)
	if err != nil {
		h.report(ctx, e, err.Error(), snap.Source, nil)
		return nil
	}
	recs := make([]dnsstore.Record, 0, len(snap.Records))
	var bad []string
	for _, r := range snap.Records {
		rec, err := dnsstore.NewRecord(r.Name, r.Type, r.Value, r.TTL)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if !r.SetAt.IsZero() {
			rec = rec.WithSetAt(r.SetAt)
		}
		recs = append(recs, rec)
	}
	if len(bad) > 0 {
		shown := bad[:min(5, len(bad))]
		h.report(ctx, e, fmt.Sprintf("%s: %d record(s) rejected: %s", snap.Source, len(bad), strings.Join(shown, "; ")),
			snap.Source, shown)
	}
	// recs is ours alone: the store may keep it rather than copy it, which matters for a 100,000-line hosts file.
	h.apply(ctx, e.Meta().Source, snap.Source, path, h.store.ReplaceOwnedFrom(snap.Source, origin, recs))
	return nil
}

// acknowledge publishes, for a component's first healthy report, a healthy HealthEvent for that component with
// Source "records": the bus delivers to this handler in publish order, so every snapshot the component published
// before its first load was done has been applied, and the health handler counts the load done only now. Its own
// reports and acknowledgements (Source "records") are not acknowledged.
func (h *Handler) acknowledge(ctx context.Context, e *events.HealthEvent) {
	if _, done := h.acked[e.Component]; done || e.Kind != events.Healthy || e.Source == "records" {
		return
	}
	h.acked[e.Component] = struct{}{}
	h.publish(ctx, &events.HealthEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.Healthy,
		Component: e.Component, Message: "records of its first load applied to the store"})
}

// snapshotOrigin returns the owner of the snapshot's source: the peer a sync snapshot comes from, or this node
// (the zero Origin). The "node:" sources are the cluster's alone, each under its peer's own prefix, and a sync
// snapshot may carry nothing else: a module could otherwise replace another's source (a peer's, or this node's
// containers), or pass its records off as a peer's to win under a policy.
func snapshotOrigin(e events.Event, snap *events.RecordSnapshot) (dnsstore.Origin, error) {
	_, sync := e.(*events.SyncEvent)
	peer := strings.HasPrefix(snap.Source, events.PeerPrefix)
	switch {
	case !sync && !peer:
		return dnsstore.Origin{}, nil
	case !sync:
		return dnsstore.Origin{}, fmt.Errorf("%s: snapshot from %q rejected: only cluster sync events may carry %q sources",
			snap.Source, e.Meta().Source, events.PeerPrefix)
	case snap.Node == "" || !strings.HasPrefix(snap.Source, events.PeerSource(snap.Node, "")):
		return dnsstore.Origin{}, fmt.Errorf("%s: sync snapshot from %q (node %q) rejected: its source must be %q",
			snap.Source, e.Meta().Source, snap.Node, events.PeerSource(cmp.Or(snap.Node, "<node>"), "…"))
	}
	return dnsstore.Origin{Node: snap.Node, Priority: snap.Priority}, nil
}

// hostsPath returns the path of the hosts file e is about when its changes are announced record by record, else
// "". It notes the end of a directory's first scan, before which they are not.
func (h *Handler) hostsPath(e events.Event) string {
	fe, ok := e.(*events.FileEvent)
	if !ok || fe.Family() != events.FamilyHosts {
		return ""
	}
	if fe.Kind == events.DirectoryScanned {
		h.scanned[fe.Path] = struct{}{}
		return ""
	}
	if _, ok := h.scanned[filepath.Dir(fe.Path)]; !ok {
		return ""
	}
	return fe.Path
}

// report publishes rejected input of e as an ErrorEvent; errors are the rejected records, if that is what was
// rejected.
func (h *Handler) report(ctx context.Context, e events.Event, msg, source string, errs []string) {
	err := h.bus.Publish(ctx, &events.ErrorEvent{
		Metadata: events.Metadata{Source: "records"}, Kind: events.ErrorInput, Module: "records",
		Message: msg, EventID: e.Meta().ID,
	})
	if err != nil { // the error cannot be reported, so it is logged instead
		h.log.Warn("records rejected", zap.String("source", source), zap.String("message", msg),
			zap.Strings("errors", errs), zap.NamedError("report_error", err))
	}
}

// apply publishes what replacing source in the store changed: DNSEvents and, when hostsPath names the hosts file
// that source is, HostsRecordEvents, each up to the event limit; then one source_replaced DNSEvent with every
// change, never capped.
func (h *Handler) apply(ctx context.Context, producer, source, hostsPath string, diff dnsstore.Diff) {
	limit := int(h.max.Load())
	dnsEvents := 0
	for _, c := range []struct {
		kind events.DNSKind
		recs []dnsstore.Record
	}{{events.DNSRecordAdded, diff.Added}, {events.DNSRecordRemoved, diff.Removed}, {events.DNSRecordUpdated, diff.Updated}} {
		for _, r := range c.recs[:min(len(c.recs), limit-dnsEvents)] {
			dnsEvents++
			h.publish(ctx, &events.DNSEvent{
				Metadata: events.Metadata{Source: "records"}, Kind: c.kind, Owner: source, Record: eventRecord(r),
			})
		}
	}
	hostsEvents := 0
	// One walk over the changes counts them and announces the first of a hosts file's; the list itself is built
	// only when a subscriber reads it (the audit log): 100,000 changes are about 12 MB.
	replaced := &events.DNSEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.DNSSourceReplaced, Owner: source}
	walkChanges(diff, func(kind events.DNSKind, now dnsstore.Record, _ *dnsstore.Record) {
		switch kind {
		case events.DNSRecordAdded:
			replaced.Added++
		case events.DNSRecordUpdated:
			replaced.Updated++
		default:
			replaced.Removed++
		}
		if hostsPath != "" && hostsEvents < limit {
			hostsEvents++
			h.publish(ctx, &events.HostsRecordEvent{
				Metadata: events.Metadata{Source: "records"}, Kind: hostsKinds[kind], Path: hostsPath, Record: eventRecord(now),
			})
		}
	})
	changes := replaced.Added + replaced.Updated + replaced.Removed
	if changes == 0 {
		return
	}
	// Not capped: it is how a consumer learns that the source changed when the per-record events are left out,
	// and its changes are how one that must see every change (the audit log) sees them without a bus event each.
	// The store's Diff is immutable, so the list built later is the one of this change.
	replaced.SetChanges(func() []events.RecordChange { return recordChanges(diff, changes) })
	h.publish(ctx, replaced)
	total := len(diff.Added) + len(diff.Removed) + len(diff.Updated)
	h.log.Debug("source replaced", zap.String("source", source), zap.String("producer", producer),
		zap.Int("added", len(diff.Added)), zap.Int("removed", len(diff.Removed)), zap.Int("updated", len(diff.Updated)),
		zap.Int("events_left_out", total-dnsEvents+changes-hostsEvents))
}

// publish publishes an event about a change already made: failing to announce it is logged, and the change
// stands. A stopped bus is no failure: nobody is left to tell.
func (h *Handler) publish(ctx context.Context, e events.Event) {
	if err := h.bus.Publish(ctx, e); err != nil && !errors.Is(err, events.ErrClosed) {
		h.log.Error("publishing a change", zap.String("event", string(e.Family())+"/"+string(e.EventKind())), zap.Error(err))
	}
}

// hostsKinds names the changes of recordChanges as the hosts family does.
var hostsKinds = map[events.DNSKind]events.HostsKind{
	events.DNSRecordAdded: events.RecordAdded, events.DNSRecordUpdated: events.RecordUpdated,
	events.DNSRecordRemoved: events.RecordRemoved,
}

// walkChanges calls f for every change of diff, in name and type order, as the hosts record events and the
// source_replaced DNSEvent name them: now is the record as stored (as it was, for a removal) and was, for an
// update, the record it replaced. A record added where one with the same name and type was removed is an update
// (an address edited in place), as is a record whose TTL changed (Diff.Updated and Diff.Replaced); the rest are
// additions and removals. The store's lists are sorted by name, type and value, so one merge pairs them.
func walkChanges(diff dnsstore.Diff, f func(kind events.DNSKind, now dnsstore.Record, was *dnsstore.Record)) {
	added, removed, updated, replaced := diff.Added, diff.Removed, diff.Updated, diff.Replaced
	for len(added) > 0 || len(removed) > 0 || len(updated) > 0 {
		if len(updated) > 0 && compareNameType(updated, added) <= 0 && compareNameType(updated, removed) <= 0 {
			f(events.DNSRecordUpdated, updated[0], &replaced[0])
			updated, replaced = updated[1:], replaced[1:]
			continue
		}
		switch c := compareNameType(added, removed); {
		case c < 0:
			f(events.DNSRecordAdded, added[0], nil)
			added = added[1:]
		case c > 0:
			f(events.DNSRecordRemoved, removed[0], nil)
			removed = removed[1:]
		default:
			f(events.DNSRecordUpdated, added[0], &removed[0])
			added, removed = added[1:], removed[1:]
		}
	}
}

// recordChanges lists the n changes of diff (walkChanges), each update with the record it replaced as Previous.
func recordChanges(diff dnsstore.Diff, n int) []events.RecordChange {
	out := make([]events.RecordChange, 0, n)
	// The Previous records, in one array: its capacity is the most updates there can be, so no append moves it
	// and the pointers into it stay valid.
	prev := make([]events.Record, 0, min(len(diff.Added), len(diff.Removed))+len(diff.Updated))
	walkChanges(diff, func(kind events.DNSKind, now dnsstore.Record, was *dnsstore.Record) {
		c := events.RecordChange{Kind: kind, Record: eventRecord(now)}
		if was != nil {
			prev = append(prev, eventRecord(*was))
			c.Previous = &prev[len(prev)-1]
		}
		out = append(out, c)
	})
	return out
}

// compareNameType orders the first records of a and b by name and type; an empty list comes last.
func compareNameType(a, b []dnsstore.Record) int {
	switch {
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	if c := strings.Compare(a[0].Name(), b[0].Name()); c != 0 {
		return c
	}
	return cmp.Compare(a[0].Type(), b[0].Type())
}

func eventRecord(r dnsstore.Record) events.Record {
	return events.Record{Name: r.Name(), Type: dns.TypeToString[r.Type()], Value: r.Value(), TTL: r.TTL()}
}
