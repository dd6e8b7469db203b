package docker

// Helpers for the tests that run against the machine's real container engine: a test image built from scratch,
// labelled containers removed when the test ends, and a socket proxy the test can cut and restore.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// testLabel marks every container a test run creates, so cleanup (and a human) can find them.
const testLabel = "joyride.test"

// runID is unique per test process: container names and DNS names include it, so runs on one engine never
// collide, and AllowedDomains keeps every test blind to containers it did not create.
var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// testDomain is the zone every test name lives under.
var testDomain = runID + ".joyride.test"

// engineSocket is the engine the tests use and the proxy forwards to.
func engineSocket() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// testEngine returns a client for the real engine. Without one the test is skipped, unless
// JOYRIDE_REQUIRE_DOCKER is set, which makes it a failure (CI sets it whenever `docker info` works).
func testEngine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv, client.WithHost(engineSocket()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		if os.Getenv("JOYRIDE_REQUIRE_DOCKER") != "" {
			t.Fatalf("JOYRIDE_REQUIRE_DOCKER is set but no Docker engine is reachable at %s: %v", engineSocket(), err)
		}
		t.Skipf("no Docker engine reachable at %s (%v); set JOYRIDE_REQUIRE_DOCKER=1 to make this a failure",
			engineSocket(), err)
	}
	return cli
}

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

// testImage returns the tag of an image FROM scratch holding integration/testdata/sleeper (shared with the integration tests and bench/docker), compiled statically. The tag is
// the binary's hash, so an unchanged binary reuses the image of an earlier run instead of rebuilding it.
func testImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	imageOnce.Do(func() { imageTag, imageErr = buildImage(cli) })
	require.NoError(t, imageErr, "building the test image")
	return imageTag
}

func buildImage(cli *client.Client) (string, error) {
	dir, err := os.MkdirTemp("", "joyride-sleeper-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sleeper")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../../integration/testdata/sleeper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build sleeper: %v\n%s", err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(binary)
	tag := "joyride-test-sleeper:" + hex.EncodeToString(sum[:6])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n")},
		{"sleeper", 0o755, binary},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, Labels: map[string]string{testLabel: "image"},
	})
	if err != nil {
		return "", fmt.Errorf("docker build: %w", err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("docker build output: %w", err)
		}
		if msg.Error != "" {
			return "", fmt.Errorf("docker build: %s", msg.Error)
		}
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("built image %s not found: %w", tag, err)
	}
	return tag, nil
}

// containers creates and drives labelled test containers, all removed when the test ends.
type containers struct {
	t     *testing.T
	cli   *client.Client
	image string
	n     atomic.Int64
}

func newContainers(t *testing.T, cli *client.Client) *containers {
	return &containers{t: t, cli: cli, image: testImage(t, cli)}
}

func (c *containers) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	c.t.Cleanup(cancel)
	return ctx
}

// create makes a container with labels (plus the test label) and returns its ID and name. It has no network,
// which makes start and stop quick.
func (c *containers) create(labels map[string]string) (id, name string) {
	c.t.Helper()
	all := map[string]string{testLabel: runID}
	for k, v := range labels {
		all[k] = v
	}
	name = fmt.Sprintf("joyride-test-%s-%d", runID, c.n.Add(1))
	res, err := c.cli.ContainerCreate(c.ctx(), client.ContainerCreateOptions{
		Name:       name,
		Config:     &dockercontainer.Config{Image: c.image, Labels: all},
		HostConfig: &dockercontainer.HostConfig{NetworkMode: "none"},
	})
	require.NoError(c.t, err)
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.cli.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true})
	})
	return res.ID, name
}

// run creates and starts a container.
func (c *containers) run(labels map[string]string) (id, name string) {
	c.t.Helper()
	id, name = c.create(labels)
	c.start(id)
	return id, name
}

func (c *containers) start(id string) {
	c.t.Helper()
	_, err := c.cli.ContainerStart(c.ctx(), id, client.ContainerStartOptions{})
	require.NoError(c.t, err)
}

func (c *containers) stop(id string) {
	c.t.Helper()
	timeout := 10
	_, err := c.cli.ContainerStop(c.ctx(), id, client.ContainerStopOptions{Timeout: &timeout})
	require.NoError(c.t, err)
}

func (c *containers) kill(id, signal string) {
	c.t.Helper()
	_, err := c.cli.ContainerKill(c.ctx(), id, client.ContainerKillOptions{Signal: signal})
	require.NoError(c.t, err)
}

func (c *containers) pause(id string) {
	c.t.Helper()
	_, err := c.cli.ContainerPause(c.ctx(), id, client.ContainerPauseOptions{})
	require.NoError(c.t, err)
}

func (c *containers) unpause(id string) {
	c.t.Helper()
	_, err := c.cli.ContainerUnpause(c.ctx(), id, client.ContainerUnpauseOptions{})
	require.NoError(c.t, err)
}

// remove force-removes a container, running or not: the engine sends die and destroy.
func (c *containers) remove(id string) {
	c.t.Helper()
	_, err := c.cli.ContainerRemove(c.ctx(), id, client.ContainerRemoveOptions{Force: true})
	require.NoError(c.t, err)
}

// running returns the IDs of this run's running containers, as the engine lists them.
func (c *containers) running() []string {
	c.t.Helper()
	res, err := c.cli.ContainerList(c.ctx(), client.ContainerListOptions{
		Filters: make(client.Filters).Add("label", testLabel+"="+runID).Add("status", "running"),
	})
	require.NoError(c.t, err)
	ids := make([]string, 0, len(res.Items))
	for _, it := range res.Items {
		ids = append(ids, it.ID)
	}
	slices.Sort(ids)
	return ids
}

// engineProxy stands between the producer and the engine: a reverse proxy on 127.0.0.1 that the test can cut
// (every connection dropped, new requests answered 503, as if the daemon restarted) and restore. It refuses
// and records every request that is not a GET or HEAD, so a test can prove the producer only reads.
type engineProxy struct {
	srv  *httptest.Server
	tr   *http.Transport
	cut  atomic.Bool
	mu   sync.Mutex
	seen []string // "METHOD /path" of every request
}

func newEngineProxy(t *testing.T) *engineProxy {
	t.Helper()
	u, err := client.ParseHostURL(engineSocket())
	require.NoError(t, err)
	p := &engineProxy{tr: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, u.Scheme, u.Host) // ParseHostURL puts a socket's path in Host
		},
	}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport:     p.tr,
		FlushInterval: -1, // the event stream must not be buffered
		// A cut makes in-flight requests fail by design.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			http.Error(w, "forbidden by the test proxy", http.StatusForbidden)
		case p.cut.Load():
			http.Error(w, "engine cut by the test", http.StatusServiceUnavailable)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.tr.CloseIdleConnections()
	})
	return p
}

// host is the address to put in Config.Host.
func (p *engineProxy) host() string { return "tcp://" + p.srv.Listener.Addr().String() }

// interrupt drops every connection, including the producer's event stream, and answers 503 until restore.
func (p *engineProxy) interrupt() {
	p.cut.Store(true)
	p.srv.CloseClientConnections()
}

func (p *engineProxy) restore() { p.cut.Store(false) }

// writes returns the requests that were not GET or HEAD.
func (p *engineProxy) writes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.seen {
		if !strings.HasPrefix(s, "GET ") && !strings.HasPrefix(s, "HEAD ") {
			out = append(out, s)
		}
	}
	return out
}

func (p *engineProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}
