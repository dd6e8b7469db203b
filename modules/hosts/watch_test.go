package hosts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
)

// The tests here drive the watch loop's steps synchronously, without starting it, and read what was published
// from the bus history: no timing is involved.

func newSyncWatcher(t *testing.T, cfg Config) (*watcher, *harness) {
	t.Helper()
	h := newHarness(t, cfg)
	w := newWatcher(h.p)
	for _, d := range h.p.dirs {
		w.dirs[d].present = true
	}
	return w, h
}

func (h *harness) history() []events.Event {
	return h.bus.History(events.Filter{Families: []events.Family{events.FamilyHosts}})
}

func TestOverflowForcesRescan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 web.lan\n")
	w, h := newSyncWatcher(t, testConfig("notify", dir))
	ctx := context.Background()
	w.fullScan(ctx, dir)
	require.Len(t, h.history(), 2)

	// Same size, same mtime, same inode: a poll cannot see this edit, but after lost events we re-read anyway.
	info, err := os.Stat(path)
	require.NoError(t, err)
	write(t, path, "10.0.0.2 web.lan\n")
	require.NoError(t, os.Chtimes(path, info.ModTime(), info.ModTime()))
	w.rescan(ctx, dir, false)
	require.Len(t, h.history(), 2, "a poll trusts size, mtime and inode")

	w.onError(ctx, fsnotify.ErrEventOverflow)
	got := h.history()
	require.Len(t, got, 4)
	fe := got[2].(*events.FileEvent)
	assert.Equal(t, events.FileChanged, fe.Kind)
	assert.Equal(t, []events.Record{a("web.lan", "10.0.0.2")}, fe.Snapshot.Records)
	assert.Equal(t, events.Kind(events.RecordUpdated), got[3].EventKind())
}

func TestPollNoticesVanishedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 web.lan\n")
	w, h := newSyncWatcher(t, testConfig("poll", dir))
	ctx := context.Background()
	w.fullScan(ctx, dir)

	require.NoError(t, os.Remove(path))
	w.tick(ctx)
	got := h.history()
	require.Len(t, got, 4)
	assert.Equal(t, events.Kind(events.FileDeleted), got[2].EventKind())
	assert.Equal(t, events.Kind(events.RecordRemoved), got[3].EventKind())
	assert.Empty(t, w.files)
}

func TestUnchangedContentPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 web.lan\n")
	w, h := newSyncWatcher(t, testConfig("notify", dir))
	ctx := context.Background()
	w.fullScan(ctx, dir)

	write(t, path, "10.0.0.1   web.lan # same records, different text\n")
	w.syncFile(ctx, path, true)
	assert.Len(t, h.history(), 2)
}

// TestLargeFileKeptCompressed: a file large enough to be kept compressed is compared, diffed and removed as a
// small one is.
func TestLargeFileKeptCompressed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big")
	const n = 5000
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
	write(t, path, lines(line))
	cfg := testConfig("notify", dir)
	cfg.MaxRecordEvents = 10
	w, h := newSyncWatcher(t, cfg)
	ctx := context.Background()
	w.fullScan(ctx, dir)
	require.True(t, w.files[path].records.deflated(), "kept compressed")
	require.Len(t, h.history(), 2)

	write(t, path, lines(func(i int) string { return line(i) + " # same records" }))
	w.syncFile(ctx, path, true)
	require.Len(t, h.history(), 2, "unchanged records publish nothing")

	write(t, path, lines(func(i int) string {
		switch i {
		case 7:
			return "10.9.9.9 host-7.lan"
		case 8:
			return ""
		}
		return line(i)
	}))
	w.syncFile(ctx, path, true)
	got := h.history()[2:]
	require.Len(t, got, 3, "the snapshot, one update, one removal")
	assert.Equal(t, events.Kind(events.FileChanged), got[0].EventKind())
	assert.Equal(t, a("host-7.lan", "10.9.9.9"), got[1].(*events.HostsRecordEvent).Record)
	assert.Equal(t, events.Kind(events.RecordUpdated), got[1].EventKind())
	assert.Equal(t, a("host-8.lan", "10.0.0.8"), got[2].(*events.HostsRecordEvent).Record)
	assert.Equal(t, events.Kind(events.RecordRemoved), got[2].EventKind())

	require.NoError(t, os.Remove(path))
	w.syncFile(ctx, path, true)
	got = h.history()[5:]
	require.Len(t, got, 1+cfg.MaxRecordEvents, "the deletion and the first removals")
	assert.Equal(t, events.Kind(events.FileDeleted), got[0].EventKind())
	assert.Equal(t, a("host-0.lan", "10.0.0.0"), got[1].(*events.HostsRecordEvent).Record)
	assert.Equal(t, events.Kind(events.RecordRemoved), got[1].EventKind())
}

func TestMaxRecordEvents(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 a.lan\n")
	cfg := testConfig("notify", dir)
	cfg.MaxRecordEvents = 2
	w, h := newSyncWatcher(t, cfg)
	ctx := context.Background()
	w.fullScan(ctx, dir)

	write(t, path, "10.0.0.1 a.lan b.lan c.lan d.lan e.lan\n")
	w.syncFile(ctx, path, true)
	got := h.history()[2:]
	require.Len(t, got, 3, "the snapshot and two of the four additions")
	fe := got[0].(*events.FileEvent)
	assert.Len(t, fe.Snapshot.Records, 5, "the snapshot is complete whatever the cap")
	for _, e := range got[1:] {
		assert.Equal(t, events.Kind(events.RecordAdded), e.EventKind())
		assert.Equal(t, fe.CorrelationID, e.Meta().CorrelationID)
	}
	logged := h.logs.FilterMessage("per-record events left out for a large hosts file change").AllUntimed()
	require.Len(t, logged, 1)
	assert.Equal(t, int64(2), logged[0].ContextMap()["left_out"])

	cfg.MaxRecordEvents = 0
	w.cfg = cfg
	write(t, path, "10.0.0.9 z.lan\n")
	w.syncFile(ctx, path, true)
	require.Len(t, h.history(), 6, "only the snapshot when per-record events are off")
}

func TestDebounceCoalescesBursts(t *testing.T) {
	w, _ := newSyncWatcher(t, testConfig("notify", t.TempDir()))
	w.cfg.Debounce = time.Second
	start := time.Now()
	for range 50 {
		w.schedule("/d/lab")
	}
	w.schedule("/d/other")
	require.Len(t, w.pending, 2)
	p := w.pending["/d/lab"]
	assert.False(t, p.due.Before(start.Add(time.Second)), "due a full debounce after the last event")
	assert.False(t, p.due.After(p.first.Add(maxDebounceFactor*time.Second)), "a burst cannot postpone for ever")
	next, ok := w.nextDue()
	require.True(t, ok)
	assert.Equal(t, p.due, next)
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name       string
		prev, next []events.Record
		want       []change
	}{
		{name: "nothing"},
		{
			name: "same",
			prev: []events.Record{a("w", "10.0.0.1")}, next: []events.Record{a("w", "10.0.0.1")},
		},
		{
			name: "added and removed",
			prev: []events.Record{a("old", "10.0.0.1")}, next: []events.Record{a("new", "10.0.0.1")},
			want: []change{{events.RecordAdded, a("new", "10.0.0.1")}, {events.RecordRemoved, a("old", "10.0.0.1")}},
		},
		{
			name: "address edited is an update",
			prev: []events.Record{a("w", "10.0.0.1"), a("x", "10.0.0.9")},
			next: []events.Record{a("w", "10.0.0.2"), a("x", "10.0.0.9")},
			want: []change{{events.RecordUpdated, a("w", "10.0.0.2")}},
		},
		{
			name: "a second address is an addition",
			prev: []events.Record{a("w", "10.0.0.1")},
			next: []events.Record{a("w", "10.0.0.1"), a("w", "10.0.0.2")},
			want: []change{{events.RecordAdded, a("w", "10.0.0.2")}},
		},
		{
			name: "type change is not an update",
			prev: []events.Record{a("w", "10.0.0.1")},
			next: []events.Record{aaaa("w", "fd00::1")},
			want: []change{{events.RecordAdded, aaaa("w", "fd00::1")}, {events.RecordRemoved, a("w", "10.0.0.1")}},
		},
		{
			name: "everything removed",
			prev: []events.Record{a("w", "10.0.0.1"), aaaa("w", "fd00::1")},
			want: []change{{events.RecordRemoved, a("w", "10.0.0.1")}, {events.RecordRemoved, aaaa("w", "fd00::1")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, diff(tt.prev, tt.next))
		})
	}
}
