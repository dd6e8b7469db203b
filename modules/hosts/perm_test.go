//go:build unix

package hosts

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
)

// nobody is the user permission tests run as when the suite runs as root.
const nobody = 65534

// rerunAsNobody makes a permission test meaningful when the suite runs as root (as in most CI containers), where
// permission bits are not enforced: it runs the calling test again in a copy of the test binary as user nobody,
// requires it to pass, and returns true; the caller then returns. As any other user it returns false and the
// test runs in place. Only when root cannot switch users does the test skip, saying why.
func rerunAsNobody(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	// The go tool builds the test binary in a directory only root can enter; copy it somewhere nobody can.
	binDir, err := os.MkdirTemp("", "hosts-test-bin-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(binDir) })
	require.NoError(t, os.Chmod(binDir, 0o755))
	bin := filepath.Join(binDir, "hosts.test")
	copyFile(t, exe, bin)

	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = binDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("running as root, which ignores permission bits, and cannot switch to uid %d to test them: %v", nobody, err)
	}
	require.NoError(t, err, "as uid %d:\n%s", nobody, out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "as uid %d:\n%s", nobody, out)
	t.Logf("passed as uid %d", nobody)
	return true
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}

func TestStartFailsOnUnreadableDirectory(t *testing.T) {
	if rerunAsNobody(t) {
		return
	}
	dir := filepath.Join(t.TempDir(), "locked")
	require.NoError(t, os.Mkdir(dir, 0o000))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) }) // let t.TempDir remove it

	h := newHarness(t, testConfig("auto", dir))
	err := h.lc.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
	assert.ErrorIs(t, err, os.ErrPermission)
	assert.False(t, h.p.Status().Running)
}

func TestUnreadableFileKeepsItsRecords(t *testing.T) {
	if rerunAsNobody(t) {
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "lab")
	write(t, path, "10.0.0.1 web.lan\n")
	h := newHarness(t, testConfig("notify", dir)).start()
	h.expectFile(events.DirectoryScanned, dir)

	require.NoError(t, os.Chmod(path, 0o000))
	require.Eventually(t, func() bool {
		return h.logs.FilterMessage("cannot open hosts file; keeping its records").Len() > 0
	}, eventstest.Timeout, 10*time.Millisecond)
	for _, e := range h.seen.Events() {
		if fe, ok := e.(*events.FileEvent); ok {
			assert.NotEqual(t, events.FileDeleted, fe.Kind, "an unreadable file is not a deleted one")
		}
	}
	assert.Equal(t, 1, h.p.Status().RecordsCount)

	// Readable again with new content: it loads as usual.
	require.NoError(t, os.Chmod(path, 0o644))
	write(t, path, "10.0.0.2 web.lan\n")
	h.expectFile(events.FileChanged, path, a("web.lan", "10.0.0.2"))
}
