package main

import (
	"bufio"
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenPlan is a cluster of three nodes, one of them on IPv6 and another port, and one that left.
var goldenPlan = plan{
	zones: []string{"lab.test", "home.arpa"},
	nodes: []target{
		{addr: netip.MustParseAddrPort("127.0.0.1:5353"), node: "this node"},
		{addr: netip.MustParseAddrPort("192.168.1.11:5353"), node: "node-b"},
		{addr: netip.MustParseAddrPort("[2001:db8::12]:5354"), node: "node-c"},
	},
	left: []string{"node-d (192.168.1.14): left the cluster"},
}

// Every snippet is compared with its golden file (go test -run TestSetupGolden -update rewrites them) and its syntax
// checked: by dnsmasq and unbound themselves where Debian packages them (the integration tests also run them
// against a node), by the rules of their manuals for the others.
func TestSetupGolden(t *testing.T) {
	syntax := map[string]func(*testing.T, string){
		"dnsmasq":          checkDnsmasq,
		"pihole":           checkDnsmasq,
		"unbound":          checkUnbound,
		"systemd-resolved": checkResolved,
		"coredns":          checkCorefile,
	}
	for _, kind := range forwarderNames() {
		t.Run(kind, func(t *testing.T) {
			var out bytes.Buffer
			forwarders[kind](&out, goldenPlan)
			file := filepath.Join("testdata", "setup", kind+".golden")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
				require.NoError(t, os.WriteFile(file, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, string(want), out.String())
			if check := syntax[kind]; check != nil {
				check(t, out.String())
			}
		})
	}
}

// program returns the path of a forwarder's program; without it the test is skipped, unless
// JOYRIDE_REQUIRE_FORWARDERS is set (.ci/run installs them), which makes that a failure.
func program(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("JOYRIDE_REQUIRE_FORWARDERS") != "" {
		t.Fatalf("%s is not installed and JOYRIDE_REQUIRE_FORWARDERS is set", name)
	}
	t.Skipf("%s is not installed (apt-get install dnsmasq-base unbound)", name)
	return ""
}

// checkDnsmasq runs dnsmasq's own syntax check on the snippet.
func checkDnsmasq(t *testing.T, text string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "joyride.conf")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	out, err := exec.Command(program(t, "dnsmasq"), "--test", "--conf-file="+file).CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

// checkUnbound runs unbound-checkconf on a configuration that includes the snippet.
func checkUnbound(t *testing.T, text string) {
	t.Helper()
	dir := t.TempDir()
	snippet := filepath.Join(dir, "joyride.conf")
	require.NoError(t, os.WriteFile(snippet, []byte(text), 0o644))
	conf := filepath.Join(dir, "unbound.conf")
	require.NoError(t, os.WriteFile(conf, []byte("server:\n    chroot: \"\"\n    username: \"\"\ninclude: \""+snippet+"\"\n"), 0o644))
	out, err := exec.Command(program(t, "unbound-checkconf"), conf).CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

// checkResolved parses a resolved.conf drop-in as systemd does (an INI file: comments, one section, key=value)
// and checks each value as resolved.conf(5) describes it.
func checkResolved(t *testing.T, text string) {
	t.Helper()
	seen := map[string]bool{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
			continue
		}
		require.Equal(t, "[Resolve]", section, "line %d outside [Resolve]: %q", n, line)
		key, value, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %d is key=value: %q", n, line)
		require.False(t, seen[key], "line %d sets %s again", n, key)
		seen[key] = true
		switch key {
		case "DNS":
			for _, s := range strings.Fields(value) {
				_, err := netip.ParseAddrPort(s)
				assert.NoError(t, err, "DNS=%s: an address with a port", s)
			}
		case "Domains":
			for _, d := range strings.Fields(value) {
				assert.True(t, strings.HasPrefix(d, "~"), "Domains=%s: a routing-only domain", d)
			}
		case "Cache":
			assert.Contains(t, []string{"yes", "no", "no-negative"}, value)
		default:
			t.Errorf("line %d: %s is not a [Resolve] key this snippet should set", n, key)
		}
	}
	assert.Equal(t, map[string]bool{"DNS": true, "Domains": true, "Cache": true}, seen)
}

// checkCorefile checks a Corefile server block: zones then "{", a directive per line, blocks balanced, forward's
// addresses and cache's denial numbers well-formed.
func checkCorefile(t *testing.T, text string) {
	t.Helper()
	depth, blocks := 0, 0
	var directives []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch {
		case line == "}":
			depth--
			require.GreaterOrEqual(t, depth, 0, "line %d closes a block never opened", n)
			continue
		case depth == 0:
			require.Equal(t, "{", fields[len(fields)-1], "line %d opens a server block: %q", n, line)
			for _, z := range fields[:len(fields)-1] {
				assert.Equal(t, strings.ToLower(z), z, "zone %q", z)
				assert.NotContains(t, z, ":", "zone %q: no port, the server's default", z)
			}
			blocks++
			depth++
			continue
		}
		directives = append(directives, fields[0])
		switch fields[0] {
		case "forward":
			require.Equal(t, ".", fields[1], "forward . TO…: every name of the block")
			for _, to := range fields[2:] {
				_, err := netip.ParseAddrPort(to)
				assert.NoError(t, err, "forward to %s", to)
			}
		case "denial":
			require.Len(t, fields, 3, "denial CAPACITY TTL")
			for _, f := range fields[1:] {
				_, err := strconv.ParseUint(f, 10, 32)
				assert.NoError(t, err, "denial %s", f)
			}
		}
		if fields[len(fields)-1] == "{" {
			depth++
		}
	}
	assert.Equal(t, 0, depth, "every block is closed")
	assert.Equal(t, 1, blocks)
	assert.Equal(t, []string{"forward", "cache", "denial"}, directives)
}

func TestDNSHost(t *testing.T) {
	tests := []struct {
		name, bind string
		addresses  []string
		apiHost    string
		want       string
	}{
		{"a bound address", "192.0.2.53", []string{"192.0.2.1"}, "192.0.2.2", "192.0.2.53"},
		{"dns.addresses when binding every address", "0.0.0.0", []string{"192.0.2.1", "2001:db8::1"}, "192.0.2.2", "192.0.2.1"},
		{"the API's host", "0.0.0.0", nil, "192.0.2.2", "192.0.2.2"},
		{"not the API's loopback", "0.0.0.0", nil, "127.0.0.1", "127.0.0.1"},
		{"nor a name", "0.0.0.0", nil, "joyride.lan", "127.0.0.1"},
		{"IPv6 loopback for an IPv6 wildcard", "::", nil, "", "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, dnsHost(tt.bind, tt.addresses, tt.apiHost).String())
		})
	}
}

func TestNodeURL(t *testing.T) {
	cfg := config.Default()
	cfg.Modules["http"] = true
	tests := []struct {
		name string
		edit func(*config.Config)
		url  string
		want string // or the error
	}{
		{"a wildcard host is loopback", nil, "", "http://127.0.0.1:5000"},
		{"IPv6 wildcard", func(c *config.Config) { c.HTTP.Host = "::" }, "", "http://[::1]:5000"},
		{"a host as configured", func(c *config.Config) { c.HTTP.Host, c.HTTP.Port = "192.0.2.1", 8080 }, "", "http://192.0.2.1:8080"},
		{"http off", func(c *config.Config) { c.Modules["http"] = false }, "", "the configuration does not enable the http module"},
		{"a free port", func(c *config.Config) { c.HTTP.Port = 0 }, "", "http.port is 0"},
		{"--url wins", func(c *config.Config) { c.Modules["http"] = false }, "http://192.0.2.9:5000/", "http://192.0.2.9:5000"},
		{"--url without scheme", nil, "192.0.2.9:5000", "http://192.0.2.9:5000"},
		{"--url behind a proxy's path", nil, "https://proxy.lan/joyride/", "https://proxy.lan/joyride"},
		{"--url of another scheme", nil, "ftp://192.0.2.9", `--url "ftp://192.0.2.9": want http://host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.Modules = map[string]bool{"http": true}
			if tt.edit != nil {
				tt.edit(&c)
			}
			f := nodeFlags{url: tt.url, timeout: defaultTimeout}
			n, err := f.node(c)
			if err != nil {
				assert.Contains(t, err.Error(), tt.want)
				return
			}
			assert.Equal(t, tt.want, n.base)
		})
	}
}

// Without zones there is nothing to forward; with dns.port 0 the configuration cannot say where.
func TestSetupFromConfigurationFails(t *testing.T) {
	cfg := config.Default()
	_, err := configPlan(cfg)
	assert.ErrorContains(t, err, "dns.zones is empty")
	cfg.DNS.Zones, cfg.DNS.Port = []string{"lab.test"}, 0
	_, err = configPlan(cfg)
	assert.ErrorContains(t, err, "dns.port is 0")
	cfg.DNS.Port = 53
	p, err := configPlan(cfg)
	require.NoError(t, err)
	assert.Equal(t, []target{{addr: netip.MustParseAddrPort("127.0.0.1:53"), node: "this node"}}, p.nodes)
	assert.True(t, slices.Equal([]string{"lab.test"}, p.zones))
}
