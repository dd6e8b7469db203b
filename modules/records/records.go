// Package records is the records handler: it applies events that carry record snapshots (containers, hosts
// files, cluster sync) to the store, serves the static records of the configuration as a source of their own, and
// publishes a DNSEvent for every record the store gained, lost or changed.
//
// Every snapshot replaces its source's records atomically, so a duplicated, replayed or reordered-by-source event
// cannot leave a stale record behind. A record the store rejects (a bad name or value) is skipped, the rest of
// the snapshot is applied, and the rejection is reported as one ErrorEvent per snapshot naming the source and the
// records: nothing already served is lost because of one bad line.
package records

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
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

// Config configures the records handler.
type Config struct {
	Static []Static `koanf:"static" validate:"dive"`
	// MaxDNSEvents caps the DNSEvents published for one snapshot, so loading a 100,000-line hosts file does not
	// flood the bus with per-record events; the rest are counted in a log line.
	MaxDNSEvents int `koanf:"max_dns_events" validate:"min=0"`
}

// DefaultConfig has no static records.
func DefaultConfig() Config { return Config{MaxDNSEvents: 1000} }

// Module subscribes the handler and loads the static records at start.
var Module = fx.Module("records",
	fx.Provide(New),
	fx.Invoke(func(*Handler) {}),
)

// Params are the handler's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Store     *dnsstore.Store
	Config    Config `optional:"true"`
}

// Handler applies record snapshots to the store.
type Handler struct {
	bus    *events.Bus
	store  *dnsstore.Store
	log    *zap.Logger
	static []dnsstore.Record
	max    int
	sub    *events.Subscription
}

// New checks the static records (an invalid one fails start-up with its position, name and value) and subscribes
// to every family that carries snapshots. It starts nothing: the bus delivers once it runs.
func New(p Params) (*Handler, error) {
	cfg := p.Config
	if cfg.Static == nil && cfg.MaxDNSEvents == 0 {
		cfg = DefaultConfig()
	}
	static, err := staticRecords(cfg.Static)
	if err != nil {
		return nil, err
	}
	h := &Handler{bus: p.Bus, store: p.Store, log: p.Logger.Named("records"), static: static, max: cfg.MaxDNSEvents}
	h.sub = p.Bus.Subscribe("records",
		events.Filter{Families: []events.Family{events.FamilyContainer, events.FamilyHosts, events.FamilySync}},
		h.Handle)
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			h.apply(ctx, "records", StaticSource, h.store.Replace(StaticSource, h.static))
			return nil
		},
	})
	return h, nil
}

func staticRecords(in []Static) ([]dnsstore.Record, error) {
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
	return out, errors.Join(errs...)
}

// Handle applies one event's snapshot, if it carries one.
func (h *Handler) Handle(ctx context.Context, e events.Event) error {
	s, ok := e.(events.Snapshotter)
	if !ok {
		return nil
	}
	snap := s.RecordSnapshot()
	if snap == nil {
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
		recs = append(recs, rec)
	}
	if len(bad) > 0 {
		h.reportBad(ctx, e, snap.Source, bad)
	}
	// recs is ours alone: the store may keep it rather than copy it, which matters for a 100,000-line hosts file.
	h.apply(ctx, e.Meta().Source, snap.Source, h.store.ReplaceOwned(snap.Source, recs))
	return nil
}

func (h *Handler) reportBad(ctx context.Context, e events.Event, source string, bad []string) {
	const shown = 5
	msg := fmt.Sprintf("%s: %d record(s) rejected: %s", source, len(bad), strings.Join(bad[:min(shown, len(bad))], "; "))
	h.log.Warn("records rejected", zap.String("source", source), zap.Int("count", len(bad)), zap.Strings("errors", bad[:min(shown, len(bad))]))
	err := h.bus.Publish(ctx, &events.ErrorEvent{
		Metadata: events.Metadata{Source: "records"}, Kind: events.ErrorInput, Module: "records",
		Message: msg, EventID: e.Meta().ID,
	})
	if err != nil && !errors.Is(err, events.ErrClosed) {
		h.log.Error("publishing rejected records", zap.Error(err))
	}
}

// apply publishes what replacing source in the store changed.
func (h *Handler) apply(ctx context.Context, producer, source string, diff dnsstore.Diff) {
	published := 0
	for _, c := range []struct {
		kind events.DNSKind
		recs []dnsstore.Record
	}{{events.DNSRecordAdded, diff.Added}, {events.DNSRecordRemoved, diff.Removed}, {events.DNSRecordUpdated, diff.Updated}} {
		for _, r := range c.recs {
			if published >= h.max {
				break
			}
			published++
			err := h.bus.Publish(ctx, &events.DNSEvent{
				Metadata: events.Metadata{Source: "records"}, Kind: c.kind, Owner: source, Record: eventRecord(r),
			})
			if err != nil && !errors.Is(err, events.ErrClosed) {
				h.log.Error("publishing a DNS event", zap.Error(err))
			}
		}
	}
	total := len(diff.Added) + len(diff.Removed) + len(diff.Updated)
	if total > 0 {
		h.log.Debug("source replaced", zap.String("source", source), zap.String("producer", producer),
			zap.Int("added", len(diff.Added)), zap.Int("removed", len(diff.Removed)), zap.Int("updated", len(diff.Updated)),
			zap.Int("events_left_out", total-published))
	}
}

func eventRecord(r dnsstore.Record) events.Record {
	return events.Record{Name: r.Name, Type: dns.TypeToString[r.Type], Value: r.Value, TTL: r.TTL}
}
