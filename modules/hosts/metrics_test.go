package hosts

import (
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

// closedCircuit are the retry series of a directory whose circuit is closed and never failed.
func closedCircuit(dir string) map[string]float64 {
	return map[string]float64{
		`joyride_retry_circuit{source="hosts",state="closed",target="` + dir + `"}`:    1,
		`joyride_retry_circuit{source="hosts",state="open",target="` + dir + `"}`:      0,
		`joyride_retry_circuit{source="hosts",state="half_open",target="` + dir + `"}`: 0,
		`joyride_retry_failures_total{source="hosts",target="` + dir + `"}`:            0,
	}
}

// TestCollector loads real files and scrapes what the producer counted.
func TestCollector(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  map[string]float64
	}{
		{
			name: "no file",
			want: map[string]float64{"joyride_hosts_files": 0, "joyride_hosts_records": 0, "joyride_hosts_bad_lines": 0},
		},
		{
			name:  "a clean file",
			files: map[string]string{"lab": "10.0.0.1 web.lan www.lan\n10.0.0.2 db.lan\n"},
			want:  map[string]float64{"joyride_hosts_files": 1, "joyride_hosts_records": 3, "joyride_hosts_bad_lines": 0},
		},
		{
			name: "bad lines in two files",
			files: map[string]string{
				"lab":   "10.0.0.1 web.lan\nnot an address\n",
				"other": "10.0.0.3 ok.lan bad!name.lan\n300.1.1.1 broken.lan\n::1 local6.lan\n",
			},
			want: map[string]float64{"joyride_hosts_files": 2, "joyride_hosts_records": 3, "joyride_hosts_bad_lines": 3},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range c.files {
				write(t, filepath.Join(dir, name), text)
			}
			h := newHarness(t, testConfig("auto", dir)).start()
			maps.Copy(c.want, closedCircuit(dir))
			var got map[string]float64
			ok := assert.Eventually(t, func() bool {
				got = statustest.Collect(t, newCollector(h.p)).Series
				return assert.ObjectsAreEqual(c.want, got)
			}, eventstest.Timeout, 10*time.Millisecond)
			require.True(t, ok, "got %v", got)
		})
	}
}
