package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
)

// serve runs one request through s's handler from remote (host:port) and returns the recorded answer.
func serve(t *testing.T, s *Server, method, target, remote string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// decode returns a JSON answer as generic JSON, failing the test if it is not JSON.
func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"), "body: %s", rec.Body)
	var v map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "body: %s", rec.Body)
	return v
}

const (
	local  = "127.0.0.1:40000"
	remote = "192.0.2.10:40000" // TEST-NET-1: never dialled, only a RemoteAddr
)

// clusterReporter is a cluster module's Reporter with the given status and sync result.
func clusterReporter(st any, syncErr error, synced *int) status.Reporter {
	return status.Reporter{Name: "cluster", Status: func() any { return st }, Sync: func(context.Context) error {
		if synced != nil {
			*synced++
		}
		return syncErr
	}}
}

func withReporters(rs ...status.Reporter) func(*Params) {
	return func(p *Params) { p.Reporters = append(p.Reporters, rs...) }
}

func withRoutes(rs ...status.Route) func(*Params) {
	return func(p *Params) { p.Routes = append(p.Routes, rs...) }
}

// fakeHealth is a health handler in a fixed state.
type fakeHealth struct {
	waiting []string
	comps   []status.Component
}

func (h fakeHealth) Ready() bool                    { return len(h.waiting) == 0 }
func (h fakeHealth) Waiting() []string              { return h.waiting }
func (h fakeHealth) Components() []status.Component { return h.comps }

func TestRouting(t *testing.T) {
	s := newTestServer(t, testConfig())
	cases := []struct {
		name, method, target string
		code                 int
		message              string
	}{
		{"health", "GET", "/health", http.StatusOK, ""},
		{"HEAD of a GET route", "HEAD", "/health", http.StatusOK, ""},
		{"unknown path", "GET", "/nope", http.StatusNotFound, "no such endpoint: /nope"},
		{"the dashboard at the root", "GET", "/", http.StatusOK, ""},
		{"a dashboard asset", "GET", "/assets/app.js", http.StatusOK, ""},
		{"an unknown asset", "GET", "/assets/nope.js", http.StatusNotFound, ""},
		{"wrong method", "POST", "/health", http.StatusMethodNotAllowed, "method POST is not allowed for /health"},
		{"GET of a write route", "GET", "/dns/sync", http.StatusMethodNotAllowed, "method GET is not allowed for /dns/sync"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, s, tc.method, tc.target, local, nil)
			require.Equal(t, tc.code, rec.Code, "body: %s", rec.Body)
			if tc.message == "" {
				return
			}
			assert.Equal(t, map[string]any{"status": "error", "message": tc.message}, decode(t, rec))
			if tc.code == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, rec.Header().Get("Allow"))
			}
		})
	}
}

func TestTokenRule(t *testing.T) {
	cases := []struct {
		name, token, remote, auth string
		code                      int
		header                    []string
	}{
		{"no token, loopback", "", local, "", http.StatusOK, nil},
		{"no token, loopback, from this server's own page", "", local, "", http.StatusOK,
			[]string{"Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}},
		{"no token, loopback, forwarded by a proxy", "", local, "", http.StatusForbidden, []string{"X-Forwarded-For", "192.0.2.7"}},
		{"no token, loopback, Forwarded header", "", local, "", http.StatusForbidden, []string{"Forwarded", "for=192.0.2.7"}},
		{"no token, loopback, X-Real-IP", "", local, "", http.StatusForbidden, []string{"X-Real-IP", "192.0.2.7"}},
		{"no token, loopback, another site's page", "", local, "", http.StatusForbidden, []string{"Origin", "http://evil.example"}},
		{"no token, loopback, cross-site fetch", "", local, "", http.StatusForbidden, []string{"Sec-Fetch-Site", "cross-site"}},
		{"token, another site's page with the token", "s3cret", local, "Bearer s3cret", http.StatusOK, []string{"Origin", "http://evil.example"}},
		{"no token, IPv6 loopback", "", "[::1]:40000", "", http.StatusOK, nil},
		{"no token, IPv4-mapped loopback", "", "[::ffff:127.0.0.1]:40000", "", http.StatusOK, nil},
		{"no token, other client", "", remote, "", http.StatusForbidden, nil},
		{"no token, other client with a bearer", "", remote, "Bearer anything", http.StatusForbidden, nil},
		{"token, none sent", "s3cret", local, "", http.StatusUnauthorized, nil},
		{"token, wrong one", "s3cret", local, "Bearer s3cre", http.StatusUnauthorized, nil},
		{"token, other scheme", "s3cret", local, "Basic s3cret", http.StatusUnauthorized, nil},
		{"token, right one", "s3cret", local, "Bearer s3cret", http.StatusOK, nil},
		{"token, right one, lower-case scheme", "s3cret", local, "bearer s3cret", http.StatusOK, nil},
		{"token, right one from another client", "s3cret", remote, "Bearer s3cret", http.StatusOK, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Token = tc.token
			synced := 0
			writes := 0
			s := newTestServer(t, cfg,
				withReporters(clusterReporter(map[string]any{"enabled": true, "running": true}, nil, &synced)),
				withRoutes(status.Route{Pattern: "POST /module/write", Write: true,
					Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writes++ })}))
			for _, target := range []string{"/dns/sync", "/module/write"} {
				rec := serve(t, s, "POST", target, tc.remote, nil, append([]string{"Authorization", tc.auth}, tc.header...)...)
				require.Equal(t, tc.code, rec.Code, "%s: %s", target, rec.Body)
				if tc.code == http.StatusUnauthorized {
					assert.Equal(t, `Bearer realm="joyride"`, rec.Header().Get("WWW-Authenticate"))
				}
				if tc.code != http.StatusOK {
					assert.Equal(t, "error", decode(t, rec)["status"])
				}
			}
			ok := map[bool]int{true: 1, false: 0}[tc.code == http.StatusOK]
			assert.Equal(t, ok, synced, "sync ran only when allowed")
			assert.Equal(t, ok, writes, "the module's write route ran only when allowed")
		})
	}
	t.Run("read routes need no token", func(t *testing.T) {
		cfg := testConfig()
		cfg.Token = "s3cret"
		s := newTestServer(t, cfg)
		assert.Equal(t, http.StatusOK, serve(t, s, "GET", "/status", remote, nil).Code)
	})
}

func TestSync(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBodyBytes = 16
	enabled := map[string]any{"enabled": true, "running": true}
	cases := []struct {
		name      string
		reporters []status.Reporter
		body      io.Reader
		header    []string
		code      int
		want      map[string]any
	}{
		{"no cluster module", nil, nil, nil, http.StatusServiceUnavailable,
			map[string]any{"status": "error", "message": "DNS synchronization is not enabled"}},
		{"cluster disabled", []status.Reporter{clusterReporter(map[string]any{"enabled": false}, nil, nil)}, nil, nil,
			http.StatusServiceUnavailable, map[string]any{"status": "error", "message": "DNS synchronization is not enabled"}},
		{"synced", []status.Reporter{clusterReporter(enabled, nil, nil)}, nil, nil, http.StatusOK,
			map[string]any{"status": "success", "message": "DNS synchronization initiated"}},
		{"sync fails, paths hidden", []status.Reporter{clusterReporter(enabled,
			errors.New("open /var/lib/joyride/state: permission denied\ngoroutine 1"), nil)}, nil, nil,
			http.StatusInternalServerError,
			map[string]any{"status": "error", "message": "Failed to sync DNS records: open <path> permission denied"}},
		{"JSON body", []status.Reporter{clusterReporter(enabled, nil, nil)}, strings.NewReader(`{}`),
			[]string{"Content-Type", "application/json"}, http.StatusOK, nil},
		{"bad JSON body", []status.Reporter{clusterReporter(enabled, nil, nil)}, strings.NewReader(`{"a":`),
			[]string{"Content-Type", "application/json"}, http.StatusBadRequest,
			map[string]any{"status": "error", "message": "the request body is not valid JSON"}},
		{"form body ignored", []status.Reporter{clusterReporter(enabled, nil, nil)}, strings.NewReader(`a=b`),
			[]string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusOK, nil},
		{"oversized body", []status.Reporter{clusterReporter(enabled, nil, nil)}, strings.NewReader(strings.Repeat("x", 17)),
			nil, http.StatusRequestEntityTooLarge, nil},
		// No Content-Length: the limit is found while reading.
		{"oversized body, streamed", []status.Reporter{clusterReporter(enabled, nil, nil)},
			iotest.OneByteReader(strings.NewReader(strings.Repeat("x", 17))), nil, http.StatusRequestEntityTooLarge, nil},
		{"unreadable body", []status.Reporter{clusterReporter(enabled, nil, nil)}, iotest.ErrReader(errors.New("reset")),
			nil, http.StatusBadRequest, map[string]any{"status": "error", "message": "the request body could not be read"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, cfg, withReporters(tc.reporters...))
			rec := serve(t, s, "POST", "/dns/sync", local, tc.body, tc.header...)
			require.Equal(t, tc.code, rec.Code, "body: %s", rec.Body)
			body := decode(t, rec)
			if tc.want != nil {
				assert.Equal(t, tc.want, body)
			}
		})
	}
}

func TestCluster(t *testing.T) {
	cases := []struct {
		name      string
		reporters []status.Reporter
		code      int
	}{
		{"no cluster module", nil, http.StatusServiceUnavailable},
		{"cluster disabled", []status.Reporter{clusterReporter(map[string]any{"enabled": false, "running": false}, nil, nil)},
			http.StatusServiceUnavailable},
		{"cluster status not an object", []status.Reporter{clusterReporter("odd", nil, nil)}, http.StatusServiceUnavailable},
		{"enabled", []status.Reporter{clusterReporter(map[string]any{
			"enabled": true, "running": true, "node_id": "node-a", "policy": "all",
			"statistics":   map[string]any{"sync_operations": 3, "last_sync": "2024-05-01T10:00:00Z", "rejected_messages": 0},
			"nodes":        []any{map[string]any{"node_id": "node-b", "ip_address": "10.0.0.2", "last_seen": 7}},
			"swim_cluster": "not an object",
		}, nil, nil)}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, testConfig(), withReporters(tc.reporters...))
			rec := serve(t, s, "GET", "/dns/cluster", local, nil)
			require.Equal(t, tc.code, rec.Code, "body: %s", rec.Body)
			body := decode(t, rec)
			if tc.code != http.StatusOK {
				assert.Equal(t, map[string]any{"status": "disabled", "message": "DNS synchronization is not enabled"}, body)
				return
			}
			assert.Equal(t, "success", body["status"])
			assert.Equal(t, map[string]any{
				"enabled": true, "running": true, "node_id": "node-a", "policy": "all",
				"statistics": map[string]any{"nodes_discovered": 0.0, "nodes_active": 0.0, "dns_records_synced": 0.0,
					"sync_operations": 3.0, "last_sync": "2024-05-01T10:00:00Z", "rejected_messages": 0.0},
				"discovered_nodes": 0.0,
				// last_seen of the wrong type falls back to joyride-python's type; metadata is filled in.
				"nodes":        []any{map[string]any{"node_id": "node-b", "ip_address": "10.0.0.2", "last_seen": "", "metadata": map[string]any{}}},
				"swim_cluster": map[string]any{"alive_members": 0.0, "member_counts": map[string]any{}, "dns_version": 0.0},
			}, body["cluster"])
		})
	}
}

func TestStatus(t *testing.T) {
	t.Run("no modules", func(t *testing.T) {
		s := newTestServer(t, testConfig())
		body := decode(t, serve(t, s, "GET", "/status", local, nil))
		assert.Equal(t, "running", body["status"])
		assert.Equal(t, "Joyride DNS", body["service"])
		assert.Equal(t, "1.2.3", body["version"])
		assert.Equal(t, "test", body["environment"])
		assert.IsType(t, "", body["uptime"])
		assert.IsType(t, 0.0, body["uptime_seconds"])
		assert.Equal(t, map[string]any{"port": 0.0, "bind_address": "", "running": false}, body["dns_server"])
		assert.Equal(t, map[string]any{"running": false}, body["docker_monitor"])
		assert.Equal(t, map[string]any{"enabled": false, "directory": nil, "running": false, "records_count": 0.0}, body["hosts_monitor"])
		assert.Equal(t, map[string]any{"enabled": false, "running": false}, body["dns_sync_cluster"])
		assert.Equal(t, []any{}, body["health"])
		assert.Equal(t, map[string]any{}, body["modules"])
		assert.Equal(t, false, body["ready"], "not started, no health module")
	})
	t.Run("modules", func(t *testing.T) {
		s := newTestServer(t, testConfig(), withReporters(
			status.Reporter{Name: "dns", Status: func() any {
				return struct {
					Port    int    `json:"port"`
					Bind    string `json:"bind_address"`
					Queries int    `json:"queries"`
				}{5353, "0.0.0.0", 12}
			}},
			status.Reporter{Name: "docker", Status: func() any { return map[string]any{"connected": true} }},
			// A wrong type keeps joyride-python's: running stays a bool, records_count an integer.
			status.Reporter{Name: "hosts", Status: func() any {
				return map[string]any{"directory": "/app/hosts", "running": "yes", "records_count": 1.5}
			}},
			clusterReporter(map[string]any{"enabled": true, "running": true, "node_id": "node-a"}, nil, nil),
		), func(p *Params) {
			p.Health = fakeHealth{comps: []status.Component{{Name: "dns", State: status.Healthy, Loaded: true}}}
		})
		body := decode(t, serve(t, s, "GET", "/status", local, nil))
		assert.Equal(t, map[string]any{"port": 5353.0, "bind_address": "0.0.0.0", "running": true, "queries": 12.0}, body["dns_server"])
		assert.Equal(t, map[string]any{"running": true, "connected": true}, body["docker_monitor"])
		assert.Equal(t, map[string]any{"enabled": true, "directory": "/app/hosts", "running": true, "records_count": 0.0}, body["hosts_monitor"])
		cluster := body["dns_sync_cluster"].(map[string]any)
		assert.Equal(t, true, cluster["enabled"])
		assert.Equal(t, "node-a", cluster["node_id"])
		assert.Contains(t, cluster, "statistics")
		assert.Equal(t, true, body["ready"])
		assert.Equal(t, []any{map[string]any{"name": "dns", "state": "healthy", "loaded": true}}, body["health"])
		modules := body["modules"].(map[string]any)
		assert.Equal(t, []string{"cluster", "dns", "docker", "hosts"}, slices.Sorted(maps.Keys(modules)))
		assert.Equal(t, "yes", modules["hosts"].(map[string]any)["running"], "the module's own status is kept whole")
	})
	t.Run("status that cannot be encoded", func(t *testing.T) {
		s := newTestServer(t, testConfig(), withReporters(status.Reporter{Name: "dns", Status: func() any { return func() {} }}))
		body := decode(t, serve(t, s, "GET", "/status", local, nil))
		assert.Equal(t, map[string]any{"port": 0.0, "bind_address": "", "running": true}, body["dns_server"])
	})
}

func TestReady(t *testing.T) {
	comps := []status.Component{
		{Name: "dns", State: status.Healthy, Loaded: true},
		{Name: "docker", State: status.Unhealthy, Message: "engine unreachable"},
		{Name: "hosts", State: status.Starting},
	}
	cases := []struct {
		name    string
		health  status.Health
		started bool
		code    int
		message string
	}{
		{"no health module, not started", nil, false, http.StatusServiceUnavailable, "waiting for: http"},
		{"no health module, started", nil, true, http.StatusOK, ""},
		{"waiting for modules", fakeHealth{waiting: []string{"docker", "hosts"}, comps: comps}, true,
			http.StatusServiceUnavailable, "waiting for: docker, hosts"},
		{"loaded, start not complete", fakeHealth{waiting: []string{"start"}, comps: comps[:1]}, true,
			http.StatusServiceUnavailable, "waiting for: start"},
		{"ready", fakeHealth{comps: comps[:1]}, true, http.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, testConfig(), func(p *Params) { p.Health = tc.health })
			s.started.Store(tc.started)
			rec := serve(t, s, "GET", "/ready", local, nil)
			require.Equal(t, tc.code, rec.Code, "body: %s", rec.Body)
			body := decode(t, rec)
			if tc.code == http.StatusOK {
				assert.Equal(t, "ready", body["status"])
			} else {
				assert.Equal(t, "not_ready", body["status"])
				assert.Equal(t, tc.message, body["message"])
			}
			assert.IsType(t, []any{}, body["health"])
		})
	}
}

// storeWith returns a store holding records under sources: source → "name type value" lines.
func storeWith(t *testing.T, sources map[string][]string) *dnsstore.Store {
	t.Helper()
	st := dnsstore.New()
	for src, lines := range sources {
		var recs []dnsstore.Record
		for _, l := range lines {
			f := strings.Fields(l)
			r, err := dnsstore.NewRecord(f[0], f[1], f[2], 60)
			require.NoError(t, err)
			recs = append(recs, r)
		}
		st.Replace(src, recs)
	}
	return st
}

func TestRecords(t *testing.T) {
	store := storeWith(t, map[string][]string{
		"hosts:/app/hosts/lab":         {"web.lab.test A 10.0.0.1", "web.lab.test AAAA 2001:db8::1", "db.lab.test A 10.0.0.2"},
		"docker:abc":                   {"App.lab.test A 10.0.0.3"},
		"node:node-b/hosts:/app/hosts": {"web.lab.test A 10.0.0.9", "peer.lab.test CNAME web.lab.test"},
	})
	s := newTestServer(t, testConfig(), func(p *Params) { p.Store = store })
	cases := []struct {
		name, query string
		want        []string // hostname type value node
	}{
		{"all", "", []string{"app.lab.test A 10.0.0.3 ", "db.lab.test A 10.0.0.2 ", "peer.lab.test CNAME web.lab.test. node-b",
			"web.lab.test A 10.0.0.1 ", "web.lab.test A 10.0.0.9 node-b", "web.lab.test AAAA 2001:db8::1 "}},
		{"name, any case", "?name=WEB", []string{"web.lab.test A 10.0.0.1 ", "web.lab.test A 10.0.0.9 node-b", "web.lab.test AAAA 2001:db8::1 "}},
		{"source", "?source=docker", []string{"app.lab.test A 10.0.0.3 "}},
		{"this node", "?node=", []string{"app.lab.test A 10.0.0.3 ", "db.lab.test A 10.0.0.2 ", "web.lab.test A 10.0.0.1 ", "web.lab.test AAAA 2001:db8::1 "}},
		{"a peer", "?node=node-b", []string{"peer.lab.test CNAME web.lab.test. node-b", "web.lab.test A 10.0.0.9 node-b"}},
		{"nothing", "?name=nope", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := decode(t, serve(t, s, "GET", "/dns/records"+tc.query, local, nil))
			assert.Equal(t, "success", body["status"])
			recs := body["records"].([]any)
			assert.Equal(t, float64(len(recs)), body["total_records"])
			got := []string{}
			for _, r := range recs {
				r := r.(map[string]any)
				got = append(got, r["hostname"].(string)+" "+r["type"].(string)+" "+r["value"].(string)+" "+r["node"].(string))
				assert.Equal(t, r["value"], r["ip_address"])
				assert.IsType(t, 0.0, r["ttl"])
				assert.IsType(t, 0.0, r["age_seconds"])
				_, err := time.Parse(time.RFC3339, r["set_at"].(string))
				assert.NoError(t, err)
			}
			assert.ElementsMatch(t, tc.want, got)
		})
	}
}

// Each source at the name is explained once per request, however many records it has there, and each record
// gets the entries that give its value and those that give none (the whole source's).
func TestExplainBySource(t *testing.T) {
	const rr, app = "hosts:/app/hosts/rr", "docker:abc"
	store := storeWith(t, map[string][]string{
		rr:  {"rr.lab.test A 10.0.0.1", "rr.lab.test A 10.0.0.2", "rr.lab.test AAAA 2001:db8::1", "one.lab.test A 10.0.0.7"},
		app: {"rr.lab.test A 10.0.0.3", "rr.lab.test A 10.0.0.4"},
	})
	file := status.Provenance{Kind: "hosts", File: "/app/hosts/rr"}
	line := func(n int, value string) status.Provenance {
		pv := file
		pv.Line, pv.Text, pv.Value = n, value+" rr.lab.test", value
		return pv
	}
	container := status.Provenance{Kind: "container", Container: "app", ContainerID: "abc"}
	// explained answers as a module would: for its own source and a name it has.
	explained := map[string]map[string][]status.Provenance{
		rr: {
			"rr.lab.test.":  {line(1, "10.0.0.1"), line(2, "10.0.0.2"), line(3, "2001:db8::1"), line(4, "10.0.0.9"), file},
			"one.lab.test.": {line(5, "10.0.0.7")},
		},
		app: {"rr.lab.test.": {container}},
	}
	var mu sync.Mutex
	calls := map[string]int{} // reporter name, source, name
	reporter := func(name, prefix string) status.Reporter {
		return status.Reporter{Name: name, Status: func() any { return nil }, Explain: func(source, lookup string) []status.Provenance {
			mu.Lock()
			calls[name+" "+source+" "+lookup]++
			mu.Unlock()
			if !strings.HasPrefix(source, prefix) {
				return nil
			}
			return explained[source][lookup]
		}}
	}
	s := newTestServer(t, testConfig(), withReporters(reporter("hosts", "hosts:"), reporter("docker", "docker:"),
		status.Reporter{Name: "metrics", Status: func() any { return nil }}), func(p *Params) { p.Store = store })

	tests := []struct {
		name, lookup string
		want         map[string][]status.Provenance // "source value": the record's provenance
		calls        map[string]int
	}{
		{name: "a round-robin name in two sources", lookup: "rr.lab.test", want: map[string][]status.Provenance{
			rr + " 10.0.0.1":    {line(1, "10.0.0.1"), file},
			rr + " 10.0.0.2":    {line(2, "10.0.0.2"), file},
			rr + " 2001:db8::1": {line(3, "2001:db8::1"), file},
			app + " 10.0.0.3":   {container},
			app + " 10.0.0.4":   {container},
		}, calls: map[string]int{
			"hosts " + rr + " rr.lab.test.": 1, "hosts " + app + " rr.lab.test.": 1,
			"docker " + rr + " rr.lab.test.": 1, "docker " + app + " rr.lab.test.": 1,
		}},
		{name: "one record", lookup: "one.lab.test", want: map[string][]status.Provenance{
			rr + " 10.0.0.7": {line(5, "10.0.0.7")},
		}, calls: map[string]int{"hosts " + rr + " one.lab.test.": 1, "docker " + rr + " one.lab.test.": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(calls)
			mu.Unlock()
			rec := serve(t, s, "GET", "/dns/records/"+tt.lookup, local, nil)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			var body struct {
				Records []struct {
					Source, Value string
					Provenance    []status.Provenance
				}
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			got := map[string][]status.Provenance{}
			for _, r := range body.Records {
				got[r.Source+" "+r.Value] = r.Provenance
			}
			assert.Equal(t, tt.want, got)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tt.calls, calls, "each Reporter's Explain once per source")
		})
	}
}

func TestExplain(t *testing.T) {
	store := storeWith(t, map[string][]string{
		"hosts:/app/hosts/lab":         {"web.lab.test A 10.0.0.1"},
		"node:node-b/hosts:/app/hosts": {"web.lab.test A 10.0.0.9"},
		"hosts:/app/hosts/wild":        {"*.wild.lab.test A 10.0.0.5"},
	})
	bus := eventstest.NewBus(t)
	// The store's DNSEvent for the local record, and a later snapshot of the peer's source.
	require.NoError(t, bus.Publish(context.Background(), &events.DNSEvent{Metadata: events.Metadata{Source: "records"},
		Kind: events.DNSRecordAdded, Owner: "hosts:/app/hosts/lab", Record: events.Record{Name: "web.lab.test.", Type: "A", Value: "10.0.0.1"}}))
	// A later change to a sibling record of the same name and source is not the A record's last event.
	require.NoError(t, bus.Publish(context.Background(), &events.DNSEvent{Metadata: events.Metadata{Source: "records"},
		Kind: events.DNSRecordRemoved, Owner: "hosts:/app/hosts/lab", Record: events.Record{Name: "web.lab.test.", Type: "AAAA", Value: "2001:db8::1"}}))
	require.NoError(t, bus.Publish(context.Background(), &events.SyncEvent{Metadata: events.Metadata{Source: "cluster"},
		Kind: events.DNSRecordSynced, NodeID: "node-b",
		Snapshot: &events.RecordSnapshot{Source: "node:node-b/hosts:/app/hosts", Node: "node-b", Records: []events.Record{{Name: "web.lab.test", Type: "A", Value: "10.0.0.9"}}}}))
	eventstest.NewWatcher(t, bus, events.Filter{}).Expect(t, "the sync event", eventstest.Kind(events.FamilySync, events.Kind(events.DNSRecordSynced)))
	explains := status.Reporter{Name: "hosts", Status: func() any { return nil }, Explain: func(source, name string) []status.Provenance {
		if source != "hosts:/app/hosts/lab" || name != "web.lab.test." {
			return nil
		}
		return []status.Provenance{{Kind: "hosts", File: "/app/hosts/lab", Line: 3, Text: "10.0.0.1 web.lab.test", Value: "10.0.0.1"}}
	}}
	s := newTestServer(t, testConfig(), withReporters(explains), func(p *Params) { p.Store, p.Bus = store, bus })

	t.Run("two nodes", func(t *testing.T) {
		rec := serve(t, s, "GET", "/dns/records/WEB.lab.test.", local, nil)
		require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
		body := decode(t, rec)
		assert.Equal(t, "web.lab.test", body["name"])
		assert.Equal(t, true, body["multiple_nodes"])
		assert.Equal(t, []any{"", "node-b"}, body["nodes"])
		recs := body["records"].([]any)
		require.Len(t, recs, 2)
		bySource := map[string]map[string]any{}
		for _, r := range recs {
			r := r.(map[string]any)
			bySource[r["source"].(string)] = r
		}
		localRec, peer := bySource["hosts:/app/hosts/lab"], bySource["node:node-b/hosts:/app/hosts"]
		assert.Equal(t, []any{map[string]any{"kind": "hosts", "file": "/app/hosts/lab", "line": 3.0, "text": "10.0.0.1 web.lab.test", "value": "10.0.0.1"}}, localRec["provenance"])
		assert.Equal(t, "dns", localRec["last_event"].(map[string]any)["family"])
		assert.Equal(t, "record_added", localRec["last_event"].(map[string]any)["kind"])
		assert.NotEmpty(t, localRec["last_event"].(map[string]any)["correlation_id"])
		assert.Equal(t, "node-b", peer["node"])
		assert.Equal(t, []any{}, peer["provenance"])
		assert.Equal(t, "sync", peer["last_event"].(map[string]any)["family"])
	})
	t.Run("wildcard", func(t *testing.T) {
		body := decode(t, serve(t, s, "GET", "/dns/records/x.wild.lab.test", local, nil))
		assert.Equal(t, "*.wild.lab.test", body["owner"])
		assert.Equal(t, false, body["multiple_nodes"])
		assert.Nil(t, body["records"].([]any)[0].(map[string]any)["last_event"], "history holds no event for it")
	})
	t.Run("unknown", func(t *testing.T) {
		rec := serve(t, s, "GET", "/dns/records/nope.lab.test", local, nil)
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, map[string]any{"status": "error", "message": "no records for nope.lab.test"}, decode(t, rec))
	})
	t.Run("invalid", func(t *testing.T) {
		rec := serve(t, s, "GET", "/dns/records/bad..name", local, nil)
		require.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, decode(t, rec)["message"], `"bad..name"`)
	})
}

func TestEvents(t *testing.T) {
	bus := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, bus, events.Filter{})
	for _, c := range []string{"dns", "docker"} {
		require.NoError(t, bus.Publish(context.Background(), &events.HealthEvent{Metadata: events.Metadata{Source: c},
			Kind: events.Unhealthy, Component: c, Message: "down\nwith a second line"}))
	}
	require.NoError(t, bus.Publish(context.Background(), &events.RetryEvent{Metadata: events.Metadata{Source: "hosts"},
		Kind: events.CircuitOpened, Target: "/app/hosts", From: "closed", Circuit: "open", Failures: 5,
		Delay: 10*time.Second + 3*time.Millisecond, Error: "not a directory"}))
	w.Expect(t, "the retry", func(e events.Event) bool { return e.Meta().Source == "hosts" })
	s := newTestServer(t, testConfig(), func(p *Params) { p.Bus = bus })
	opened := "/app/hosts circuit_opened after 5 failures; next try in 10s: not a directory"
	cases := []struct {
		name, query string
		code        int
		summaries   []string
	}{
		{"all", "", http.StatusOK, []string{"dns unhealthy: down", "docker unhealthy: down", opened}},
		{"newest last", "?limit=2", http.StatusOK, []string{"docker unhealthy: down", opened}},
		{"by family", "?family=dns,hosts", http.StatusOK, []string{}},
		{"retries", "?family=retry", http.StatusOK, []string{opened}},
		{"bad limit", "?limit=lots", http.StatusBadRequest, nil},
		{"zero limit", "?limit=0", http.StatusBadRequest, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, s, "GET", "/events"+tc.query, local, nil)
			require.Equal(t, tc.code, rec.Code, "body: %s", rec.Body)
			body := decode(t, rec)
			if tc.code != http.StatusOK {
				assert.Contains(t, body["message"], "query parameter limit=")
				return
			}
			got := []string{}
			for _, e := range body["events"].([]any) {
				e := e.(map[string]any)
				got = append(got, e["summary"].(string))
				for _, k := range []string{"id", "correlation_id", "timestamp", "source", "family", "kind"} {
					assert.NotEmpty(t, e[k], k)
				}
			}
			assert.Equal(t, tc.summaries, got)
		})
	}
}

func TestPanicIsAJSON500(t *testing.T) {
	bus := eventstest.NewBus(t)
	w := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyError}})
	s := newTestServer(t, testConfig(), func(p *Params) { p.Bus = bus }, withRoutes(
		status.Route{Pattern: "GET /boom", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("secret internals at /home/build/x.go")
		})}))
	rec := serve(t, s, "GET", "/boom", local, nil)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, map[string]any{"status": "error", "message": "internal error"}, decode(t, rec))
	e := w.Expect(t, "the panic reported", eventstest.Kind(events.FamilyError, events.Kind(events.ErrorPanic))).(*events.ErrorEvent)
	assert.Equal(t, "http", e.Module)
	assert.Contains(t, e.Message, "secret internals")
	assert.Equal(t, http.StatusOK, serve(t, s, "GET", "/health", local, nil).Code, "the server goes on")
}

func TestNewRejects(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	cases := []struct {
		name string
		opt  func(*Params)
		want string
	}{
		{"a taken pattern", withRoutes(status.Route{Pattern: "GET /health", Handler: ok}), `route "GET /health"`},
		{"an invalid pattern", withRoutes(status.Route{Pattern: "GET /{bad", Handler: ok}), `route "GET /{bad"`},
		{"a route without handler", withRoutes(status.Route{Pattern: "GET /x"}), `route "GET /x" has no handler`},
		{"two reporters of one name", withReporters(status.Reporter{Name: "dns"}, status.Reporter{Name: "dns"}), `reporter name "dns"`},
		{"no body limit", func(p *Params) { p.Config.MaxBodyBytes = 0 }, "http.max_body_bytes = 0"},
		{"no write timeout", func(p *Params) { p.Config.WriteTimeout = 0 }, "http.write_timeout = 0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bus, err := events.NewBus(events.DefaultConfig(), zap.NewNop())
			require.NoError(t, err)
			p := Params{Bus: bus, Store: dnsstore.New(), Config: testConfig()}
			tc.opt(&p)
			_, err = New(p)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestReplacedSourceSummary: /events and the stream say how much a source_replaced DNSEvent changed, from its
// counts, also once the history has dropped its change list, and never list the changes.
func TestReplacedSourceSummary(t *testing.T) {
	changes := make([]events.RecordChange, 300)
	for i := range changes {
		changes[i] = events.RecordChange{Kind: events.DNSRecordAdded,
			Record: events.Record{Name: fmt.Sprintf("h%d.lab.test.", i), Type: "A", Value: "10.0.0.1", TTL: 60}}
	}
	e := &events.DNSEvent{Metadata: events.Metadata{Source: "records"}, Kind: events.DNSSourceReplaced,
		Owner: "hosts:/h/big", Changes: changes, Added: 298, Updated: 1, Removed: 1}
	tests := []struct {
		name  string
		event events.Event
	}{
		{"as published", e},
		{"as the history keeps it", e.WithoutChanges()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, "records of hosts:/h/big replaced: 298 added, 1 updated, 1 removed", summary(tt.event))
		})
	}
}
