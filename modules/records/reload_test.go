package records_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/status"
)

// reloadHarness is the records module started with static records, its reload.Target and status.Reporter, and a
// watcher on the DNS events it publishes.
type reloadHarness struct {
	target   reload.Target
	reporter status.Reporter
	store    *dnsstore.Store
	dns      *eventstest.Watcher
}

func newReloadHarness(t *testing.T, cfg records.Config) *reloadHarness {
	t.Helper()
	h := &reloadHarness{}
	app := fxtest.New(t,
		fx.Supply(zaptest.NewLogger(t), cfg, events.DefaultConfig()),
		fx.NopLogger,
		events.Module, dnsstore.Module, records.Module,
		fx.Populate(&h.store),
		fx.Invoke(func(r reload.Targets) {
			require.Len(t, r.Targets, 1)
			h.target = r.Targets[0]
		}),
		fx.Invoke(fx.Annotate(func(rs []status.Reporter) { h.reporter = rs[0] }, fx.ParamTags(status.ReporterGroup))),
		fx.Invoke(func(b *events.Bus) {
			h.dns = eventstest.NewWatcher(t, b, events.Filter{Families: []events.Family{events.FamilyDNS}})
		}),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return h
}

// changes returns the DNS events correlated with id as "kind name value ttl" (source_replaced as "kind owner"),
// once the source_replaced that ends them has arrived; none arrives when nothing changed.
func (h *reloadHarness) changes(t *testing.T, id string, changed bool) []string {
	t.Helper()
	if changed {
		h.dns.Expect(t, "source_replaced of "+id, func(e events.Event) bool {
			d, ok := e.(*events.DNSEvent)
			return ok && d.Kind == events.DNSSourceReplaced && d.CorrelationID == id
		})
	}
	var out []string
	for _, e := range h.dns.Events() {
		d := e.(*events.DNSEvent)
		if d.CorrelationID != id {
			continue
		}
		if d.Kind == events.DNSSourceReplaced {
			out = append(out, fmt.Sprintf("%s %s", d.Kind, d.Owner))
			continue
		}
		require.Equal(t, records.StaticSource, d.Owner)
		out = append(out, fmt.Sprintf("%s %s %s %d", d.Kind, d.Record.Name, d.Record.Value, d.Record.TTL))
	}
	slices.Sort(out)
	return out
}

func static(name, value string, ttl uint32) records.Static {
	return records.Static{Name: name, Type: "A", Value: value, TTL: ttl}
}

// TestApply changes the static records and the event cap of a running handler, step by step: the store serves the
// new list, the DNS events say exactly what changed (nothing about a record still configured), and Explain
// follows the new list.
func TestApply(t *testing.T) {
	first := records.Config{MaxEvents: 10, Static: []records.Static{
		static("keep.lab.test", "10.0.0.1", 60), static("gone.lab.test", "10.0.0.2", 60),
		static("ttl.lab.test", "10.0.0.3", 60),
	}}
	steps := []struct {
		name    string
		cfg     records.Config
		err     string   // Apply's error; the store and Explain then keep the previous step's
		store   []string // the static source after the step
		changes []string
		explain map[string][]string // name → Explain's texts
	}{
		{
			name: "a record added, one removed, one kept, a TTL changed",
			cfg: records.Config{MaxEvents: 10, Static: []records.Static{
				static("keep.lab.test", "10.0.0.1", 60), static("ttl.lab.test", "10.0.0.3", 300),
				static("new.lab.test", "10.0.0.4", 60),
			}},
			store: []string{"keep.lab.test. A 10.0.0.1", "new.lab.test. A 10.0.0.4", "ttl.lab.test. A 10.0.0.3"},
			changes: []string{
				"record_added new.lab.test. 10.0.0.4 60", "record_removed gone.lab.test. 10.0.0.2 60",
				"record_updated ttl.lab.test. 10.0.0.3 300", "source_replaced static:config",
			},
			explain: map[string][]string{
				"keep.lab.test": {"records[0]: keep.lab.test A 10.0.0.1 ttl 60"},
				"new.lab.test":  {"records[2]: new.lab.test A 10.0.0.4 ttl 60"},
				"gone.lab.test": nil,
			},
		},
		{
			name: "the same list again changes nothing",
			cfg: records.Config{MaxEvents: 10, Static: []records.Static{
				static("keep.lab.test", "10.0.0.1", 60), static("ttl.lab.test", "10.0.0.3", 300),
				static("new.lab.test", "10.0.0.4", 60),
			}},
			store: []string{"keep.lab.test. A 10.0.0.1", "new.lab.test. A 10.0.0.4", "ttl.lab.test. A 10.0.0.3"},
		},
		{
			name: "an invalid record is refused whole",
			cfg: records.Config{MaxEvents: 10, Static: []records.Static{
				static("keep.lab.test", "10.0.0.1", 60), static("bad.lab.test", "10.0.0.999", 60),
			}},
			err:   "records[1] (bad.lab.test A 10.0.0.999)",
			store: []string{"keep.lab.test. A 10.0.0.1", "new.lab.test. A 10.0.0.4", "ttl.lab.test. A 10.0.0.3"},
			explain: map[string][]string{
				"new.lab.test": {"records[2]: new.lab.test A 10.0.0.4 ttl 60"},
			},
		},
		{
			name:  "a negative event cap is refused",
			cfg:   records.Config{MaxEvents: -1},
			err:   "records.max_events",
			store: []string{"keep.lab.test. A 10.0.0.1", "new.lab.test. A 10.0.0.4", "ttl.lab.test. A 10.0.0.3"},
		},
		{
			name: "record_events caps the per-record events, never source_replaced",
			cfg: records.Config{MaxEvents: 1, Static: []records.Static{
				static("keep.lab.test", "10.0.0.1", 60), static("a.lab.test", "10.0.1.1", 60),
				static("b.lab.test", "10.0.1.2", 60),
			}},
			store: []string{"a.lab.test. A 10.0.1.1", "b.lab.test. A 10.0.1.2", "keep.lab.test. A 10.0.0.1"},
			// Added come first: one of them, then none of the removals.
			changes: []string{"record_added a.lab.test. 10.0.1.1 60", "source_replaced static:config"},
			explain: map[string][]string{
				"keep.lab.test": {"records[0]: keep.lab.test A 10.0.0.1 ttl 60"},
				"new.lab.test":  nil,
			},
		},
		{
			name:    "no static records",
			cfg:     records.Config{MaxEvents: 10},
			changes: []string{"record_removed a.lab.test. 10.0.1.1 60", "record_removed b.lab.test. 10.0.1.2 60", "record_removed keep.lab.test. 10.0.0.1 60", "source_replaced static:config"},
			explain: map[string][]string{"keep.lab.test": nil},
		},
	}
	h := newReloadHarness(t, first)
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			id := fmt.Sprintf("reload-%d", i)
			err := h.target.Apply(events.WithCorrelationID(context.Background(), id), st.cfg)
			if st.err != "" {
				require.ErrorContains(t, err, st.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, st.store, names(h.store.Snapshot(), records.StaticSource))
			assert.Equal(t, st.changes, h.changes(t, id, st.changes != nil))
			for name, want := range st.explain {
				var got []string
				for _, p := range h.reporter.Explain(records.StaticSource, name) {
					got = append(got, p.Text)
				}
				assert.Equal(t, want, got, "Explain(%s)", name)
			}
			assert.Equal(t, len(st.store), h.reporter.Status().(records.Status).StaticRecords)
		})
	}
}

func TestApplyTarget(t *testing.T) {
	h := newReloadHarness(t, records.Config{MaxEvents: 10, Static: []records.Static{static("keep.lab.test", "10.0.0.1", 60)}})
	assert.Equal(t, "records", h.target.Module)
	for key, live := range map[string]bool{"records": true, "records[0].value": true, "record_events": true, "dns.zones": false} {
		assert.Equal(t, live, h.target.Covers(key), key)
	}
	require.ErrorContains(t, h.target.Apply(context.Background(), []records.Static{}), "not a records.Config")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorContains(t, h.target.Apply(ctx, records.Config{MaxEvents: 10}), "context canceled")
	assert.Equal(t, []string{"keep.lab.test. A 10.0.0.1"}, names(h.store.Snapshot(), records.StaticSource),
		"an ended context changes nothing")
}
