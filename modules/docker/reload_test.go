package docker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// fakeEngine is an engine whose running containers the test sets, with an event stream the test feeds and that
// ends when its subscriber cancels it, as the client's does.
type fakeEngine struct {
	mu      sync.Mutex
	running []dockercontainer.Summary
	msgs    chan dockerevents.Message
}

func (f *fakeEngine) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	errs := make(chan error)
	go func() {
		<-ctx.Done()
		close(errs)
	}()
	return client.EventsResult{Messages: f.msgs, Err: errs}
}

func (f *fakeEngine) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return client.ContainerListResult{Items: slices.Clone(f.running)}, nil
}

// run adds a running container named id (its ID too) with labels.
func (f *fakeEngine) run(id string, labels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = append(f.running, dockercontainer.Summary{ID: id, Names: []string{"/" + id}, Labels: labels})
}

// startFake starts a producer on a fake engine and waits for its first listing.
func startFake(t *testing.T, cfg Config, eng *fakeEngine) (*Producer, *events.Bus) {
	t.Helper()
	bus := eventstest.NewBus(t)
	watch := eventstest.NewWatcher(t, bus, events.Filter{Families: []events.Family{events.FamilyHealth}})
	p, err := NewProducer(cfg, zaptest.NewLogger(t), bus)
	require.NoError(t, err)
	p.startLoop(eng, "fake")
	t.Cleanup(func() {
		p.goroutine.Cancel()
		require.NoError(t, p.goroutine.Wait(context.Background()))
	})
	watch.Expect(t, "listed", eventstest.Kind(events.FamilyHealth, events.Kind(events.Healthy)))
	return p, bus
}

// applyContext bounds a reload, so that a loop that never takes it fails the test instead of hanging it.
func applyContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func apply(t *testing.T, p *Producer, section any) error { return p.Apply(applyContext(t), section) }

// published returns, per container, the names of every snapshot published since the history's first from events,
// as "name type value ttl" strings ("" for an empty snapshot); and the messages of the error events.
func published(bus *events.Bus, from int) (map[string][]string, []string) {
	got := map[string][]string{}
	var errs []string
	for _, e := range bus.History(events.Filter{Sources: []string{moduleName}})[from:] {
		switch ev := e.(type) {
		case *events.ContainerEvent:
			var recs []string
			for _, r := range ev.Snapshot.Records {
				recs = append(recs, fmt.Sprintf("%s %s %s %d", r.Name, r.Type, r.Value, r.TTL))
			}
			got[ev.ContainerID] = append(got[ev.ContainerID], strings.Join(recs, ","))
		case *events.ErrorEvent:
			errs = append(errs, ev.Message)
		}
	}
	return got, errs
}

// The containers of TestReload, each labelled for one rule; "steady" is affected by none of the changes (it
// has its own address and TTL, and a name inside the domain every case keeps), so none may re-publish it.
var reloadContainers = map[string]map[string]string{
	"steady": {"coredns.host.name": "steady.keep.test", IPLabel: "10.9.9.9", TTLLabel: "7"},
	"web":    {"joyride.host.name": "web.lab.test"},
	"both":   {"joyride.host.name": "both.lab.test, both.keep.test"},
	"old":    {"old.name": "old.lab.test"},
	"other":  {"joyride.host.name": "app.other.test"},
	"proxy":  {"traefik.http.routers.r.rule": "Host(`tr.lab.test`)"},
	"v2":     {"traefik.http.routers.old.rule": "Host(`v2a.lab.test`, `v2b.lab.test`)"},
}

func reloadConfig() Config {
	cfg := DefaultConfig()
	cfg.HostIP = hostIP
	cfg.AllowedDomains = []string{"lab.test", "keep.test"}
	cfg.AddressCheckInterval = 0
	return cfg
}

// A reload re-evaluates every running container under the new rules: those whose records change are
// published (a withdrawal with an ErrorEvent naming the container, label and value), the others are not.
func TestReload(t *testing.T) {
	tests := []struct {
		name string
		// start, when set, changes the configuration the producer starts with; edit the one it reloads.
		start, edit func(*Config)
		// want is what each affected container publishes: its records, "" when withdrawn.
		want map[string]string
		// errs are substrings of the one ErrorEvent each container that loses a name publishes, by container.
		errs [][]string
	}{
		{name: "nothing changed", edit: func(*Config) {}},
		{name: "a label key added",
			edit: func(c *Config) { c.Labels = append(c.Labels, "old.name") },
			want: map[string]string{"old": "old.lab.test. A 192.0.2.10 60"}},
		{name: "a label key removed",
			edit: func(c *Config) { c.Labels = []string{"coredns.host.name"} },
			want: map[string]string{"web": "", "both": ""},
			errs: [][]string{ // sorted
				{"container both", "label joyride.host.name=both.lab.test, both.keep.test: docker.labels does not list"},
				{"container web", "its records are withdrawn", "label joyride.host.name=web.lab.test", "docker.labels does not list joyride.host.name"},
			}},
		{name: "an allowed domain added",
			edit: func(c *Config) { c.AllowedDomains = append(c.AllowedDomains, "other.test") },
			want: map[string]string{"other": "app.other.test. A 192.0.2.10 60"}},
		{name: "the allowed domains narrowed",
			edit: func(c *Config) { c.AllowedDomains = []string{"keep.test"} },
			want: map[string]string{"web": "", "both": "both.keep.test. A 192.0.2.10 60"},
			errs: [][]string{
				{"container both", "some of its names are withdrawn", "label joyride.host.name=both.lab.test: outside the allowed domains"},
				{"container web", "its records are withdrawn", "label joyride.host.name=web.lab.test: outside the allowed domains"},
			}},
		{name: "the ttl",
			edit: func(c *Config) { c.TTL = 30 },
			want: map[string]string{"web": "web.lab.test. A 192.0.2.10 30",
				"both": "both.keep.test. A 192.0.2.10 30,both.lab.test. A 192.0.2.10 30"}},
		{name: "the host addresses",
			edit: func(c *Config) { c.HostIP, c.HostIP6 = "192.0.2.99", "2001:db8::99" },
			want: map[string]string{"web": "web.lab.test. A 192.0.2.99 60,web.lab.test. AAAA 2001:db8::99 60",
				"both": "both.keep.test. A 192.0.2.99 60,both.keep.test. AAAA 2001:db8::99 60," +
					"both.lab.test. A 192.0.2.99 60,both.lab.test. AAAA 2001:db8::99 60"}},
		{name: "traefik switched on",
			edit: func(c *Config) { c.Traefik = true },
			want: map[string]string{"proxy": "tr.lab.test. A 192.0.2.10 60"}},
		{name: "traefik switched off",
			start: func(c *Config) { c.Traefik = true },
			edit:  func(c *Config) { c.Traefik = false },
			want:  map[string]string{"proxy": ""},
			errs:  [][]string{{"container proxy", "label traefik.http.routers.r.rule=Host(`tr.lab.test`): docker.traefik is off"}}},
		{name: "a rule syntax that no longer parses a rule",
			start: func(c *Config) { c.Traefik, c.TraefikRuleSyntax = true, "v2" },
			edit:  func(c *Config) { c.TraefikRuleSyntax = "v3" },
			want:  map[string]string{"v2": ""},
			errs: [][]string{{"container v2",
				"label traefik.http.routers.old.rule=Host(`v2a.lab.test`, `v2b.lab.test`): traefik rule", "in v3 syntax"}}},
		{name: "traefik exposed by default switched off",
			start: func(c *Config) { c.Traefik = true },
			edit:  func(c *Config) { c.TraefikExposedByDefault = false },
			want:  map[string]string{"proxy": ""},
			errs:  [][]string{{"container proxy", "the router is not exposed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{msgs: make(chan dockerevents.Message)}
			for _, id := range slices.Sorted(maps.Keys(reloadContainers)) {
				eng.run(id, reloadContainers[id])
			}
			cfg := reloadConfig()
			if tt.start != nil {
				tt.start(&cfg)
			}
			p, bus := startFake(t, cfg, eng)
			from := len(bus.History(events.Filter{Sources: []string{moduleName}}))
			next := cfg
			next.Labels = slices.Clone(next.Labels)
			next.AllowedDomains = slices.Clone(next.AllowedDomains)
			tt.edit(&next)
			require.NoError(t, apply(t, p, next))

			got, errs := published(bus, from)
			want := map[string][]string{}
			for id, recs := range tt.want {
				want[id] = []string{recs}
			}
			assert.Equal(t, want, got, "the containers re-published, with their records")
			require.Len(t, errs, len(tt.errs), "error events: %q", errs)
			slices.Sort(errs)
			for i, subs := range tt.errs {
				for _, s := range subs {
					assert.Contains(t, errs[i], s)
				}
			}
		})
	}
}

// Containers the old rules ignored and that the new ones still ignore are not reported again; a stopped
// container within its stop grace is re-evaluated from the labels it was started with; a reload applied
// twice changes nothing the second time; an invalid one changes nothing at all.
func TestReloadSequence(t *testing.T) {
	eng := &fakeEngine{msgs: make(chan dockerevents.Message)}
	eng.run("web", map[string]string{"joyride.host.name": "web.lab.test"})
	cfg := reloadConfig()
	cfg.StopGrace = time.Hour
	p, bus := startFake(t, cfg, eng)
	history := func() int { return len(bus.History(events.Filter{Sources: []string{moduleName}})) }

	// A container starts, then stops: its records stay for the stop grace.
	eng.msgs <- dockerevents.Message{Type: dockerevents.ContainerEventType, Action: dockerevents.ActionStart,
		Actor: dockerevents.Actor{ID: "late", Attributes: map[string]string{"name": "late", "joyride.host.name": "late.lab.test"}}}
	eng.msgs <- dockerevents.Message{Type: dockerevents.ContainerEventType, Action: dockerevents.ActionDie,
		Actor: dockerevents.Actor{ID: "late"}}

	from := history()
	narrowed := reloadConfig()
	narrowed.StopGrace = time.Hour
	narrowed.AllowedDomains = []string{"keep.test"}
	require.NoError(t, apply(t, p, narrowed))
	got, errs := published(bus, from)
	assert.Equal(t, map[string][]string{"web": {""}, "late": {""}}, got,
		"the running and the stopping container are withdrawn at once")
	assert.Len(t, errs, 2)

	from = history()
	require.NoError(t, apply(t, p, narrowed))
	got, errs = published(bus, from)
	assert.Empty(t, got, "the same configuration again publishes nothing")
	assert.Empty(t, errs)

	bad := narrowed
	bad.Labels = nil
	require.ErrorContains(t, apply(t, p, bad), "docker.labels")
	bad = narrowed
	bad.AllowedDomains = []string{"not a domain!"}
	require.ErrorContains(t, apply(t, p, bad), "docker.allowed_domains")
	require.Error(t, apply(t, p, "not a docker.Config"))

	from = history()
	widened := narrowed
	widened.AllowedDomains = []string{"lab.test"}
	require.NoError(t, apply(t, p, widened))
	got, _ = published(bus, from)
	assert.Equal(t, map[string][]string{"web": {"web.lab.test. A 192.0.2.10 60"}}, got,
		"the running container is served again; the stopped one is gone")
	require.Equal(t, 1, p.Status().Containers)
}

// The module adds its reload.Target to the group, and it applies while the engine is out of reach.
func TestModuleReloadTarget(t *testing.T) {
	cfg := testConfig()
	cfg.Host = "unix://" + t.TempDir() + "/missing.sock"
	var p *Producer
	var targets reload.Targets
	app := fxtest.New(t,
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		fx.Supply(zaptest.NewLogger(t), cfg, eventstest.NewBus(t)),
		Module,
		fx.Populate(&p, &targets),
	)
	app.RequireStart()
	defer app.RequireStop()
	require.Len(t, targets.Targets, 1)
	target := targets.Targets[0]
	assert.Equal(t, "docker", target.Module)
	for _, k := range []string{"docker.labels", "docker.allowed_domains", "docker.traefik_exposed_by_default", "docker.host_ip"} {
		assert.True(t, target.Covers(k), k)
	}
	for _, k := range []string{"docker.host", "docker.socket"} {
		assert.False(t, target.Covers(k), "%s needs a restart", k)
	}
	next := cfg
	next.HostIP = "192.0.2.77"
	require.NoError(t, target.Apply(applyContext(t), next))
	assert.Equal(t, "192.0.2.77", p.Status().HostIP)
}

// Against the real engine: label keys and allowed domains changed while the producer runs make names appear and
// disappear; a container the change does not concern is never re-published, and the stream stays live.
func TestReloadLive(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	otherDomain := runID + ".other.test"
	a, aName := cs.run(map[string]string{"joyride.host.name": name("live-a")})
	b, _ := cs.run(map[string]string{"my.name": name("live-b")})
	c, _ := cs.run(map[string]string{"joyride.host.name": "c." + otherDomain})
	steady, _ := cs.run(map[string]string{"coredns.host.name": name("live-steady")})
	cfg := testConfig()
	h := newHarness(t, cfg)
	errs := eventstest.NewWatcher(t, h.producer.bus, events.Filter{Families: []events.Family{events.FamilyError}})
	h.requireResolves(name("live-a"))
	h.requireResolves(name("live-steady"))
	assert.Empty(t, h.answers(name("live-b")), "my.name is not a label key yet")
	assert.Empty(t, h.answers("c."+otherDomain), "outside the allowed domains")

	cfg.Labels = []string{"joyride.host.name", "coredns.host.name", "my.name"}
	require.NoError(t, apply(t, h.producer, cfg))
	h.requireResolves(name("live-b"))
	h.expectContainer(events.ContainerDiscovered, b)

	cfg.AllowedDomains = []string{testDomain, otherDomain}
	require.NoError(t, apply(t, h.producer, cfg))
	h.requireAnswers("c."+otherDomain, "A "+hostIP)
	h.expectContainer(events.ContainerDiscovered, c)

	cfg.Labels = []string{"coredns.host.name", "my.name"}
	require.NoError(t, apply(t, h.producer, cfg))
	h.requireGone(name("live-a"))
	h.requireGone("c." + otherDomain)
	e := errs.Expect(t, "the withdrawal of "+aName, func(e events.Event) bool {
		return strings.Contains(e.(*events.ErrorEvent).Message, "container "+aName+" ")
	}).(*events.ErrorEvent)
	assert.Contains(t, e.Message, "label joyride.host.name="+name("live-a"))
	assert.Contains(t, e.Message, "docker.labels does not list joyride.host.name")
	assert.Equal(t, events.ErrorInput, e.Kind)
	assert.Equal(t, 1, h.countContainer(events.ContainerStopped, a))

	// The stream is still followed, under the new rules.
	late, _ := cs.run(map[string]string{"my.name": name("live-late"), "joyride.host.name": name("live-late-old")})
	h.requireResolves(name("live-late"))
	assert.Empty(t, h.answers(name("live-late-old")))
	h.expectContainer(events.ContainerStarted, late)

	assert.Equal(t, 1, h.countContainer(events.ContainerDiscovered, steady), "an unaffected container is published once")
	assert.Zero(t, h.countContainer(events.ContainerStopped, steady))
	assert.Equal(t, []string{"A " + hostIP}, h.answers(name("live-steady")))
}
