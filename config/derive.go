package config

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/joyride-dns/joyride/pkg/dnsname"
)

// derived is one key the runtime configuration filled in from others.
type derived struct {
	Key  string
	From string // the keys it came from, as "derived from …" shows them
}

// derive turns the user's configuration into the runtime configuration the modules get (Consul's user and
// runtime config): every setting that follows from others is computed here, and nowhere else, so that cmd/joyride
// only hands each module its section. It returns the keys it filled in. A key the user set is never changed.
//
//   - docker.allowed_domains, traefikfile.allowed_domains and cluster.allowed_domains (the domains a peer may
//     publish names in), when empty, are the DNS zones; with no zone either they are ["*"], any name, as
//     joyride-python allowed. The modules themselves refuse an empty list, so an application that embeds them
//     must choose.
//   - traefikfile.host_ip and host_ip6, when both are empty, are docker's pair (HOSTIP, HOSTIP6): Traefik routes
//     on the host the containers' records point at, which inside a bridge network auto-detection gets wrong.
//     Either of traefikfile's own keys keeps docker's out entirely, so a configured host_ip never gains docker's
//     AAAA. docker's section is read even with the docker module off.
//   - cluster.advertise_address, when empty and the gossip binds every address, is docker's host_ip (HOSTIP): peers
//     reach the node where its containers' records point; left to itself memberlist would pick any private address
//     of the host, a Docker bridge's among them.
//   - cluster.dns_port, when 0, is dns.port when that is not 0 (a free port, known only once bound): peers list
//     the port each node answers DNS on, and `joyride setup` forwards the zones there.
//   - dns.addresses, when empty, are docker's host_ip and host_ip6 (HOSTIP, HOSTIP6): the zones' nameserver name
//     (ns.<zone>) answers with the address this node is reached at, the one its containers' records point at.
//   - audit.node, when empty, is cluster.node_id (NODE_ID) when that is set: the audit log names this node as its
//     peers do. The audit module cannot ask the cluster module (modules import no other module); without either,
//     it takes the host's name, which is also the cluster's default ID unless cluster.data_dir keeps another.
func derive(user Config) (Config, []derived) {
	cfg := user
	var out []derived
	allowed := func(key string, domains *[]string) {
		if len(*domains) > 0 {
			return
		}
		if len(cfg.DNS.Zones) > 0 {
			*domains = slices.Clone(cfg.DNS.Zones)
			out = append(out, derived{Key: key, From: "dns.zones"})
			return
		}
		*domains = []string{dnsname.AnyDomain}
		out = append(out, derived{Key: key, From: "dns.zones, which is empty: any name"})
	}
	allowed("docker.allowed_domains", &cfg.Docker.AllowedDomains)
	allowed("traefikfile.allowed_domains", &cfg.Traefikfile.AllowedDomains)
	allowed("cluster.allowed_domains", &cfg.Cluster.AllowedDomains)
	if cfg.Traefikfile.HostIP == "" && cfg.Traefikfile.HostIP6 == "" {
		cfg.Traefikfile.HostIP, cfg.Traefikfile.HostIP6 = cfg.Docker.HostIP, cfg.Docker.HostIP6
		if cfg.Docker.HostIP != "" {
			out = append(out, derived{Key: "traefikfile.host_ip", From: "docker.host_ip"})
		}
		if cfg.Docker.HostIP6 != "" {
			out = append(out, derived{Key: "traefikfile.host_ip6", From: "docker.host_ip6"})
		}
	}
	if cfg.Cluster.AdvertiseAddress == "" && cfg.Docker.HostIP != "" && unspecified(cfg.Cluster.BindAddress) {
		cfg.Cluster.AdvertiseAddress = cfg.Docker.HostIP
		out = append(out, derived{Key: "cluster.advertise_address", From: "docker.host_ip"})
	}
	if cfg.Cluster.DNSPort == 0 && cfg.DNS.Port != 0 {
		cfg.Cluster.DNSPort = cfg.DNS.Port
		out = append(out, derived{Key: "cluster.dns_port", From: "dns.port"})
	}
	if len(cfg.DNS.Addresses) == 0 {
		var from []string
		for _, a := range []struct{ key, ip string }{{"docker.host_ip", cfg.Docker.HostIP}, {"docker.host_ip6", cfg.Docker.HostIP6}} {
			if a.ip != "" {
				cfg.DNS.Addresses = append(cfg.DNS.Addresses, a.ip)
				from = append(from, a.key)
			}
		}
		if len(from) > 0 {
			out = append(out, derived{Key: "dns.addresses", From: strings.Join(from, ", ")})
		}
	}
	if cfg.Audit.Node == "" && cfg.Cluster.NodeID != "" {
		cfg.Audit.Node = cfg.Cluster.NodeID
		out = append(out, derived{Key: "audit.node", From: "cluster.node_id"})
	}
	return cfg, out
}

// unspecified reports whether ip is an unspecified address (0.0.0.0, ::), which binds every interface.
func unspecified(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.IsUnspecified()
}
