package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// files returns the contents of every file in dir, by name.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

// TestRotation: a file is rotated before a write would take it past the size, the rotated files move up one and
// the oldest goes, so that at most maxFiles files are kept; a line is never split.
func TestRotation(t *testing.T) {
	line := func(i int) string { return fmt.Sprintf("%03d%s\n", i, strings.Repeat("x", 96)) } // 100 bytes
	tests := []struct {
		name     string
		maxSize  int64
		maxFiles int
		lines    int
		want     map[string][]int // file → the lines it holds
	}{
		{"below the size: one file", 1024, 3, 10, map[string][]int{"audit.log": seq(0, 10)}},
		{"ten lines a file, three files kept", 1000, 3, 35,
			map[string][]int{"audit.log": seq(30, 35), "audit.log.1": seq(20, 30), "audit.log.2": seq(10, 20)}},
		{"one file kept: a full file is started anew", 1000, 1, 25, map[string][]int{"audit.log": seq(20, 25)}},
		{"a size below one line: a line a file", 50, 2, 3, map[string][]int{"audit.log": {2}, "audit.log.1": {1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := newLogFile(filepath.Join(dir, "audit.log"), tt.maxSize, tt.maxFiles)
			defer l.close()
			for i := range tt.lines {
				_, err := l.write([]byte(line(i)))
				require.NoError(t, err)
			}
			want := map[string]string{}
			for name, lines := range tt.want {
				var b strings.Builder
				for _, i := range lines {
					b.WriteString(line(i))
				}
				want[name] = b.String()
			}
			assert.Equal(t, want, files(t, dir))
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestRotationRemovesFilesPastALoweredLimit: lowering max_files removes the files past it at the next rotation.
func TestRotationRemovesFilesPastALoweredLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	for i := 1; i <= 5; i++ {
		writeFile(t, fmt.Sprintf("%s.%d", path, i), "old\n")
	}
	writeFile(t, path, "full\n")
	l := newLogFile(path, 8, 2)
	defer l.close()
	rotated, err := l.write([]byte("new\n"))
	require.NoError(t, err)
	assert.True(t, rotated)
	assert.Equal(t, map[string]string{"audit.log": "new\n", "audit.log.1": "full\n"}, files(t, dir))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// TestFileUnderUs: a file deleted, or replaced by another program's rotation, is noticed at the next write, and
// the lines go to the file at the path, not to an inode nobody can read.
func TestFileUnderUs(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		want   map[string]string
	}{
		{"deleted", func(t *testing.T, path string) { require.NoError(t, os.Remove(path)) },
			map[string]string{"audit.log": "two\n"}},
		{"moved away and replaced", func(t *testing.T, path string) {
			require.NoError(t, os.Rename(path, path+".old"))
			writeFile(t, path, "")
		}, map[string]string{"audit.log": "two\n", "audit.log.old": "one\n"}},
		{"truncated in place (copytruncate)", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 0)) },
			map[string]string{"audit.log": "two\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "audit.log")
			l := newLogFile(path, 1<<20, 2)
			defer l.close()
			_, err := l.write([]byte("one\n"))
			require.NoError(t, err)
			tt.change(t, path)
			_, err = l.write([]byte("two\n"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, files(t, dir))
			assert.Equal(t, int64(4), l.size, "the size is the file's")
		})
	}
}

// TestPartialLine: a file that ends in a partial line (a crash mid-write) gets a newline before the next line, so
// that the next line stays whole.
func TestPartialLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	writeFile(t, path, "{\"whole\":1}\n{\"cut")
	l := newLogFile(path, 1<<20, 2)
	defer l.close()
	_, err := l.write([]byte("{\"next\":2}\n"))
	require.NoError(t, err)
	_, err = l.write([]byte("{\"next\":3}\n"))
	require.NoError(t, err)
	assert.Equal(t, "{\"whole\":1}\n{\"cut\n{\"next\":2}\n{\"next\":3}\n", files(t, dir)["audit.log"])
}

// TestFullDisk: a write that fails with ENOSPC (/dev/full, which fails every write so, for root too) is an
// error, and the file is tried again at the next write: once the path names a writable file, the same buffer is
// written.
func TestFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("/dev/full is needed to fill a disk without filling one: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	require.NoError(t, os.Symlink("/dev/full", path))
	l := newLogFile(path, 1<<20, 2)
	defer l.close()
	_, err := l.write([]byte("line\n"))
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Nil(t, l.f, "closed after a failure")

	require.NoError(t, os.Remove(path)) // room again
	_, err = l.write([]byte("line\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"audit.log": "line\n"}, files(t, dir))
}

// TestDirectory: the directory is created when the path is first opened; one that disappears later is waited
// for, not created again (doc.go: it may be a volume that went away), and writing resumes once it is back. A
// path under a regular file cannot be created, by root either.
func TestDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "logs", "joyride")
	path := filepath.Join(dir, "audit.log")
	l := newLogFile(path, 1<<20, 2)
	defer l.close()
	_, err := l.write([]byte("one\n"))
	require.NoError(t, err, "the directory is created")

	require.NoError(t, os.RemoveAll(dir))
	_, err = l.write([]byte("two\n"))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.NoDirExists(t, dir, "not created again")

	require.NoError(t, os.Mkdir(dir, 0o755))
	_, err = l.write([]byte("two\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"audit.log": "two\n"}, files(t, dir))

	blocked := newLogFile(filepath.Join(base, "logs", "joyride", "audit.log", "under-a-file"), 1<<20, 2)
	_, err = blocked.write(nil)
	require.ErrorIs(t, err, syscall.ENOTDIR)
}
