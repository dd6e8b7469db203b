package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
	"github.com/joyride-dns/joyride/pkg/events"
)

// watchTrail is an embedding application's own module: it subscribes to Joyride's bus and keeps what it saw.
type watchTrail struct {
	mu   sync.Mutex
	seen []events.Event
}

func (a *watchTrail) add(e events.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, e)
}

func (a *watchTrail) events() []events.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]events.Event(nil), a.seen...)
}

// docs/architecture.md: begin
var trailModule = fx.Module("trail",
	fx.Provide(func(bus *events.Bus) *watchTrail {
		a := &watchTrail{}
		bus.Subscribe("trail", events.Filter{Families: []events.Family{events.FamilyHosts, events.FamilyDNS}},
			func(_ context.Context, e events.Event) error {
				a.add(e)
				return nil
			})
		return a
	}),
)

// docs/architecture.md: end

// TestEmbedding builds an fx app of its own from a subset of Joyride's modules — no cmd/joyride, no config
// package — plus a module that consumes Joyride's events, and checks that DNS answers and events flow.
func TestEmbedding(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "embedded"), "10.2.0.1 embedded.example.test\n")

	log := zaptest.NewLogger(t)
	// docs/architecture.md: begin
	dnsCfg := dnsserver.DefaultConfig()
	dnsCfg.BindAddress, dnsCfg.Port = "127.0.0.1", 0
	hostsCfg := hosts.DefaultConfig()
	hostsCfg.Directories = []string{dir}

	var server *dnsserver.Server
	var trail *watchTrail
	app := fx.New(
		fx.Supply(log, events.DefaultConfig(), records.DefaultConfig(), dnsCfg, hostsCfg),
		events.Module, dnsstore.Module, records.Module, hosts.Module, dnsserver.Module,
		trailModule,
		fx.NopLogger,
		fx.Populate(&server, &trail),
	)
	// docs/architecture.md: end
	require.NoError(t, app.Err())
	require.NoError(t, app.Start(t.Context()))
	defer func() { require.NoError(t, app.Stop(context.Background())) }()

	udp, _ := server.Addr()
	dnstest.Eventually(t, "udp", udp.String(), dnstest.Query("embedded.example.test.", dns.TypeA), func(r *dns.Msg) bool {
		return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "10.2.0.1"
	}, "the hosts file's name answered")

	var file, added events.Event
	require.Eventually(t, func() bool {
		for _, e := range trail.events() {
			switch ev := e.(type) {
			case *events.FileEvent:
				if ev.Kind == events.FileCreated {
					file = e
				}
			case *events.DNSEvent:
				if ev.Record.Name == "embedded.example.test." {
					added = e
				}
			}
		}
		return file != nil && added != nil
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, file.Meta().CorrelationID, added.Meta().CorrelationID, "the DNS change is traced to the file that caused it")
}

// TestArchitectureExample keeps docs/architecture.md's embedding example identical to the code TestEmbedding runs:
// the Go blocks of its "Embedding" section are the regions of this file between the begin and end markers.
func TestArchitectureExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	require.NoError(t, err)
	section := string(doc)
	start := strings.Index(section, "## Embedding")
	require.GreaterOrEqual(t, start, 0, "architecture.md has an Embedding section")
	section = section[start:]
	var blocks []string
	for {
		i := strings.Index(section, "```go\n")
		if i < 0 {
			break
		}
		section = section[i+len("```go\n"):]
		j := strings.Index(section, "```")
		require.GreaterOrEqual(t, j, 0, "an unclosed Go block")
		blocks = append(blocks, section[:j])
		section = section[j+3:]
	}

	src, err := os.ReadFile("embed_test.go")
	require.NoError(t, err)
	var regions []string
	for _, part := range strings.Split(string(src), "// docs/architecture.md: begin\n")[1:] {
		end := strings.Index(part, "// docs/architecture.md: end")
		require.GreaterOrEqual(t, end, 0, "a begin marker without an end")
		region := strings.TrimRight(part[:end], " \t\n") + "\n"
		// The app's region is indented inside TestEmbedding; the document shows it at the left margin.
		indent := region[:len(region)-len(strings.TrimLeft(region, "\t"))]
		var lines []string
		for _, l := range strings.Split(region, "\n") {
			lines = append(lines, strings.TrimPrefix(l, indent))
		}
		regions = append(regions, strings.Join(lines, "\n"))
	}
	require.Len(t, regions, 2)
	assert.Equal(t, regions, blocks)
}
