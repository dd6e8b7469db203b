package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/modules/health"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// TestReadyMeansRecordsServed checks that readiness means the records are in the store: the hosts producer
// reports its first load done as soon as it has published its snapshot, but the records handler applies that
// snapshot on a goroutine of its own. At the moment the node first reports ready, the store must already hold
// every record of a large hosts file (large enough that applying it takes tens of milliseconds).
func TestReadyMeansRecordsServed(t *testing.T) {
	const lines = 100_000
	dir := t.TempDir()
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "10.%d.%d.%d host-%d.ready.test\n", i>>16&255, i>>8&255, i&255, i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big"), []byte(b.String()), 0o644))
	hostsCfg := hosts.DefaultConfig()
	hostsCfg.Directories = []string{dir}

	var (
		h     status.Health
		store *dnsstore.Store
		bus   *events.Bus
	)
	app := fxtest.New(t,
		fx.Supply(events.DefaultConfig(), records.DefaultConfig(), hostsCfg, status.Service{Name: "joyride-test"}),
		fx.Provide(zap.NewNop),
		events.Module, dnsstore.Module, records.Module, hosts.Module, health.Module,
		fx.NopLogger,
		fx.Populate(&h, &store, &bus),
	)
	app.RequireStart()
	defer app.RequireStop()
	require.NoError(t, bus.Publish(t.Context(), &events.SystemEvent{
		Metadata: events.Metadata{Source: "system"}, Kind: events.ServiceStarted, Service: "joyride-test",
	}))

	// The probe: the first moment Ready is true, read the store. It spins rather than polls at an interval, so
	// that it sees readiness as early as a load balancer's probe could.
	deadline := time.Now().Add(30 * time.Second)
	for !h.Ready() {
		require.True(t, time.Now().Before(deadline), "the node never became ready; waiting for %v", h.Waiting())
	}
	assert.Equal(t, lines, store.Snapshot().Len(), "every record of the hosts file is served once the node is ready")
}
