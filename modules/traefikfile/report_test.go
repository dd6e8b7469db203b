package traefikfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	nas := filepath.Join(dir, "nas.yml")
	write(t, nas, `
http:
  routers:
    nas:
      rule: "Host(`+"`nas.lab.test`"+`) || Host(`+"`NAS.lab.test`"+`)"
    both:
      rule: "Host(`+"`files.lab.test`"+`, `+"`nas.lab.test`"+`)"
      ruleSyntax: v2
tcp:
  routers:
    db:
      rule: "HostSNI(`+"`db.lab.test`"+`)"
`)
	broken := filepath.Join(dir, "broken.yml")
	write(t, broken, "http: [unclosed\n")
	outside := filepath.Join(t.TempDir(), "other.yml")
	write(t, outside, rule("nas.lab.test"))
	p, err := NewProducer(testConfig(dir), nil, eventstest.NewBus(t))
	require.NoError(t, err)

	tests := []struct {
		name, source, lookup string
		want                 []status.Provenance
	}{
		{name: "every router whose rule names it, once each", source: SourcePrefix + nas, lookup: "nas.lab.test",
			want: []status.Provenance{
				{Kind: "traefik", File: nas, Router: "http.both", Rule: "Host(`files.lab.test`, `nas.lab.test`)"},
				{Kind: "traefik", File: nas, Router: "http.nas", Rule: "Host(`nas.lab.test`) || Host(`NAS.lab.test`)"},
			}},
		{name: "a tcp router", source: SourcePrefix + nas, lookup: "DB.lab.test.", want: []status.Provenance{
			{Kind: "traefik", File: nas, Router: "tcp.db", Rule: "HostSNI(`db.lab.test`)"},
		}},
		{name: "no router names it now: the file only", source: SourcePrefix + nas, lookup: "gone.lab.test",
			want: []status.Provenance{{Kind: "traefik", File: nas}}},
		{name: "a file that does not parse now: the file only", source: SourcePrefix + broken, lookup: "nas.lab.test",
			want: []status.Provenance{{Kind: "traefik", File: broken}}},
		{name: "outside the watched directories", source: SourcePrefix + outside, lookup: "nas.lab.test"},
		{name: "another module's source", source: "hosts:" + nas, lookup: "nas.lab.test"},
		{name: "not a name", source: SourcePrefix + nas, lookup: "bad name!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, p.Explain(tt.source, tt.lookup))
		})
	}
}

func TestReporterAndHealth(t *testing.T) {
	tests := []struct {
		name    string
		present bool
		message string
	}{
		{name: "present directory", present: true, message: "loaded 1 files, 1 records"},
		{name: "missing directory", present: false, message: "loaded 0 files, 0 records; not found yet: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dynamic")
			if tt.present {
				require.NoError(t, os.Mkdir(dir, 0o755))
				write(t, filepath.Join(dir, "a.yml"), rule("a.lab.test"))
			}
			h := newHarness(t, testConfig(dir))
			e := h.watch.Expect(t, "healthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
			assert.Equal(t, "traefikfile", e.Component)
			want := tt.message
			if !tt.present {
				want += dir
			}
			assert.Equal(t, want, e.Message)
			var kinds []string
			for _, e := range h.watch.Events() {
				kinds = append(kinds, string(e.EventKind()))
			}
			if tt.present {
				assert.Equal(t, []string{"file_created", "healthy"}, kinds, "healthy after the first load")
			}

			r := Reporter(h.producer)
			assert.Equal(t, "traefikfile", r.Name)
			b, err := json.Marshal(r.Status())
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(b, &got))
			assert.Equal(t, true, got["running"])
			assert.Equal(t, []any{dir}, got["directories"])
		})
	}
}
