package integration

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
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

// jsonType is a JSON value's type as joyride-python's table names them.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "str"
	case float64:
		if v == float64(int64(v)) {
			return "int"
		}
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// requireTypes checks that obj has every key of want with that JSON type ("str|null": either).
func requireTypes(t *testing.T, where string, obj any, want map[string]string) {
	t.Helper()
	m, ok := obj.(map[string]any)
	require.True(t, ok, "%s is an object: %v", where, obj)
	for k, typ := range want {
		v, present := m[k]
		require.True(t, present, "%s.%s is present in %v", where, k, m)
		assert.Contains(t, strings.Split(typ, "|"), jsonType(v), "%s.%s = %v has joyride-python's type %s", where, k, v, typ)
	}
}

// eventuallyJSON polls path until check accepts its answer, and returns that answer.
func (p *proc) eventuallyJSON(t *testing.T, what, path string, code int, check func(map[string]any) bool) map[string]any {
	t.Helper()
	var last httpResult
	var body map[string]any
	require.Eventually(t, func() bool {
		last = p.call(t, "GET", path, nil)
		body = nil
		if last.code != code || json.Unmarshal(last.body, &body) != nil {
			return false
		}
		return check(body)
	}, 10*time.Second, 50*time.Millisecond, "%s: last answer %d %s", what, last.code, last.body)
	return body
}

func TestHTTPEndpoints(t *testing.T) {
	p, hosts := startHTTP(t, []string{"SERVICE_NAME=Legacy DNS", "ENVIRONMENT=lab", "SEMANTIC_VERSION=2.0.0"})
	// The IPv6 address is not written as the store keeps it ("2001:db8::7"): explain still finds its line.
	writeFile(t, filepath.Join(hosts, "lab"), "10.0.0.7 legacy.lab.test\n2001:DB8:0::7 legacy.lab.test\n10.0.0.8 other.lab.test\n")
	records := p.eventuallyJSON(t, "the hosts file's records", "/dns/records?name=legacy", http.StatusOK, func(b map[string]any) bool {
		return b["total_records"] == 2.0
	})

	t.Run("status", func(t *testing.T) {
		r := p.call(t, "GET", "/status", nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		body := r.json(t)
		requireTypes(t, "status", body, map[string]string{"status": "str", "timestamp": "str", "service": "str",
			"version": "str", "environment": "str", "dns_server": "dict", "docker_monitor": "dict",
			"hosts_monitor": "dict", "uptime": "str", "dns_sync_cluster": "dict",
			"uptime_seconds": "int", "ready": "bool", "health": "list", "modules": "dict"})
		assert.Equal(t, "running", body["status"])
		assert.Equal(t, "Legacy DNS", body["service"])
		assert.Equal(t, "2.0.0", body["version"])
		assert.Equal(t, "lab", body["environment"])
		requireTypes(t, "dns_server", body["dns_server"], map[string]string{"port": "int", "bind_address": "str", "running": "bool"})
		requireTypes(t, "docker_monitor", body["docker_monitor"], map[string]string{"running": "bool"})
		assert.Equal(t, false, body["docker_monitor"].(map[string]any)["running"], "the docker module is off")
		requireTypes(t, "hosts_monitor", body["hosts_monitor"], map[string]string{"enabled": "bool", "directory": "str|null",
			"running": "bool", "records_count": "int"})
		hostsMonitor := body["hosts_monitor"].(map[string]any)
		assert.Equal(t, true, hostsMonitor["enabled"])
		assert.Equal(t, true, hostsMonitor["running"])
		assert.Equal(t, 3.0, hostsMonitor["records_count"], "the hosts file's three records")
		dnsServer := body["dns_server"].(map[string]any)
		assert.Equal(t, true, dnsServer["running"])
		assert.Equal(t, "127.0.0.1", dnsServer["bind_address"])
		assert.Equal(t, map[string]any{"enabled": false, "running": false}, body["dns_sync_cluster"], "no cluster module: joyride-python's shape")
		_, err := time.Parse(time.RFC3339, body["timestamp"].(string))
		assert.NoError(t, err)
	})
	t.Run("records", func(t *testing.T) {
		requireTypes(t, "records", records, map[string]string{"status": "str", "total_records": "int", "records": "list"})
		assert.Equal(t, "success", records["status"])
		for _, rec := range records["records"].([]any) {
			requireTypes(t, "record", rec, map[string]string{"hostname": "str", "ip_address": "str", "ttl": "int",
				"type": "str", "value": "str", "source": "str", "node": "str", "set_at": "str", "age_seconds": "int"})
			assert.Equal(t, "legacy.lab.test", rec.(map[string]any)["hostname"])
			assert.Equal(t, "", rec.(map[string]any)["node"], "this node's")
		}
		for q, n := range map[string]float64{"": 3, "?name=OTHER": 1, "?source=hosts:": 3, "?source=docker": 0, "?node=": 3, "?node=peer": 0} {
			assert.Equal(t, n, p.call(t, "GET", "/dns/records"+q, nil).json(t)["total_records"], q)
		}
	})
	t.Run("explain", func(t *testing.T) {
		r := p.call(t, "GET", "/dns/records/Legacy.lab.test", nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		body := r.json(t)
		assert.Equal(t, "legacy.lab.test", body["name"])
		assert.Equal(t, []any{""}, body["nodes"])
		assert.Equal(t, false, body["multiple_nodes"])
		recs := body["records"].([]any)
		require.Len(t, recs, 2)
		for _, rec := range recs {
			requireTypes(t, "explained record", rec, map[string]string{"type": "str", "value": "str", "ttl": "int",
				"source": "str", "node": "str", "set_at": "str", "provenance": "list", "last_event": "dict"})
			last := rec.(map[string]any)["last_event"]
			requireTypes(t, "last_event", last, map[string]string{"id": "str", "correlation_id": "str", "family": "str",
				"kind": "str", "timestamp": "str", "source": "str"})
			assert.Equal(t, "dns", last.(map[string]any)["family"], "the store's change of the record")
		}
		// Each record is explained by its own line of the file, not by every line that names the name.
		lines := map[string]string{}
		for _, rec := range recs {
			rec := rec.(map[string]any)
			prov := rec["provenance"].([]any)
			require.Len(t, prov, 1, "%v", rec)
			pv := prov[0].(map[string]any)
			assert.Equal(t, "hosts", pv["kind"])
			assert.Equal(t, filepath.Join(hosts, "lab"), pv["file"])
			assert.Equal(t, rec["value"], pv["value"])
			lines[rec["value"].(string)] = pv["text"].(string)
		}
		assert.Equal(t, map[string]string{"10.0.0.7": "10.0.0.7 legacy.lab.test", "2001:db8::7": "2001:DB8:0::7 legacy.lab.test"}, lines)
		assert.Equal(t, http.StatusNotFound, p.call(t, "GET", "/dns/records/nope.lab.test", nil).code)
		assert.Equal(t, http.StatusBadRequest, p.call(t, "GET", "/dns/records/bad..name", nil).code)
	})
	t.Run("cluster and sync without the cluster module", func(t *testing.T) {
		r := p.call(t, "GET", "/dns/cluster", nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		assert.Equal(t, map[string]any{"status": "disabled", "message": "DNS synchronization is not enabled"}, r.json(t))
		r = p.call(t, "POST", "/dns/sync", nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.code)
		assert.Equal(t, map[string]any{"status": "error", "message": "DNS synchronization is not enabled"}, r.json(t))
	})
	t.Run("events", func(t *testing.T) {
		body := p.call(t, "GET", "/events?limit=5", nil).json(t)
		evs := body["events"].([]any)
		require.NotEmpty(t, evs)
		assert.LessOrEqual(t, len(evs), 5)
		for _, e := range evs {
			requireTypes(t, "event", e, map[string]string{"id": "str", "correlation_id": "str", "timestamp": "str",
				"source": "str", "family": "str", "kind": "str", "summary": "str"})
		}
		assert.Equal(t, http.StatusBadRequest, p.call(t, "GET", "/events?limit=-1", nil).code)
	})
	t.Run("unknown path and method", func(t *testing.T) {
		r := p.call(t, "GET", "/no/such/thing", nil)
		assert.Equal(t, http.StatusNotFound, r.code)
		assert.Equal(t, "error", r.json(t)["status"])
		r = p.call(t, "DELETE", "/status", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, r.code)
		assert.Equal(t, "error", r.json(t)["status"])
		assert.Contains(t, r.header.Get("Allow"), "GET")
	})
	p.stop(t)
}

func TestHTTPTokenRule(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		auth  string
		code  int
		basic bool // a WWW-Authenticate challenge is expected
	}{
		// Past the token rule, sync answers 503: the standalone profile has no cluster module.
		{"no token, loopback", nil, "", http.StatusServiceUnavailable, false},
		{"token, none sent", []string{"JOYRIDE_HTTP_TOKEN=s3cret"}, "", http.StatusUnauthorized, true},
		{"token, wrong one", []string{"JOYRIDE_HTTP_TOKEN=s3cret"}, "Bearer wrong", http.StatusUnauthorized, true},
		{"token, right one", []string{"JOYRIDE_HTTP_TOKEN=s3cret"}, "Bearer s3cret", http.StatusServiceUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := startHTTP(t, tc.env)
			r := p.call(t, "POST", "/dns/sync", nil, "Authorization", tc.auth)
			require.Equal(t, tc.code, r.code, "%s", r.body)
			assert.Equal(t, "error", r.json(t)["status"])
			if tc.basic {
				assert.Equal(t, `Bearer realm="joyride"`, r.header.Get("WWW-Authenticate"))
			}
			assert.Equal(t, http.StatusOK, p.call(t, "GET", "/status", nil).code, "reads need no token")
			p.stop(t)
		})
	}
}

// rawHTTP writes request on a new connection to addr and returns what the server answers until it closes the
// connection.
func rawHTTP(t *testing.T, addr, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	b, err := io.ReadAll(conn)
	require.NoError(t, err, "the server closes the connection")
	return string(b)
}

func TestHTTPMalformedRequests(t *testing.T) {
	p, _ := startHTTP(t, []string{"JOYRIDE_HTTP_MAX_BODY_BYTES=1024"})
	cases := []struct {
		name   string
		do     func() (int, string)
		code   int
		isJSON bool
	}{
		{"bad JSON body", func() (int, string) {
			r := p.call(t, "POST", "/dns/sync", strings.NewReader(`{"force":`), "Content-Type", "application/json")
			return r.code, string(r.body)
		}, http.StatusBadRequest, true},
		{"oversized body", func() (int, string) {
			r := p.call(t, "POST", "/dns/sync", strings.NewReader(strings.Repeat("x", 2048)))
			return r.code, string(r.body)
		}, http.StatusRequestEntityTooLarge, true},
		{"oversized body, chunked", func() (int, string) {
			// A reader of unknown length makes the client send the body chunked, without Content-Length.
			r := p.call(t, "POST", "/dns/sync", io.MultiReader(strings.NewReader(strings.Repeat("x", 2048))))
			return r.code, string(r.body)
		}, http.StatusRequestEntityTooLarge, true},
		{"huge headers", func() (int, string) {
			r := p.call(t, "GET", "/health", nil, "X-Huge", strings.Repeat("h", 2<<20))
			return r.code, string(r.body)
		}, http.StatusRequestHeaderFieldsTooLarge, false},
		{"malformed request line", func() (int, string) {
			out := rawHTTP(t, p.http, "NONSENSE\r\n\r\n")
			code := 0
			_, _ = fmt.Sscanf(out, "HTTP/1.1 %d", &code)
			return code, out
		}, http.StatusBadRequest, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := tc.do()
			require.Equal(t, tc.code, code, "%s", body)
			if tc.isJSON {
				var v map[string]any
				require.NoError(t, json.Unmarshal([]byte(body), &v), body)
				assert.Equal(t, "error", v["status"])
			}
			assert.NotContains(t, body, ".go:", "no Go internals")
			assert.Equal(t, http.StatusOK, p.call(t, "GET", "/health", nil).code, "the server still serves")
		})
	}
	p.stop(t)
}

// A client that sends half a request header is disconnected after read_header_timeout.
func TestHTTPSlowClient(t *testing.T) {
	// The other timeouts are long, so that only read_header_timeout can close the connection within the bound.
	p, _ := startHTTP(t, []string{"JOYRIDE_HTTP_READ_HEADER_TIMEOUT=300ms", "JOYRIDE_HTTP_READ_TIMEOUT=1m",
		"JOYRIDE_HTTP_IDLE_TIMEOUT=1m"})
	conn, err := net.Dial("tcp", p.http)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: joyride\r\nX-Slow: ")
	require.NoError(t, err)
	// Generous (over ten times the timeout), yet below the default read_header_timeout of 5 s: the point is that
	// the configured timeout closes the connection, not how fast.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(4*time.Second)))
	_, err = io.ReadAll(conn)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the slow connection (read: %v)", err)
	assert.Equal(t, http.StatusOK, p.call(t, "GET", "/health", nil).code, "the server still serves")
	p.stop(t)
}

// The event stream delivers what happens: a hosts file written after the client connected.
func TestHTTPEventStream(t *testing.T) {
	p, hosts := startHTTP(t, nil)
	resp, err := http.Get("http://" + p.http + "/events/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan(), "the stream opens")
	require.Equal(t, ": connected", sc.Text())

	writeFile(t, filepath.Join(hosts, "streamed"), "10.0.0.42 streamed.lab.test\n")
	found := make(chan map[string]any, 1)
	go func() {
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			}
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok || event != "dns" {
				continue
			}
			var ev map[string]any
			if json.Unmarshal([]byte(data), &ev) == nil && strings.Contains(ev["summary"].(string), "streamed.lab.test") {
				found <- ev
				return
			}
		}
	}()
	select {
	case ev := <-found:
		assert.Equal(t, "record_added", ev["kind"])
		assert.NotEmpty(t, ev["correlation_id"])
	case <-time.After(15 * time.Second):
		t.Fatal("no dns event for the new hosts record on the stream")
	}
	// The stream ends when the server stops, and does not hold the stop up.
	p.stop(t)
}

// Two cluster nodes on loopback: /dns/cluster and POST /dns/sync answer as joyride-python's with sync on, a name
// both nodes publish is flagged, and /ready waits for the cluster to be joined (the seed starts later).
func TestHTTPCluster(t *testing.T) {
	c := newTestCluster(t, "127.0.0.21", "127.0.0.22")
	a := c.node(t, "a", "127.0.0.21", []string{c.gossip("127.0.0.22")}, "10.0.0.21 a.lab.test\n10.0.9.9 both.lab.test\n")
	b := c.node(t, "b", "127.0.0.22", []string{c.gossip("127.0.0.21")}, "10.0.0.22 b.lab.test\n10.0.9.9 both.lab.test\n")
	a.start(t)

	// The other modules' first loads reach the health handler through the bus soon after start; the cluster's
	// cannot until its seed answers.
	body := a.p.eventuallyJSON(t, "waiting for the cluster alone", "/ready", http.StatusServiceUnavailable,
		func(b map[string]any) bool { return b["message"] == "waiting for: cluster" })
	assert.Equal(t, "not_ready", body["status"])

	b.start(t)
	a.answers(t, "b.lab.test.", "10.0.0.22", 10*time.Second)
	a.p.eventuallyJSON(t, "a ready once joined", "/ready", http.StatusOK, func(b map[string]any) bool { return b["status"] == "ready" })

	both := a.p.eventuallyJSON(t, "both nodes' record", "/dns/records/both.lab.test", http.StatusOK, func(b map[string]any) bool {
		return b["multiple_nodes"] == true
	})
	assert.Equal(t, []any{"", "b"}, both["nodes"])
	assert.Equal(t, 1.0, a.p.call(t, "GET", "/dns/records?node=b&name=b.lab", nil).json(t)["total_records"])

	r := a.p.call(t, "GET", "/dns/cluster", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	body = r.json(t)
	assert.Equal(t, "success", body["status"])
	cluster := body["cluster"]
	requireTypes(t, "cluster", cluster, map[string]string{"node_id": "str", "running": "bool", "statistics": "dict",
		"discovered_nodes": "int", "nodes": "list", "swim_cluster": "dict"})
	assert.Equal(t, "a", cluster.(map[string]any)["node_id"])
	requireTypes(t, "statistics", cluster.(map[string]any)["statistics"], map[string]string{"nodes_discovered": "int",
		"nodes_active": "int", "dns_records_synced": "int", "sync_operations": "int", "last_sync": "str|null"})
	for _, n := range cluster.(map[string]any)["nodes"].([]any) {
		requireTypes(t, "node", n, map[string]string{"node_id": "str", "ip_address": "str", "last_seen": "str", "metadata": "dict"})
	}
	requireTypes(t, "swim_cluster", cluster.(map[string]any)["swim_cluster"], map[string]string{"alive_members": "int",
		"member_counts": "dict", "dns_version": "int"})
	st := a.p.call(t, "GET", "/status", nil).json(t)["dns_sync_cluster"]
	requireTypes(t, "dns_sync_cluster", st, map[string]string{"enabled": "bool", "running": "bool"})
	assert.Equal(t, true, st.(map[string]any)["enabled"])

	r = a.p.call(t, "POST", "/dns/sync", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assert.Equal(t, map[string]any{"status": "success", "message": "DNS synchronization initiated"}, r.json(t))
}
