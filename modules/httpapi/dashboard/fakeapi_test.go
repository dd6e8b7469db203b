package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/modules/httpapi/dashboard"
	"github.com/joyride-dns/joyride/pkg/status"
)

// fakeAPI answers the JSON API the page reads, in the shapes of the brief's contract, from records and events a
// test sets; the real API is tested against the real binary in the integration tests.
type fakeAPI struct {
	mu        sync.Mutex
	records   []fakeRecord
	events    []event
	subs      map[*sub]struct{}
	clusterOn bool
	streamOff bool // /events/stream answers 503, as a proxy that does not pass it would
	// held, when set, is what /dns/records answers instead of records: the records as they were before a change
	// the page is to learn of later (see hold).
	held []fakeRecord
	// gate, when set, holds each /events/stream request (before it subscribes) until it is closed.
	gate chan struct{}
	seq  int
	done chan struct{}
	url  string
}

type fakeRecord struct {
	Hostname, Type, Value, Source, Node string
	TTL                                 int
	SetAt                               time.Time
	Provenance                          status.Provenance
	Event                               event
}

// sub is one open /events/stream: the events it is to send, and lagged, closed to end it as the server ends a
// client's stream that fell behind.
type sub struct {
	events chan event
	lagged chan struct{}
}

type event struct {
	ID            string    `json:"id"`
	CorrelationID string    `json:"correlation_id"`
	Timestamp     time.Time `json:"timestamp"`
	Source        string    `json:"source"`
	Family        string    `json:"family"`
	Kind          string    `json:"kind"`
	Summary       string    `json:"summary"`
}

// newFakeAPI serves the dashboard and the fake API on 127.0.0.1 until the test ends.
func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{subs: map[*sub]struct{}{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	page := dashboard.Handler()
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /assets/", page)
	mux.HandleFunc("GET /status", f.status)
	mux.HandleFunc("GET /dns/records", f.list)
	mux.HandleFunc("GET /dns/records/{name}", f.explain)
	mux.HandleFunc("GET /dns/cluster", f.cluster)
	mux.HandleFunc("GET /events", f.history)
	mux.HandleFunc("GET /events/stream", f.stream)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = l
	srv.Start()
	f.url = srv.URL
	t.Cleanup(func() {
		close(f.done) // ends the streams, so Close does not wait on them
		srv.Close()
	})
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// add adds a record and publishes its event (family/kind) to the history and the open streams.
func (f *fakeAPI) add(r fakeRecord, family, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	r.Event = event{ID: fmt.Sprintf("ev-%04d", f.seq), CorrelationID: fmt.Sprintf("c%07d-8b1f-4c2e", f.seq),
		Timestamp: time.Now().UTC(), Source: strings.SplitN(r.Source, ":", 2)[0], Family: family, Kind: kind,
		Summary: fmt.Sprintf("%s %s %s", r.Hostname, r.Type, r.Value)}
	if r.SetAt.IsZero() {
		r.SetAt = r.Event.Timestamp
	}
	f.records = append(f.records, r)
	f.events = append(f.events, r.Event)
	f.publish(r.Event)
}

// publish sends ev to the open streams; f.mu is held.
func (f *fakeAPI) publish(ev event) {
	for s := range f.subs {
		select {
		case s.events <- ev:
		default:
		}
	}
}

// resend sends the newest event of the history to the open streams again: the history and the stream overlap,
// as they do on the real server when an event is published while the page starts.
func (f *fakeAPI) resend() event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := f.events[len(f.events)-1]
	f.publish(ev)
	return ev
}

// hold makes /dns/records answer the records as they are now until release, whatever is added meanwhile: the
// page's fetch answered before a change lands.
func (f *fakeAPI) hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held = slices.Clone(f.records)
}

func (f *fakeAPI) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held = nil
}

// lag ends every open stream with a final `event: lagged`, as the server does with a client that fell behind,
// and adds r meanwhile: no stream sends its event, so only a page that catches up after reconnecting shows it.
func (f *fakeAPI) lag(r fakeRecord, family, kind string) {
	f.mu.Lock()
	subs := f.subs
	f.subs = map[*sub]struct{}{}
	f.mu.Unlock()
	f.add(r, family, kind)
	for s := range subs {
		close(s.lagged)
	}
}

func (f *fakeAPI) set(change func(f *fakeAPI)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeAPI) status(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hosts := 0
	for _, r := range f.records {
		if strings.HasPrefix(r.Source, "hosts:") {
			hosts++
		}
	}
	since := time.Now().Add(-3 * time.Hour).UTC()
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "running", "timestamp": time.Now().UTC().Format(time.RFC3339), "service": "Joyride DNS",
		"version": "1.4.0", "environment": "homelab",
		"dns_server":       map[string]any{"port": 53, "bind_address": "0.0.0.0", "running": true},
		"docker_monitor":   map[string]any{"running": true},
		"hosts_monitor":    map[string]any{"enabled": true, "directory": "/app/hosts", "running": true, "records_count": hosts},
		"uptime":           "1 day, 3:04:05",
		"uptime_seconds":   97445.0,
		"dns_sync_cluster": map[string]any{"enabled": f.clusterOn, "running": f.clusterOn, "node_id": "node-a"},
		"ready":            true,
		"health": []status.Component{
			{Name: "dns", State: status.Healthy, Since: since, Loaded: true},
			{Name: "docker", State: status.Unhealthy, Message: "engine unreachable: reconnecting", Since: since, Loaded: true},
			{Name: "hosts", State: status.Healthy, Since: since, Loaded: true},
		},
		"modules": map[string]any{},
	})
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	out := []map[string]any{}
	records := f.records
	if f.held != nil {
		records = f.held
	}
	for _, rec := range records {
		if !strings.Contains(strings.ToLower(rec.Hostname), strings.ToLower(q.Get("name"))) ||
			!strings.Contains(rec.Source, q.Get("source")) || (q.Has("node") && rec.Node != q.Get("node")) {
			continue
		}
		out = append(out, map[string]any{"hostname": rec.Hostname, "ip_address": rec.Value, "ttl": rec.TTL,
			"type": rec.Type, "value": rec.Value, "source": rec.Source, "node": rec.Node,
			"set_at": rec.SetAt.Format(time.RFC3339Nano), "age_seconds": int(time.Since(rec.SetAt).Seconds())})
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "total_records": len(out), "records": out})
}

func (f *fakeAPI) explain(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.PathValue("name")
	recs := []map[string]any{}
	nodes := []string{}
	for _, rec := range f.records {
		if !strings.EqualFold(rec.Hostname, name) {
			continue
		}
		recs = append(recs, map[string]any{"type": rec.Type, "value": rec.Value, "ttl": rec.TTL, "source": rec.Source,
			"node": rec.Node, "set_at": rec.SetAt, "provenance": []status.Provenance{rec.Provenance}, "last_event": rec.Event})
		if !slices.Contains(nodes, rec.Node) {
			nodes = append(nodes, rec.Node)
		}
	}
	if len(recs) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "error", "message": "no record at " + name})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "name": name, "records": recs, "nodes": nodes,
		"multiple_nodes": len(nodes) > 1})
}

func (f *fakeAPI) cluster(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.clusterOn {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "disabled", "message": "DNS synchronization is not enabled"})
		return
	}
	now := time.Now().UTC()
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "cluster": map[string]any{
		"node_id": "node-a", "running": true,
		"members": []map[string]any{
			{"node_id": "node-a", "address": "192.168.1.10:8890", "state": "alive", "last_seen": now},
			{"node_id": "node-b", "address": "192.168.1.11:8890", "state": "alive", "last_seen": now.Add(-2 * time.Second)},
			{"node_id": "node-c", "address": "192.168.1.12:8890", "state": "suspect", "last_seen": now.Add(-40 * time.Second)},
		},
	}})
}

func (f *fakeAPI) history(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	evs := f.events[max(0, len(f.events)-50):]
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "events": evs})
}

func (f *fakeAPI) stream(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.streamOff {
		f.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "message": "stream unavailable"})
		return
	}
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
	s := &sub{events: make(chan event, 16), lagged: make(chan struct{})}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, s)
		f.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for {
		select {
		case ev := <-s.events:
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Family, b)
			_ = rc.Flush()
		case <-s.lagged:
			fmt.Fprint(w, "event: lagged\ndata: {}\n\n")
			_ = rc.Flush()
			return
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
}
