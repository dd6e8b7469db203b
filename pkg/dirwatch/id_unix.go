//go:build unix

package dirwatch

import (
	"io/fs"
	"syscall"
)

// fileID is the inode number, so that a poll notices a file replaced by rename even when the new one has the
// same size and modification time.
func fileID(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
