package config

import (
	"slices"
	"time"

	"github.com/joyride-dns/joyride/modules/audit"
	"github.com/joyride-dns/joyride/modules/cluster"
	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/docker"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/httpapi"
	"github.com/joyride-dns/joyride/modules/logging"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/modules/traefikfile"
	"github.com/joyride-dns/joyride/pkg/events"
)

// Config is Joyride's whole configuration: one value, built once by Load, validated, and passed by value to the
// modules (each gets its own section through fx.Supply).
type Config struct {
	// Modules switches modules on and off by name; the profile sets it and every layer above may change it.
	// A module that is absent or false is left out of the application.
	Modules     map[string]bool    `koanf:"modules"`
	Log         Log                `koanf:"log"`
	Service     Service            `koanf:"service"`
	Events      events.Config      `koanf:"events"`
	DNS         dnsserver.Config   `koanf:"dns"`
	Hosts       hosts.Config       `koanf:"hosts"`
	Docker      docker.Config      `koanf:"docker"`
	Traefikfile traefikfile.Config `koanf:"traefikfile"`
	// Records are static records written in the configuration (top-level `records:` list); the records module
	// serves them as the source "static:config".
	Records []records.Static `koanf:"records" validate:"dive"`
	// RecordEvents caps the per-record events (DNSEvents, and HostsRecordEvents for a hosts file) the records
	// module publishes for one snapshot: records.Config.MaxEvents. It is top-level because `records:` is the
	// static list.
	RecordEvents int            `koanf:"record_events" validate:"min=0"`
	Logging      logging.Config `koanf:"logging"`
	HTTP         httpapi.Config `koanf:"http"`
	Cluster      cluster.Config `koanf:"cluster"`
	Audit        audit.Config   `koanf:"audit"`
}

// Log configures the process logger.
type Log struct {
	Level  string `koanf:"level" validate:"oneof=debug info warn error"`
	Format string `koanf:"format" validate:"oneof=json console"`
}

// Service describes the running service; joyride-python showed these in its API and dashboard.
type Service struct {
	Name        string `koanf:"name" validate:"required"`
	Environment string `koanf:"environment"`
	Version     string `koanf:"version"`
	// StartTimeout and StopTimeout bound the whole start and the whole graceful stop.
	StartTimeout time.Duration `koanf:"start_timeout" validate:"min=100ms"`
	StopTimeout  time.Duration `koanf:"stop_timeout" validate:"min=100ms"`
}

// knownModules are the names `modules` accepts; cmd/joyride has one fx option per name (a test there checks the
// two agree). events and dnsstore are not listed: every application has them.
var knownModules = []string{"audit", "cluster", "dns", "docker", "health", "hosts", "http", "logging", "metrics", "records", "system",
	"traefikfile"}

// KnownModules returns the module names `modules` accepts, sorted.
func KnownModules() []string { return slices.Clone(knownModules) }

// Enabled reports whether the module called name is switched on.
func (c Config) Enabled(name string) bool { return c.Modules[name] }

// Default is the lowest configuration layer: every module's DefaultConfig, the joyride-python defaults for the
// rest, and every known module switched off (the profile switches them on).
func Default() Config {
	mods := make(map[string]bool, len(knownModules))
	for _, m := range knownModules {
		mods[m] = false
	}
	return Config{
		Modules: mods,
		Log:     Log{Level: "info", Format: "json"},
		Service: Service{
			Name: "Joyride DNS", Environment: "development", Version: "dev",
			StartTimeout: 15 * time.Second, StopTimeout: 15 * time.Second,
		},
		Events:       events.DefaultConfig(),
		DNS:          dnsserver.DefaultConfig(),
		Hosts:        hosts.DefaultConfig(),
		Docker:       docker.DefaultConfig(),
		Traefikfile:  traefikfile.DefaultConfig(),
		RecordEvents: records.DefaultConfig().MaxEvents,
		Logging:      logging.DefaultConfig(),
		HTTP:         httpapi.DefaultConfig(),
		Cluster:      cluster.DefaultConfig(),
		Audit:        audit.DefaultConfig(),
	}
}
