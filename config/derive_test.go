package config

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDerive(t *testing.T) {
	const (
		fromZones = "dns.zones"
		anyName   = "dns.zones, which is empty: any name"
	)
	tests := []struct {
		name            string
		edit            func(*Config)
		docker, traefik []string // allowed domains
		cluster         []string
		ip, ip6         string   // traefikfile's host addresses
		addresses       []string // dns.addresses
		derived         []derived
	}{
		{name: "no zones: any name, said so", docker: []string{"*"}, traefik: []string{"*"}, cluster: []string{"*"},
			derived: []derived{{"docker.allowed_domains", anyName}, {"traefikfile.allowed_domains", anyName},
				{"cluster.allowed_domains", anyName}}},
		{name: "zones", edit: func(c *Config) { c.DNS.Zones = []string{"lab.test", "home.arpa"} },
			docker: []string{"lab.test", "home.arpa"}, traefik: []string{"lab.test", "home.arpa"},
			cluster: []string{"lab.test", "home.arpa"},
			derived: []derived{{"docker.allowed_domains", fromZones}, {"traefikfile.allowed_domains", fromZones},
				{"cluster.allowed_domains", fromZones}}},
		{name: "set allowed domains are kept", edit: func(c *Config) {
			c.DNS.Zones = []string{"lab.test"}
			c.Docker.AllowedDomains = []string{"docker.lab.test"}
			c.Traefikfile.AllowedDomains = []string{"*"}
			c.Cluster.AllowedDomains = []string{"peers.lab.test"}
		}, docker: []string{"docker.lab.test"}, traefik: []string{"*"}, cluster: []string{"peers.lab.test"}},
		{name: "each allowed list on its own", edit: func(c *Config) {
			c.DNS.Zones = []string{"lab.test"}
			c.Docker.AllowedDomains = []string{"docker.lab.test"}
		}, docker: []string{"docker.lab.test"}, traefik: []string{"lab.test"}, cluster: []string{"lab.test"},
			derived: []derived{{"traefikfile.allowed_domains", fromZones}, {"cluster.allowed_domains", fromZones}}},
		{name: "docker's addresses", edit: func(c *Config) {
			allowOnly(c, "a.test")
			c.Docker.HostIP, c.Docker.HostIP6 = "192.0.2.1", "2001:db8::1"
		}, docker: []string{"a.test"}, traefik: []string{"a.test"}, cluster: []string{"a.test"}, ip: "192.0.2.1", ip6: "2001:db8::1",
			addresses: []string{"192.0.2.1", "2001:db8::1"},
			derived: []derived{{"traefikfile.host_ip", "docker.host_ip"}, {"traefikfile.host_ip6", "docker.host_ip6"},
				{"cluster.advertise_address", "docker.host_ip"}, {"dns.addresses", "docker.host_ip, docker.host_ip6"}}},
		{name: "docker's IPv4 alone", edit: func(c *Config) {
			allowOnly(c, "a.test")
			c.Docker.HostIP = "192.0.2.1"
		}, docker: []string{"a.test"}, traefik: []string{"a.test"}, cluster: []string{"a.test"}, ip: "192.0.2.1", addresses: []string{"192.0.2.1"},
			derived: []derived{{"traefikfile.host_ip", "docker.host_ip"}, {"cluster.advertise_address", "docker.host_ip"},
				{"dns.addresses", "docker.host_ip"}}},
		{name: "dns.addresses set are kept", edit: func(c *Config) {
			allowOnly(c, "a.test")
			c.Docker.HostIP = "192.0.2.1"
			c.DNS.Addresses = []string{"192.0.2.53"}
		}, docker: []string{"a.test"}, traefik: []string{"a.test"}, cluster: []string{"a.test"}, ip: "192.0.2.1", addresses: []string{"192.0.2.53"},
			derived: []derived{{"traefikfile.host_ip", "docker.host_ip"}, {"cluster.advertise_address", "docker.host_ip"}}},
		{name: "traefikfile's host_ip keeps docker's pair out", edit: func(c *Config) {
			allowOnly(c, "a.test")
			c.Docker.HostIP, c.Docker.HostIP6 = "192.0.2.1", "2001:db8::1"
			c.Traefikfile.HostIP = "192.0.2.2"
		}, docker: []string{"a.test"}, traefik: []string{"a.test"}, cluster: []string{"a.test"}, ip: "192.0.2.2",
			addresses: []string{"192.0.2.1", "2001:db8::1"}, derived: []derived{{"cluster.advertise_address", "docker.host_ip"},
				{"dns.addresses", "docker.host_ip, docker.host_ip6"}}},
		{name: "traefikfile's host_ip6 keeps docker's pair out", edit: func(c *Config) {
			allowOnly(c, "a.test")
			c.Docker.HostIP, c.Docker.HostIP6 = "192.0.2.1", "2001:db8::1"
			c.Traefikfile.HostIP6 = "2001:db8::2"
		}, docker: []string{"a.test"}, traefik: []string{"a.test"}, cluster: []string{"a.test"}, ip6: "2001:db8::2",
			addresses: []string{"192.0.2.1", "2001:db8::1"}, derived: []derived{{"cluster.advertise_address", "docker.host_ip"},
				{"dns.addresses", "docker.host_ip, docker.host_ip6"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := Default()
			user.DNS.Port = 0 // cluster.dns_port has its own test
			if tt.edit != nil {
				tt.edit(&user)
			}
			before := user
			got, derived := derive(user)
			assert.Equal(t, tt.docker, got.Docker.AllowedDomains)
			assert.Equal(t, tt.traefik, got.Traefikfile.AllowedDomains)
			assert.Equal(t, tt.cluster, got.Cluster.AllowedDomains)
			assert.Equal(t, tt.ip, got.Traefikfile.HostIP)
			assert.Equal(t, tt.ip6, got.Traefikfile.HostIP6)
			assert.Equal(t, tt.addresses, got.DNS.Addresses)
			assert.Equal(t, tt.derived, derived)
			assert.Equal(t, before, user, "the user's configuration is not changed")
		})
	}
}

// allowOnly sets every allowed_domains list, so that a case is about the other derived keys.
func allowOnly(c *Config, domains ...string) {
	c.Docker.AllowedDomains, c.Traefikfile.AllowedDomains, c.Cluster.AllowedDomains = domains, domains, domains
}

// config print says which keys were derived and from what.
func TestDerivedProvenance(t *testing.T) {
	r, err := Load(Options{Env: []string{"JOYRIDE_DNS_ZONES=lab.test", "HOSTIP=192.0.2.1"}})
	assert.NoError(t, err)
	for key, want := range map[string]string{
		"docker.allowed_domains":      "derived from dns.zones",
		"traefikfile.allowed_domains": "derived from dns.zones",
		"cluster.allowed_domains":     "derived from dns.zones",
		"traefikfile.host_ip":         "derived from docker.host_ip",
		"traefikfile.host_ip6":        "default",
		"docker.host_ip":              "env HOSTIP",
	} {
		_, from := value(t, r, key)
		assert.Equal(t, want, from, key)
	}
}

func TestDeriveAuditNode(t *testing.T) {
	tests := []struct {
		name, nodeID, auditNode, want string
		derived                       bool
	}{
		{"the cluster's node ID", "node-a", "", "node-a", true},
		{"none: the audit module takes the host's name", "", "", "", false},
		{"a set audit.node is kept", "node-a", "audit-a", "audit-a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := Default()
			user.Cluster.NodeID, user.Audit.Node = tt.nodeID, tt.auditNode
			got, from := derive(user)
			assert.Equal(t, tt.want, got.Audit.Node)
			assert.Equal(t, tt.derived, slices.Contains(from, derived{Key: "audit.node", From: "cluster.node_id"}))
		})
	}
}

func TestDeriveAdvertiseAddress(t *testing.T) {
	tests := []struct {
		name, bind, advertise, hostIP, want string
	}{
		{"HOSTIP when binding every address", "0.0.0.0", "", "192.0.2.1", "192.0.2.1"},
		{"nothing without HOSTIP", "0.0.0.0", "", "", ""},
		{"a set address is kept", "0.0.0.0", "192.0.2.9", "192.0.2.1", "192.0.2.9"},
		{"a bound address advertises itself", "192.0.2.7", "", "192.0.2.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := Default()
			user.Cluster.BindAddress, user.Cluster.AdvertiseAddress, user.Docker.HostIP = tt.bind, tt.advertise, tt.hostIP
			got, _ := derive(user)
			assert.Equal(t, tt.want, got.Cluster.AdvertiseAddress)
		})
	}
}

func TestDeriveDNSPort(t *testing.T) {
	tests := []struct {
		name          string
		dns, cluster  int
		want          int
		derivedByPort bool
	}{
		{"dns.port", 5353, 0, 5353, true},
		{"a set port is kept (a published container port)", 5353, 53, 53, false},
		{"a free port is unknown until bound", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := Default()
			user.DNS.Port, user.Cluster.DNSPort = tt.dns, tt.cluster
			got, out := derive(user)
			assert.Equal(t, tt.want, got.Cluster.DNSPort)
			assert.Equal(t, tt.derivedByPort, slices.Contains(out, derived{Key: "cluster.dns_port", From: "dns.port"}))
		})
	}
}
