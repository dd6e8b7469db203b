package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/modules/cluster"
	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/ttl"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// The keys an unknown-key error lists, from the schema, so that adding a key does not change these tests.
var (
	dnsKeys  = schema.child("dns").childNames()
	sections = schema.childNames()
)

// writeFile writes a configuration file into a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// value returns what `config print` would show for key, and its source.
func value(t *testing.T, r *Result, key string) (any, string) {
	t.Helper()
	for _, e := range r.Entries() {
		if e.Key == key {
			return e.Value, e.Source.String()
		}
	}
	t.Fatalf("no key %s", key)
	return nil, ""
}

// loadErrors loads opts, which must fail, and returns the error lines.
func loadErrors(t *testing.T, opts Options) []string {
	t.Helper()
	_, err := Load(opts)
	require.Error(t, err)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	return strings.Split(err.Error(), "\n")
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "joyride.yaml", "dns:\n  bind_address: 10.0.0.1\n")
	env := []string{"JOYRIDE_DNS_BIND_ADDRESS=10.0.0.2"}
	set := []string{"dns.bind_address=10.0.0.3"}
	tests := []struct {
		name       string
		opts       Options
		want, from string
	}{
		{"default", Options{}, "0.0.0.0", "default"},
		{"profile over default", Options{Profile: "dev"}, "127.0.0.1", "profile dev"},
		{"file over profile", Options{Profile: "dev", File: file}, "10.0.0.1", "file " + file + ":2"},
		{"env over file", Options{Profile: "dev", File: file, Env: env}, "10.0.0.2", "env JOYRIDE_DNS_BIND_ADDRESS"},
		{"flag over env", Options{Profile: "dev", File: file, Env: env, Set: set}, "10.0.0.3", "flag --set"},
		{"later flag over earlier", Options{Set: []string{"dns.bind_address=10.0.0.4", "dns.bind_address=10.0.0.5"}}, "10.0.0.5", "flag --set"},
		{"JOYRIDE_CONFIG names the file", Options{Env: []string{"JOYRIDE_CONFIG=" + file}}, "10.0.0.1", "file " + file + ":2"},
		{"JOYRIDE_PROFILE names the profile", Options{Env: []string{"JOYRIDE_PROFILE=dev"}}, "127.0.0.1", "profile dev"},
		{"--profile over JOYRIDE_PROFILE", Options{Profile: "standalone", Env: []string{"JOYRIDE_PROFILE=dev"}}, "0.0.0.0", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Config.DNS.BindAddress)
			_, from := value(t, r, "dns.bind_address")
			assert.Equal(t, tt.from, from)
		})
	}
}

func TestDefaultsAndProfiles(t *testing.T) {
	r, err := Load(Options{})
	require.NoError(t, err)
	assert.Equal(t, DefaultProfile, r.Profile)
	assert.Empty(t, r.Config.Cluster.NodeID, "the cluster module chooses a stable name, never one per process")
	assert.Equal(t, 15*time.Second, r.Config.Service.StartTimeout)
	assert.True(t, r.Config.Cluster.Enabled)
	assert.Equal(t, "dev", r.Config.Service.Version)

	r, err = Load(Options{Version: "v1.2.3"})
	require.NoError(t, err)
	assert.Equal(t, "v1.2.3", r.Config.Service.Version, "the build's version is the default")

	dev, err := Load(Options{Profile: "dev"})
	require.NoError(t, err)
	assert.Equal(t, "debug", dev.Config.Log.Level)
	assert.Equal(t, "console", dev.Config.Log.Format)
	assert.Equal(t, []string{"./hosts"}, dev.Config.Hosts.Directories)

	hostsOnly, err := Load(Options{Profile: "hosts-only"})
	require.NoError(t, err)
	assert.False(t, hostsOnly.Config.Enabled("docker"))
	assert.True(t, hostsOnly.Config.Enabled("hosts"))
}

// Every embedded profile loads cleanly, and the ones described as "standalone plus" keep every module standalone has.
func TestEveryProfileLoads(t *testing.T) {
	standalone, err := Load(Options{Profile: "standalone"})
	require.NoError(t, err)
	require.Equal(t, []string{"cluster", "dev", "hosts-only", "standalone"}, Profiles())
	for _, name := range Profiles() {
		t.Run(name, func(t *testing.T) {
			r, err := Load(Options{Profile: name})
			require.NoError(t, err)
			assert.Empty(t, r.Warnings)
			for _, m := range []string{"dns", "hosts", "records", "logging", "system"} {
				assert.True(t, r.Config.Enabled(m), "module %s", m)
			}
			assert.Equal(t, name == "cluster", r.Config.Enabled("cluster"), "only the cluster profile runs the cluster module")
			if name == "cluster" || name == "dev" {
				for m, on := range standalone.Config.Modules {
					if m != "cluster" {
						assert.Equal(t, on, r.Config.Modules[m], "module %s", m)
					}
				}
			}
		})
	}
}

// Each alias keeps joyride-python's meaning, and the JOYRIDE_ variable for the same key wins over it.
func TestPythonAliases(t *testing.T) {
	tests := []struct {
		alias, value string
		key          string
		want         any // as Entries shows it
		joyride      string
		joyrideWant  any
	}{
		{"HOSTIP", "192.168.1.10", "docker.host_ip", "192.168.1.10", "192.168.1.11", "192.168.1.11"},
		{"HOSTIP6", "fd00::10", "docker.host_ip6", "fd00::10", "fd00::11", "fd00::11"},
		{"HOSTS_DIRECTORY", "/srv/hosts,old", "hosts.directories", []any{"/srv/hosts,old"}, "/a,/b", []any{"/a", "/b"}},
		{"DNS_PORT", "53", "dns.port", 53, "54", 54},
		{"DNS_BIND_ADDRESS", "127.0.0.1", "dns.bind_address", "127.0.0.1", "127.0.0.2", "127.0.0.2"},
		{"FLASK_HOST", "127.0.0.1", "http.host", "127.0.0.1", "localhost", "localhost"},
		{"FLASK_PORT", "8080", "http.port", 8080, "8081", 8081},
		{"ENABLE_DNS_SYNC", "false", "cluster.enabled", false, "true", true},
		{"NODE_ID", "node-a", "cluster.node_id", "node-a", "node-b", "node-b"},
		{"SWIM_PORT", "7946", "cluster.port", 7946, "7947", 7947},
		{"DISCOVERY_PORT", "7000", "cluster.discovery_port", 7000, "7001", 7001},
		{"SERVICE_NAME", "Lab DNS", "service.name", "Lab DNS", "Home DNS", "Home DNS"},
		{"ENVIRONMENT", "production", "service.environment", "production", "staging", "staging"},
		{"SEMANTIC_VERSION", "1.4.0", "service.version", "1.4.0", "1.5.0", "1.5.0"},
		{"FLASK_DEBUG", "true", "log.level", "debug", "warn", "warn"},
		{"FLASK_DEBUG", "1", "log.level", "debug", "error", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.alias+"="+tt.value, func(t *testing.T) {
			r, err := Load(Options{Env: []string{tt.alias + "=" + tt.value}})
			require.NoError(t, err)
			got, from := value(t, r, tt.key)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, "env "+tt.alias, from)

			name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(tt.key, ".", "_"))
			for _, env := range [][]string{
				{tt.alias + "=" + tt.value, name + "=" + tt.joyride},
				{name + "=" + tt.joyride, tt.alias + "=" + tt.value},
			} {
				r, err := Load(Options{Env: env})
				require.NoError(t, err)
				got, from := value(t, r, tt.key)
				assert.Equal(t, tt.joyrideWant, got, "%s wins over %s", name, tt.alias)
				assert.Equal(t, "env "+name, from)
			}
		})
	}
}

func TestFlaskDebugOff(t *testing.T) {
	for _, v := range []string{"false", "0", "", "no"} {
		t.Run(v, func(t *testing.T) {
			r, err := Load(Options{Env: []string{"FLASK_DEBUG=" + v}})
			require.NoError(t, err)
			got, from := value(t, r, "log.level")
			assert.Equal(t, "info", got)
			assert.Equal(t, "default", from)
		})
	}
	lines := loadErrors(t, Options{Env: []string{"FLASK_DEBUG=maybe"}})
	assert.Equal(t, []string{`config: log.level = "maybe" (env FLASK_DEBUG): FLASK_DEBUG must be true or false`}, lines)
}

func TestEnvKeys(t *testing.T) {
	tests := []struct {
		env  string
		key  string
		want any
	}{
		{"JOYRIDE_DNS_NEGATIVE_TTL=5", "dns.negative_ttl", uint32(5)},
		{"JOYRIDE_MODULES_DOCKER=false", "modules.docker", false},
		{"JOYRIDE_SERVICE_STOP_TIMEOUT=3s", "service.stop_timeout", "3s"},
		{"JOYRIDE_EVENTS_HISTORY_SIZE=10", "events.history_size", 10},
		{"JOYRIDE_DOCKER_TRAEFIK=true", "docker.traefik", true},
		{"JOYRIDE_CLUSTER_JOIN=a:8890,b:8890", "cluster.join", []any{"a:8890", "b:8890"}},
		{"JOYRIDE_CLUSTER_SHARE=docker, hosts", "cluster.share", []any{"docker", "hosts"}},
		{"JOYRIDE_CLUSTER_NODE_ID=node-a", "cluster.node_id", "node-a"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			r, err := Load(Options{Env: []string{tt.env}})
			require.NoError(t, err)
			got, from := value(t, r, tt.key)
			assert.Equal(t, tt.want, got)
			name, _, _ := strings.Cut(tt.env, "=")
			assert.Equal(t, "env "+name, from)
		})
	}
}

// Every cluster key is JOYRIDE_CLUSTER_<KEY>: each is set to its default as a user writes it and read back.
func TestClusterEnv(t *testing.T) {
	def, err := Load(Options{})
	require.NoError(t, err)
	keys := 0
	for _, e := range def.Entries() {
		if !strings.HasPrefix(e.Key, "cluster.") {
			continue
		}
		keys++
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(e.Key, ".", "_"))
		text := fmt.Sprint(e.Value)
		if list, ok := e.Value.([]any); ok {
			parts := make([]string, len(list))
			for i, v := range list {
				parts[i] = fmt.Sprint(v)
			}
			text = strings.Join(parts, ",")
		}
		t.Run(name, func(t *testing.T) {
			r, err := Load(Options{Env: []string{name + "=" + text}})
			require.NoError(t, err)
			got, from := value(t, r, e.Key)
			assert.Equal(t, e.Value, got)
			assert.Equal(t, "env "+name, from)
		})
	}
	assert.Equal(t, reflect.TypeFor[cluster.Config]().NumField(), keys, "every field of cluster.Config is a key")
}

func TestLists(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"env comma separated", Options{Env: []string{"JOYRIDE_DNS_ZONES=lab.test, home.arpa ,"}}, []string{"lab.test", "home.arpa"}},
		{"env empty is an empty list", Options{Env: []string{"JOYRIDE_DNS_ZONES="}}, nil},
		{"flag comma separated", Options{Set: []string{"dns.zones=a.test,b.test"}}, []string{"a.test", "b.test"}},
		{"file list", Options{File: writeFile(t, "a.yaml", "dns:\n  zones:\n    - lab.test\n    - home.arpa\n")}, []string{"lab.test", "home.arpa"}},
		{"file scalar is a list of one", Options{File: writeFile(t, "b.yaml", "dns:\n  zones: lab.test\n")}, []string{"lab.test"}},
		{"file null is empty", Options{File: writeFile(t, "c.yaml", "dns:\n  zones:\n")}, nil},
		{"json list", Options{File: writeFile(t, "d.json", `{"dns": {"zones": ["lab.test"], "port": 53}}`)}, []string{"lab.test"}},
		{"higher layer replaces", Options{File: writeFile(t, "e.yaml", "dns:\n  zones: [a.test, b.test]\n"), Env: []string{"JOYRIDE_DNS_ZONES=c.test"}}, []string{"c.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Config.DNS.Zones)
		})
	}
}

func TestRecordsFromFile(t *testing.T) {
	file := writeFile(t, "r.yaml", `
records:
  - name: nas.lab.test
    type: A
    value: 192.168.1.5
  - {name: www.lab.test, type: CNAME, value: nas.lab.test, ttl: 300}
`)
	r, err := Load(Options{File: file})
	require.NoError(t, err)
	assert.Equal(t, []records.Static{
		// Without ttl: the default every other source uses (it was 0, so resolvers never cached it).
		{Name: "nas.lab.test", Type: "A", Value: "192.168.1.5", TTL: ttl.Default},
		{Name: "www.lab.test", Type: "CNAME", Value: "nas.lab.test", TTL: 300},
	}, r.Config.Records)
	_, from := value(t, r, "records")
	assert.Equal(t, "file "+file+":2", from)
}

func TestUnknownKeys(t *testing.T) {
	require.True(t, strings.HasPrefix(dnsKeys, "addresses, bind_address, "), "the hint lists the section's keys, sorted: %s", dnsKeys)
	yamlFile := writeFile(t, "joyride.yaml", "dns:\n  port: 53\n  prot: 54\nlogs:\n  level: debug\n")
	jsonFile := writeFile(t, "joyride.json", "{\n  \"dns\": {\n    \"udp_sise\": 4096\n  }\n}\n")
	recFile := writeFile(t, "rec.yaml", "records:\n  - name: a.lab.test\n    type: A\n    value: 10.0.0.1\n    tll: 5\n")
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"yaml keys with their lines", Options{File: yamlFile}, []string{
			"config: dns.prot = 54 (file " + yamlFile + ":3): unknown key; dns has " + dnsKeys,
			"config: logs (file " + yamlFile + ":4): unknown key; sections are " + sections,
		}},
		{"json key", Options{File: jsonFile}, []string{
			"config: dns.udp_sise = 4096 (file " + jsonFile + ":3): unknown key; dns has " + dnsKeys,
		}},
		{"record field", Options{File: recFile}, []string{
			"config: records[0].tll = 5 (file " + recFile + ":5): unknown key; a records entry has name, ttl, type, value",
		}},
		{"flag", Options{Set: []string{"dns.prot=53"}}, []string{
			`config: dns.prot = "53" (flag --set): unknown key; dns has ` + dnsKeys,
		}},
		{"flag naming a section", Options{Set: []string{"dns=53"}}, []string{
			`config: dns = "53" (flag --set): dns is a section; set one of its keys: ` + dnsKeys,
		}},
		{"flag without =", Options{Set: []string{"dns.port"}}, []string{`config: flag --set: "dns.port" must be key=value`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, loadErrors(t, tt.opts))
		})
	}
}

func TestFileProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	badYAML := writeFile(t, "bad.yaml", "dns:\n  port: [\n")
	badJSON := writeFile(t, "bad.json", "{\n  \"dns\": {\"port\": 53,}\n}")
	ini := writeFile(t, "joyride.ini", "port=53")
	notMapping := writeFile(t, "nm.yaml", "dns: 53\nmodules: [dns]\n")
	tests := []struct {
		name string
		file string
		want string
	}{
		{"missing", missing, "config: file " + missing + ": open " + missing + ": no such file or directory"},
		{"bad yaml", badYAML, "config: file " + badYAML + ": yaml: line 2: did not find expected node content"},
		{"bad json", badJSON, "config: file " + badJSON + ": line 2: invalid character '}' looking for beginning of object key string"},
		{"extension", ini, "config: file " + ini + ": a configuration file must end in .yaml, .yml or .json"},
		{"section not a mapping", notMapping, "config: dns = 53 (file " + notMapping + ":1): must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := loadErrors(t, Options{File: tt.file})
			assert.Equal(t, tt.want, lines[0])
		})
	}
}

func TestUnknownModule(t *testing.T) {
	file := writeFile(t, "m.yaml", "modules:\n  dockr: true\n")
	known := "unknown module; known modules are " + strings.Join(KnownModules(), ", ")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"file", Options{File: file}, "config: modules.dockr = true (file " + file + ":2): " + known},
		{"env", Options{Env: []string{"JOYRIDE_MODULES_HTTPS=true"}}, `config: modules.https = true (env JOYRIDE_MODULES_HTTPS): ` + known},
		{"flag", Options{Set: []string{"modules.events=false"}}, `config: modules.events = false (flag --set): ` + known},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []string{tt.want}, loadErrors(t, tt.opts))
		})
	}
}

func TestUnknownProfile(t *testing.T) {
	available := "unknown profile; available profiles are cluster, dev, hosts-only, standalone"
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"flag", Options{Profile: "prod"}, `config: profile = "prod" (flag --profile): ` + available},
		{"env", Options{Env: []string{"JOYRIDE_PROFILE=prod"}}, `config: profile = "prod" (env JOYRIDE_PROFILE): ` + available},
		{"no path tricks", Options{Profile: "../profiles/dev"}, `config: profile = "../profiles/dev" (flag --profile): ` + available},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []string{tt.want}, loadErrors(t, tt.opts))
		})
	}
}

func TestEnvWarnings(t *testing.T) {
	r, err := Load(Options{Env: []string{
		"JOYRIDE_DNS_PROT=53", "JOYRIDE_VERBOSE=1",
		// Kubernetes service links for a Service called joyride: not configuration, not worth a warning.
		"JOYRIDE_SERVICE_HOST=10.0.0.1", "JOYRIDE_SERVICE_PORT=53", "JOYRIDE_SERVICE_PORT_DNS=53",
		"JOYRIDE_PORT=udp://10.0.0.1:53", "JOYRIDE_PORT_53_UDP_ADDR=10.0.0.1",
		"PATH=/usr/bin",
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		`config: dns.prot = "53" (env JOYRIDE_DNS_PROT): unknown key; dns has ` + dnsKeys + ` (ignored)`,
		`config: verbose = "1" (env JOYRIDE_VERBOSE): unknown key; sections are ` + sections + ` (ignored)`,
	}, r.Warnings)
}

// Cluster keys of the right and the wrong size: base64 of 32 and of 20 bytes.
var (
	key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	key20 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdefghij"))
)

// The cluster key is never shown: not by config print, not in any error about it or about another key.
func TestClusterKeyNeverShown(t *testing.T) {
	r, err := Load(Options{Profile: "cluster", Env: []string{"JOYRIDE_CLUSTER_KEY=" + key32}})
	require.NoError(t, err)
	assert.Equal(t, key32, r.Config.Cluster.Key, "the module gets the key itself")
	got, from := value(t, r, "cluster.key")
	assert.Equal(t, validation.Masked, got)
	assert.Equal(t, "env JOYRIDE_CLUSTER_KEY", from)
	for _, format := range []string{"yaml", "json"} {
		var b bytes.Buffer
		require.NoError(t, r.Write(&b, format))
		assert.Contains(t, b.String(), validation.Masked, format)
		assert.NotContains(t, b.String(), key32, format)
	}

	for _, tt := range []struct{ name, key string }{
		{"valid but with a keyring", key32}, {"20 bytes", key20}, {"not base64", "not a key!"}, {"6 bytes", "c2VjcmV0"},
	} {
		key := tt.key
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{
				Env: []string{"JOYRIDE_CLUSTER_KEY=" + key, "JOYRIDE_CLUSTER_KEYRING_FILE=/k", "JOYRIDE_DNS_PORT=70000"},
				Set: []string{"cluster.key=" + key},
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "cluster.key = ******")
			assert.NotContains(t, err.Error(), key)
		})
	}
}

// Every error names the key, the value, the rule and the source, and all of them are reported at once.
func TestValidationMessages(t *testing.T) {
	file := writeFile(t, "v.yaml", `dns:
  zones: [lab.test, "*.lab.test", 10.0.0.1]
  forwarders: ["[2606:4700::1111]:53", "1.1.1.1", ":53"]
records:
  - {name: ok.lab.test, type: A, value: 10.0.0.1}
  - {name: bad.lab.test, type: A, value: 10.0.0.300}
  - {name: mx.lab.test, type: MX, value: mail.lab.test}
`)
	ttlFile := writeFile(t, "ttl.yaml", `records:
  - {name: a.lab.test, type: A, value: 10.0.0.1}
  - name: b.lab.test
    type: A
    value: 10.0.0.2
    ttl: soon
`)
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"max from env", Options{Env: []string{"JOYRIDE_DNS_PORT=70000"}}, []string{
			"config: dns.port = 70000 (env JOYRIDE_DNS_PORT): must be at most 65535",
		}},
		{"alias source", Options{Env: []string{"DNS_PORT=-1", "HOSTIP=my-host"}}, []string{
			"config: dns.port = -1 (env DNS_PORT): must be at least 0",
			`config: docker.host_ip = "my-host" (env HOSTIP): must be an IPv4 address`,
		}},
		{"oneof and required from flags", Options{Set: []string{"log.level=verbose", "service.name="}}, []string{
			`config: log.level = "verbose" (flag --set): must be one of debug, info, warn, error`,
			`config: service.name = "" (flag --set): must be set`,
		}},
		{"durations", Options{Set: []string{"service.stop_timeout=10ms", "hosts.poll_interval=1s"}}, []string{
			"config: service.stop_timeout = 10ms (flag --set): must be at least 100ms",
		}},
		{"conversions", Options{Env: []string{"JOYRIDE_DNS_UDP_SIZE=70000", "JOYRIDE_DNS_NEGATIVE_TTL=-3", "JOYRIDE_HTTP_PORT=web", "JOYRIDE_CLUSTER_ENABLED=maybe", "JOYRIDE_DNS_FORWARD_TIMEOUT=2"}}, []string{
			`config: cluster.enabled = "maybe" (env JOYRIDE_CLUSTER_ENABLED): must be true or false`,
			`config: dns.forward_timeout = "2" (env JOYRIDE_DNS_FORWARD_TIMEOUT): must be a duration such as 500ms, 15s or 2m`,
			`config: dns.negative_ttl = "-3" (env JOYRIDE_DNS_NEGATIVE_TTL): must not be negative`,
			`config: dns.udp_size = "70000" (env JOYRIDE_DNS_UDP_SIZE): must be at most 65535`,
			`config: http.port = "web" (env JOYRIDE_HTTP_PORT): must be an integer`,
		}},
		{"a module switch", Options{Env: []string{"JOYRIDE_MODULES_DOCKER=maybe"}}, []string{
			`config: modules.docker = "maybe" (env JOYRIDE_MODULES_DOCKER): must be true or false`,
		}},
		{"a field of a list element", Options{File: ttlFile}, []string{
			`config: records[1].ttl = "soon" (file ` + ttlFile + `:6): must be an integer`,
		}},
		{"records from a flag", Options{Set: []string{"records=a.lab.test"}}, []string{
			`config: records = "a.lab.test" (flag --set): must be a list (set it in a configuration file)`,
		}},
		{"cross-field checks with lines", Options{File: file}, []string{
			`config: dns.forwarders[1] = "1.1.1.1" (file ` + file + `:3): must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53`,
			`config: dns.forwarders[2] = ":53" (file ` + file + `:3): must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53`,
			`config: dns.zones[1] = "*.lab.test" (file ` + file + `:2): must be a domain name such as lab.test (not an address or a wildcard)`,
			`config: dns.zones[2] = "10.0.0.1" (file ` + file + `:2): must be a domain name such as lab.test (not an address or a wildcard)`,
			`config: records[2].type = "MX" (file ` + file + `:7): must be one of A, AAAA, CNAME, TXT, SRV, a, aaaa, cname, txt, srv`,
			`config: records[1] = "bad.lab.test A 10.0.0.300" (file ` + file + `:6): is not a valid record: A record "bad.lab.test.": "10.0.0.300" is not an IPv4 address`,
		}},
		{"ports apart", Options{Env: []string{"SWIM_PORT=9000", "DISCOVERY_PORT=9000"}}, []string{
			"config: cluster.port = 9000 (env SWIM_PORT): must differ from cluster.discovery_port",
		}},
		{"cluster lists", Options{Env: []string{"JOYRIDE_CLUSTER_JOIN=a:8890,nohost", "JOYRIDE_CLUSTER_SHARE=docker,files"}}, []string{
			`config: cluster.join[1] = "nohost" (env JOYRIDE_CLUSTER_JOIN): must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53`,
			`config: cluster.share[1] = "files" (env JOYRIDE_CLUSTER_SHARE): must be one of docker, traefik, hosts, static`,
		}},
		{"node id with a slash", Options{Env: []string{"NODE_ID=rack1/dns"}}, []string{
			`config: cluster.node_id = "rack1/dns" (env NODE_ID): must not contain "/"`,
		}},
		{"cluster key and keyring", Options{Env: []string{"JOYRIDE_CLUSTER_KEY=" + key32, "JOYRIDE_CLUSTER_KEYRING_FILE=/etc/joyride/keyring"}}, []string{
			"config: cluster.key = ****** (env JOYRIDE_CLUSTER_KEY): must not be set with cluster.keyring_file: use one or the other",
		}},
		{"cluster key not base64", Options{Env: []string{"JOYRIDE_CLUSTER_KEY=not a key!"}}, []string{
			"config: cluster.key = ****** (env JOYRIDE_CLUSTER_KEY): must be base64",
		}},
		{"cluster key of 20 bytes", Options{Set: []string{"cluster.key=" + key20}}, []string{
			"config: cluster.key = ****** (flag --set): must be the base64 of a 16, 24 or 32-byte key (AES-128, AES-192 or AES-256)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrors(t, tt.opts)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			assert.Equal(t, want, got)
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := Load(Options{Env: []string{"JOYRIDE_DNS_PORT=70000"}})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1)
	assert.Equal(t, Error{
		Key: "dns.port", Value: "70000", Source: Source{Layer: LayerEnv, Name: "JOYRIDE_DNS_PORT"},
		Rule: "max=65535", Msg: "must be at most 65535",
	}, *errs[0])
}

// Every configurable field carries a koanf tag: an untagged one could never be set.
func TestEveryFieldIsTagged(t *testing.T) {
	var untagged []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Tag.Get("koanf") == "" {
				untagged = append(untagged, path+f.Name)
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !isScalar(ft) {
				walk(ft, path+f.Name+".")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	assert.Empty(t, untagged)
}

func TestKnownModulesHaveDefaults(t *testing.T) {
	assert.Len(t, Default().Modules, len(KnownModules()))
	assert.True(t, slices.IsSorted(KnownModules()))
}

// Bad input must produce errors, never a panic.
func FuzzLoadFile(f *testing.F) {
	for _, seed := range []string{
		"dns: {port: 53}", "records: [1, {name: [x]}]", "modules: {a: {b: c}}", "dns: {zones: {a: 1}}",
		"records: {name: x}", "? [a]\n: b", "dns:\n  port: 1e99", "hosts: {directories: [[a]]}", "log: ~",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "f.yaml")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		r, err := Load(Options{File: p})
		if err == nil {
			assert.NotNil(t, r)
		}
	})
}
