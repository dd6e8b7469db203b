package integration

// `joyride check` (and its alias doctor) of the real binary: the DNS port free, taken by another process, or
// served by a running node; hosts files with a bad line; an engine that does not answer.

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkLines runs `joyride check` with args and returns its exit code and its lines of output.
func checkLines(t *testing.T, env []string, args ...string) (int, []string) {
	t.Helper()
	code, out, errOut := cliRun(t, env, append([]string{"check"}, args...)...)
	assert.Empty(t, errOut)
	return code, strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// hasLine requires a line of lines to match the regular expression re.
func hasLine(t *testing.T, lines []string, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if r.MatchString(l) {
			return
		}
	}
	t.Errorf("no line matches %s in:\n%s", re, strings.Join(lines, "\n"))
}

func TestCheckPortAndHostsFiles(t *testing.T) {
	ip := "127.0.0.51"
	port := freePort(t, []string{ip}, 0)
	addr := ip + ":" + itoa(port)
	hosts := t.TempDir()
	good, bad := filepath.Join(hosts, "good"), filepath.Join(hosts, "bad")
	writeFile(t, good, "10.0.0.1 a.lab.test b.lab.test\n")
	writeFile(t, bad, "10.0.0.2 c.lab.test\n10.0.0.300 d.lab.test\n10.0.0.4 e..lab.test f.lab.test\n")
	missing := filepath.Join(t.TempDir(), "missing")
	args := []string{"--profile", "hosts-only", "--set", "dns.bind_address=" + ip, "--set", "dns.port=" + itoa(port),
		"--set", "hosts.directories=" + hosts + "," + missing}

	t.Run("port free, a bad hosts line", func(t *testing.T) {
		code, lines := checkLines(t, nil, args...)
		assert.Equal(t, 1, code)
		assert.Equal(t, []string{
			"ok    dns port  udp " + addr + " is free",
			"ok    dns port  tcp " + addr + " is free",
			"warn  hosts     " + bad + ": 2 records, 2 bad lines",
			`FAIL  hosts     ` + bad + `:2: invalid address: ParseAddr("10.0.0.300"): IPv4 field has value >255: "10.0.0.300 d.lab.test"`,
			`FAIL  hosts     ` + bad + `:3: invalid name: name "e..lab.test" has an empty label: "10.0.0.4 e..lab.test f.lab.test"`,
			"ok    hosts     " + good + ": 2 records",
			"warn  hosts     " + missing + " does not exist: joyride waits for it",
			"2 problems found",
		}, lines)
	})
	t.Run("port taken by this test", func(t *testing.T) {
		writeFile(t, bad, "10.0.0.2 c.lab.test\n")
		pc, err := net.ListenPacket("udp", addr)
		require.NoError(t, err)
		defer pc.Close()
		code, lines := checkLines(t, nil, append(args, "--set", "hosts.directories="+hosts)...)
		assert.Equal(t, 1, code)
		hasLine(t, lines, `^FAIL +dns port +udp `+regexp.QuoteMeta(addr)+` is taken by \S+ \(pid `+itoa(os.Getpid())+`\)$`)
		hasLine(t, lines, `^ok +dns port +tcp `+regexp.QuoteMeta(addr)+` is free$`)
		assert.Equal(t, "1 problem found", lines[len(lines)-1])
	})
	t.Run("a wildcard address taken on one address", func(t *testing.T) {
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		defer ln.Close()
		code, lines := cliRunLines(t, "doctor", "--profile", "hosts-only", "--set", "dns.bind_address=0.0.0.0",
			"--set", "dns.port="+itoa(port), "--set", "hosts.directories="+hosts)
		assert.Equal(t, 1, code, "doctor is check")
		hasLine(t, lines, `^FAIL +dns port +tcp 0\.0\.0\.0:`+itoa(port)+` is taken by \S+ \(pid `+itoa(os.Getpid())+`\)$`)
	})
	t.Run("port served by a running node", func(t *testing.T) {
		writeFile(t, bad, "10.0.0.2 c.lab.test\n")
		p := start(t, nil, args...)
		code, lines := checkLines(t, nil, args...)
		assert.Equal(t, 0, code, "%s", strings.Join(lines, "\n"))
		hasLine(t, lines, `^ok +dns port +udp `+regexp.QuoteMeta(addr)+` is served by joyride \(pid `+itoa(p.cmd.Process.Pid)+`\): a node runs here$`)
		hasLine(t, lines, `^ok +dns port +tcp `+regexp.QuoteMeta(addr)+` is served by joyride `)
		assert.Equal(t, "no problems found", lines[len(lines)-1])
		p.stop(t)
	})
}

// cliRunLines runs a command and returns its exit code and output lines.
func cliRunLines(t *testing.T, args ...string) (int, []string) {
	t.Helper()
	code, out, _ := cliRun(t, nil, args...)
	return code, strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// An engine that does not answer is one line, and the labels are not checked.
func TestCheckEngineUnreachable(t *testing.T) {
	dead := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	code, lines := checkLines(t, nil, "--set", "docker.host="+dead, "--set", "modules.dns=false", "--set", "modules.hosts=false",
		"--timeout=2s")
	assert.Equal(t, 1, code)
	require.Len(t, lines, 2, "%s", strings.Join(lines, "\n"))
	assert.Regexp(t, `^FAIL +docker engine +`+regexp.QuoteMeta(dead)+` does not answer: .*no such file or directory`, lines[0])
	assert.Equal(t, "1 problem found", lines[1])
}
