package integration

// The client commands (status, ready, records, explain) of the real binary, against a running node and
// against none.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// cliRun runs the binary with args to completion (at most 30 s) and returns its exit code and output. Only PATH
// and HOME of the test's environment reach it, and env.
func cliRun(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "joyride %v did not finish", args)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errOut.String()
}

// oneLine checks that s is exactly one line and returns it without its newline.
func oneLine(t *testing.T, s string) string {
	t.Helper()
	require.True(t, strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1, "one line: %q", s)
	return strings.TrimSuffix(s, "\n")
}

func TestClientCommandsAgainstANode(t *testing.T) {
	p, hosts := startHTTP(t, nil, "dns.zones=lab.test")
	file := filepath.Join(hosts, "lab")
	writeFile(t, file, "10.0.0.7 legacy.lab.test\n10.0.0.8 other.lab.test\n")
	p.eventually(t, "the hosts file's records", dnstest.Query("other.lab.test.", dns.TypeA), func(r *dns.Msg) bool {
		return len(r.Answer) == 1
	})
	url := "--url=http://" + p.http
	_, port, err := net.SplitHostPort(p.http)
	require.NoError(t, err)

	t.Run("status", func(t *testing.T) {
		code, out, errOut := cliRun(t, nil, "status", url)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, errOut)
		assert.Regexp(t, `(?m)^node +Joyride DNS \S+ \(development\) at http://`+p.http+`, up \S+$`, out)
		assert.Regexp(t, `(?m)^ready +yes$`, out)
		assert.Regexp(t, `(?m)^dns +udp `+p.udp+`, tcp `+p.tcp+`; zones lab\.test; \d+ queries$`, out)
		assert.Regexp(t, `(?m)^hosts +1 file, 2 records, 0 bad lines in `+hosts+`$`, out)
		assert.Regexp(t, `(?m)^COMPONENT +STATE +SINCE +MESSAGE$`, out)
		assert.Regexp(t, `(?m)^hosts +healthy +\d{4}-\d\d-\d\dT`, out)
		assert.NotContains(t, out, "docker", "a module that does not run has no line")
	})
	t.Run("status from the configuration's http.host and http.port", func(t *testing.T) {
		// A wildcard host is reached on loopback; FLASK_PORT is http.port, as for run.
		code, out, errOut := cliRun(t, []string{"FLASK_HOST=0.0.0.0", "FLASK_PORT=" + port}, "status")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "at http://127.0.0.1:"+port+",")
	})
	t.Run("status --json is the API's answer", func(t *testing.T) {
		code, out, _ := cliRun(t, nil, "status", url, "--json")
		require.Equal(t, 0, code)
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &body), out)
		assert.Equal(t, true, body["ready"])
		assert.Equal(t, "running", body["status"])
	})
	t.Run("ready", func(t *testing.T) {
		code, out, errOut := cliRun(t, nil, "ready", url)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "ready\n", out)
	})
	t.Run("records", func(t *testing.T) {
		code, out, errOut := cliRun(t, nil, "records", url)
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 4, out)
		assert.Regexp(t, `^NAME +TYPE +VALUE +TTL +SOURCE +NODE +AGE$`, lines[0])
		assert.Regexp(t, `^legacy\.lab\.test +A +10\.0\.0\.7 +60 +hosts:`+file+` +- +\d+s$`, lines[1])
		assert.Regexp(t, `^other\.lab\.test +A +10\.0\.0\.8 `, lines[2])
		assert.Equal(t, "2 records", lines[3])
	})
	t.Run("records filtered", func(t *testing.T) {
		code, out, _ := cliRun(t, nil, "records", url, "--name", "LEGACY", "--source", "hosts:", "--node", "")
		require.Equal(t, 0, code)
		assert.Contains(t, out, "legacy.lab.test")
		assert.NotContains(t, out, "other.lab.test")
		assert.True(t, strings.HasSuffix(out, "\n1 record\n"), out)

		code, out, _ = cliRun(t, nil, "records", url, "--node", "node-b")
		require.Equal(t, 0, code)
		assert.True(t, strings.HasSuffix(out, "\n0 records\n"), "no peer owns a record: %s", out)

		code, out, _ = cliRun(t, nil, "records", url, "--source", "docker", "--json")
		require.Equal(t, 0, code)
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &body), out)
		assert.Equal(t, 0.0, body["total_records"])
	})
	t.Run("explain", func(t *testing.T) {
		code, out, errOut := cliRun(t, nil, "explain", url, "Legacy.Lab.Test.")
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `^legacy\.lab\.test: 1 record\n\nA 10\.0\.0\.7 ttl 60 from hosts:`+file+`, set \S+\n`+
			`  hosts file `+file+`:1: 10\.0\.0\.7 legacy\.lab\.test\n`+
			`  last event dns/record_added at \S+, correlation \S+\n$`, out)

		code, out, _ = cliRun(t, nil, "explain", url, "legacy.lab.test", "--json")
		require.Equal(t, 0, code)
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &body), out)
		assert.Equal(t, "legacy.lab.test", body["name"])
	})
	t.Run("explain a name without records", func(t *testing.T) {
		code, out, errOut := cliRun(t, nil, "explain", url, "missing.lab.test")
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Equal(t, "joyride: no records for missing.lab.test", oneLine(t, errOut))
	})
	t.Run("explain an invalid name", func(t *testing.T) {
		code, _, errOut := cliRun(t, nil, "explain", url, "a..b")
		assert.Equal(t, 2, code)
		assert.Equal(t, `joyride: invalid name: name "a..b" has an empty label`, oneLine(t, errOut))
	})
	p.stop(t)
}

// Every client command says in one line why it got no answer, with its own exit code: 3 for a node that cannot
// be reached, 4 for an answer that is an error or not Joyride's.
func TestClientCommandsWithoutANode(t *testing.T) {
	closed := freePort(t, []string{"127.0.0.1"}, 0)
	// A listener that accepts and never answers: the client's timeout ends the wait.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer silent.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"status":"error","message":"internal error"}`))
	}))
	defer failing.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>a router's login page</html>"))
	}))
	defer other.Close()

	tests := []struct {
		name string
		env  []string
		url  string
		code int
		line string // a regexp of the one line on stderr
	}{
		{"refused", nil, "127.0.0.1:" + itoa(closed), 3,
			`^joyride: cannot reach the node at http://127\.0\.0\.1:` + itoa(closed) + `: connection refused \(is .joyride run. running there, with the http module\?\)$`},
		{"refused at the configuration's address", []string{"JOYRIDE_HTTP_PORT=" + itoa(closed)}, "", 3,
			`^joyride: cannot reach the node at http://127\.0\.0\.1:` + itoa(closed) + `: connection refused`},
		{"silent", nil, "http://" + silent.Addr().String(), 3,
			`^joyride: cannot reach the node at http://` + silent.Addr().String() + `: no answer within 500ms \(--timeout\)$`},
		{"an error answer", nil, failing.URL, 4, `^joyride: ` + failing.URL + `/\S+ answered 500 Internal Server Error: internal error$`},
		{"not Joyride", nil, other.URL, 4, `^joyride: ` + other.URL + `/\S+ answered 200 OK with "text/html", not Joyride's JSON API: is --url right\?$`},
		{"no API in the configuration", []string{"JOYRIDE_PROFILE=hosts-only"}, "", 2,
			`^joyride: the configuration does not enable the http module \(modules\.http\): there is no API to ask; give --url$`},
	}
	commands := [][]string{{"status"}, {"ready"}, {"records"}, {"explain", "legacy.lab.test"}}
	for _, tt := range tests {
		for _, command := range commands {
			t.Run(tt.name+"/"+command[0], func(t *testing.T) {
				args := append(command, "--timeout=500ms")
				if tt.url != "" {
					args = append(args, "--url="+tt.url)
				}
				start := time.Now()
				code, out, errOut := cliRun(t, tt.env, args...)
				assert.Equal(t, tt.code, code)
				assert.Empty(t, out)
				assert.Regexp(t, tt.line, oneLine(t, errOut))
				assert.Less(t, time.Since(start), 10*time.Second, "the timeout bounds the wait")
			})
		}
	}
}
