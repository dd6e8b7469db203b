package dirwatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/retry"
)

// Mode is how changes are noticed.
type Mode string

const (
	// Auto uses fsnotify and polls a directory fsnotify cannot watch (network file systems, exhausted inotify
	// watch limits).
	Auto Mode = "auto"
	// Notify is Auto where fsnotify failing is an error of Open.
	Notify Mode = "notify"
	// Poll never uses fsnotify.
	Poll Mode = "poll"
)

// maxDebounceFactor bounds how long a file written continuously waits: its debounce is cut off this many
// Debounce intervals after the first event of the burst, so a writer that never pauses cannot postpone a
// delivery for ever.
const maxDebounceFactor = 10

// Config says what to watch and how.
type Config struct {
	// Dirs are the directories watched; every entry directly inside one whose name Match accepts is a file of
	// interest (subdirectories and non-regular files never are). Relative paths are made absolute.
	Dirs []string
	// Match reports whether a directory entry's base name is a file of interest; nil accepts every name. An
	// event on a name it refuses (a temporary file renamed away, Kubernetes' "..data" symlink swapped) rescans
	// the directory, which compares each file's size, modification time and inode.
	Match func(name string) bool
	Mode  Mode
	// PollInterval is how often every directory is rescanned (a safety net where fsnotify works) and directories
	// not there since Open are looked for. It must be positive. It is also the cap of the retry policy
	// (pkg/retry) under which a directory that vanished or cannot be listed is looked at again.
	PollInterval time.Duration
	// Debounce waits for a burst of events on one file to settle before it is delivered.
	Debounce time.Duration
	// MinInterval is the least time between two deliveries of a change of one file: a file that changes
	// continuously (a log written into the directory by mistake) is delivered at most once per MinInterval,
	// and its last change always is. Zero means no bound beyond the debounce.
	MinInterval time.Duration
	// OnRetry, if set, is told on Run's goroutine of every failed look at a directory on the retry schedule and
	// of every change of its circuit breaker, after the batch those looks produced is delivered.
	OnRetry func(context.Context, Retry)
}

// Retry is a failed look at a directory that vanished or cannot be listed, or a change of its circuit breaker.
type Retry struct {
	Dir string // absolute
	retry.Event
}

// Change is one file that changed, appeared or went away.
type Change struct {
	Path string // absolute
	// Removed is set when the file is gone (or is no longer a regular file, or its directory vanished);
	// otherwise it is new or may have changed and should be read.
	Removed bool
}

// Batch is what one delivery carries.
type Batch struct {
	Changes []Change // sorted by path, at most one per path
	// Scanned are the directories listed in full for the first time since they (re)appeared: every file in
	// them is in Changes.
	Scanned []string
}

// Apply is how a caller takes a batch in: each change to load or remove, in path order, then remove for every
// known file a full scan no longer lists (Unlisted; known is read after the changes, so it is the caller's
// state by then). It stops early and returns false when ctx ends: a large batch need not hold up a stop.
func (b Batch) Apply(ctx context.Context, known iter.Seq[string], load, remove func(context.Context, string)) bool {
	for _, c := range b.Changes {
		if ctx.Err() != nil {
			return false
		}
		if c.Removed {
			remove(ctx, c.Path)
		} else {
			load(ctx, c.Path)
		}
	}
	for _, path := range b.Unlisted(known) {
		remove(ctx, path)
	}
	return true
}

// Unlisted returns the paths of known (files a caller loaded, perhaps in an earlier Run) that lie in a
// directory this batch scanned in full but that it does not list: files gone while nobody watched. Changes is
// sorted, so each lookup is a binary search.
func (b Batch) Unlisted(known iter.Seq[string]) []string {
	var out []string
	for path := range known {
		if !slices.Contains(b.Scanned, filepath.Dir(path)) {
			continue
		}
		if _, listed := slices.BinarySearchFunc(b.Changes, path, func(c Change, p string) int { return cmp.Compare(c.Path, p) }); !listed {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// Outside returns the paths of known (files a caller loaded) that do not lie directly in one of dirs, sorted:
// after the directories changed (a new configuration), the files of those no longer watched, whose records the
// caller removes.
func Outside(known iter.Seq[string], dirs []string) []string {
	var out []string
	for path := range known {
		if !slices.Contains(dirs, filepath.Dir(path)) {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// Watcher watches Config.Dirs. New only checks the configuration; Open looks at the directories and starts
// fsnotify; Run watches until its context ends. Only the goroutine running Run touches the state after Open.
type Watcher struct {
	cfg   Config
	log   *zap.Logger
	order []string // Config.Dirs, absolute, in configuration order, for deterministic scans
	fsw   *fsnotify.Watcher

	dirs    map[string]*dirState
	files   map[string]*fileState
	pending map[string]*pending
	changed map[string]bool // path → removed, for the next delivery
	scanned []string
	retried []Retry // for the next report
}

type dirState struct {
	present bool   // exists, as far as the last look showed
	watched bool   // fsnotify watches it
	scanned bool   // listed in full since it (re)appeared
	id      uint64 // identity of the watched directory, to notice it being replaced by a new one
	problem string // the problem last logged, so that a lasting one is logged once
	// failing is set while the directory is on the retry schedule: it vanished, or exists and cannot be listed.
	// A directory not there since Open is not failing, only not there yet: it is looked for every PollInterval.
	failing bool
	retry   *retry.Breaker
	due     time.Time // the next look while failing
}

type fileState struct {
	stat fileStat
	read time.Time // when a change of it was last delivered; zero for its first delivery
}

// fileStat is what a poll compares to decide whether a file changed.
type fileStat struct {
	size  int64
	mtime int64 // UnixNano
	id    uint64
}

func statOf(info fs.FileInfo) fileStat {
	return fileStat{size: info.Size(), mtime: info.ModTime().UnixNano(), id: fileID(info)}
}

// pending is a file to re-check, or a directory to rescan, once due.
type pending struct {
	first, due time.Time
	force      bool // deliver the file even if size, mtime and inode look unchanged (coarse timestamps)
}

// DefaultMinInterval is the MinInterval the producers use: a file written continuously (a log dropped into a
// watched directory by mistake) costs one read a second, whatever its writer does, and the first change after a
// quiet second is delivered at once.
const DefaultMinInterval = time.Second

// New checks cfg. It does no I/O and starts nothing.
func New(cfg Config, log *zap.Logger) (*Watcher, error) {
	switch {
	case cfg.Mode != Auto && cfg.Mode != Notify && cfg.Mode != Poll:
		return nil, fmt.Errorf("dirwatch: mode %q is not auto, notify or poll", cfg.Mode)
	case cfg.PollInterval <= 0:
		return nil, fmt.Errorf("dirwatch: poll interval %v is not positive", cfg.PollInterval)
	case cfg.Debounce < 0 || cfg.MinInterval < 0:
		return nil, fmt.Errorf("dirwatch: debounce %v and minimum interval %v must not be negative", cfg.Debounce, cfg.MinInterval)
	}
	if log == nil {
		log = zap.NewNop()
	}
	w := &Watcher{
		cfg:     cfg,
		log:     log,
		dirs:    make(map[string]*dirState),
		files:   make(map[string]*fileState),
		pending: make(map[string]*pending),
		changed: make(map[string]bool),
	}
	dirs, err := Dirs("dirwatch", cfg.Dirs)
	if err != nil {
		return nil, err
	}
	w.order = dirs
	policy := retry.For(cfg.PollInterval)
	for _, d := range dirs {
		w.dirs[d] = &dirState{retry: retry.New(policy)}
	}
	return w, nil
}

// Dirs returns dirs made absolute, in order and without duplicates: the form the watcher reports paths in, so a
// caller that names sources after files uses it for its own list too. what names the setting in errors.
func Dirs(what string, dirs []string) ([]string, error) {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("%s: directory %q: %w", what, d, err)
		}
		if !slices.Contains(out, abs) {
			out = append(out, abs)
		}
	}
	return out, nil
}

// Open checks every directory and starts fsnotify. A missing directory is not an error (it is logged and looked
// for every PollInterval); one that exists but is not a directory or cannot be listed is, and so is fsnotify
// failing in Notify mode. After a successful Open, Run must run: it releases what Open acquired.
func (w *Watcher) Open() error {
	for _, d := range w.order {
		present, err := checkDir(d)
		if err != nil {
			return err
		}
		if !present {
			w.log.Warn("directory does not exist; will load it when it appears",
				zap.String("directory", d), zap.Duration("check_interval", w.cfg.PollInterval))
		}
		w.dirs[d].present = present
	}
	if w.cfg.Mode == Poll || len(w.order) == 0 {
		return nil
	}
	fsw, err := fsnotify.NewWatcher()
	switch {
	case err != nil && w.cfg.Mode == Notify:
		return fmt.Errorf("start fsnotify: %w", err)
	case err != nil:
		w.log.Warn("fsnotify unavailable; polling every directory", zap.Error(err),
			zap.Duration("poll_interval", w.cfg.PollInterval))
		return nil
	}
	w.fsw = fsw
	for _, d := range w.order {
		if !w.dirs[d].present {
			continue
		}
		if w.cfg.Mode == Auto {
			w.watchOrPoll(d)
		} else if err := w.watch(d); err != nil {
			w.closeFS()
			return fmt.Errorf("watch directory %q: %w", d, err)
		}
	}
	return nil
}

// Run delivers the files of every present directory as one batch (delivered even when empty), then every change
// as it happens, until ctx ends. deliver runs on Run's goroutine, so nothing is noticed while it runs; events that arrive meanwhile wait
// in fsnotify's queue. Run closes fsnotify when it returns.
func (w *Watcher) Run(ctx context.Context, deliver func(context.Context, Batch)) {
	defer w.closeFS()
	for _, d := range w.order {
		if w.dirs[d].present {
			w.fullScan(d)
		}
	}
	// The first batch is delivered even when empty (no directory present yet): the caller's first load is done
	// with it, and it says so (a producer reports itself healthy).
	first, _ := w.take()
	deliver(ctx, first)
	w.report(ctx)
	ticker := time.NewTicker(w.cfg.PollInterval)
	defer ticker.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	if due, ok := w.nextDue(); ok { // a directory the first scan could not list
		debounce.Reset(time.Until(due))
	}
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
				fsEvents = nil
				continue
			}
			w.onEvent(ev, time.Now())
		case err, ok := <-fsErrors:
			if !ok {
				fsErrors = nil
				continue
			}
			w.onError(err)
		case <-ticker.C:
			w.tick()
		case <-debounce.C:
			now := time.Now()
			w.flush(now)
			w.retryDue(now)
		}
		if ctx.Err() != nil {
			return
		}
		w.deliver(ctx, deliver)
		w.report(ctx)
		if due, ok := w.nextDue(); ok {
			debounce.Reset(time.Until(due))
		}
	}
}

// First returns a deliver function for Run that passes every batch to deliver and, after the first batch only,
// calls loaded: the caller's first load is then done.
func First(deliver, loaded func(context.Context, Batch)) func(context.Context, Batch) {
	done := false
	return func(ctx context.Context, b Batch) {
		deliver(ctx, b)
		if !done {
			done = true
			loaded(ctx, b)
		}
	}
}

// File returns the path of source, a caller's store source for one file ("<prefix><path>"), when the file lies
// directly in one of dirs (as Dirs returns them): the file a caller may read again to explain its records. Any
// other source is refused, so that a request to explain one cannot make the caller read another file.
func File(source, prefix string, dirs []string) (string, bool) {
	path, ok := strings.CutPrefix(source, prefix)
	return path, ok && slices.Contains(dirs, filepath.Dir(path))
}

// Summary describes a caller's first load for its health report: "loaded 2 files, 5 records", naming the
// directories of dirs that first, the first batch, did not scan because they are not there (yet).
func Summary(files, records int, dirs []string, first Batch) string {
	msg := fmt.Sprintf("loaded %d files, %d records", files, records)
	var missing []string
	for _, d := range dirs {
		if !slices.Contains(first.Scanned, d) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		msg += "; not found yet: " + strings.Join(missing, ", ")
	}
	return msg
}

// deliver hands the changes gathered so far to f, if there are any.
func (w *Watcher) deliver(ctx context.Context, f func(context.Context, Batch)) {
	if b, ok := w.take(); ok {
		f(ctx, b)
	}
}

// report tells Config.OnRetry what the looks at failing directories found since the last report.
func (w *Watcher) report(ctx context.Context) {
	for _, r := range w.retried {
		if w.cfg.OnRetry != nil && ctx.Err() == nil {
			w.cfg.OnRetry(ctx, r)
		}
	}
	w.retried = w.retried[:0]
}

// take returns and forgets the changes gathered so far.
func (w *Watcher) take() (Batch, bool) {
	if len(w.changed) == 0 && len(w.scanned) == 0 {
		return Batch{}, false
	}
	b := Batch{Changes: make([]Change, 0, len(w.changed)), Scanned: w.scanned}
	for path, removed := range w.changed {
		b.Changes = append(b.Changes, Change{Path: path, Removed: removed})
	}
	slices.SortFunc(b.Changes, func(x, y Change) int { return cmp.Compare(x.Path, y.Path) })
	clear(w.changed)
	w.scanned = nil
	return b, true
}

// watch adds an fsnotify watch on dir. It watches the directory, not its files, so that new files, deletions
// and editors that save by renaming over a file are all seen.
func (w *Watcher) watch(dir string) error {
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

// watchOrPoll is watch where failing is not fatal (Auto mode, or a directory that appears or is replaced while
// running, when Open can no longer fail): the directory is then only polled.
func (w *Watcher) watchOrPoll(dir string) {
	if err := w.watch(dir); err != nil {
		log := w.log.Warn
		if w.cfg.Mode == Notify {
			log = w.log.Error
		}
		log("cannot watch directory with fsnotify; polling it", zap.String("directory", dir),
			zap.Duration("poll_interval", w.cfg.PollInterval), zap.Error(err))
	}
}

func (w *Watcher) closeFS() {
	if w.fsw != nil {
		if err := w.fsw.Close(); err != nil {
			w.log.Warn("closing fsnotify", zap.Error(err))
		}
		w.fsw = nil
	}
}

// fullScan lists a directory that has come into view (at start, or when it appears later); once it could be
// listed it is reported in Batch.Scanned.
func (w *Watcher) fullScan(dir string) {
	if w.scan(dir, false, time.Now()) {
		w.dirs[dir].scanned = true
		w.scanned = append(w.scanned, dir)
	}
}

// scan compares dir with what is known: new and changed files (every file when force is set) and vanished
// ones become changes. A file waiting out its debounce is left to it. scan reports whether dir could be listed.
func (w *Watcher) scan(dir string, force bool, now time.Time) bool {
	ds := w.dirs[dir]
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.vanished(dir)
		} else {
			w.problem(dir, "cannot list directory; keeping its files", err)
		}
		w.fail(dir, err)
		return false
	}
	if ds.problem != "" {
		ds.problem = ""
		w.log.Info("directory can be listed again", zap.String("directory", dir))
	}
	w.recovered(dir)
	if ds.watched && w.fsw != nil {
		// A directory deleted and recreated between two looks has lost its watch with its old inode.
		if info, err := os.Stat(dir); err == nil && fileID(info) != ds.id {
			_ = w.fsw.Remove(dir) // usually already gone with the old directory
			w.watchOrPoll(dir)
		}
	}
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.IsDir() || !w.match(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		listed[path] = true
		if _, waiting := w.pending[path]; waiting && !force {
			continue
		}
		w.check(path, force, now)
	}
	for _, path := range w.filesIn(dir) {
		if !listed[path] {
			w.check(path, true, now)
		}
	}
	return true
}

func (w *Watcher) match(name string) bool { return w.cfg.Match == nil || w.cfg.Match(name) }

// check stats one file and records a change when it is new, changed (or force is set) or gone. A change of a
// file delivered less than MinInterval ago waits until then.
func (w *Watcher) check(path string, force bool, now time.Time) {
	old := w.files[path]
	// Stat, never open: opening a FIFO someone dropped in the directory would block the watcher.
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && !info.Mode().IsRegular()):
		if old != nil {
			w.forget(path)
		}
		return
	case err != nil:
		// Its directory can be listed, so this is a passing state of the file; the next event or poll retries.
		w.log.Debug("cannot stat file", zap.String("file", path), zap.Error(err))
		return
	case old == nil:
		w.files[path] = &fileState{stat: statOf(info)}
		w.changed[path] = false
		return
	case !force && old.stat == statOf(info):
		return
	}
	if next := old.read.Add(w.cfg.MinInterval); !old.read.IsZero() && now.Before(next) {
		w.hold(path, next, force)
		return
	}
	old.stat, old.read = statOf(info), now
	w.changed[path] = false
}

// forget records that path is gone.
func (w *Watcher) forget(path string) {
	delete(w.files, path)
	delete(w.pending, path)
	w.changed[path] = true
}

// vanished forgets the files of a directory that no longer exists; tick looks for it to come back.
func (w *Watcher) vanished(dir string) {
	ds := w.dirs[dir]
	if !ds.present {
		return
	}
	ds.present, ds.scanned = false, false
	if ds.watched {
		_ = w.fsw.Remove(dir) // inotify has usually dropped the watch with the directory
		ds.watched = false
	}
	w.log.Warn("directory disappeared; removing its files until it comes back", zap.String("directory", dir))
	for _, path := range w.filesIn(dir) {
		w.forget(path)
	}
}

// filesIn returns the known files of dir, sorted.
func (w *Watcher) filesIn(dir string) []string {
	var out []string
	for path := range w.files {
		if filepath.Dir(path) == dir {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// problem logs a directory's problem once until it changes or clears.
func (w *Watcher) problem(dir, msg string, err error) {
	ds := w.dirs[dir]
	if ds.problem == err.Error() {
		return
	}
	ds.problem = err.Error()
	w.log.Warn(msg, zap.String("directory", dir), zap.Error(err))
}

// tick looks for the directories not there yet and rescans the present ones: polled directories depend on it,
// and it is a safety net for watched ones. A failing directory is left to its retry schedule (retryDue).
func (w *Watcher) tick() {
	now := time.Now()
	for _, d := range w.order {
		ds := w.dirs[d]
		switch {
		case ds.failing:
		case !ds.present:
			w.lookFor(d)
		default:
			w.scan(d, false, now)
		}
	}
}

// lookFor looks at a directory that is not present: it is scanned once it appears; one that appears but cannot
// be used, or a failing one still missing, is a failed look.
func (w *Watcher) lookFor(dir string) {
	ds := w.dirs[dir]
	present, err := checkDir(dir)
	switch {
	case err != nil:
		w.problem(dir, "directory appeared but cannot be used", err)
		w.fail(dir, err)
	case !present && ds.failing:
		w.fail(dir, fmt.Errorf("directory %q: %w", dir, fs.ErrNotExist))
	case present:
		ds.present, ds.problem = true, ""
		w.log.Info("directory appeared", zap.String("directory", dir))
		if w.fsw != nil {
			w.watchOrPoll(dir)
		}
		w.fullScan(dir)
	}
}

// retryDue looks again at the failing directories whose time has come. A look that finds the directory usable
// scans it (delivering what changed meanwhile) and closes its circuit.
func (w *Watcher) retryDue(now time.Time) {
	for _, d := range w.order {
		ds := w.dirs[d]
		if !ds.failing || ds.due.After(now) {
			continue
		}
		if e, ok := ds.retry.Attempt(); ok {
			w.retried = append(w.retried, Retry{Dir: d, Event: e})
		}
		switch {
		case !ds.present:
			w.lookFor(d)
		case !ds.scanned:
			w.fullScan(d)
		default:
			w.scan(d, false, now)
		}
	}
}

// fail puts dir on the retry schedule after a failed look: the next look is after the policy's delay, and
// events on the directory do not bring it forward (an open circuit leaves the directory alone).
func (w *Watcher) fail(dir string, err error) {
	ds := w.dirs[dir]
	e := ds.retry.Failure(err)
	ds.failing, ds.due = true, e.Status.NextAttempt
	delete(w.pending, dir)
	w.retried = append(w.retried, Retry{Dir: dir, Event: e})
}

// recovered takes dir off the retry schedule after a look that listed it.
func (w *Watcher) recovered(dir string) {
	ds := w.dirs[dir]
	ds.failing, ds.due = false, time.Time{}
	if e, ok := ds.retry.Success(); ok {
		w.retried = append(w.retried, Retry{Dir: dir, Event: e})
	}
}

func (w *Watcher) onEvent(ev fsnotify.Event, now time.Time) {
	name := filepath.Clean(ev.Name)
	if _, ok := w.dirs[name]; ok {
		w.schedule(name, false, now) // the directory itself was removed, renamed or had its permissions changed
		return
	}
	dir := filepath.Dir(name)
	if _, ok := w.dirs[dir]; !ok {
		return
	}
	if w.match(filepath.Base(name)) {
		w.schedule(name, true, now)
	} else {
		w.schedule(dir, false, now) // "..data" swapped, a temporary file renamed away: compare every file
	}
}

func (w *Watcher) onError(err error) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("fsnotify error", zap.Error(err))
		return
	}
	// Events were lost: nothing short of re-reading everything is reliable.
	w.log.Warn("fsnotify queue overflowed; rescanning every directory", zap.Error(err))
	now := time.Now()
	for _, d := range w.order {
		if ds := w.dirs[d]; ds.present && !ds.failing {
			w.scan(d, true, now)
		}
	}
}

// schedule (re)starts the debounce of key, a file or a directory to rescan.
func (w *Watcher) schedule(key string, force bool, now time.Time) {
	p := w.pending[key]
	if p == nil {
		p = &pending{first: now}
		w.pending[key] = p
	}
	p.force = p.force || force
	p.due = now.Add(w.cfg.Debounce)
	if limit := p.first.Add(maxDebounceFactor * w.cfg.Debounce); p.due.After(limit) {
		p.due = limit
	}
	if f := w.files[key]; f != nil && !f.read.IsZero() {
		if next := f.read.Add(w.cfg.MinInterval); p.due.Before(next) {
			p.due = next
		}
	}
}

// hold makes path due at due, keeping a pending force.
func (w *Watcher) hold(path string, due time.Time, force bool) {
	p := w.pending[path]
	if p == nil {
		p = &pending{first: due}
		w.pending[path] = p
	}
	p.due, p.force = due, p.force || force
}

// nextDue is the earliest of the pending keys' and the failing directories' next looks.
func (w *Watcher) nextDue() (time.Time, bool) {
	var next time.Time
	for _, p := range w.pending {
		if next.IsZero() || p.due.Before(next) {
			next = p.due
		}
	}
	for _, ds := range w.dirs {
		if ds.failing && (next.IsZero() || ds.due.Before(next)) {
			next = ds.due
		}
	}
	return next, !next.IsZero()
}

// flush processes the keys whose time has come. Those of a failing directory are dropped: its retry schedule
// looks at it, and a file that cannot be read there keeps its records.
func (w *Watcher) flush(now time.Time) {
	var due []string
	for key, p := range w.pending {
		if !p.due.After(now) {
			due = append(due, key)
		}
	}
	slices.Sort(due)
	for _, key := range due {
		p := w.pending[key]
		if p == nil {
			continue // a directory's rescan or vanishing already dealt with it
		}
		delete(w.pending, key)
		if ds, isDir := w.dirs[key]; isDir {
			if ds.present && !ds.failing {
				w.scan(key, p.force, now)
			}
		} else if ds := w.dirs[filepath.Dir(key)]; ds.present && !ds.failing {
			w.check(key, p.force, now)
		}
	}
}

// checkDir reports whether dir exists, and an error naming it when it exists but cannot be used.
func checkDir(dir string) (bool, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("directory %q: %w", dir, err)
	}
	if !info.IsDir() {
		return false, fmt.Errorf("directory %q is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("directory %q cannot be read: %w", dir, err)
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("directory %q cannot be read: %w", dir, err)
	}
	return true, nil
}
