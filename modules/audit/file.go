package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// logFile is the audit log on disk: one open file at path, rotated by size into path.1 … path.<maxFiles-1>.
// Only the writer goroutine uses it.
type logFile struct {
	path     string
	maxSize  int64
	maxFiles int
	// mkdir says that the directory may be created: until the path is first opened. Once it has been, a
	// directory that disappears is waited for, not created again (doc.go says why).
	mkdir bool

	f    *os.File
	info os.FileInfo // of f, to tell the file at path from one that took its place
	size int64
	// unterminated says that the file ends in a partial line (a crash, a full disk the write could not be
	// undone on): the next write starts with a newline, so that only that line is lost, not the next one too.
	unterminated bool
}

func newLogFile(path string, maxSize int64, maxFiles int) *logFile {
	return &logFile{path: path, maxSize: maxSize, maxFiles: maxFiles, mkdir: true}
}

// write appends buf, whole lines, to the file at path: opened if it is not, reopened if the path no longer names
// the open file (deleted, or rotated by another program), rotated first when buf would take it past maxSize. An
// empty buf only opens the file. On an error the file is closed and nothing of buf is left in it, where the
// write can be undone; the caller retries the same buf. rotated says that a rotation was done.
func (l *logFile) write(buf []byte) (rotated bool, err error) {
	if err := l.check(); err != nil {
		return false, err
	}
	if l.size > 0 && l.size+int64(len(buf)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return false, err
		}
		rotated = true
	}
	if len(buf) == 0 {
		return rotated, nil
	}
	if l.unterminated {
		if err := l.append([]byte{'\n'}); err != nil {
			return rotated, err
		}
		l.unterminated = false
	}
	return rotated, l.append(buf)
}

// append writes b at the end of the file. A write that fails part-way is cut back off, so that no half line
// stays; if that fails too, the next open sees the partial line.
func (l *logFile) append(b []byte) error {
	n, err := l.f.Write(b)
	if err != nil {
		if n > 0 {
			_ = l.f.Truncate(l.size)
		}
		l.close()
		return err
	}
	l.size += int64(n)
	return nil
}

// check opens the file unless it is open and still the file at path.
func (l *logFile) check() error {
	if l.f != nil {
		fi, err := os.Stat(l.path)
		if err == nil && os.SameFile(fi, l.info) {
			if fi.Mode().IsRegular() {
				l.size = fi.Size() // another program may have truncated it (logrotate's copytruncate)
			}
			return nil
		}
		// Deleted or replaced under us: writing on would fill an inode nobody can read.
		l.close()
	}
	return l.open()
}

func (l *logFile) open() error {
	if l.mkdir {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.info, l.size, l.mkdir, l.unterminated = f, fi, 0, false, false
	if fi.Mode().IsRegular() && fi.Size() > 0 {
		l.size = fi.Size()
		var last [1]byte
		if _, err := f.ReadAt(last[:], fi.Size()-1); err == nil && last[0] != '\n' {
			l.unterminated = true
		}
	}
	return nil
}

// rotate moves the full file to path.1, the older ones one up, removes those past maxFiles (more than one when
// max_files was lowered), and opens a new file.
func (l *logFile) rotate() error {
	l.close()
	for i := max(l.maxFiles-1, 1); ; i++ {
		if err := os.Remove(l.rotated(i)); errors.Is(err, fs.ErrNotExist) {
			break
		} else if err != nil {
			return err
		}
	}
	for i := l.maxFiles - 2; i >= 1; i-- {
		if err := os.Rename(l.rotated(i), l.rotated(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	var err error
	if l.maxFiles == 1 {
		err = os.Remove(l.path)
	} else {
		err = os.Rename(l.path, l.rotated(1))
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return l.open()
}

func (l *logFile) rotated(i int) string { return fmt.Sprintf("%s.%d", l.path, i) }

func (l *logFile) close() {
	if l.f != nil {
		_ = l.f.Close()
		l.f, l.info = nil, nil
	}
}
