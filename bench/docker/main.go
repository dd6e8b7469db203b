// Command docker (bench/docker, `task bench:docker`) measures how fast Joyride follows a real Docker engine: for
// each of -n labelled containers, started and stopped one at a time, the time from the engine's own event
// (timeNano of the start and die events on the Engine API's event stream) to the name resolving, or answering
// NXDOMAIN, at the real joyride binary over loopback DNS; and the same from the moment the start or stop call
// returned, which is what a user sees after `docker start`.
//
//	go run ./bench/docker                 # 50 containers, builds joyride and the test image
//	go run ./bench/docker -n 200 -joyride bin/joyride
//
// A poller sends one A query every -poll (1 ms by default) from just before the start or stop call until the
// answer changes; a time is when the changed answer arrived, so each figure is late by at most -poll plus one
// loopback round trip. Event timestamps come from the daemon's clock, which on the same host is the same clock.
// The container image is the integration tests' FROM-scratch sleeper (integration/testdata/sleeper), without a
// network, so the engine's own start and stop are as short as they get. Every container is labelled
// joyride.bench=<run id> and removed at the end, also after Ctrl-C.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	dockercontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

const (
	module     = "github.com/joyride-dns/joyride"
	benchLabel = "joyride.bench"
	zone       = "bench.test"
	hostIP     = "10.0.0.99" // only data in answers
)

func main() {
	n := flag.Int("n", 50, "containers to start and stop, one at a time (at least 50 for a meaningful p99)")
	poll := flag.Duration("poll", time.Millisecond, "pause between DNS queries while waiting for a change")
	bin := flag.String("joyride", "", "joyride binary to run (default: build ./cmd/joyride)")
	timeout := flag.Duration("timeout", 10*time.Second, "give up on one container's name after this long")
	flag.Parse()
	if *n < 1 || *poll <= 0 {
		fmt.Fprintln(os.Stderr, "docker bench: -n must be positive and -poll above zero")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *poll, *timeout, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "docker bench:", err)
		os.Exit(1)
	}
}

// sample is one container's measurements.
type sample struct {
	startCall, eventToName, returnToName time.Duration
	stopCall, eventToNX, returnToNX      time.Duration
}

func run(ctx context.Context, n int, poll, timeout time.Duration, bin string) error {
	runID := randomID()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("no Docker engine: %w", err)
	}
	engine, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "joyride-bench-docker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "joyride")
		if err := goBuild(bin, module+"/cmd/joyride", false); err != nil {
			return err
		}
	}
	image, err := sleeperImage(work)
	if err != nil {
		return err
	}

	// Subscribe before anything is created, so every event of this run's containers is seen.
	watch := newEventWatcher(ctx, cli, runID)
	j, err := startJoyride(ctx, bin, work)
	if err != nil {
		return err
	}
	defer j.stop()

	var created []string
	defer func() {
		// The run's context may be cancelled (Ctrl-C); removal must still happen.
		rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, id := range created {
			_, _ = cli.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true})
		}
	}()

	samples := make([]sample, 0, n)
	for i := range n {
		name := fmt.Sprintf("c%d-%s.%s", i, runID, zone)
		res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name: fmt.Sprintf("joyride-bench-%s-%d", runID, i),
			Config: &dockercontainer.Config{Image: image,
				Labels: map[string]string{benchLabel: runID, "joyride.host.name": name}},
			HostConfig: &dockercontainer.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			return err
		}
		created = append(created, res.ID)
		s, err := measure(ctx, cli, watch, j.udp, res.ID, name, poll, timeout)
		if err != nil {
			return fmt.Errorf("container %d (%s): %w", i, name, err)
		}
		samples = append(samples, s)
		if _, err := cli.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			return err
		}
		created = created[:len(created)-1]
		if (i+1)%10 == 0 {
			fmt.Fprintf(os.Stderr, "docker bench: %d/%d containers\n", i+1, n)
		}
	}
	report(os.Stdout, samples, poll, engine.Version)
	return nil
}

// measure starts and stops one created container and times both paths.
func measure(ctx context.Context, cli *client.Client, watch *eventWatcher, server, id, name string,
	poll, timeout time.Duration) (sample, error) {
	var s sample
	resolved := probe(ctx, server, name, isA, poll, timeout)
	before := time.Now()
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return s, err
	}
	returned := time.Now()
	event, err := watch.wait(ctx, id, events.ActionStart, timeout)
	if err != nil {
		return s, err
	}
	r := <-resolved
	if r.err != nil {
		return s, fmt.Errorf("waiting for the name: %w", r.err)
	}
	s.startCall, s.eventToName, s.returnToName = returned.Sub(before), r.at.Sub(event), r.at.Sub(returned)

	gone := probe(ctx, server, name, isNXDOMAIN, poll, timeout)
	stopTimeout := 10
	before = time.Now()
	if _, err := cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &stopTimeout}); err != nil {
		return s, err
	}
	returned = time.Now()
	event, err = watch.wait(ctx, id, events.ActionDie, timeout)
	if err != nil {
		return s, err
	}
	r = <-gone
	if r.err != nil {
		return s, fmt.Errorf("waiting for NXDOMAIN: %w", r.err)
	}
	s.stopCall, s.eventToNX, s.returnToNX = returned.Sub(before), r.at.Sub(event), r.at.Sub(returned)
	return s, nil
}

func isA(r *dns.Msg) bool {
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		return false
	}
	a, ok := r.Answer[0].(*dns.A)
	return ok && a.A.String() == hostIP
}

func isNXDOMAIN(r *dns.Msg) bool { return r.Rcode == dns.RcodeNameError }

type probeResult struct {
	at  time.Time
	err error
}

// probe queries name every poll until match accepts the reply, and sends the time that reply arrived. It is
// started before the engine call, so a change that comes before the call returns is timed too.
func probe(ctx context.Context, server, name string, match func(*dns.Msg) bool, poll, timeout time.Duration) <-chan probeResult {
	out := make(chan probeResult, 1)
	go func() {
		c := &dns.Client{Net: "udp", Timeout: 250 * time.Millisecond}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			r, _, err := c.ExchangeContext(ctx, m.Copy(), server)
			at := time.Now()
			if err == nil && match(r) {
				out <- probeResult{at: at}
				return
			}
			if ctx.Err() != nil {
				out <- probeResult{err: ctx.Err()}
				return
			}
			time.Sleep(poll)
		}
		out <- probeResult{err: fmt.Errorf("no matching answer within %v", timeout)}
	}()
	return out
}

// eventWatcher follows the engine's container events for this run's containers and keeps each (container,
// action)'s timestamp.
type eventWatcher struct {
	mu     sync.Mutex
	seen   map[string]time.Time // id + "/" + action
	err    error
	change chan struct{}
}

func newEventWatcher(ctx context.Context, cli *client.Client, runID string) *eventWatcher {
	w := &eventWatcher{seen: make(map[string]time.Time), change: make(chan struct{})}
	res := cli.Events(ctx, client.EventsListOptions{
		Filters: make(client.Filters).Add("type", "container").Add("label", benchLabel+"="+runID),
	})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				w.record(m.Actor.ID+"/"+string(m.Action), time.Unix(0, m.TimeNano), nil)
			case err := <-res.Err:
				if err == nil {
					err = io.EOF
				}
				w.record("", time.Time{}, fmt.Errorf("event stream: %w", err))
				return
			}
		}
	}()
	return w
}

func (w *eventWatcher) record(key string, at time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
	} else {
		w.seen[key] = at
	}
	close(w.change)
	w.change = make(chan struct{})
}

// wait returns the engine's timestamp of a container's event.
func (w *eventWatcher) wait(ctx context.Context, id string, action events.Action, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		at, ok := w.seen[id+"/"+string(action)]
		err, change := w.err, w.change
		w.mu.Unlock()
		switch {
		case ok:
			return at, nil
		case err != nil:
			return time.Time{}, err
		}
		select {
		case <-change:
		case <-deadline:
			return time.Time{}, fmt.Errorf("no %s event for %.12s within %v", action, id, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// joyride is the running server.
type joyride struct {
	cmd  *exec.Cmd
	udp  string
	done chan struct{}
}

// startJoyride runs the standalone profile on a free loopback port and waits until the docker module is
// connected, reading the JSON log for the address and the connection.
func startJoyride(ctx context.Context, bin, work string) (*joyride, error) {
	hosts := filepath.Join(work, "hosts")
	if err := os.Mkdir(hosts, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--profile", "standalone",
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories="+hosts,
		"--set", "docker.host_ip="+hostIP)
	cmd.Env = append(os.Environ(), "JOYRIDE_DNS_ZONES="+zone)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	j := &joyride{cmd: cmd, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(j.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		connected := false
		for sc.Scan() {
			var e struct{ Msg, UDP string }
			if connected || json.Unmarshal(sc.Bytes(), &e) != nil {
				continue // drained, so joyride never blocks on a full pipe
			}
			switch e.Msg {
			case "serving DNS":
				j.udp = e.UDP
			case "connected to the container engine":
				connected = true
				ready <- nil
			}
		}
		if !connected {
			ready <- errors.New("joyride exited before connecting to the engine")
		}
		_ = cmd.Wait()
	}()
	select {
	case err := <-ready:
		if err != nil {
			return nil, err
		}
	case <-time.After(30 * time.Second):
		j.stop()
		return nil, errors.New("joyride did not connect to the engine within 30s")
	case <-ctx.Done():
		j.stop()
		return nil, ctx.Err()
	}
	if j.udp == "" {
		j.stop()
		return nil, errors.New(`joyride's "serving DNS" log line has no udp address`)
	}
	return j, nil
}

func (j *joyride) stop() {
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.done:
	case <-time.After(20 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.done
	}
}

// sleeperImage builds (or reuses, by the binary's hash) an image FROM scratch holding the integration tests'
// sleeper, with the docker command line.
func sleeperImage(work string) (string, error) {
	dir := filepath.Join(work, "image")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sleeper")
	if err := goBuild(bin, module+"/integration/testdata/sleeper", true); err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	tag := "joyride-bench-sleeper:" + hex.EncodeToString(sum[:6])
	if exec.Command("docker", "image", "inspect", tag).Run() == nil {
		return tag, nil
	}
	dockerfile := "FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	if out, err := exec.Command("docker", "build", "-q", "--label", benchLabel+"=image", "-t", tag, dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build: %v\n%s", err, out)
	}
	return tag, nil
}

func goBuild(out, pkg string, static bool) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = os.Environ()
	if static {
		cmd.Args = slices.Insert(cmd.Args, 2, "-trimpath", "-ldflags=-s -w")
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0", "GOOS=linux")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// percentile is the nearest-rank percentile (p in (0, 100]) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// report prints the machine and a Markdown table of p50, p99 and max per measurement.
func report(w io.Writer, samples []sample, poll time.Duration, engineVersion string) {
	rows := []struct {
		what string
		get  func(sample) time.Duration
	}{
		{"start event → name resolves", func(s sample) time.Duration { return s.eventToName }},
		{"`docker start` returned → name resolves", func(s sample) time.Duration { return s.returnToName }},
		{"die event → NXDOMAIN", func(s sample) time.Duration { return s.eventToNX }},
		{"`docker stop` returned → NXDOMAIN", func(s sample) time.Duration { return s.returnToNX }},
		{"engine: start call (for scale)", func(s sample) time.Duration { return s.startCall }},
		{"engine: stop call (for scale)", func(s sample) time.Duration { return s.stopCall }},
	}
	load, _ := os.ReadFile("/proc/loadavg")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(w, "Joyride Docker event path: %d containers, one at a time, DNS polled every %v over loopback UDP\n",
		len(samples), poll)
	fmt.Fprintf(w, "machine: %d CPUs, %s, Linux %s, Docker Engine %s, %s, load %s\n\n", runtime.NumCPU(), cpuModel(),
		strings.TrimSpace(string(kernel)), engineVersion, runtime.Version(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintln(w, "| measurement | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range rows {
		v := make([]time.Duration, len(samples))
		for i, s := range samples {
			v[i] = r.get(s)
		}
		slices.Sort(v)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.what, ms(percentile(v, 50)), ms(percentile(v, 99)), ms(v[len(v)-1]))
	}
	fmt.Fprintln(w, "\nA negative time means the name changed before the engine's call returned: the engine sends its event first.")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
