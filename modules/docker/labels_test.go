package docker

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
	"github.com/joyride-dns/joyride/pkg/ttl"
)

func TestParseLabels(t *testing.T) {
	base := labelParser{
		keys:             []string{"joyride.host.name", "coredns.host.name"},
		allowed:          dnsname.Domains{"."}, // dnsname.AnyDomain
		ttl:              60,
		exposedByDefault: true,
		syntax:           traefikrule.SyntaxV3,
	}
	allowed := base
	allowed.allowed = []string{"lab.test.", "example.com."}
	traefik := base
	traefik.traefik = true
	hidden := traefik
	hidden.exposedByDefault = false

	tests := []struct {
		name   string
		parser labelParser
		labels map[string]string
		want   target
		probs  []Problem
	}{
		{name: "no labels", parser: base, labels: map[string]string{"other": "x"}},
		{name: "one name", parser: base, labels: map[string]string{"joyride.host.name": "app.lab.test"},
			want: target{names: []string{"app.lab.test."}, ttl: 60}},
		{name: "comma, space and newline separated, canonicalised", parser: base,
			labels: map[string]string{"joyride.host.name": "A.lab.test,b.lab.test  c.lab.test.\n d.lab.test,,"},
			want:   target{names: []string{"a.lab.test.", "b.lab.test.", "c.lab.test.", "d.lab.test."}, ttl: 60}},
		{name: "both keys, duplicates collapse", parser: base,
			labels: map[string]string{"joyride.host.name": "a.lab.test", "coredns.host.name": "A.lab.test. b.lab.test"},
			want:   target{names: []string{"a.lab.test.", "b.lab.test."}, ttl: 60}},
		{name: "invalid names skipped, valid kept", parser: base,
			labels: map[string]string{"joyride.host.name": "ok.lab.test bad_!.lab.test -x.lab.test"},
			want:   target{names: []string{"ok.lab.test."}, ttl: 60},
			probs: []Problem{
				{Label: "joyride.host.name", Value: "bad_!.lab.test", Reason: `name "bad_!.lab.test": label "bad_!" has invalid character '!'`},
				{Label: "joyride.host.name", Value: "-x.lab.test"},
			}},
		{name: "allowed domains", parser: allowed,
			labels: map[string]string{"joyride.host.name": "lab.test a.lab.test www.example.com evil.com notlab.test"},
			want:   target{names: []string{"lab.test.", "a.lab.test.", "www.example.com."}, ttl: 60},
			probs: []Problem{
				{Label: "joyride.host.name", Value: "evil.com", Reason: "outside the allowed domains [lab.test. example.com.]"},
				{Label: "joyride.host.name", Value: "notlab.test", Reason: "outside the allowed domains [lab.test. example.com.]"},
			}},
		{name: "ip override, v4 and v6", parser: base,
			labels: map[string]string{"joyride.host.name": "a.lab.test", IPLabel: "10.0.0.5, fd00::5 ::ffff:10.0.0.6"},
			want: target{names: []string{"a.lab.test."}, ttl: 60,
				addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5"), netip.MustParseAddr("10.0.0.6")}}},
		{name: "ip override with an invalid part", parser: base,
			labels: map[string]string{"joyride.host.name": "a.lab.test", IPLabel: "10.0.0.5 nope fe80::1%eth0"},
			want:   target{names: []string{"a.lab.test."}, ttl: 60, addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}},
			probs: []Problem{
				{Label: IPLabel, Value: "nope", Reason: "not an IPv4 or IPv6 address"},
				{Label: IPLabel, Value: "fe80::1%eth0", Reason: "not an IPv4 or IPv6 address"},
			}},
		{name: "ip override entirely invalid skips the container", parser: base,
			labels: map[string]string{"joyride.host.name": "a.lab.test", IPLabel: "10.0.0.999"},
			probs: []Problem{
				{Label: IPLabel, Value: "10.0.0.999", Reason: "not an IPv4 or IPv6 address"},
				{Label: IPLabel, Value: "10.0.0.999", Reason: "no valid address; container skipped"},
			}},
		{name: "ip label without names is ignored", parser: base, labels: map[string]string{IPLabel: "bogus"}},
		{name: "ttl override", parser: base, labels: map[string]string{"joyride.host.name": "a.lab.test", TTLLabel: " 5 "},
			want: target{names: []string{"a.lab.test."}, ttl: 5}},
		{name: "ttl invalid", parser: base, labels: map[string]string{"joyride.host.name": "a.lab.test", TTLLabel: "-1"},
			want:  target{names: []string{"a.lab.test."}, ttl: 60},
			probs: []Problem{{Label: TTLLabel, Value: "-1", Reason: `"-1" is not a TTL in seconds (0..2147483647); using 60`}}},
		// It fits a uint32, but the store would reject it and the name would answer NXDOMAIN.
		{name: "ttl beyond RFC 2181 falls back to the default", parser: base,
			labels: map[string]string{"joyride.host.name": "a.lab.test", TTLLabel: "3000000000"},
			want:   target{names: []string{"a.lab.test."}, ttl: 60},
			probs: []Problem{{Label: TTLLabel, Value: "3000000000",
				Reason: "TTL 3000000000 is larger than 2147483647 (RFC 2181 section 8); using 60"}}},
		{name: "ttl at the RFC 2181 limit", parser: base,
			labels: map[string]string{"joyride.host.name": "a.lab.test", TTLLabel: "2147483647"},
			want:   target{names: []string{"a.lab.test."}, ttl: 2147483647}},
		{name: "traefik labels ignored when the option is off", parser: base,
			labels: map[string]string{"traefik.http.routers.r.rule": "Host(`a.lab.test`)"}},
		{name: "traefik http and tcp routers", parser: traefik,
			labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`a.lab.test`) || Host(`b.lab.test`)",
				"traefik.tcp.routers.db.rule":   "HostSNI(`db.lab.test`)",
				"traefik.http.routers.web.tls":  "true",
				"traefik.http.services.x.rule":  "Host(`not-a-router.lab.test`)",
			},
			want: target{names: []string{"a.lab.test.", "b.lab.test.", "db.lab.test."}, ttl: 60}},
		{name: "traefik names join label names", parser: traefik,
			labels: map[string]string{"joyride.host.name": "a.lab.test", "traefik.http.routers.web.rule": "Host(`a.lab.test`) || Host(`c.lab.test`)"},
			want:   target{names: []string{"a.lab.test.", "c.lab.test."}, ttl: 60}},
		{name: "traefik per-router v2 syntax, keys case-insensitive", parser: traefik,
			labels: map[string]string{
				"traefik.http.routers.Old.Rule":       "Host(`a.lab.test`, `b.lab.test`)",
				"traefik.http.routers.old.ruleSyntax": "v2",
			},
			want: target{names: []string{"a.lab.test.", "b.lab.test."}, ttl: 60}},
		{name: "traefik v2 rule under v3 syntax is refused", parser: traefik,
			labels: map[string]string{"traefik.http.routers.r.rule": "Host(`a.lab.test`, `b.lab.test`)"},
			probs: []Problem{{Label: "traefik.http.routers.r.rule", Value: "Host(`a.lab.test`, `b.lab.test`)",
				Reason: "traefik rule \"Host(`a.lab.test`, `b.lab.test`)\": Host at offset 0 takes one value in v3 syntax, found 2 (combine with ||, or ruleSyntax v2)"}}},
		{name: "traefik regexp reported", parser: traefik,
			labels: map[string]string{"traefik.http.routers.r.rule": "HostRegexp(`.+`) || Host(`a.lab.test`)"},
			want:   target{names: []string{"a.lab.test."}, ttl: 60},
			probs: []Problem{{Label: "traefik.http.routers.r.rule", Value: ".+",
				Reason: "HostRegexp skipped (regular expression): not guessed"}}},
		{name: "traefik.enable=false", parser: traefik,
			labels: map[string]string{"traefik.enable": "false", "traefik.http.routers.r.rule": "Host(`a.lab.test`)"}},
		{name: "not exposed by default", parser: hidden,
			labels: map[string]string{"traefik.http.routers.r.rule": "Host(`a.lab.test`)"}},
		{name: "not exposed by default, enabled", parser: hidden,
			labels: map[string]string{"traefik.enable": "true", "traefik.http.routers.r.rule": "Host(`a.lab.test`)"},
			want:   target{names: []string{"a.lab.test."}, ttl: 60}},
		{name: "traefik.enable invalid uses the default", parser: hidden,
			labels: map[string]string{"traefik.enable": "maybe", "traefik.http.routers.r.rule": "Host(`a.lab.test`)"},
			probs: []Problem{{Label: "traefik.enable", Value: "maybe",
				Reason: "not a boolean; using the exposed-by-default setting (false)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, probs := tt.parser.parse(tt.labels)
			assert.Len(t, got.labels, len(got.names), "one naming label per name")
			got.labels = nil // TestNamingLabels checks them
			assert.Equal(t, tt.want, got)
			// The store checks records with the same rule (dnsstore.NewRecord calls ttl.Check): whatever TTL
			// the labels end with, the container's names are served.
			assert.NoError(t, ttl.Check(got.ttl))
			assert.Len(t, probs, len(tt.probs))
			for i := range min(len(probs), len(tt.probs)) {
				assert.Equal(t, tt.probs[i].Label, probs[i].Label)
				assert.Equal(t, tt.probs[i].Value, probs[i].Value)
				if tt.probs[i].Reason != "" {
					assert.Equal(t, tt.probs[i].Reason, probs[i].Reason)
				}
			}
		})
	}
}

func TestTargetRecords(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name   string
		target target
		host   hostAddrs
		want   []events.Record
	}{
		{name: "host v4", target: target{names: []string{"b.test.", "a.test."}, ttl: 60}, host: hostAddrs{v4: v4},
			want: []events.Record{{Name: "a.test.", Type: "A", Value: "192.0.2.1", TTL: 60}, {Name: "b.test.", Type: "A", Value: "192.0.2.1", TTL: 60}}},
		{name: "host v4 and v6", target: target{names: []string{"a.test."}, ttl: 5}, host: hostAddrs{v4: v4, v6: v6},
			want: []events.Record{{Name: "a.test.", Type: "A", Value: "192.0.2.1", TTL: 5}, {Name: "a.test.", Type: "AAAA", Value: "2001:db8::1", TTL: 5}}},
		{name: "override replaces both host addresses", host: hostAddrs{v4: v4, v6: v6},
			target: target{names: []string{"a.test."}, ttl: 60, addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
			want:   []events.Record{{Name: "a.test.", Type: "A", Value: "10.0.0.1", TTL: 60}}},
		{name: "no address known", target: target{names: []string{"a.test."}, ttl: 60}, want: []events.Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.target.records(tt.host))
		})
	}
}

func TestEndpoint(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	exists := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return true
				}
			}
			return false
		}
	}
	cfg := DefaultConfig()
	withHost := cfg
	withHost.Host = "tcp://127.0.0.1:2375"
	tests := []struct {
		name   string
		cfg    Config
		env    map[string]string
		exists func(string) bool
		want   string
	}{
		{name: "configured host wins", cfg: withHost, env: map[string]string{"DOCKER_HOST": "unix:///x.sock"},
			exists: exists("/var/run/docker.sock"), want: "tcp://127.0.0.1:2375"},
		{name: "DOCKER_HOST", cfg: cfg, env: map[string]string{"DOCKER_HOST": "unix:///x.sock"},
			exists: exists("/var/run/docker.sock"), want: "unix:///x.sock"},
		{name: "docker socket", cfg: cfg, exists: exists("/var/run/docker.sock", "/run/podman/podman.sock"),
			want: "unix:///var/run/docker.sock"},
		{name: "rootful podman", cfg: cfg, exists: exists("/run/podman/podman.sock"), want: "unix:///run/podman/podman.sock"},
		{name: "rootless podman", cfg: cfg, env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"},
			exists: exists("/run/user/1000/podman/podman.sock"), want: "unix:///run/user/1000/podman/podman.sock"},
		{name: "nothing exists: the docker socket, retried", cfg: cfg, exists: exists(), want: "unix:///var/run/docker.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, endpoint(tt.cfg, env(tt.env), tt.exists))
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		err    string
	}{
		{name: "host ip", mutate: func(c *Config) { c.HostIP = "10.0.0.999" }, err: `docker.host_ip = "10.0.0.999": must be an IPv4 address`},
		{name: "host ip6", mutate: func(c *Config) { c.HostIP6 = "10.0.0.1" }, err: `docker.host_ip6 = "10.0.0.1": must be an IPv6 address`},
		{name: "no labels", mutate: func(c *Config) { c.Labels = nil }, err: "docker.labels"},
		{name: "backoff", mutate: func(c *Config) { c.MaxBackoff = time.Millisecond }, err: "docker.max_backoff"},
		{name: "rule syntax", mutate: func(c *Config) { c.TraefikRuleSyntax = "v9" }, err: "docker.traefik_rule_syntax"},
		{name: "host url", mutate: func(c *Config) { c.Host = "::bogus" }, err: `docker.host: value "::bogus"`},
		{name: "allowed domain", mutate: func(c *Config) { c.AllowedDomains = []string{"ok.test", "bad domain"} },
			err: "docker.allowed_domains[1]"},
		// Nothing fills them in behind an embedder's back: an empty list would let any label claim any name.
		{name: "no allowed domains", mutate: func(c *Config) { c.AllowedDomains = nil },
			err: `docker.allowed_domains is empty: set it to the domains names may be claimed in (usually the DNS zones), or to ["*"] to allow any name`},
		{name: "ttl beyond RFC 2181", mutate: func(c *Config) { c.TTL = 1 << 31 },
			err: "docker.ttl = 2147483648: must be at most 2147483647 seconds (RFC 2181 section 8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.AllowedDomains = []string{"lab.test"}
			tt.mutate(&cfg)
			_, err := New(Params{Lifecycle: fxtest.NewLifecycle(t), Logger: zap.NewNop(), Bus: eventstest.NewBus(t), Config: cfg})
			assert.ErrorContains(t, err, tt.err)
		})
	}
	valid := DefaultConfig()
	valid.AllowedDomains = []string{"lab.test"}
	_, err := NewProducer(valid, nil, nil)
	assert.ErrorContains(t, err, "docker: an event bus is required")
	for _, allowed := range [][]string{{"lab.test"}, {"*"}} {
		cfg := DefaultConfig()
		cfg.AllowedDomains = allowed
		_, err := NewProducer(cfg, nil, eventstest.NewBus(t))
		assert.NoError(t, err, "the defaults with allowed domains %v are valid", allowed)
	}
}

// Names is the parser the producer uses, built from a Config: `joyride check` reports what the producer would.
func TestNames(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedDomains = []string{"lab.test"}
	tests := []struct {
		name   string
		labels map[string]string
		names  []string
		probs  []Problem
	}{
		{"no label", map[string]string{"other": "x"}, nil, nil},
		{"a name in the domains", map[string]string{"joyride.host.name": "App.Lab.Test"}, []string{"app.lab.test."}, nil},
		{"outside the domains", map[string]string{"joyride.host.name": "app.example.org"}, nil,
			[]Problem{{Label: "joyride.host.name", Value: "app.example.org", Reason: "outside the allowed domains [lab.test.]"}}},
		{"a good and a bad name", map[string]string{"coredns.host.name": "a.lab.test,bad..lab.test"}, []string{"a.lab.test."},
			[]Problem{{Label: "coredns.host.name", Value: "bad..lab.test", Reason: `name "bad..lab.test" has an empty label`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, probs, err := Names(cfg, tt.labels)
			require.NoError(t, err)
			assert.Equal(t, tt.names, names)
			assert.Equal(t, tt.probs, probs)
		})
	}
	cfg.AllowedDomains = nil
	_, _, err := Names(cfg, nil)
	assert.ErrorContains(t, err, "docker.allowed_domains")
}
