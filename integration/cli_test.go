package integration

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

func TestStartFailuresExitWithOneLine(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.LocalAddr().(*net.UDPAddr).Port
	notDir := filepath.Join(t.TempDir(), "file")
	writeFile(t, notDir, "")

	cases := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr []string // substrings of the stderr output
	}{
		{"port taken", nil, []string{"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=" + itoa(port)}, 1,
			[]string{"joyride: ", "127.0.0.1:" + itoa(port), "address already in use"}},
		{"hosts directory is a file", nil, []string{"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories=" + notDir}, 1,
			[]string{"joyride: ", notDir}},
		{"invalid config", []string{"JOYRIDE_DNS_PORT=70000", "DNS_BIND_ADDRESS=not-an-ip"}, nil, 2,
			[]string{"dns.port = 70000 (env JOYRIDE_DNS_PORT)", "dns.bind_address", "not-an-ip", "DNS_BIND_ADDRESS"}},
		{"unknown profile", nil, []string{"--profile", "nope"}, 2, []string{"nope", "standalone"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := launch(t, tc.env, append([]string{"run", "--profile", "hosts-only"}, tc.args...)...)
			if tc.name == "unknown profile" {
				p = launch(t, tc.env, append([]string{"run"}, tc.args...)...)
			}
			require.Equal(t, tc.code, p.wait(t, 30*time.Second))
			stderr := strings.TrimSpace(p.stderr.String())
			for _, want := range tc.stderr {
				assert.Contains(t, stderr, want)
			}
			if tc.code == 1 {
				assert.Equal(t, 1, len(strings.Split(stderr, "\n")), "one line on stderr, got:\n%s", stderr)
			}
			if tc.code == 2 {
				assert.NotContains(t, p.logs.String(), "serving DNS", "configuration is checked before anything binds")
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestJoyridePythonEnvironment(t *testing.T) {
	hosts := t.TempDir()
	writeFile(t, filepath.Join(hosts, "lab"), "10.0.0.7 legacy.lab.test\n")
	p := start(t, []string{"DNS_BIND_ADDRESS=127.0.0.1", "DNS_PORT=0", "HOSTS_DIRECTORY=" + hosts, "SERVICE_NAME=Legacy DNS"},
		"--profile", "hosts-only")
	p.eventually(t, "the HOSTS_DIRECTORY record", dnstest.Query("legacy.lab.test.", dns.TypeA), func(r *dns.Msg) bool {
		return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "10.0.0.7"
	})
	assert.True(t, strings.HasPrefix(p.udp, "127.0.0.1:"), "DNS_BIND_ADDRESS honoured: %s", p.udp)
	p.logs.wait(t, "SERVICE_NAME in system events", time.Second, func(e map[string]any) bool { return e["service"] == "Legacy DNS" })
	p.stop(t)
}

func TestSIGINTStopsGracefully(t *testing.T) {
	p := start(t, nil, "--profile", "hosts-only", "--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0",
		"--set", "hosts.directories="+t.TempDir())
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	require.Equal(t, 0, p.wait(t, 20*time.Second))
	p.logs.wait(t, "service_stopped", time.Second, func(e map[string]any) bool { return e["msg"] == "system/service_stopped" })
	_, err := os.Stat("/proc/" + itoa(p.cmd.Process.Pid))
	assert.True(t, os.IsNotExist(err), "the process is gone")
}
