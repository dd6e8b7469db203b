package integration

// Tests of the retry policy (pkg/retry) in the real binary: a source that keeps failing — the container engine's
// socket missing, a hosts directory that cannot be listed, a cluster seed that is down — is retried with capped
// exponential backoff, and its circuit opens after five failures. The timings are read from the retry events'
// timestamps on /events, never from sleeps: every test sets the source's cap to 1 s, so the four delays before the
// circuit opens are about 0.25, 0.5, 1 and 1 s (the last one capped), and the open interval about 2 s. The
// bounds are generous (timers never fire early, but a loaded machine may fire them late); an uncapped fourth
// delay (about 2 s) or a missing circuit breaker fails them. Each test then brings the source back and sees it
// recover: in DNS, in the health, and as a recovered event.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// retryCap is the cap every test gives its source (docker.max_backoff, hosts.poll_interval,
// cluster.rejoin_interval), and the audit log's own, which is fixed (TestAuditFailures checks it alike).
const retryCap = time.Second

// retryEvent is one event of the retry family as /events shows it.
type retryEvent struct {
	Timestamp time.Time `json:"timestamp"`
	Source    string    `json:"source"`
	Kind      string    `json:"kind"`
	Summary   string    `json:"summary"`
}

func (e retryEvent) String() string {
	return fmt.Sprintf("%s %s %s", e.Timestamp.Format("15:04:05.000"), e.Kind, e.Summary)
}

// retryEvents returns p's retry events from source, oldest first.
func (p *proc) retryEvents(t *testing.T, source string) []retryEvent {
	t.Helper()
	r := p.call(t, "GET", "/events?family=retry&limit=1000", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	var body struct {
		Events []retryEvent `json:"events"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body))
	var out []retryEvent
	for _, e := range body.Events {
		if e.Source == source {
			out = append(out, e)
		}
	}
	return out
}

// waitRetries polls p's retry events from source until check accepts them, and returns them.
func (p *proc) waitRetries(t *testing.T, what, source string, within time.Duration, check func([]retryEvent) bool) []retryEvent {
	t.Helper()
	var evs []retryEvent
	require.Eventually(t, func() bool {
		evs = p.retryEvents(t, source)
		return check(evs)
	}, within, 50*time.Millisecond, "%s; retry events of %s: %v", what, source, evs)
	return evs
}

// count is how many of evs are of kind.
func count(evs []retryEvent, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// requireBackoff checks what a source failing from the first of evs on looks like under the policy capped at
// retryCap: four failed attempts and the failure that opens the circuit, about 0.25, 0.5, 1 and 1 s apart (the
// last capped), then a probe (half-open) about 2 s later, whose failure opens the circuit again at once, and the
// next probe about 2 s after that.
func requireBackoff(t *testing.T, evs []retryEvent) {
	t.Helper()
	want := []string{"attempt_failed", "attempt_failed", "attempt_failed", "attempt_failed", "circuit_opened",
		"circuit_half_open", "circuit_opened", "circuit_half_open"}
	require.GreaterOrEqual(t, len(evs), len(want), "%v", evs)
	kinds := make([]string, len(want))
	for i := range want {
		kinds[i] = evs[i].Kind
	}
	require.Equal(t, want, kinds, "%v", evs)
	gap := func(i int) time.Duration { return evs[i].Timestamp.Sub(evs[i-1].Timestamp) }
	gaps := make([]time.Duration, len(want)-1)
	for i := range gaps {
		gaps[i] = gap(i + 1).Round(time.Millisecond)
	}
	t.Logf("gaps between the retry events: %v", gaps)
	ms := time.Millisecond
	for _, b := range []struct {
		i        int
		what     string
		min, max time.Duration
	}{
		{1, "first delay, 250ms ±20%", 175 * ms, 700 * ms},
		{2, "second delay, 500ms ±20%", 350 * ms, 1000 * ms},
		{3, "third delay, 1s ±20% and capped at 1s", 700 * ms, 1500 * ms},
		{4, "fourth delay, 2s capped at 1s", 700 * ms, 1500 * ms},
		{5, "open interval, 2s ±20%", 1400 * ms, 3200 * ms},
		{7, "open interval again", 1400 * ms, 3200 * ms},
	} {
		assert.GreaterOrEqual(t, gap(b.i), b.min, "%s: %v", b.what, evs)
		assert.LessOrEqual(t, gap(b.i), b.max, "%s: %v", b.what, evs)
	}
	assert.Less(t, gap(1), gap(2), "the delays grow: %v", evs)
	assert.Less(t, gap(2), gap(3), "the delays grow: %v", evs)
	assert.Less(t, gap(6), 500*ms, "a failed probe opens the circuit again at once: %v", evs)
	assert.Contains(t, evs[4].Summary, "circuit_opened after 5 failures")
}

// component returns the health of module as /status shows it, and the module's own status object.
func (p *proc) component(t *testing.T, module string) (health, st map[string]any) {
	t.Helper()
	body := p.call(t, "GET", "/status", nil).json(t)
	for _, c := range body["health"].([]any) {
		if c := c.(map[string]any); c["name"] == module {
			health = c
		}
	}
	st, _ = body["modules"].(map[string]any)[module].(map[string]any)
	return health, st
}

// requireOpen checks that the health says module is unhealthy because a circuit is open, and that the module's
// status shows the open circuit (open, or half-open while a probe is made).
func (p *proc) requireOpen(t *testing.T, module string, retryOf func(st map[string]any) map[string]any) {
	t.Helper()
	health, st := p.component(t, module)
	require.NotNil(t, health, "%s has a health", module)
	assert.Equal(t, "unhealthy", health["state"])
	assert.Contains(t, health["message"], "circuit open after 5 failures")
	r := retryOf(st)
	require.NotNil(t, r, "%s's status shows its retry: %v", module, st)
	assert.Contains(t, []any{"open", "half_open"}, r["state"])
	assert.GreaterOrEqual(t, r["failures"], 5.0)
}

// fakeEngine serves the few Engine API calls the docker module makes on a unix socket at path: the version ping,
// an event stream that stays open, and a list of one running container labelled with name. It is the source
// coming back; what is tested is the module's retrying while it was not there.
func fakeEngine(t *testing.T, path, name string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Api-Version", "1.44")
		_, _ = w.Write([]byte("OK"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/events"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case strings.HasSuffix(r.URL.Path, "/containers/json"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `[{"Id":"%s","Names":["/fake"],"State":"running","Labels":{"joyride.host.name":%q}}]`,
				strings.Repeat("ab", 32), name)
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// The container engine's socket does not exist: the docker module retries under the policy (docker.max_backoff
// is the cap), opens its circuit, and says so in its health and status. When an engine answers on the socket,
// the next probe connects, the container's name resolves, and once the stream has held the circuit closes.
func TestBackoffDockerEngine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	p := startDocker(t, t.TempDir(), "--set", "docker.host=unix://"+sock, "--set", "docker.max_backoff="+retryCap.String())
	require.NotEmpty(t, p.http)

	evs := p.waitRetries(t, "two probes", "docker", 20*time.Second, func(evs []retryEvent) bool {
		return count(evs, "circuit_half_open") >= 2
	})
	requireBackoff(t, evs)
	assert.Contains(t, evs[0].Summary, "unix://"+sock)
	p.requireOpen(t, "docker", func(st map[string]any) map[string]any { r, _ := st["retry"].(map[string]any); return r })

	name := dockerName("back")
	fakeEngine(t, sock, name)
	p.eventually(t, "the fake engine's container", qA(name), answersA(dockerHostIP))
	p.eventuallyJSON(t, "docker healthy", "/status", http.StatusOK, func(body map[string]any) bool {
		for _, c := range body["health"].([]any) {
			if c := c.(map[string]any); c["name"] == "docker" {
				return c["state"] == "healthy"
			}
		}
		return false
	})
	// A connection counts as a success once its stream has lasted 10 s.
	p.waitRetries(t, "recovered", "docker", 20*time.Second, func(evs []retryEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Kind == "recovered"
	})
	_, st := p.component(t, "docker")
	assert.Equal(t, "closed", st["retry"].(map[string]any)["state"])
	p.stop(t)
}

// A hosts directory that cannot be listed (its path, a symlink, swapped at once to a regular file: root lists a
// directory whatever its mode) keeps its records while the hosts module retries it under the policy
// (hosts.poll_interval is the cap); the module is unhealthy while the circuit is open. The directory coming back
// closes it, and its changed file is served.
func TestBackoffHostsDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "hosts")
	require.NoError(t, os.Mkdir(filepath.Join(root, "v1"), 0o755))
	writeFile(t, filepath.Join(root, "v1", "lab"), "10.0.0.31 kept.lab.test\n")
	require.NoError(t, os.Symlink(filepath.Join(root, "v1"), dir))
	swap := func(target string) {
		require.NoError(t, os.Symlink(target, dir+".new"))
		require.NoError(t, os.Rename(dir+".new", dir))
	}
	p, _ := startHTTP(t, nil, "hosts.directories="+dir, "hosts.poll_interval="+retryCap.String())
	p.eventually(t, "the hosts file's name", qA("kept.lab.test"), answersA("10.0.0.31"))

	writeFile(t, filepath.Join(root, "file"), "not a directory")
	swap(filepath.Join(root, "file"))
	evs := p.waitRetries(t, "two probes", "hosts", 20*time.Second, func(evs []retryEvent) bool {
		return count(evs, "circuit_half_open") >= 2
	})
	requireBackoff(t, evs)
	assert.Contains(t, evs[0].Summary, dir)
	assert.Contains(t, evs[0].Summary, "not a directory")
	p.requireOpen(t, "hosts", func(st map[string]any) map[string]any {
		r, _ := st["retry"].(map[string]any)[dir].(map[string]any)
		return r
	})
	r := p.query(t, "udp", qA("kept.lab.test"))
	assert.True(t, answersA("10.0.0.31")(r), "the records are kept while the directory cannot be listed:\n%v", r)

	require.NoError(t, os.Mkdir(filepath.Join(root, "v2"), 0o755))
	writeFile(t, filepath.Join(root, "v2", "lab"), "10.0.0.32 kept.lab.test\n")
	swap(filepath.Join(root, "v2"))
	p.eventually(t, "the file of the directory back", qA("kept.lab.test"), answersA("10.0.0.32"))
	p.waitRetries(t, "recovered", "hosts", 10*time.Second, func(evs []retryEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Kind == "recovered"
	})
	health, st := p.component(t, "hosts")
	assert.Equal(t, "healthy", health["state"])
	assert.Equal(t, "closed", st["retry"].(map[string]any)[dir].(map[string]any)["state"])
	p.stop(t)
}

// A cluster node whose only seed (on 127.0.0.32, where nothing listens yet) is down: its failed joins follow the
// policy (cluster.rejoin_interval is the cap) and the circuit opens; the health names it. Once the seed runs, a
// probe joins it and the node answers the seed's names.
func TestBackoffClusterSeeds(t *testing.T) {
	c := newTestCluster(t, "127.0.0.31", "127.0.0.32")
	a := c.node(t, "a", "127.0.0.31", []string{c.gossip("127.0.0.32")}, "10.0.0.31 a.lab.test\n").start(t)
	require.NotEmpty(t, a.p.http)
	evs := a.p.waitRetries(t, "two probes", "cluster", 20*time.Second, func(evs []retryEvent) bool {
		return count(evs, "circuit_half_open") >= 2
	})
	requireBackoff(t, evs)
	assert.Contains(t, evs[0].Summary, "seeds attempt_failed after 1 failures")
	a.p.requireOpen(t, "cluster", func(st map[string]any) map[string]any { r, _ := st["retry"].(map[string]any); return r })

	c.node(t, "b", "127.0.0.32", nil, "10.0.0.32 b.lab.test\n").start(t)
	a.answers(t, "b.lab.test.", "10.0.0.32", 15*time.Second)
	a.p.waitRetries(t, "recovered", "cluster", 10*time.Second, func(evs []retryEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Kind == "recovered"
	})
	health, st := a.p.component(t, "cluster")
	assert.Equal(t, "healthy", health["state"])
	assert.Equal(t, "closed", st["retry"].(map[string]any)["state"])
}
