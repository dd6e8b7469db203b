package hosts

import (
	"time"

	"github.com/joyride-dns/joyride/pkg/ttl"
)

// Config is the hosts producer's configuration (koanf section "hosts").
type Config struct {
	// Directories are watched for hosts files; every regular file directly inside one is a source.
	Directories []string `koanf:"directories" validate:"dive,required"` // default ["/app/hosts"] (joyride-python's HOSTS_DIRECTORY)
	// Mode is how changes are noticed. auto uses fsnotify and polls a directory where inotify cannot watch it
	// (network file systems, exhausted watch limits); notify makes that a start-up error; poll never uses fsnotify.
	Mode string `koanf:"mode" validate:"oneof=auto notify poll"`
	// PollInterval is how often every directory is rescanned (also where fsnotify works: it covers missed events)
	// and directories not there yet looked for. It caps the retry policy (pkg/retry) of a directory that vanished
	// or cannot be listed.
	PollInterval time.Duration `koanf:"poll_interval" validate:"min=100ms"` // default 5s
	// Debounce waits for a burst of writes to one file to settle before it is re-read.
	Debounce time.Duration `koanf:"debounce" validate:"min=0"` // default 100ms
	// TTL of every hosts record.
	TTL uint32 `koanf:"ttl" validate:"ttl"` // default 60
}

// DefaultConfig watches joyride-python's hosts directory with fsnotify, polling where that fails.
func DefaultConfig() Config {
	return Config{
		Directories:  []string{"/app/hosts"},
		Mode:         "auto",
		PollInterval: 5 * time.Second,
		Debounce:     100 * time.Millisecond,
		TTL:          ttl.Default,
	}
}
