package main

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// command runs a command line in-process to completion.
func command(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = execute(&cli{env: env, stdout: &out, stderr: &errOut, signals: make(chan os.Signal)}, args)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, errOut := command(t, nil, "version")
	assert.Equal(t, 0, code)
	assert.Empty(t, errOut)
	assert.Regexp(t, `^joyride \S+ \(commit \S+, go\S+, `+runtime.GOOS+`/`+runtime.GOARCH+`\)\n$`, out)

	version, commit = "v1.2.3", "0123abc"
	t.Cleanup(func() { version, commit = "", "" })
	_, out, _ = command(t, nil, "version")
	assert.True(t, strings.HasPrefix(out, "joyride v1.2.3 (commit 0123abc, "), out)

	// The injected version is also the default service version.
	_, out, _ = command(t, nil, "config", "print", "--format", "json")
	assert.Contains(t, out, `"value": "v1.2.3"`)
}

func TestConfigPrint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "joyride.yaml")
	require.NoError(t, os.WriteFile(file, []byte("dns:\n  zones: [lab.test]\n"), 0o600))
	code, out, errOut := command(t, []string{"HOSTIP=10.9.9.9", "JOYRIDE_NOPE=1"},
		"config", "print", "--profile", "dev", "--config", file, "--set", "dns.port=53", "--set", "dns.forwarders=1.1.1.1:53,9.9.9.9:53", "--format", "json")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, `config: nope = "1" (env JOYRIDE_NOPE): unknown key; sections are audit, cluster, dns, docker, events, hosts, http, log, logging, modules, record_events, records, service, traefikfile (ignored)`+"\n", errOut)

	var doc struct {
		Profile, File string
		Values        map[string]struct {
			Value  any
			Source string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "dev", doc.Profile)
	assert.Equal(t, file, doc.File)
	for key, want := range map[string]struct {
		value  any
		source string
	}{
		"dns.port":       {53.0, "flag --set"},
		"dns.forwarders": {[]any{"1.1.1.1:53", "9.9.9.9:53"}, "flag --set"},
		"dns.zones":      {[]any{"lab.test"}, "file " + file + ":2"},
		"docker.host_ip": {"10.9.9.9", "env HOSTIP"},
		"log.format":     {"console", "profile dev"},
		"service.name":   {"Joyride DNS", "default"},
	} {
		assert.Equal(t, want.value, doc.Values[key].Value, key)
		assert.Equal(t, want.source, doc.Values[key].Source, key)
	}

	code, out, _ = command(t, nil, "config", "print")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "# Joyride configuration: profile standalone, no file."), out)
	assert.Contains(t, out, "  port: 5353 # default\n")
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("dns:\n  port: 53\n"), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("dns:\n  port: 70000\n  prot: 53\n"), 0o600))

	code, out, errOut := command(t, []string{"JOYRIDE_DNS_PORT=70000"}, "config", "validate", good)
	assert.Equal(t, 0, code, "the environment is ignored")
	assert.Equal(t, good+": valid (profile standalone)\n", out)
	assert.Empty(t, errOut)

	code, out, _ = command(t, nil, "config", "validate", "--profile", "hosts-only", good)
	assert.Equal(t, 0, code)
	assert.Equal(t, good+": valid (profile hosts-only)\n", out)

	code, out, errOut = command(t, nil, "config", "validate", bad)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "config: dns.prot = 53 (file "+bad+":3): unknown key; dns has addresses, bind_address, forward_allow, forward_timeout, forwarders, hostmaster, nameserver, negative_ttl, port, udp_size, zones\n"+
		"config: dns.port = 70000 (file "+bad+":2): must be at most 65535\n", errOut)
}

// keygen prints a fresh AES-256 key as one base64 line, in the form cluster.key takes.
func TestClusterKeygen(t *testing.T) {
	var keys []string
	for range 2 {
		code, out, errOut := command(t, nil, "cluster", "keygen")
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, errOut)
		require.True(t, strings.HasSuffix(out, "\n") && strings.Count(out, "\n") == 1, "one line: %q", out)
		key := strings.TrimSuffix(out, "\n")
		raw, err := base64.StdEncoding.DecodeString(key)
		require.NoError(t, err, "standard base64: %q", key)
		assert.Len(t, raw, 32)
		keys = append(keys, key)
	}
	assert.NotEqual(t, keys[0], keys[1], "every run makes a new key")

	// The configuration takes it as it is printed (it checks the base64 and the size) and masks it.
	code, out, errOut := command(t, []string{"JOYRIDE_CLUSTER_KEY=" + keys[0]}, "config", "print", "--profile", "cluster")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut)
	assert.Contains(t, out, "key: '******' # env JOYRIDE_CLUSTER_KEY")
	assert.NotContains(t, out, keys[0])
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"run", "--prot", "53"}, "joyride: unknown flag: --prot (see joyride --help)\n"},
		{"unknown command", []string{"serve"}, `joyride: unknown command "serve" for "joyride" (see joyride --help)` + "\n"},
		{"validate needs a file", []string{"config", "validate"}, "joyride: accepts 1 arg(s), received 0 (see joyride --help)\n"},
		{"bad format", []string{"config", "print", "--format", "toml"}, `joyride: --format "toml": want yaml or json (see joyride --help)` + "\n"},
		{"keygen takes no argument", []string{"cluster", "keygen", "32"}, `joyride: unknown command "32" for "joyride cluster keygen" (see joyride --help)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := command(t, nil, tt.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Equal(t, tt.want, errOut)
		})
	}
}

// An invalid configuration stops run before anything is built or bound: every problem on stderr, exit 2.
func TestRunInvalidConfig(t *testing.T) {
	code, out, errOut := command(t, []string{"JOYRIDE_DNS_PORT=70000"}, "run", "--set", "log.level=loud", "--profile", "hosts-only")
	assert.Equal(t, 2, code)
	assert.Empty(t, out, "nothing logged: the application was never built")
	assert.Equal(t, `config: log.level = "loud" (flag --set): must be one of debug, info, warn, error`+"\n"+
		"config: dns.port = 70000 (env JOYRIDE_DNS_PORT): must be at most 65535\n", errOut)
}

// runArgs runs the hosts-only profile on loopback with a free DNS port and an empty hosts directory.
func runArgs(t *testing.T, port int, extra ...string) []string {
	return append([]string{"run", "--profile", "hosts-only",
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=" + strconv.Itoa(port),
		"--set", "hosts.directories=" + t.TempDir(), "--set", "service.stop_timeout=5s"}, extra...)
}

// A start failure is one line on stderr and exit 1, not a log dump.
func TestRunPortTaken(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.LocalAddr().(*net.UDPAddr).Port

	code, _, errOut := command(t, nil, runArgs(t, port)...)
	assert.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	require.Len(t, lines, 1, errOut)
	assert.Regexp(t, `^joyride: .*127\.0\.0\.1:`+strconv.Itoa(port)+`.*address already in use`, lines[0])
}

// run serves DNS until a signal, reports where it listens, and stops gracefully with exit 0.
func TestRunServesUntilSignal(t *testing.T) {
	signals := make(chan os.Signal, 2)
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- execute(&cli{stdout: &out, stderr: &errOut, signals: signals}, runArgs(t, 0, "--set", "log.level=info"))
	}()

	// The dns module reports its addresses; "started" follows once every module has started.
	serving := regexp.MustCompile(`"msg":"serving DNS","udp":"(127\.0\.0\.1:\d+)"`)
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), `"msg":"started"`)
	}, 10*time.Second, 10*time.Millisecond, "no started line in %s / %s", &out, &errOut)
	m := serving.FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	addr := m[1]
	assert.Contains(t, out.String(), `"profile":"hosts-only","modules":["audit","dns","health","hosts","logging","records","system"]`)

	q := new(mdns.Msg).SetQuestion("nothing.example.", mdns.TypeA)
	_, _, err := new(mdns.Client).Exchange(q, addr)
	require.NoError(t, err, "the DNS server answers")

	signals <- syscall.SIGTERM
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	assert.Empty(t, errOut.String())
	assert.Contains(t, out.String(), `"msg":"stopped","exit_code":0`)
}
