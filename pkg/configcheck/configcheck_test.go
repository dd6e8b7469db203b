package configcheck_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/configcheck"
)

type sample struct {
	Mode     string        `koanf:"mode" validate:"oneof=auto poll"`
	Interval time.Duration `koanf:"poll_interval" validate:"min=100ms"`
	Dirs     []string      `koanf:"directories" validate:"dive,required"`
}

func TestSection(t *testing.T) {
	tests := []struct {
		name string
		cfg  sample
		want []string // substrings; none means valid
	}{
		{"valid", sample{Mode: "auto", Interval: time.Second, Dirs: []string{"/a"}}, nil},
		{"bad enum", sample{Mode: "inotify", Interval: time.Second},
			[]string{`watch: invalid config: watch.mode: value inotify fails rule "oneof=auto poll"`}},
		{"two failures", sample{Mode: "auto", Interval: time.Millisecond, Dirs: []string{""}},
			[]string{`watch.poll_interval: value 1ms fails rule "min=100ms"`, `watch.directories[0]: value  fails rule "required"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configcheck.Section("watch", tt.cfg)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
