package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/joyride-dns/joyride/pkg/hostaddr"
	"github.com/joyride-dns/joyride/pkg/producer"
	"github.com/joyride-dns/joyride/pkg/retry"

	"github.com/moby/moby/client"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/events"
)

// moduleName is the Metadata.Source of every event the producer publishes, and its health component.
const moduleName = "docker"

// SourcePrefix starts the record-store source of every container: "docker:<full container id>".
const SourcePrefix = "docker:"

// Status is what the HTTP API reports as docker_monitor.
type Status struct {
	Enabled bool `json:"enabled"`
	// Running is true from start until stop: the loop runs (and retries) whether or not the engine answers.
	Running bool `json:"running"`
	// Connected is true while the event stream is open.
	Connected bool `json:"connected"`
	// Reconnects counts the connections made after a lost one (an engine restart, a dropped stream); the
	// first connection of a Start is not one, even after failed attempts.
	Reconnects int `json:"reconnects"`
	// Endpoint is the engine address in use ("unix:///var/run/docker.sock").
	Endpoint string `json:"endpoint,omitempty"`
	// HostIP and HostIP6 are the addresses names point at unless a container overrides them.
	HostIP  string `json:"host_ip,omitempty"`
	HostIP6 string `json:"host_ip6,omitempty"`
	// Containers counts the containers whose records are served (including those within their stop grace).
	Containers int `json:"containers"`
	// LastError is the latest failure to reach the engine; it stays after a reconnect, for diagnosis.
	LastError string `json:"last_error,omitempty"`
	// Retry is the engine's circuit breaker (pkg/retry): its state, the failures in a row and when the next
	// attempt is due.
	Retry retry.Status `json:"retry"`
}

// Producer follows a container engine's events and publishes the records its containers' labels name. Create
// it with NewProducer (or New under fx); it follows the engine only between Start and Stop.
type Producer struct {
	log *zap.Logger
	bus *events.Bus
	// The settings of the configuration: set by NewProducer, then, while the loop runs, read and written (on a
	// reload, see Apply) by the loop's goroutine only.
	cfg    Config
	labels labelParser
	hostIP netip.Addr // configured; invalid means auto-detect
	hostV6 netip.Addr
	// detect finds the host address when HostIP is empty; a field so tests can simulate a DHCP change.
	detect func() (netip.Addr, error)
	// reconf hands the loop a new configuration (Apply).
	reconf chan reconfig
	// stable is how long a stream must last to count as a success of the retry policy (stableStream); a field
	// so tests can shorten it.
	stable time.Duration

	// Set by Start, read by Stop; they must not run concurrently (fx never runs two hooks at once).
	cli       *client.Client
	goroutine background.Loop
	// retries is the engine's circuit breaker as the loop last reported it, under the endpoint's name.
	retries *producer.Retries

	mu     sync.Mutex
	status Status
	// explain is what Explain reads: the containers whose records were last published non-empty, by ID. The
	// loop's goroutine owns the containers; it copies here what it publishes (served).
	explain map[string]servedContainer
}

// NewProducer checks cfg and returns a stopped producer publishing on bus. It does no I/O: the engine is
// contacted by the loop that Start starts, so building the app works on a machine without Docker.
func NewProducer(cfg Config, log *zap.Logger, bus *events.Bus) (*Producer, error) {
	log, err := producer.Check(moduleName, cfg, log, bus)
	if err != nil {
		return nil, err
	}
	if cfg.Host != "" {
		if _, err := client.ParseHostURL(cfg.Host); err != nil {
			return nil, fmt.Errorf("docker.host: value %q: %w", cfg.Host, err)
		}
	}
	s, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	pr := &Producer{
		log:    log,
		bus:    bus,
		detect: hostaddr.Detect,
		reconf: make(chan reconfig),
		stable: stableStream,
	}
	pr.use(s)
	pr.status = Status{Enabled: true, HostIP: cfg.HostIP, HostIP6: cfg.HostIP6}
	pr.explain = make(map[string]servedContainer)
	pr.retries = producer.NewRetries(moduleName, bus, log, nil)
	return pr, nil
}

// settings are what a configuration makes of the producer's keys, checked: the whole Config (of which the
// endpoint, docker.host and docker.socket, is only read by Start), the label rules and the host addresses.
type settings struct {
	cfg            Config
	labels         labelParser
	hostIP, hostV6 netip.Addr
}

// newSettings checks the parts of cfg the validate tags cannot: the allowed domains.
func newSettings(cfg Config) (settings, error) {
	labels, err := newLabelParser(cfg)
	if err != nil {
		return settings{}, err
	}
	s := settings{cfg: cfg, labels: labels}
	// The validate tags guarantee these parse when set.
	if cfg.HostIP != "" {
		s.hostIP = netip.MustParseAddr(cfg.HostIP)
	}
	if cfg.HostIP6 != "" {
		s.hostV6 = netip.MustParseAddr(cfg.HostIP6)
	}
	return s, nil
}

// use makes s the producer's settings. Only NewProducer, Apply while no loop runs, and the loop call it.
func (p *Producer) use(s settings) {
	p.cfg, p.labels, p.hostIP, p.hostV6 = s.cfg, s.labels, s.hostIP, s.hostV6
}

// Status reports the producer's state; it is safe to call at any time.
func (p *Producer) Status() Status {
	p.mu.Lock()
	s := p.status
	p.mu.Unlock()
	s.Retry = p.retries.Status(s.Endpoint)
	return s
}

func (p *Producer) updateStatus(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// Start creates the client and starts the loop. It never waits for the engine: an unreachable engine is
// reported as unhealthy and retried, so Joyride keeps serving its other sources.
func (p *Producer) Start(context.Context) error {
	if p.Status().Running {
		return errors.New("docker: already started")
	}
	ep := Endpoint(p.cfg, os.Getenv)
	// FromEnv honours DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION; without the latter the client
	// negotiates the API version with the engine on its first request.
	cli, err := client.New(client.FromEnv, client.WithHost(ep))
	if err != nil {
		return fmt.Errorf("docker: client for %q: %w", ep, err)
	}
	p.cli = cli
	p.startLoop(cli, ep)
	return nil
}

// startLoop starts the loop on eng: the client, or a unit test's fake engine.
func (p *Producer) startLoop(eng engine, endpoint string) {
	l := newLoop(p, eng)
	p.retries.Track(endpoint)
	p.updateStatus(func(s *Status) { s.Running, s.Endpoint = true, endpoint })
	p.goroutine.Start(func(ctx context.Context) {
		defer p.updateStatus(func(s *Status) { s.Running, s.Connected = false, false })
		l.run(ctx)
	})
}

// Stop cancels the loop, which closes the event stream, waits for it (or for ctx) and closes the client's idle
// connections. It is safe without a Start.
func (p *Producer) Stop(ctx context.Context) error {
	cli := p.cli
	if cli == nil {
		return nil // not started, or Start failed before creating the client
	}
	p.cli = nil
	p.goroutine.Cancel()
	defer cli.Close()
	if err := p.goroutine.Wait(ctx); err != nil {
		return fmt.Errorf("docker: waiting for the event loop: %w", err)
	}
	return nil
}
