package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startHTTP runs the standalone profile without Docker (the http, hosts, dns, health and metrics modules) on
// loopback, hosts files from a fresh directory, and returns the process and that directory.
func startHTTP(t *testing.T, env []string, set ...string) (*proc, string) {
	t.Helper()
	hosts := t.TempDir()
	args := []string{"--profile", "standalone", "--set", "modules.docker=false",
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories=" + hosts}
	for _, kv := range set {
		args = append(args, "--set", kv)
	}
	p := start(t, env, args...)
	require.NotEmpty(t, p.http, "the http module logs its address")
	require.True(t, strings.HasPrefix(p.http, "127.0.0.1:"), "the harness keeps HTTP on loopback: %s", p.http)
	return p, hosts
}

// httpResult is one answer of the API.
type httpResult struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value, failing the test if it is not JSON.
func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.body, &v), "JSON body: %s", r.body)
	return v
}

// call sends method path to p's API with the given headers and body.
func (p *proc) call(t *testing.T, method, path string, body io.Reader, header ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.http+path, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpResult{code: resp.StatusCode, header: resp.Header, body: b}
}

func TestHTTPHealth(t *testing.T) {
	p, _ := startHTTP(t, []string{"SERVICE_NAME=Legacy DNS", "SEMANTIC_VERSION=9.9.9"})
	r := p.call(t, "GET", "/health", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	body := r.json(t)
	assert.Equal(t, "healthy", body["status"])
	assert.Equal(t, "Legacy DNS", body["service"])
	assert.Equal(t, "9.9.9", body["version"])
	_, err := time.Parse(time.RFC3339, body["timestamp"].(string))
	assert.NoError(t, err, "timestamp is ISO-8601")
	p.stop(t)
}
