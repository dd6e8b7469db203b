package hosts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events"
)

const (
	// maxDebounceFactor bounds how long a file that is written continuously waits: a burst is cut off after this
	// many debounce intervals, so a log-like writer cannot postpone a reload for ever.
	maxDebounceFactor = 10
	// maxLoggedBadLines bounds the warnings for one load of one file; the FileEvent still counts them all.
	maxLoggedBadLines = 20
	// kubernetesData is the symlink a Kubernetes ConfigMap or Secret volume swaps atomically on update. It is a
	// dotfile, and the visible files are symlinks that never change themselves, so an event on it means "rescan".
	kubernetesData = "..data"
)

// watcher is the state of the watch loop. Once start has returned, only the loop goroutine touches it, so it
// needs no lock; the Producer's Status is the only thing shared, and it has its own.
type watcher struct {
	p     *Producer
	log   *zap.Logger
	cfg   Config
	fsw   *fsnotify.Watcher // nil in poll mode, or when fsnotify is unavailable in auto mode
	order []string          // the directories in configuration order, for deterministic scans
	dirs  map[string]*dirState
	files map[string]*fileState
	// pending holds the files (and directories, for a rescan) whose events are waiting out the debounce.
	pending map[string]pendingSync
	records int // records across all files
}

type dirState struct {
	present bool   // exists, as far as the last look showed
	watched bool   // fsnotify watches it; otherwise it is polled while present
	scanned bool   // has had a first full scan; changes after it also publish per-record events
	id      uint64 // identity of the watched directory, to notice it being replaced by a new one
	problem string // the last problem logged, so that a lasting one is logged once, not every poll
}

type fileState struct {
	stat fileStat
	// records is what the file last published, packed (and compressed when large): the next load is compared
	// with it and diffed against it.
	records kept
	count   int // records in it
	bad     int
}

// fileStat is what a poll compares to decide whether to re-read a file.
type fileStat struct {
	size  int64
	mtime int64 // UnixNano
	id    uint64
}

func statOf(info fs.FileInfo) fileStat {
	return fileStat{size: info.Size(), mtime: info.ModTime().UnixNano(), id: fileID(info)}
}

type pendingSync struct{ first, due time.Time }

func newWatcher(p *Producer) *watcher {
	w := &watcher{
		p:       p,
		log:     p.log,
		cfg:     p.cfg,
		order:   p.dirs,
		dirs:    make(map[string]*dirState, len(p.dirs)),
		files:   make(map[string]*fileState),
		pending: make(map[string]pendingSync),
	}
	for _, d := range p.dirs {
		w.dirs[d] = &dirState{}
	}
	return w
}

// watch adds an fsnotify watch on dir, leaving it to be polled when that is impossible. It watches the
// directory, not its files, so that new files, deletions and editors that save by renaming over the file are
// all seen.
func (w *watcher) watch(dir string) error {
	ds := w.dirs[dir]
	ds.watched = false
	if w.fsw == nil {
		return nil
	}
	if err := w.fsw.Add(dir); err != nil {
		return err
	}
	ds.watched = true
	ds.id = 0
	if info, err := os.Stat(dir); err == nil {
		ds.id = fileID(info)
	}
	return nil
}

// watchOrPoll is watch where failing is not fatal (auto mode, or a directory that appears or is replaced while
// running, when start-up can no longer fail): the directory is polled instead.
func (w *watcher) watchOrPoll(dir string) {
	if err := w.watch(dir); err != nil {
		log := w.log.Warn
		if w.cfg.Mode == "notify" {
			log = w.log.Error
		}
		log("cannot watch hosts directory with fsnotify; polling it", zap.String("directory", dir),
			zap.Duration("poll_interval", w.cfg.PollInterval), zap.Error(err))
	}
}

func (w *watcher) closeFS() {
	if w.fsw != nil {
		_ = w.fsw.Close() // only on a failed start; the error that failed it is the one worth returning
		w.fsw = nil
	}
}

func (w *watcher) run(ctx context.Context) {
	for _, d := range w.order {
		if w.dirs[d].present {
			w.fullScan(ctx, d)
		}
	}
	ticker := time.NewTicker(w.cfg.PollInterval)
	defer ticker.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var fsEvents <-chan fsnotify.Event
	var fsErrors <-chan error
	if w.fsw != nil {
		fsEvents, fsErrors = w.fsw.Events, w.fsw.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fsEvents:
			if !ok {
				return // closed by stop
			}
			w.onEvent(ev)
		case err, ok := <-fsErrors:
			if !ok {
				return
			}
			w.onError(ctx, err)
		case <-ticker.C:
			w.tick(ctx)
		case <-debounce.C:
			w.flush(ctx)
		}
		if due, ok := w.nextDue(); ok {
			debounce.Reset(time.Until(due))
		}
	}
}

// fullScan loads a directory that has just come into view (at start, or when it appears later) and announces
// it with DirectoryScanned.
func (w *watcher) fullScan(ctx context.Context, dir string) {
	if !w.rescan(ctx, dir, false) {
		return
	}
	ds := w.dirs[dir]
	first := !ds.scanned
	ds.scanned = true
	ev := &events.FileEvent{Metadata: events.Metadata{Source: moduleName}, Kind: events.DirectoryScanned, Path: dir}
	if err := w.p.bus.Publish(ctx, ev); err != nil {
		w.log.Error("publishing directory scan", zap.String("directory", dir), zap.Error(err))
	}
	files := w.filesIn(dir)
	records := 0
	for _, f := range files {
		records += w.files[f].count
	}
	w.log.Info("hosts directory loaded", zap.String("directory", dir), zap.Bool("first", first),
		zap.Bool("fsnotify", ds.watched), zap.Int("files", len(files)), zap.Int("records", records))
}

// rescan compares dir with what is loaded: new and changed files (or every file when force is set) are read,
// files that vanished are removed. It reports whether the directory could be listed.
func (w *watcher) rescan(ctx context.Context, dir string, force bool) bool {
	ds := w.dirs[dir]
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.vanished(ctx, dir)
		} else {
			w.problem(dir, "cannot list hosts directory; keeping its records", err)
		}
		return false
	}
	ds.problem = ""
	if ds.watched && w.fsw != nil {
		// A directory deleted and recreated between two looks has lost its watch with its old inode.
		if info, err := os.Stat(dir); err == nil && fileID(info) != ds.id {
			_ = w.fsw.Remove(dir) // usually already gone with the old directory
			w.watchOrPoll(dir)
		}
	}
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		if ctx.Err() != nil {
			return false // stopping: a large directory need not hold up OnStop
		}
		if e.IsDir() || ignored(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		listed[path] = true
		w.syncFile(ctx, path, force)
	}
	for _, path := range w.filesIn(dir) {
		if !listed[path] {
			w.syncFile(ctx, path, true)
		}
	}
	return true
}

// vanished removes the records of a directory that no longer exists; tick looks for it to come back.
func (w *watcher) vanished(ctx context.Context, dir string) {
	ds := w.dirs[dir]
	if !ds.present {
		return
	}
	ds.present = false
	if ds.watched {
		_ = w.fsw.Remove(dir) // inotify has usually dropped the watch with the directory
		ds.watched = false
	}
	w.log.Warn("hosts directory disappeared; removing its records until it comes back", zap.String("directory", dir))
	for _, path := range w.filesIn(dir) {
		w.remove(ctx, path)
	}
}

// filesIn returns the loaded files of dir, sorted.
func (w *watcher) filesIn(dir string) []string {
	var out []string
	for path := range w.files {
		if filepath.Dir(path) == dir {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// problem logs a directory problem once until it changes or clears.
func (w *watcher) problem(dir, msg string, err error) {
	ds := w.dirs[dir]
	if ds.problem == err.Error() {
		return
	}
	ds.problem = err.Error()
	w.log.Warn(msg, zap.String("directory", dir), zap.Error(err))
}

// tick looks for missing directories and rescans the polled ones.
func (w *watcher) tick(ctx context.Context) {
	for _, d := range w.order {
		ds := w.dirs[d]
		switch {
		case !ds.present:
			present, err := checkDir(d)
			if err != nil {
				w.problem(d, "hosts directory appeared but cannot be used", err)
				continue
			}
			if !present {
				continue
			}
			ds.present = true
			w.log.Info("hosts directory appeared", zap.String("directory", d))
			if w.cfg.Mode != "poll" {
				w.watchOrPoll(d)
			}
			w.fullScan(ctx, d)
		case !ds.scanned:
			w.fullScan(ctx, d) // the first scan could not list it; try again
		case !ds.watched:
			w.rescan(ctx, d, false)
		}
	}
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

func (w *watcher) onEvent(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	if _, ok := w.dirs[name]; ok {
		w.schedule(name) // the directory itself was removed, renamed or had its permissions changed
		return
	}
	dir, base := filepath.Dir(name), filepath.Base(name)
	if _, ok := w.dirs[dir]; !ok {
		return
	}
	switch {
	case base == kubernetesData:
		w.schedule(dir)
	case !ignored(base):
		w.schedule(name)
	}
}

func (w *watcher) onError(ctx context.Context, err error) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("fsnotify error", zap.Error(err))
		return
	}
	// Events were lost: nothing short of re-reading everything is reliable.
	w.log.Warn("fsnotify queue overflowed; rescanning every hosts directory", zap.Error(err))
	for _, d := range w.order {
		if w.dirs[d].present {
			w.rescan(ctx, d, true)
		}
	}
}

// schedule (re)starts the debounce of key, a file or a directory to rescan.
func (w *watcher) schedule(key string) {
	now := time.Now()
	ps, ok := w.pending[key]
	if !ok {
		ps.first = now
	}
	ps.due = now.Add(w.cfg.Debounce)
	if limit := ps.first.Add(maxDebounceFactor * w.cfg.Debounce); ps.due.After(limit) {
		ps.due = limit
	}
	w.pending[key] = ps
}

func (w *watcher) nextDue() (time.Time, bool) {
	var next time.Time
	for _, ps := range w.pending {
		if next.IsZero() || ps.due.Before(next) {
			next = ps.due
		}
	}
	return next, !next.IsZero()
}

// flush processes the keys whose debounce has run out.
func (w *watcher) flush(ctx context.Context) {
	now := time.Now()
	var due []string
	for key, ps := range w.pending {
		if !ps.due.After(now) {
			due = append(due, key)
		}
	}
	slices.Sort(due)
	for _, key := range due {
		delete(w.pending, key)
		if ds, isDir := w.dirs[key]; isDir {
			if ds.present {
				w.rescan(ctx, key, false)
			}
		} else if w.dirs[filepath.Dir(key)].present {
			// An event means the file changed even if size and mtime look the same (coarse timestamps).
			w.syncFile(ctx, key, true)
		}
	}
}

// syncFile brings path's records up to date: it loads a new or changed file, removes a deleted one, and keeps
// the previous records of one that cannot be read. Without force, a file whose size, mtime and inode are
// unchanged is not re-read.
func (w *watcher) syncFile(ctx context.Context, path string, force bool) {
	old := w.files[path]
	// Stat before opening: opening a FIFO someone dropped in the directory would block the loop.
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && !info.Mode().IsRegular()):
		if old != nil {
			w.remove(ctx, path)
		}
		return
	case err != nil:
		w.log.Warn("cannot stat hosts file; keeping its records", zap.String("file", path), zap.Error(err))
		return
	case old != nil && !force && old.stat == statOf(info):
		return
	}
	f, err := os.Open(path)
	if err != nil {
		w.log.Warn("cannot open hosts file; keeping its records", zap.String("file", path), zap.Error(err))
		return
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		w.log.Warn("cannot stat hosts file; keeping its records", zap.String("file", path), zap.Error(err))
		return
	}
	r := &errReader{r: f}
	entries, bad := Parse(r, path)
	if r.err != nil {
		w.log.Warn("cannot read hosts file; keeping its records", zap.String("file", path), zap.Error(r.err))
		return
	}
	w.logBadLines(path, bad)
	records := Records(entries, w.cfg.TTL)
	next := pack(records)
	kind := events.FileCreated
	var prev packed
	prevCount := 0
	if old != nil {
		kind, prev, prevCount = events.FileChanged, w.previous(path, old), old.count
		if old.bad == len(bad) && bytes.Equal(prev, next) {
			old.stat = statOf(info) // touched or rewritten with the same content: nothing to announce
			return
		}
	}
	ev := &events.FileEvent{
		Metadata: events.Metadata{Source: moduleName},
		Kind:     kind,
		Path:     path,
		Snapshot: &events.RecordSnapshot{Source: SourcePrefix + path, Records: records},
		BadLines: len(bad),
	}
	if err := w.p.bus.Publish(ctx, ev); err != nil {
		// Keep the old state, so the next event or poll tries again.
		w.log.Error("publishing hosts file", zap.String("file", path), zap.Error(err))
		return
	}
	w.log.Debug("hosts file loaded", zap.String("file", path), zap.String("kind", string(kind)),
		zap.Int("records", len(records)), zap.Int("bad_lines", len(bad)))
	if w.dirs[filepath.Dir(path)].scanned && w.cfg.MaxRecordEvents > 0 {
		if len(prev) == 0 {
			w.publishDiff(ctx, ev, w.allChanged(events.RecordAdded, next), len(records))
		} else {
			changes := diffPacked(prev, next, w.cfg.TTL)
			w.publishDiff(ctx, ev, changes, len(changes))
		}
	}
	w.files[path] = &fileState{stat: statOf(info), records: keep(next), count: len(records), bad: len(bad)}
	w.setRecords(len(records) - prevCount)
}

// remove publishes the deletion of a loaded file, which removes its source from the store.
func (w *watcher) remove(ctx context.Context, path string) {
	old := w.files[path]
	ev := &events.FileEvent{
		Metadata: events.Metadata{Source: moduleName},
		Kind:     events.FileDeleted,
		Path:     path,
		Snapshot: &events.RecordSnapshot{Source: SourcePrefix + path, Records: []events.Record{}},
	}
	if err := w.p.bus.Publish(ctx, ev); err != nil {
		w.log.Error("publishing hosts file deletion", zap.String("file", path), zap.Error(err))
		return
	}
	w.log.Debug("hosts file removed", zap.String("file", path), zap.Int("records", old.count))
	if w.cfg.MaxRecordEvents > 0 {
		w.publishDiff(ctx, ev, w.allChanged(events.RecordRemoved, w.previous(path, old)), old.count)
	}
	delete(w.files, path)
	w.setRecords(-old.count)
}

// previous returns the records old keeps for path. Should they be unreadable (a bug), the file's next state
// is still published whole; only its per-record events are wrong, and the log says so.
func (w *watcher) previous(path string, old *fileState) packed {
	p, err := old.records.packed()
	if err != nil {
		w.log.Error("cannot compare hosts file with its previous load; its record events will be wrong",
			zap.String("file", path), zap.Error(err))
	}
	return p
}

func (w *watcher) setRecords(delta int) {
	w.records += delta
	w.p.setCounts(len(w.files), w.records)
}

func (w *watcher) logBadLines(path string, bad []*LineError) {
	for i, le := range bad {
		if i == maxLoggedBadLines {
			w.log.Warn("more bad lines in hosts file not logged", zap.String("file", path),
				zap.Int("not_logged", len(bad)-i), zap.Int("bad_lines", len(bad)))
			return
		}
		w.log.Warn("skipping bad line in hosts file", zap.String("file", le.File), zap.Int("line", le.Line),
			zap.String("reason", le.Err.Error()), zap.String("text", le.Text))
	}
}

// allChanged is diff's result for a file whose records all came (kind RecordAdded) or all went (RecordRemoved):
// each record in file order, cut to MaxRecordEvents, since decoding more than can be published would be wasted.
func (w *watcher) allChanged(kind events.HostsKind, p packed) []change {
	recs := p.records(w.cfg.TTL, w.cfg.MaxRecordEvents)
	changes := make([]change, len(recs))
	for i, r := range recs {
		changes[i] = change{kind, r}
	}
	return changes
}

// publishDiff publishes up to MaxRecordEvents HostsRecordEvents for the first of total changes, correlated with
// the FileEvent that carries the new state.
func (w *watcher) publishDiff(ctx context.Context, fe *events.FileEvent, changes []change, total int) {
	n := min(len(changes), w.cfg.MaxRecordEvents)
	for _, c := range changes[:n] {
		ev := &events.HostsRecordEvent{
			Metadata: events.Metadata{Source: moduleName, CorrelationID: fe.CorrelationID},
			Kind:     c.kind,
			Path:     fe.Path,
			Record:   c.record,
		}
		if err := w.p.bus.Publish(ctx, ev); err != nil {
			w.log.Error("publishing hosts record change", zap.String("file", fe.Path), zap.Error(err))
			return
		}
	}
	if total > n {
		w.log.Info("per-record events left out for a large hosts file change", zap.String("file", fe.Path),
			zap.Int("published", n), zap.Int("left_out", total-n))
	}
}

type change struct {
	kind   events.HostsKind
	record events.Record
}

// diff lists what changed from prev to next. A new record that takes the place of a vanished one with the same
// name and type (an address edited in place) is an update; other new records are additions and other vanished
// ones removals. Additions and updates come in next's order, then removals in prev's.
func diff(prev, next []events.Record) []change {
	type nameType struct{ name, typ string }
	inNext := make(map[events.Record]struct{}, len(next))
	for _, r := range next {
		inNext[r] = struct{}{}
	}
	inPrev := make(map[events.Record]struct{}, len(prev))
	gone := make(map[nameType][]events.Record)
	for _, r := range prev {
		inPrev[r] = struct{}{}
		if _, kept := inNext[r]; !kept {
			k := nameType{r.Name, r.Type}
			gone[k] = append(gone[k], r)
		}
	}
	var out []change
	replaced := make(map[events.Record]struct{})
	for _, r := range next {
		if _, had := inPrev[r]; had {
			continue
		}
		k := nameType{r.Name, r.Type}
		if g := gone[k]; len(g) > 0 {
			replaced[g[0]] = struct{}{}
			gone[k] = g[1:]
			out = append(out, change{events.RecordUpdated, r})
			continue
		}
		out = append(out, change{events.RecordAdded, r})
	}
	for _, r := range prev {
		if _, kept := inNext[r]; kept {
			continue
		}
		if _, ok := replaced[r]; !ok {
			out = append(out, change{events.RecordRemoved, r})
		}
	}
	return out
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
