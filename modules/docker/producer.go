package docker

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/hostaddr"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
	"github.com/joyride-dns/joyride/pkg/validation"

	"github.com/moby/moby/client"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/background"
	"github.com/joyride-dns/joyride/pkg/events"
)

// moduleName is the Metadata.Source of every event the producer publishes, and its health component.
const moduleName = "docker"

// SourcePrefix starts the record-store source of every container: "docker:<full container id>".
const SourcePrefix = "docker:"

// Module provides the *Producer and anchors it so its hooks are registered.
var Module = fx.Module(moduleName,
	fx.Provide(New),
	fx.Invoke(func(*Producer) {}),
)

// Params are the producer's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Bus       *events.Bus
	Config    Config
}

// Status is what the HTTP API reports as docker_monitor.
type Status struct {
	Enabled bool `json:"enabled"`
	// Running is true from start until stop: the loop runs (and retries) whether or not the engine answers.
	Running bool `json:"running"`
	// Connected is true while the event stream is open.
	Connected bool `json:"connected"`
	// Endpoint is the engine address in use ("unix:///var/run/docker.sock").
	Endpoint string `json:"endpoint,omitempty"`
	// HostIP and HostIP6 are the addresses names point at unless a container overrides them.
	HostIP  string `json:"host_ip,omitempty"`
	HostIP6 string `json:"host_ip6,omitempty"`
	// Containers counts the containers whose records are served (including those within their stop grace).
	Containers int `json:"containers"`
	// LastError is the latest failure to reach the engine; it stays after a reconnect, for diagnosis.
	LastError string `json:"last_error,omitempty"`
}

// Producer follows a container engine's events and publishes the records its containers' labels name.
type Producer struct {
	cfg    Config
	log    *zap.Logger
	bus    *events.Bus
	labels labelParser
	hostIP netip.Addr // configured; invalid means auto-detect
	hostV6 netip.Addr
	// detect finds the host address when HostIP is empty; a field so tests can simulate a DHCP change.
	detect func() (netip.Addr, error)

	// Set by start, read by stop; fx never runs the two concurrently.
	cli       *client.Client
	goroutine background.Loop

	mu     sync.Mutex
	status Status
}

// New checks the configuration and registers the lifecycle hooks. It does no I/O: the engine is contacted by
// the loop that OnStart starts, so building the app works on a machine without Docker.
func New(p Params) (*Producer, error) {
	cfg := p.Config
	if err := validation.Section("docker", cfg); err != nil {
		return nil, err
	}
	if cfg.Host != "" {
		if _, err := client.ParseHostURL(cfg.Host); err != nil {
			return nil, fmt.Errorf("docker.host: value %q: %w", cfg.Host, err)
		}
	}
	allowed, err := dnsname.ParseDomains("docker.allowed_domains", cfg.AllowedDomains)
	if err != nil {
		return nil, err
	}
	pr := &Producer{
		cfg: cfg,
		log: p.Logger.Named(moduleName),
		bus: p.Bus,
		labels: labelParser{
			keys:             cfg.Labels,
			allowed:          allowed,
			ttl:              cfg.TTL,
			traefik:          cfg.Traefik,
			exposedByDefault: cfg.TraefikExposedByDefault,
			syntax:           traefikrule.Syntax(cfg.TraefikRuleSyntax),
		},
		detect: hostaddr.Detect,
	}
	// The validate tags guarantee these parse when set.
	if cfg.HostIP != "" {
		pr.hostIP = netip.MustParseAddr(cfg.HostIP)
	}
	if cfg.HostIP6 != "" {
		pr.hostV6 = netip.MustParseAddr(cfg.HostIP6)
	}
	pr.status = Status{Enabled: true, HostIP: cfg.HostIP, HostIP6: cfg.HostIP6}
	p.Lifecycle.Append(fx.StartStopHook(pr.start, pr.stop))
	return pr, nil
}

// Status reports the producer's state; it is safe to call at any time.
func (p *Producer) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Producer) updateStatus(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// start creates the client and starts the loop. It never waits for the engine: an unreachable engine is
// reported as unhealthy and retried, so Joyride keeps serving its other sources.
func (p *Producer) start(context.Context) error {
	ep := endpoint(p.cfg, os.Getenv, socketExists)
	// FromEnv honours DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION; without the latter the client
	// negotiates the API version with the engine on its first request.
	cli, err := client.New(client.FromEnv, client.WithHost(ep))
	if err != nil {
		return fmt.Errorf("docker: client for %q: %w", ep, err)
	}
	l := newLoop(p, cli)
	p.cli = cli
	p.updateStatus(func(s *Status) { s.Running, s.Endpoint = true, ep })
	p.goroutine.Start(func(ctx context.Context) {
		defer p.updateStatus(func(s *Status) { s.Running, s.Connected = false, false })
		l.run(ctx)
	})
	return nil
}

// stop cancels the loop, which closes the event stream, waits for it (or for ctx) and closes the client's idle
// connections.
func (p *Producer) stop(ctx context.Context) error {
	if p.cli == nil {
		return nil // start failed before creating the client
	}
	p.goroutine.Cancel()
	defer p.cli.Close()
	if err := p.goroutine.Wait(ctx); err != nil {
		return fmt.Errorf("docker: waiting for the event loop: %w", err)
	}
	return nil
}
