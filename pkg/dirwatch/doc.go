// Package dirwatch watches directories of files and delivers batches of the files that changed: the one
// watcher behind the hosts and traefikfile producers, meant for any later watcher of configuration files (a
// single file is a directory with a Match that accepts only its name).
//
// # Use
//
//	w, err := dirwatch.New(dirwatch.Config{Dirs: dirs, Match: isHostsFile, Mode: dirwatch.Auto,
//		PollInterval: 5 * time.Second, Debounce: 100 * time.Millisecond, MinInterval: time.Second}, log)
//	err = w.Open()              // in OnStart: fails on a path that is not a directory, or fsnotify in Notify mode
//	go w.Run(ctx, deliver)      // on a goroutine the caller owns (pkg/background); returns when ctx ends
//
// The first batch holds every file of every present directory and names the directories in Batch.Scanned; it is
// delivered even when no directory is present, so that a caller knows its first load is done (First calls a
// function after it). Later batches hold what changed. A Change says only which file to read again, or that it is gone: the watcher
// keeps each file's size, modification time and inode to tell whether it changed, never its content, so the
// caller reads the file itself and keeps what it needs.
//
// # Lifecycle and concurrency
//
// New checks the configuration and does no I/O. Open looks at the directories: a missing one is logged once and
// looked for every PollInterval; one that exists but is not a directory or cannot be listed is an error naming
// it. Open starts fsnotify (whose own goroutine is the only one the package causes) and Run closes it when its
// context ends, so a caller that stops Run's context and waits for it leaves nothing behind. All state belongs
// to Run's goroutine; deliver runs on it, so a slow deliver delays the next look, never races it.
//
// # How changes are noticed
//
// Directories are watched, not files, so new files, deletions and editors that save by renaming a temporary file
// over the original are all seen. An event on a file Match accepts re-delivers it even when size, mtime and inode
// look unchanged (coarse timestamps); an event on any other name (a temporary file, Kubernetes' "..data" symlink
// being swapped) rescans the directory, comparing size, mtime and inode of every file through symlinks. Every
// PollInterval every directory is rescanned the same way: that is how polled directories (Poll mode, or where
// fsnotify cannot watch in Auto mode) are followed, and a safety net elsewhere. An fsnotify queue overflow
// re-delivers every file. A directory that disappears has its files delivered as removed and is looked for
// again; one replaced by a new directory is watched anew.
//
// # Failing directories
//
// A directory that was there and vanished, or that exists and cannot be listed (not a directory any more, an
// I/O error, a stale network mount), is a failing source: it is looked at again under the retry policy
// (pkg/retry, capped at PollInterval; five failures in a row open its circuit, and a probe is then made every two
// PollIntervals) instead of at every tick, and fsnotify events on it do not bring the next look forward. Its
// files are kept while it cannot be listed: a caller keeps their records. Config.OnRetry is told of every failed
// look and every transition, after the batch of the same iteration; the caller publishes them and reports its
// health. A directory not there since Open is not failing: it is looked for every PollInterval, as before.
//
// # Bounds
//
// Events on one file are debounced (Debounce after the last, but at most ten Debounce intervals after the first
// of a burst). A file whose change was delivered less than MinInterval ago waits until then, so a file that
// changes continuously (a log written into a hosts directory by mistake) is read at most once per MinInterval
// however fast it is written, and its last change is always delivered. A file's first delivery is never held
// back, so an edit right after start is answered at once. A problem with a directory is logged once until it
// changes or clears.
//
// Alternatives considered: one fsnotify watch per file misses files created later and loses the watch when an
// editor renames over the file; delivering a channel of changes would need a second goroutine per watcher, and
// a callback on the caller's goroutine needs none.
package dirwatch
