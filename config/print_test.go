package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/validation"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./config -run %s -update", t.Name())
	assert.Equal(t, string(want), string(got))
}

func TestPrintGolden(t *testing.T) {
	r, err := Load(Options{})
	require.NoError(t, err)
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, r.Write(&b, format))
			golden(t, "print-standalone."+format, b.Bytes())
		})
	}
	assert.Error(t, r.Write(&bytes.Buffer{}, "toml"))
}

func TestPrintShowsSources(t *testing.T) {
	file := writeFile(t, "j.yaml", "dns:\n  port: 53\n")
	r, err := Load(Options{Profile: "dev", File: file, Env: []string{"HOSTIP=10.1.1.1"}, Set: []string{"log.format=json"}})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, r.Write(&b, "yaml"))
	out := b.String()
	for _, line := range []string{
		"# Joyride configuration: profile dev, file " + file + ".",
		"  level: debug # profile dev",
		"  format: json # flag --set",
		"  port: 53 # file " + file + ":2",
		"  host_ip: 10.1.1.1 # env HOSTIP",
		"  host_ip: 10.1.1.1 # derived from docker.host_ip", // traefikfile's
		"  allowed_domains: ['*'] # derived from dns.zones, which is empty: any name",
		"  directories: [./hosts] # profile dev",
		"  forward_timeout: 2s # default",
	} {
		assert.Contains(t, out, line+"\n")
	}

	b.Reset()
	require.NoError(t, r.Write(&b, "json"))
	var doc struct {
		Profile string
		Values  map[string]struct {
			Value  any
			Source string
		}
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, "dev", doc.Profile)
	assert.Equal(t, "env HOSTIP", doc.Values["docker.host_ip"].Source)
	assert.Equal(t, "10.1.1.1", doc.Values["docker.host_ip"].Value)
	assert.Equal(t, "2s", doc.Values["dns.forward_timeout"].Value)
}

// The YAML output is a valid configuration file that reproduces the configuration it shows.
func TestPrintRoundTrip(t *testing.T) {
	r, err := Load(Options{Profile: "dev", Env: []string{"JOYRIDE_DNS_ZONES=lab.test,home.arpa", "NODE_ID=n1"},
		File: writeFile(t, "r.yaml", "records:\n  - {name: a.lab.test, type: A, value: 10.0.0.1, ttl: 30}\n")})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, r.Write(&b, "yaml"))
	again, err := Load(Options{Profile: "standalone", File: writeFile(t, "printed.yaml", b.String())})
	require.NoError(t, err)
	assert.Equal(t, r.Config, again.Config)
}

// A section with secrets, to check masking without a secret in Config yet.
type secretSection struct {
	Auth struct {
		User     string   `koanf:"user"`
		Password string   `koanf:"password"`
		APIKey   string   `koanf:"api_key"`
		Token    string   `koanf:"token"` // unset: shown empty
		KeyNames []string `koanf:"keys"`
	} `koanf:"auth"`
}

func TestMasking(t *testing.T) {
	var s secretSection
	s.Auth.User, s.Auth.Password, s.Auth.APIKey, s.Auth.KeyNames = "admin", "hunter2", "abc123", []string{"primary"}
	root := schemaOf(reflect.TypeOf(s))
	sources := map[string]Source{"auth.password": {Layer: LayerEnv, Name: "JOYRIDE_AUTH_PASSWORD"}}

	var b bytes.Buffer
	require.NoError(t, writeYAML(&b, "test", root, reflect.ValueOf(s), sources))
	assert.Equal(t, `# test

auth:
  user: admin # default
  password: '******' # env JOYRIDE_AUTH_PASSWORD
  api_key: '******' # default
  token: "" # default
  keys: [primary] # default
`, b.String())
	assert.NotContains(t, b.String(), "hunter2")

	got := map[string]any{}
	for _, e := range entries(root, reflect.ValueOf(s), sources) {
		got[e.Key] = e.Value
	}
	assert.Equal(t, map[string]any{
		"auth.user": "admin", "auth.password": validation.Masked, "auth.api_key": validation.Masked, "auth.token": "", "auth.keys": []any{"primary"},
	}, got)

	// Errors mask the value too.
	assert.Equal(t, validation.Masked, formatValue("auth.password", "hunter2"))
	assert.Equal(t, `""`, formatValue("auth.password", ""))
	e := &Error{Key: "auth.password", Value: formatValue("auth.password", "hunter2"), Source: sources["auth.password"], Msg: "must be at least 12 characters long"}
	assert.False(t, strings.Contains(e.Error(), "hunter2"))
}
