package hosts

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/events"
)

// maxReportedBadLines is how many bad lines of one file the warning quotes; FileEvent.BadLines counts them all.
const maxReportedBadLines = 5

// loader turns the watcher's batches into FileEvents. Only the watch loop's goroutine touches it, so it needs
// no lock; the Producer's Status is the only thing shared, and it has its own.
type loader struct {
	p     *Producer
	log   *zap.Logger
	ttl   uint32 // of every record; set by each run before it loads
	files map[string]*fileState
	// seed keys the record hashes; one for the loader's life, so hashes of two loads compare.
	seed    maphash.Seed
	records int // records across all files
	bad     int // bad lines across all files
}

// fileState is what the loader keeps of a published file: not its records (the store holds those), only enough
// to tell whether a re-read changed them and what was last said about its bad lines.
type fileState struct {
	hash  uint64 // of the records last published
	count int    // records last published
	bad   int
	// reported is the bad-line summary last logged, so that a file whose first bad lines stay the same (a log
	// that grows) is warned about once, not at every read.
	reported string
}

func newLoader(p *Producer) *loader {
	return &loader{p: p, log: p.log, files: make(map[string]*fileState), seed: maphash.MakeSeed()}
}

// apply publishes one batch: each changed file, then each directory scanned in full. A directory's full scan
// lists every file it holds, so a file published before (by an earlier Start of the same Producer) that the scan
// did not list is gone, and its records are removed.
func (l *loader) apply(ctx context.Context, b dirwatch.Batch) {
	if !b.Apply(ctx, maps.Keys(l.files), l.load, l.remove) {
		return // stopping
	}
	for _, dir := range b.Scanned {
		l.scanned(ctx, dir)
	}
}

// keepOnly removes the files that do not lie directly in one of dirs (those of directories no longer
// configured, after Apply). It reports false, having stopped, when ctx ends.
func (l *loader) keepOnly(ctx context.Context, dirs []string) bool {
	for _, path := range dirwatch.Outside(maps.Keys(l.files), dirs) {
		if ctx.Err() != nil {
			return false
		}
		l.remove(ctx, path)
	}
	return ctx.Err() == nil
}

// ignored reports whether a directory entry is not a hosts file: dotfiles (hidden files, editor swap files,
// Kubernetes' ..data) and the backup and temporary files editors and tools leave next to the real one.
func ignored(name string) bool {
	return strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, "~") ||
		strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swx") ||
		strings.HasSuffix(name, ".tmp") ||
		(strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"))
}

// load reads a new or changed file and publishes its records, unless they are what it last published. A file
// that cannot be opened or read keeps its previous records.
func (l *loader) load(ctx context.Context, path string) {
	f, err := os.Open(path)
	if err != nil {
		l.log.Warn("cannot open hosts file; keeping its records", zap.String("file", path), zap.Error(err))
		return
	}
	defer f.Close()
	r := &errReader{r: f}
	entries, bad := Parse(r, path)
	if r.err != nil {
		l.log.Warn("cannot read hosts file; keeping its records", zap.String("file", path), zap.Error(r.err))
		return
	}
	old := l.files[path]
	reported := l.reportBadLines(path, old, bad)
	records := Records(entries, l.ttl)
	hash := recordsHash(l.seed, l.ttl, records)
	kind := events.FileCreated
	if old != nil {
		old.reported = reported
		if old.hash == hash && old.bad == len(bad) {
			return // touched, or rewritten with the same records: nothing to announce
		}
		kind = events.FileChanged
	}
	if !l.publish(ctx, kind, path, records, len(bad)) {
		return // the old state stays, so the next change tries again
	}
	l.log.Debug("hosts file loaded", zap.String("file", path), zap.String("kind", string(kind)),
		zap.Int("records", len(records)), zap.Int("bad_lines", len(bad)))
	prev, prevBad := 0, 0
	if old != nil {
		prev, prevBad = old.count, old.bad
	}
	l.files[path] = &fileState{hash: hash, count: len(records), bad: len(bad), reported: reported}
	l.count(len(records)-prev, len(bad)-prevBad)
}

// remove publishes the deletion of a loaded file, which removes its source from the store.
func (l *loader) remove(ctx context.Context, path string) {
	old := l.files[path]
	if old == nil {
		return // never published (it could not be read): nothing to remove
	}
	if !l.publish(ctx, events.FileDeleted, path, []events.Record{}, 0) {
		return
	}
	l.log.Debug("hosts file removed", zap.String("file", path), zap.Int("records", old.count))
	delete(l.files, path)
	l.count(-old.count, -old.bad)
}

// publish sends one file's whole snapshot and reports whether the bus took it.
func (l *loader) publish(ctx context.Context, kind events.FileKind, path string, records []events.Record, bad int) bool {
	ev := &events.FileEvent{
		Metadata: events.Metadata{Source: moduleName},
		Kind:     kind,
		Path:     path,
		Snapshot: &events.RecordSnapshot{Source: SourcePrefix + path, Records: records},
		BadLines: bad,
	}
	if err := l.p.bus.Publish(ctx, ev); err != nil {
		l.log.Error("publishing hosts file", zap.String("file", path), zap.String("kind", string(kind)), zap.Error(err))
		return false
	}
	return true
}

// scanned announces a directory whose files have all been published.
func (l *loader) scanned(ctx context.Context, dir string) {
	ev := &events.FileEvent{Metadata: events.Metadata{Source: moduleName}, Kind: events.DirectoryScanned, Path: dir}
	if err := l.p.bus.Publish(ctx, ev); err != nil {
		l.log.Error("publishing directory scan", zap.String("directory", dir), zap.Error(err))
	}
	files, records := 0, 0
	for path, f := range l.files {
		if filepath.Dir(path) == dir {
			files++
			records += f.count
		}
	}
	l.log.Info("hosts directory loaded", zap.String("directory", dir), zap.Int("files", files),
		zap.Int("records", records))
}

// count adds to the records and bad lines across all files and updates the Status.
func (l *loader) count(records, bad int) {
	l.records += records
	l.bad += bad
	l.p.setCounts(len(l.files), l.records, l.bad)
}

// reportBadLines logs one warning for a file's bad lines, quoting the first few, and returns that summary. A
// summary the file already had is not logged again: a log file written into the directory by mistake, whose
// first bad lines never change, is warned about once however often it grows (even when first read with fewer bad
// lines than are quoted), so Joyride's own log cannot feed on itself.
func (l *loader) reportBadLines(path string, old *fileState, bad []*LineError) string {
	if len(bad) == 0 {
		return ""
	}
	first := make([]string, 0, min(len(bad), maxReportedBadLines))
	for _, le := range bad[:cap(first)] {
		first = append(first, fmt.Sprintf("line %d: %v", le.Line, le.Err))
	}
	summary := strings.Join(first, "\n")
	// The same summary, or one that only adds lines after it (a growing file first read with fewer bad lines
	// than are quoted), is no news.
	if old != nil && old.reported != "" && (old.reported == summary || strings.HasPrefix(summary, old.reported+"\n")) {
		return summary
	}
	l.log.Warn("skipping bad lines in hosts file", zap.String("file", path), zap.Int("bad_lines", len(bad)),
		zap.Strings("first", first))
	return summary
}

// recordsHash stands for a file's records between loads: comparing it tells whether a re-read changed them
// without keeping a copy of what the store already holds. The type follows from the value and every record
// has the configured TTL, so the TTL once and each name and value say it all: a changed TTL (Apply) changes
// every file's hash, and every file read again is published again.
func recordsHash(seed maphash.Seed, ttl uint32, recs []events.Record) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	_, _ = h.Write(binary.BigEndian.AppendUint32(nil, ttl))
	for _, r := range recs {
		h.WriteString(r.Name)
		h.WriteByte(0)
		h.WriteString(r.Value)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// errReader remembers the read error that Parse turns into a LineError, so that a file that fails half-way is
// treated as unreadable (its previous records kept) rather than as a file that got shorter.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}
