package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The commands' answers to what a server says, from a fake API (the integration tests ask a real node): each
// outcome has its exit code and one line.
func TestClientAnswers(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		status      int
		contentType string
		body        string
		code        int
		stdout      string
		stderr      string
	}{
		{"ready", []string{"ready"}, 200, "application/json", `{"status":"ready","health":[]}`, 0, "ready\n", ""},
		{"not ready", []string{"ready"}, 503, "application/json", `{"status":"not_ready","message":"waiting for: docker"}`, 1,
			"not ready: waiting for: docker\n", ""},
		{"not ready, json", []string{"ready", "--json"}, 503, "application/json", `{"status":"not_ready"}`, 1, `{"status":"not_ready"}` + "\n", ""},
		{"an error", []string{"records"}, 500, "application/json", `{"status":"error","message":"internal error"}`, 4, "",
			"joyride: URL/dns/records answered 500 Internal Server Error: internal error\n"},
		{"a token refused", []string{"status", "--token", "nope"}, 401, "application/json", `{"status":"error","message":"unauthorized"}`, 4, "",
			"joyride: URL/status answered 401 Unauthorized: unauthorized\n"},
		{"not JSON", []string{"status"}, 200, "text/html; charset=utf-8", "<html></html>", 4, "",
			`joyride: URL/status answered 200 OK with "text/html; charset=utf-8", not Joyride's JSON API: is --url right?` + "\n"},
		{"JSON of another shape", []string{"records"}, 200, "application/json", `{"records":"many"}`, 4, "",
			"joyride: URL/dns/records: the answer is not the API's: json: cannot unmarshal string into Go struct field .Records of type []httpapi.Record\n"},
		{"no records for a name", []string{"explain", "gone.lab.test"}, 404, "application/json",
			`{"status":"error","message":"no records for gone.lab.test"}`, 1, "", "joyride: no records for gone.lab.test\n"},
		{"an invalid name", []string{"explain", "a..b"}, 400, "application/json",
			`{"status":"error","message":"invalid name: name \"a..b\" has an empty label"}`, 2, "",
			"joyride: invalid name: name \"a..b\" has an empty label\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth = r.Header.Get("Authorization")
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			code, out, errOut := command(t, []string{"JOYRIDE_HTTP_TOKEN=from-env"}, append(tt.args, "--url", srv.URL)...)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.stdout, out)
			assert.Equal(t, tt.stderr, strings.ReplaceAll(errOut, srv.URL, "URL"))
			want := "Bearer from-env"
			if tt.name == "a token refused" {
				want = "Bearer nope"
			}
			assert.Equal(t, want, auth, "--token, else http.token")
		})
	}
}

func TestClientUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"status", "--url", "ftp://x"}, `joyride: --url "ftp://x": want http://host:port` + "\n"},
		{[]string{"records", "--timeout", "0s", "--url", "127.0.0.1:1"}, "joyride: --timeout 0s: must be positive\n"},
		{[]string{"status", "--set", "http.port=0"}, "joyride: http.port is 0 (a free port chosen at start): give --url\n"},
		{[]string{"setup", "bind"}, `joyride: invalid argument "bind" for "joyride setup" (see joyride --help)` + "\n"},
		{[]string{"explain"}, "joyride: accepts 1 arg(s), received 0 (see joyride --help)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			code, out, errOut := command(t, nil, tt.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Equal(t, tt.want, errOut)
		})
	}
}

func TestParseProcAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0100007F:14E9", "127.0.0.1:5353"},
		{"00000000:0035", "0.0.0.0:53"},
		{"00000000000000000000000001000000:14E9", "[::1]:5353"},
		{"0000000000000000FFFF00000100007F:0035", "[::ffff:127.0.0.1]:53"},
	}
	for _, tt := range tests {
		got, ok := parseProcAddr(tt.in)
		require.True(t, ok, tt.in)
		assert.Equal(t, tt.want, got.String())
	}
	for _, bad := range []string{"", "0100007F", "01007F:14E9", "zz00007F:14E9", "0100007F:FFFFF"} {
		_, ok := parseProcAddr(bad)
		assert.False(t, ok, bad)
	}
}

// portOwner reads a /proc laid out as Linux lays it out: the tables, then the process holding the inode.
func TestPortOwner(t *testing.T) {
	proc := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(proc, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(proc, name), []byte(content), 0o644))
	}
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	write("net/udp", header+"   0: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   107        0 4242 2 0\n")
	write("net/tcp", header+"   0: 0100007F:14E9 00000000:0000 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0\n")
	write("net/tcp6", header)
	write("812/comm", "avahi-daemon\n")
	require.NoError(t, os.MkdirAll(filepath.Join(proc, "812", "fd"), 0o755))
	require.NoError(t, os.Symlink("socket:[4242]", filepath.Join(proc, "812", "fd", "12")))
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(proc, "812", "fd", "0")))

	o, ok := portOwner(proc, "udp", netip.MustParseAddrPort("127.0.0.1:5353"))
	require.True(t, ok, "a wildcard socket holds the port on every address")
	assert.Equal(t, "avahi-daemon (pid 812)", o.String())
	_, ok = portOwner(proc, "udp", netip.MustParseAddrPort("127.0.0.1:5354"))
	assert.False(t, ok, "another port")
	_, ok = portOwner(proc, "tcp", netip.MustParseAddrPort("127.0.0.1:5353"))
	assert.False(t, ok, "a TCP socket that does not listen, and no process with its inode")
}
