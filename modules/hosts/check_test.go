package hosts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Check reads the files the producer would, with its parser: good records counted, bad lines with their numbers.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	write("lab", "10.0.0.1 a.lab.test b.lab.test\nnot-an-ip c.lab.test\n10.0.0.1 a.lab.test\n# comment\n10.0.0.2 bad..lab.test\n")
	write(".hidden", "garbage\n")
	write("lab~", "garbage\n")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	missing := filepath.Join(t.TempDir(), "gone")

	got, err := Check([]string{dir, missing})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, dir, got[0].Dir)
	assert.False(t, got[0].Missing)
	require.NoError(t, got[0].Err)
	require.Len(t, got[0].Files, 1, "dotfiles, backups and directories are not hosts files")
	f := got[0].Files[0]
	assert.Equal(t, filepath.Join(dir, "lab"), f.Path)
	require.NoError(t, f.Err)
	assert.Equal(t, 2, f.Records, "a.lab.test twice is one record")
	require.Len(t, f.Bad, 2)
	assert.Equal(t, 2, f.Bad[0].Line)
	assert.Equal(t, 5, f.Bad[1].Line)
	assert.Equal(t, DirCheck{Dir: missing, Missing: true}, got[1])
}
