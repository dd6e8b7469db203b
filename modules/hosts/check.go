package hosts

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/joyride-dns/joyride/pkg/dirwatch"
)

// DirCheck is one hosts directory as Check read it.
type DirCheck struct {
	Dir string // absolute, as the producer names its files
	// Missing is a directory that does not exist: the producer waits for it, so it is no error.
	Missing bool
	Err     error // the directory exists but cannot be listed
	Files   []FileCheck
}

// FileCheck is one hosts file as Check read it.
type FileCheck struct {
	Path    string
	Records int          // the records the producer would publish
	Bad     []*LineError // the lines it would skip
	Err     error        // the file cannot be read: the producer keeps its previous records
}

// Check reads the hosts files of dirs as the producer loads them: every regular file directly inside each
// directory but the names the producer ignores, parsed with Parse. It is `joyride check`'s, which runs without
// the producer and tells which lines are bad before they are served.
func Check(dirs []string) ([]DirCheck, error) {
	abs, err := dirwatch.Dirs("hosts.directories", dirs)
	if err != nil {
		return nil, err
	}
	out := make([]DirCheck, 0, len(abs))
	for _, dir := range abs {
		dc := DirCheck{Dir: dir}
		entries, err := os.ReadDir(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			dc.Missing = true
		case err != nil:
			dc.Err = err
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			// Stat, never open, what is not a regular file: a FIFO would block the read.
			if e.IsDir() || ignored(e.Name()) {
				continue
			}
			if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
				continue
			}
			dc.Files = append(dc.Files, checkFile(path))
		}
		out = append(out, dc)
	}
	return out, nil
}

func checkFile(path string) FileCheck {
	fc := FileCheck{Path: path}
	f, err := os.Open(path)
	if err != nil {
		fc.Err = err
		return fc
	}
	defer f.Close()
	r := &errReader{r: f}
	entries, bad := Parse(r, path)
	if r.err != nil {
		fc.Err = r.err
		return fc
	}
	fc.Records, fc.Bad = len(Records(entries, 0)), bad
	return fc
}
