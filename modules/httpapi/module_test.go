package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig listens on a free loopback port.
func testConfig() Config {
	c := DefaultConfig()
	c.Host, c.Port = "127.0.0.1", 0
	return c
}

var testService = status.Service{Name: "Joyride DNS", Environment: "test", Version: "1.2.3", Started: time.Now()}

func TestModule(t *testing.T) {
	var srv *Server
	app := fxtest.New(t,
		dnsstore.Module,
		events.Module,
		Module,
		fx.Supply(testConfig(), events.DefaultConfig(), testService),
		fx.Provide(zap.NewNop),
		fx.Populate(&srv),
	)
	require.Empty(t, srv.Addr(), "the constructor binds nothing")
	app.RequireStart()
	addr := srv.Addr()
	require.NotEmpty(t, addr)

	resp, err := http.Get("http://" + addr + "/health")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "healthy", body["status"])
	assert.Equal(t, "Joyride DNS", body["service"])
	assert.Equal(t, "1.2.3", body["version"])

	app.RequireStop()
	assert.Empty(t, srv.Addr())
	_, err = net.Dial("tcp", addr)
	assert.Error(t, err, "the listener is closed after stop")
}

func TestModuleFailsOnTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	cfg := testConfig()
	cfg.Port = taken.Addr().(*net.TCPAddr).Port
	app := fxtest.New(t, dnsstore.Module, events.Module, Module, fx.Supply(cfg, events.DefaultConfig(), testService),
		fx.Provide(zap.NewNop))
	err = app.Start(context.Background())
	require.ErrorContains(t, err, taken.Addr().String())
	require.NoError(t, app.Stop(context.Background()), "stop after a failed start")
}

func TestStopWithoutStart(t *testing.T) {
	s := newTestServer(t, testConfig())
	require.NoError(t, s.Stop(context.Background()))
}

// newTestServer builds a server (not started) on a started bus and an empty store.
func newTestServer(t *testing.T, cfg Config, opts ...func(*Params)) *Server {
	t.Helper()
	bus, err := events.NewBus(events.DefaultConfig(), zap.NewNop())
	require.NoError(t, err)
	require.NoError(t, bus.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, bus.Stop(context.Background())) })
	p := Params{Bus: bus, Store: dnsstore.New(), Config: cfg, Service: testService}
	for _, o := range opts {
		o(&p)
	}
	s, err := New(p)
	require.NoError(t, err)
	return s
}

// The stream sends bus events and pings, survives the server's read and write timeouts, and ends on Stop
// without Stop waiting for its client.
func TestEventStream(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout, cfg.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	s := newTestServer(t, cfg)
	s.pingEvery = 50 * time.Millisecond
	require.NoError(t, s.Start(context.Background()))
	stopped := false
	defer func() {
		if !stopped {
			require.NoError(t, s.Stop(context.Background()))
		}
	}()

	resp, err := http.Get("http://" + s.Addr() + "/events/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(what string, match func(string) bool) string {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "the stream ended before %s", what)
				if match(l) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %s on the stream", what)
			}
		}
	}
	next("connected comment", func(l string) bool { return l == ": connected" })
	// Pings outlast several read and write timeouts: the stream is not cut by them.
	for range 5 {
		next("ping", func(l string) bool { return l == ": ping" })
	}
	require.NoError(t, s.bus.Publish(context.Background(), &events.HealthEvent{Metadata: events.Metadata{Source: "hosts"},
		Kind: events.Healthy, Component: "hosts"}))
	next("event line", func(l string) bool { return l == "event: health" })
	data := next("data line", func(l string) bool { return strings.HasPrefix(l, "data: ") })
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &ev))
	assert.Equal(t, "hosts healthy", ev["summary"])
	assert.Equal(t, "health", ev["family"])

	require.NoError(t, s.Stop(context.Background()), "stop does not wait for the stream's client")
	stopped = true
	require.Eventually(t, func() bool {
		select {
		case _, ok := <-lines:
			return !ok
		default:
			return false
		}
	}, 10*time.Second, 10*time.Millisecond, "the stream ends on stop")
}

// Streams past maxStreams are refused with a JSON 503, and a closed stream gives its place back.
func TestEventStreamLimit(t *testing.T) {
	s := newTestServer(t, testConfig())
	s.streamSlots = make(chan struct{}, 2)
	require.NoError(t, s.Start(context.Background()))
	defer func() { require.NoError(t, s.Stop(context.Background())) }()
	open := func() *http.Response {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr() + "/events/stream")
		require.NoError(t, err)
		return resp
	}
	first, second := open(), open()
	defer second.Body.Close()
	require.Equal(t, http.StatusOK, first.StatusCode)
	require.Equal(t, http.StatusOK, second.StatusCode)

	third := open()
	defer third.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, third.StatusCode, "a third stream past the limit of two")
	body, err := io.ReadAll(third.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"status":"error","message":"too many event streams open (2); poll /events instead"}`, string(body))

	first.Body.Close()
	require.Eventually(t, func() bool {
		resp := open()
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "a closed stream's place is free again")
}

// blockedWriter is a stream's client that stops reading after the first write: every later write waits for
// release. It has the deadline and flush methods http.ResponseController looks for.
type blockedWriter struct {
	header  http.Header
	release chan struct{}
	mu      sync.Mutex
	out     strings.Builder
	writes  int
}

func (w *blockedWriter) Header() http.Header              { return w.header }
func (w *blockedWriter) WriteHeader(int)                  {}
func (w *blockedWriter) SetWriteDeadline(time.Time) error { return nil }
func (w *blockedWriter) FlushError() error                { return nil }
func (w *blockedWriter) String() string                   { w.mu.Lock(); defer w.mu.Unlock(); return w.out.String() }
func (w *blockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first := w.writes == 1
	w.mu.Unlock()
	if !first {
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// A stream whose client falls streamQueue events behind is ended with "event: lagged" instead of having the bus
// hold every later event for it.
func TestEventStreamLagged(t *testing.T) {
	s := newTestServer(t, testConfig())
	w := &blockedWriter{header: http.Header{}, release: make(chan struct{})}
	var release sync.Once
	// Registered after the bus's cleanup, so it runs first: a failed test still lets the stream drain and the
	// bus stop, rather than hang.
	t.Cleanup(func() { release.Do(func() { close(w.release) }) })
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serveStream(w, httptest.NewRequest("GET", "/events/stream", nil))
	}()
	require.Eventually(t, func() bool { return strings.Contains(w.String(), ": connected") }, 10*time.Second, 5*time.Millisecond)
	// One event blocks the writer; streamQueue more fill the queue; the next overflows it.
	for i := range streamQueue + 2 {
		require.NoError(t, s.bus.Publish(context.Background(), &events.HealthEvent{Metadata: events.Metadata{Source: "hosts"},
			Kind: events.Healthy, Component: "hosts", Message: strconv.Itoa(i)}))
	}
	require.Eventually(t, func() bool { return s.bus.Stats().QueueDepth == 0 }, 10*time.Second, 5*time.Millisecond,
		"the bus delivered everything to the stream's handler without waiting for the client")
	release.Do(func() { close(w.release) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the lagging stream did not end")
	}
	assert.True(t, strings.HasSuffix(w.String(), "event: lagged\ndata: {}\n\n"), "the stream's end: %q", w.String()[max(0, len(w.String())-80):])
}
