//go:build !unix

package dirwatch

import "io/fs"

// fileID is unavailable here; polling compares size and modification time only.
func fileID(fs.FileInfo) uint64 { return 0 }
