package hosts

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	v6 := filepath.Join(dir, "v6")
	write(t, v6, "2001:DB8:0:0::1 v6.lab.test\n::ffff:10.0.0.3 v6.lab.test\n")
	outside := filepath.Join(t.TempDir(), "other")
	write(t, outside, "10.0.0.9 app.lab.test\n")
	p, err := NewProducer(testConfig("notify", dir), nil, eventstest.NewBus(t))
	require.NoError(t, err)

	tests := []struct {
		name, source, lookup string
		want                 []status.Provenance
	}{
		{name: "every line that names it, each with its address", source: SourcePrefix + lab, lookup: "app.lab.test", want: []status.Provenance{
			{Kind: "hosts", File: lab, Line: 2, Text: "10.0.0.1 app.lab.test www.lab.test", Value: "10.0.0.1"},
			{Kind: "hosts", File: lab, Line: 4, Text: "10.0.0.2\tdb.lab.test   APP.lab.test # second", Value: "10.0.0.2"},
		}},
		{name: "case and trailing dot do not matter", source: SourcePrefix + lab, lookup: "DB.Lab.Test.", want: []status.Provenance{
			{Kind: "hosts", File: lab, Line: 4, Text: "10.0.0.2\tdb.lab.test   APP.lab.test # second", Value: "10.0.0.2"},
		}},
		{name: "addresses as the store keeps them", source: SourcePrefix + v6, lookup: "v6.lab.test", want: []status.Provenance{
			{Kind: "hosts", File: v6, Line: 1, Text: "2001:DB8:0:0::1 v6.lab.test", Value: "2001:db8::1"},
			{Kind: "hosts", File: v6, Line: 2, Text: "::ffff:10.0.0.3 v6.lab.test", Value: "10.0.0.3"},
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

// Explain is bounded: an unauthenticated request for a name must not make the process read a file of any size,
// nor answer with every line of a generated file. What it leaves out ends with the file alone, so that the
// records of the lines not listed are still traced to their file.
func TestExplainBounds(t *testing.T) {
	dir := t.TempDir()
	// pad is comment lines of 1,000 bytes up to at least n bytes.
	pad := func(n int) string {
		line := "#" + strings.Repeat("x", 998) + "\n"
		return strings.Repeat(line, (n+len(line)-1)/len(line))
	}
	var rr strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&rr, "10.0.%d.%d rr.lab.test\n", i/250, i%250+1)
	}
	// The bound falls just after "cut.lab.test" on the last line: read up to the bound, it would name cut.lab.test.
	head := pad(maxExplainSize - 100_000)
	head += pad(maxExplainSize - len(head) - len("10.0.0.1 far.lab.test\n") - 1_000)
	head += "10.0.0.1 far.lab.test\n"
	cut := head + strings.Repeat("#", maxExplainSize-len(head)-len("10.0.0.2 cut.lab.test")-1) + "\n"
	cut += "10.0.0.2 cut.lab.test.longer\n10.0.0.3 past.lab.test\n"
	require.True(t, strings.HasSuffix(cut[:maxExplainSize], "\n10.0.0.2 cut.lab.test"), "the bound cuts the line after the name")
	files := map[string]string{"rr": rr.String(), "cut": cut}
	for name, content := range files {
		write(t, filepath.Join(dir, name), content)
	}
	p, err := NewProducer(testConfig("notify", dir), nil, eventstest.NewBus(t))
	require.NoError(t, err)
	rrLines := func(n int) []status.Provenance {
		var out []status.Provenance
		for i := range n {
			addr := fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
			out = append(out, status.Provenance{Kind: "hosts", File: filepath.Join(dir, "rr"), Line: i + 1,
				Text: addr + " rr.lab.test", Value: addr})
		}
		return out
	}

	tests := []struct {
		name, file, lookup string
		want               []status.Provenance
	}{
		{name: "2000 lines for one name: the first lines, then the file", file: "rr", lookup: "rr.lab.test",
			want: append(rrLines(maxExplainLines), status.Provenance{Kind: "hosts", File: filepath.Join(dir, "rr")})},
		{name: "a line before the size bound, then the file", file: "cut", lookup: "far.lab.test",
			want: []status.Provenance{
				{Kind: "hosts", File: filepath.Join(dir, "cut"), Line: strings.Count(head, "\n"), Text: "10.0.0.1 far.lab.test", Value: "10.0.0.1"},
				{Kind: "hosts", File: filepath.Join(dir, "cut")},
			}},
		{name: "the line the bound cuts is not a shorter name", file: "cut", lookup: "cut.lab.test",
			want: []status.Provenance{{Kind: "hosts", File: filepath.Join(dir, "cut")}}},
		{name: "a line past the bound is not read", file: "cut", lookup: "past.lab.test",
			want: []status.Provenance{{Kind: "hosts", File: filepath.Join(dir, "cut")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, p.Explain(SourcePrefix+filepath.Join(dir, tt.file), tt.lookup))
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
