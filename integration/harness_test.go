package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// binary is the joyride executable built once for every test in this package.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "joyride-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "joyride")
	build := exec.Command("go", "build", "-o", binary, "../cmd/joyride")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: building joyride:", err)
		return 1
	}
	defer removeJoyrideImage()
	return m.Run()
}

// proc is a running joyride process.
type proc struct {
	cmd    *exec.Cmd
	udp    string
	tcp    string
	http   string   // the HTTP API's address; "" when the http module does not run
	logs   *lineLog // stdout and stderr, interleaved
	stderr *lineLog
	exited chan struct{}
	err    error // set before exited is closed
}

// lineLog keeps every log line the process wrote and lets a test wait for one.
type lineLog struct {
	mu     sync.Mutex
	lines  []string
	signal chan struct{}
}

func (l *lineLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// find returns the first JSON log entry logged so far for which match is true, or nil.
func (l *lineLog) find(match func(map[string]any) bool) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && match(entry) {
			return entry
		}
	}
	return nil
}

// wait returns the first JSON log entry for which match is true.
func (l *lineLog) wait(t *testing.T, what string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		l.mu.Lock()
		lines := l.lines[seen:]
		seen = len(l.lines)
		l.mu.Unlock()
		for _, line := range lines {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && match(entry) {
				return entry
			}
		}
		select {
		case <-l.signal:
		case <-deadline:
			t.Fatalf("no log entry for %s within %v; log:\n%s", what, timeout, l)
		}
	}
}

// start runs `joyride run` with args and the given environment (nothing of the test's own environment leaks in
// but PATH and HOME) and waits until every module has started. It records the DNS addresses and, when the http
// module runs, the HTTP API's.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := launch(t, env, append([]string{"run"}, args...)...)
	entry := p.logs.wait(t, "the DNS server to start", 30*time.Second, func(e map[string]any) bool {
		return e["msg"] == "serving DNS"
	})
	p.udp, _ = entry["udp"].(string)
	p.tcp, _ = entry["tcp"].(string)
	require.NotEmpty(t, p.udp, "serving DNS log line has the UDP address")
	p.logs.wait(t, "start to complete", 30*time.Second, func(e map[string]any) bool { return e["msg"] == "started" })
	// Every module has started, so the HTTP server's line is logged by now if the module runs.
	p.http, _ = p.logs.find(func(e map[string]any) bool { return e["msg"] == "serving HTTP" })["addr"].(string)
	return p
}

// launch starts the binary and collects its output; the process is killed when the test ends if still running.
// `run` gets the HTTP API on a free loopback port unless env chooses its host or port: the profiles serve it on
// 0.0.0.0:5000, where parallel tests would collide and the host's network would reach it.
func launch(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if len(args) > 0 && args[0] == "run" {
		if !setsEnv(env, "JOYRIDE_HTTP_HOST", "FLASK_HOST") {
			base = append(base, "JOYRIDE_HTTP_HOST=127.0.0.1")
		}
		if !setsEnv(env, "JOYRIDE_HTTP_PORT", "FLASK_PORT") {
			base = append(base, "JOYRIDE_HTTP_PORT=0")
		}
	}
	cmd.Env = append(base, env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	p := &proc{cmd: cmd, logs: &lineLog{signal: make(chan struct{}, 1)}, stderr: &lineLog{signal: make(chan struct{}, 1)}, exited: make(chan struct{})}
	require.NoError(t, cmd.Start())
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
			for sc.Scan() {
				p.logs.add(sc.Text())
				if r == stderr {
					p.stderr.add(sc.Text())
				}
			}
		}()
	}
	go func() {
		readers.Wait()
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("joyride %v output:\n%s", args, p.logs)
		}
	})
	return p
}

// setsEnv reports whether env sets any of the variables names.
func setsEnv(env []string, names ...string) bool {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(names, name) {
			return true
		}
	}
	return false
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("joyride did not exit within %v", timeout)
	}
	if p.err == nil {
		return 0
	}
	var exit *exec.ExitError
	require.ErrorAs(t, p.err, &exit)
	return exit.ExitCode()
}

// stop sends SIGTERM and requires a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.wait(t, 20*time.Second), "exit code after SIGTERM")
}

// addr returns the process's DNS address for network ("udp" or "tcp").
func (p *proc) addr(network string) string {
	if network == "tcp" {
		return p.tcp
	}
	return p.udp
}

// query asks the process over network and returns the reply.
func (p *proc) query(t *testing.T, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	return dnstest.Exchange(t, network, p.addr(network), m)
}

// eventually polls a query over UDP until check passes.
func (p *proc) eventually(t *testing.T, what string, m *dns.Msg, check func(*dns.Msg) bool) *dns.Msg {
	t.Helper()
	return dnstest.Eventually(t, "udp", p.udp, m, check, what)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}
