package hosts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

// The loader tests hand batches to the loader synchronously, without a watcher, and read what was published
// from the bus history: no timing is involved.

func (h *harness) history() []events.Event {
	return h.bus.History(events.Filter{Families: []events.Family{events.FamilyHosts}})
}

func changed(paths ...string) dirwatch.Batch {
	var b dirwatch.Batch
	for _, p := range paths {
		b.Changes = append(b.Changes, dirwatch.Change{Path: p})
	}
	return b
}

func TestLoaderPublishesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big")
	const n = 200 // under the history's snapshot limit, so the snapshots can be counted
	lines := func(edit func(i int) string) string {
		var b strings.Builder
		for i := range n {
			if l := edit(i); l != "" {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}
	line := func(i int) string { return fmt.Sprintf("10.0.%d.%d host-%d.lan", i>>8, i&255, i) }
	h := newHarness(t, testConfig("notify", dir))
	l := newLoader(h.p)
	ctx := context.Background()

	steps := []struct {
		name    string
		content string // written before the batch; "" removes the file
		want    events.FileKind
		records int // in the published snapshot
	}{
		{name: "new", content: lines(line), want: events.FileCreated, records: n},
		{name: "same records, other text", content: lines(func(i int) string { return line(i) + " # same" })},
		{name: "one address edited, one line gone", content: lines(func(i int) string {
			switch i {
			case 7:
				return "10.9.9.9 host-7.lan"
			case 8:
				return ""
			}
			return line(i)
		}), want: events.FileChanged, records: n - 1},
		{name: "touched", content: "="},
		{name: "a bad line added", content: lines(line) + "bad line\n", want: events.FileChanged, records: n},
		{name: "removed", want: events.FileDeleted},
	}
	published := 0
	for _, s := range steps {
		switch s.content {
		case "":
			require.NoError(t, os.Remove(path))
			l.apply(ctx, dirwatch.Batch{Changes: []dirwatch.Change{{Path: path, Removed: true}}})
		case "=":
			now := time.Now()
			require.NoError(t, os.Chtimes(path, now, now))
			l.apply(ctx, changed(path))
		default:
			write(t, path, s.content)
			l.apply(ctx, changed(path))
		}
		got := h.history()
		if s.want == "" {
			require.Len(t, got, published, "%s: nothing published", s.name)
			continue
		}
		published++
		require.Len(t, got, published, s.name)
		fe := got[published-1].(*events.FileEvent)
		assert.Equal(t, s.want, fe.Kind, s.name)
		assert.Len(t, fe.Snapshot.Records, s.records, "%s: the whole snapshot", s.name)
		assert.Equal(t, "hosts:"+path, fe.Snapshot.Source)
	}
	assert.Empty(t, l.files)
	assert.Equal(t, 0, h.p.Status().RecordsCount)
}

func TestLoaderScannedAndUnreadable(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, testConfig("notify", dir))
	l := newLoader(h.p)
	missing := filepath.Join(dir, "gone-before-read")
	l.apply(context.Background(), dirwatch.Batch{Changes: []dirwatch.Change{{Path: missing}}, Scanned: []string{dir}})
	got := h.history()
	require.Len(t, got, 1, "a file that cannot be opened publishes nothing")
	assert.Equal(t, events.Kind(events.DirectoryScanned), got[0].EventKind())
	assert.Equal(t, 1, h.logs.FilterMessage("cannot open hosts file; keeping its records").Len())

	l.apply(context.Background(), dirwatch.Batch{Changes: []dirwatch.Change{{Path: missing, Removed: true}}})
	assert.Len(t, h.history(), 1, "removing a file never published publishes nothing")
}

// TestBadLinesReportedOnce: one warning per file summarising its bad lines, and none while its first bad lines
// stay the same, as they do in a log file that grows.
func TestBadLinesReportedOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	h := newHarness(t, testConfig("notify", dir))
	l := newLoader(h.p)
	bad := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "bad%d\n", i)
		}
		return b.String()
	}
	steps := []struct {
		name    string
		content string
		warns   bool
	}{
		{name: "six bad lines", content: "10.0.0.1 a.lan\n" + bad(1, 6), warns: true},
		{name: "the same file grown", content: "10.0.0.1 a.lan\n" + bad(1, 60)},
		{name: "a quoted bad line fixed", content: "10.0.0.1 a.lan\n10.0.0.2 b.lan\n" + bad(2, 60), warns: true},
		{name: "all fixed", content: "10.0.0.1 a.lan\n"},
		{name: "broken again", content: "10.0.0.1 a.lan\n" + bad(2, 2), warns: true},
		{name: "grown past the quoted lines", content: "10.0.0.1 a.lan\n" + bad(2, 40)},
	}
	warned := 0
	for _, s := range steps {
		write(t, path, s.content)
		l.apply(context.Background(), changed(path))
		if s.warns {
			warned++
		}
		assert.Equal(t, warned, h.logs.FilterMessage("skipping bad lines in hosts file").Len(), s.name)
	}
	last := h.logs.FilterMessage("skipping bad lines in hosts file").AllUntimed()[warned-1].ContextMap()
	assert.Equal(t, int64(1), last["bad_lines"])
	assert.Equal(t, []any{`line 2: invalid address: ParseAddr("bad2"): unable to parse IP`}, last["first"])
}

// TestGrowingFileThatIsNotAHostsFile: a log written into a hosts directory by mistake, appended to for a while,
// is read at a bounded rate, warned about once, and its last state is published.
func TestGrowingFileThatIsNotAHostsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "joyride.log")
	write(t, path, "")
	h := newHarness(t, testConfig("notify", dir))
	const interval = 250 * time.Millisecond
	h.p.minReread = interval
	h.start()
	h.expectFile(events.DirectoryScanned, dir)

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	const duration = 1500 * time.Millisecond
	began := time.Now()
	lines := 0
	for time.Since(began) < duration {
		lines++
		_, err := fmt.Fprintf(f, "2026-01-01T00:00:00Z\tWARN\thosts\tline %d of a log\n", lines)
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, f.Close())
	took := time.Since(began)

	h.seen.Expect(t, "the last state", func(e events.Event) bool {
		fe, ok := e.(*events.FileEvent)
		return ok && fe.Path == path && fe.BadLines == lines
	})
	reads := 0
	for _, e := range h.seen.Events() {
		if fe, ok := e.(*events.FileEvent); ok && fe.Path == path && fe.Kind == events.FileChanged {
			reads++
		}
	}
	bound := int(took/interval) + 2
	t.Logf("%d lines appended in %v: %d reads (bound %d)", lines, took, reads, bound)
	assert.LessOrEqual(t, reads, bound, "re-read at a bounded rate")
	assert.Equal(t, 1, h.logs.FilterMessage("skipping bad lines in hosts file").Len(), "warned once")
}

func TestWithoutFx(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "lab"), "10.0.0.1 web.lan\n")
	bus := eventstest.NewBus(t)
	seen := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHosts}})
	p, err := NewProducer(testConfig("auto", dir), zaptest.NewLogger(t), bus)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background()))
	seen.Expect(t, "the file", eventstest.Kind(events.FamilyHosts, events.Kind(events.FileCreated)))
	assert.True(t, p.Status().Running)
	assert.ErrorContains(t, p.Start(context.Background()), "already started")
	require.NoError(t, p.Stop(context.Background()))
	assert.False(t, p.Status().Running)

	// Started again, it loads the directory again: an unchanged file is not announced again, one created while
	// it was stopped is, and one deleted meanwhile has its records removed.
	write(t, filepath.Join(dir, "also"), "10.0.0.2 db.lan\n")
	write(t, filepath.Join(dir, "kept"), "10.0.0.3 kept.lan\n")
	scans := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool {
			got := 0
			for _, e := range seen.Events() {
				if e.EventKind() == events.Kind(events.DirectoryScanned) {
					got++
				}
			}
			return got == n
		}, eventstest.Timeout, 10*time.Millisecond)
	}
	require.NoError(t, p.Start(context.Background()))
	scans(2)
	require.NoError(t, p.Stop(context.Background()))
	require.NoError(t, os.Remove(filepath.Join(dir, "lab")))
	require.NoError(t, p.Start(context.Background()))
	scans(3)
	require.NoError(t, p.Stop(context.Background()))
	var got []string
	for _, e := range seen.Events() {
		if fe, ok := e.(*events.FileEvent); ok && fe.Kind != events.DirectoryScanned {
			got = append(got, string(fe.Kind)+" "+filepath.Base(fe.Path))
		}
	}
	assert.Equal(t, []string{"file_created lab", "file_created also", "file_created kept", "file_deleted lab"}, got)
	assert.Equal(t, 2, p.Status().Files)

	_, err = NewProducer(testConfig("auto", dir), nil, nil)
	assert.ErrorContains(t, err, "bus is required")
}

// BenchmarkLoadLargeFile is one edit of a 100,000-line file as the loader handles it: read, parse, build the
// snapshot, compare its hash with the last one and publish.
func BenchmarkLoadLargeFile(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big")
	content := bigHostsFile(100_000)
	edited := strings.Replace(content, "host-50002.example.lan", "host-50002.edited.lan", 1)
	bus := eventstest.NewBus(b)
	p, err := NewProducer(testConfig("notify", dir), nil, bus)
	require.NoError(b, err)
	l := newLoader(p)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := content
		if i%2 == 1 {
			c = edited
		}
		require.NoError(b, os.WriteFile(path, []byte(c), 0o644))
		b.StartTimer()
		l.apply(ctx, changed(path))
	}
}
