package docker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status/statustest"
)

func TestCollector(t *testing.T) {
	for _, c := range []struct {
		name   string
		status func(*Status)
		want   map[string]float64
	}{
		{
			name:   "not started",
			status: func(*Status) {},
			want: map[string]float64{
				"joyride_docker_connected": 0, "joyride_docker_reconnects_total": 0, "joyride_docker_containers": 0,
			},
		},
		{
			name:   "connected",
			status: func(s *Status) { s.Running, s.Connected, s.Containers = true, true, 4 },
			want: map[string]float64{
				"joyride_docker_connected": 1, "joyride_docker_reconnects_total": 0, "joyride_docker_containers": 4,
			},
		},
		{
			name: "lost again after reconnects",
			status: func(s *Status) {
				s.Running, s.Connected, s.Reconnects, s.Containers, s.LastError = true, false, 3, 2, "EOF"
			},
			want: map[string]float64{
				"joyride_docker_connected": 0, "joyride_docker_reconnects_total": 3, "joyride_docker_containers": 2,
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewProducer(testConfig(), zap.NewNop(), eventstest.NewBus(t))
			require.NoError(t, err)
			p.updateStatus(c.status)
			assert.Equal(t, c.want, statustest.Collect(t, newCollector(p)).Series)
		})
	}
}
