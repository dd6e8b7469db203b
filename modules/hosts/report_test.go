package hosts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "lab")
	write(t, lab, "# lab hosts\r\n10.0.0.1 app.lab.test www.lab.test\r\n\r\n10.0.0.2\tdb.lab.test   APP.lab.test # second\r\nbad line\r\n")
	outside := filepath.Join(t.TempDir(), "other")
	write(t, outside, "10.0.0.9 app.lab.test\n")
	p, err := NewProducer(testConfig("notify", dir), nil, eventstest.NewBus(t))
	require.NoError(t, err)

	tests := []struct {
		name, source, lookup string
		want                 []status.Provenance
	}{
		{name: "every line that names it", source: SourcePrefix + lab, lookup: "app.lab.test", want: []status.Provenance{
			{Kind: "hosts", File: lab, Line: 2, Text: "10.0.0.1 app.lab.test www.lab.test"},
			{Kind: "hosts", File: lab, Line: 4, Text: "10.0.0.2\tdb.lab.test   APP.lab.test # second"},
		}},
		{name: "case and trailing dot do not matter", source: SourcePrefix + lab, lookup: "DB.Lab.Test.", want: []status.Provenance{
			{Kind: "hosts", File: lab, Line: 4, Text: "10.0.0.2\tdb.lab.test   APP.lab.test # second"},
		}},
		{name: "a name no line has now: the file only", source: SourcePrefix + lab, lookup: "gone.lab.test",
			want: []status.Provenance{{Kind: "hosts", File: lab}}},
		{name: "a file that is gone: the file only", source: SourcePrefix + filepath.Join(dir, "deleted"),
			lookup: "app.lab.test", want: []status.Provenance{{Kind: "hosts", File: filepath.Join(dir, "deleted")}}},
		{name: "outside the watched directories", source: SourcePrefix + outside, lookup: "app.lab.test"},
		{name: "another module's source", source: "traefik:" + lab, lookup: "app.lab.test"},
		{name: "not a name", source: SourcePrefix + lab, lookup: "bad name!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, p.Explain(tt.source, tt.lookup))
		})
	}
}

func TestReporter(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "lab"), "10.0.0.1 a.lab.test b.lab.test\n")
	h := newHarness(t, testConfig("notify", dir)).start()
	h.expectFile(events.DirectoryScanned, dir)
	r := Reporter(h.p)
	assert.Equal(t, "hosts", r.Name)
	require.NotNil(t, r.Explain)
	require.Eventually(t, func() bool { return h.p.Status().RecordsCount == 2 }, eventstest.Timeout, 10*time.Millisecond)
	b, err := json.Marshal(r.Status())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	// joyride-python's hosts_monitor fields and types.
	assert.Equal(t, true, got["enabled"])
	assert.Equal(t, true, got["running"])
	assert.Equal(t, dir, got["directory"])
	assert.Equal(t, float64(2), got["records_count"])
}

// The producer reports itself healthy after its first load: the files of every present directory published, a
// missing directory named but not waited for.
func TestHealthyAfterFirstLoad(t *testing.T) {
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
			dir := filepath.Join(t.TempDir(), "hosts")
			if tt.present {
				require.NoError(t, os.Mkdir(dir, 0o755))
				write(t, filepath.Join(dir, "lab"), "10.0.0.1 a.lab.test\n")
			}
			h := newHarness(t, testConfig("notify", dir))
			w := eventstest.NewWatcher(t, h.bus, events.Filter{Families: []events.Family{events.FamilyHosts, events.FamilyHealth}})
			h.start()
			e := w.Expect(t, "healthy", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy))).(*events.HealthEvent)
			assert.Equal(t, "hosts", e.Component)
			assert.Equal(t, tt.message+map[bool]string{true: "", false: dir}[tt.present], e.Message)
			var kinds []string
			for _, e := range w.Events() {
				kinds = append(kinds, string(e.EventKind()))
			}
			if tt.present {
				assert.Equal(t, []string{"file_created", "directory_scanned", "healthy"}, kinds, "healthy after the scan")
			} else {
				assert.Equal(t, []string{"healthy"}, kinds)
			}
		})
	}
}
