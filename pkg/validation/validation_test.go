package validation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/validation"
)

type sample struct {
	Mode      string        `koanf:"mode" validate:"oneof=auto poll"`
	Interval  time.Duration `koanf:"poll_interval" validate:"min=100ms"`
	Dirs      []string      `koanf:"directories" validate:"dive,required"`
	Zones     []string      `koanf:"zones" validate:"dive,zone"`
	Upstreams []string      `koanf:"forwarders" validate:"dive,hostport"`
	TTL       uint32        `koanf:"ttl" validate:"ttl"`
}

func valid() sample { return sample{Mode: "auto", Interval: time.Second, Dirs: []string{"/a"}} }

func TestSection(t *testing.T) {
	tests := []struct {
		name string
		edit func(*sample)
		want string // "" means valid
	}{
		{"valid", func(*sample) {}, ""},
		{"bad enum", func(s *sample) { s.Mode = "inotify" },
			`watch: invalid config: watch.mode = "inotify": must be one of auto, poll`},
		{"two failures", func(s *sample) { s.Interval = time.Millisecond; s.Dirs = []string{""} },
			`watch: invalid config: watch.poll_interval = 1ms: must be at least 100ms; watch.directories[0] = "": must be set`},
		{"zones", func(s *sample) { s.Zones = []string{"lab.test", "*.lab.test", "10.0.0.1", "bad zone"} },
			`watch: invalid config: watch.zones[1] = "*.lab.test": must be a domain name such as lab.test (not an address or a wildcard); ` +
				`watch.zones[2] = "10.0.0.1": must be a domain name such as lab.test (not an address or a wildcard); ` +
				`watch.zones[3] = "bad zone": must be a domain name such as lab.test (not an address or a wildcard)`},
		{"host:port", func(s *sample) {
			s.Upstreams = []string{"1.1.1.1:53", "[2606:4700::1111]:53", "dns.lan:53", "1.1.1.1", ":53", "a:0", "bad host:53"}
		}, `watch: invalid config: ` +
			`watch.forwarders[3] = "1.1.1.1": must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53; ` +
			`watch.forwarders[4] = ":53": must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53; ` +
			`watch.forwarders[5] = "a:0": must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53; ` +
			`watch.forwarders[6] = "bad host:53": must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53`},
		{"ttl at the limit", func(s *sample) { s.TTL = 1<<31 - 1 }, ""},
		{"ttl over the limit", func(s *sample) { s.TTL = 3000000000 },
			`watch: invalid config: watch.ttl = 3000000000: must be at most 2147483647 seconds (RFC 2181 section 8)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.edit(&s)
			err := validation.Section("watch", s)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.want)
		})
	}
}

// Events have json tags, not koanf tags: their fields are named as they are serialised.
func TestCheckNamesJSONFields(t *testing.T) {
	type event struct {
		ContainerID string `json:"container_id,omitempty" validate:"required"`
		Kind        string `validate:"oneof=a b"`
	}
	err := validation.Check(event{Kind: "c"})
	var es validation.Errors
	require.True(t, errors.As(err, &es))
	assert.Equal(t, validation.Errors{
		{Key: "container_id", Value: "", Rule: "required", Msg: "must be set"},
		{Key: "Kind", Value: "c", Rule: "oneof=a b", Msg: "must be one of a, b"},
	}, es)
}

func TestCheckRejectsNonStructs(t *testing.T) {
	err := validation.Check(42)
	require.Error(t, err)
	var es validation.Errors
	assert.False(t, errors.As(err, &es))
}

func TestSecret(t *testing.T) {
	tests := []struct {
		key    string
		secret bool
	}{
		{"http.token", true},
		{"http.api_key", true},
		{"cluster.secret_key", true},
		{"cluster.client_secret", true},
		{"http.admin_password", true},
		{"http.PASSWORD", true},
		{"records[0].key", true},
		{"cluster.keys", false},
		{"docker.label_keys", false},
		{"http.tokens", false},
		{"docker.labels", false},
		{"dns.port", false},
		{"http.hostkey", false},
		{"monkey.name", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.secret, validation.Secret(tt.key))
		})
	}
}

// Check never puts a secret's value in an Error, so a module's validation.Section cannot print it either.
func TestCheckMasksSecrets(t *testing.T) {
	type section struct {
		Key  string `koanf:"key" validate:"omitempty,base64"`
		Name string `koanf:"name" validate:"max=3"`
	}
	err := validation.Section("cluster", section{Key: "hunter2!", Name: "hunter2!"})
	require.Error(t, err)
	assert.Equal(t, `cluster: invalid config: cluster.key = "******": must be base64; `+
		`cluster.name = "hunter2!": must be at most 3 characters long`, err.Error())
}
