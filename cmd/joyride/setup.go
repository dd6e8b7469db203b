package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/joyride-dns/joyride/config"
)

// negativeCap is how long the forwarders that cannot turn negative caching off (unbound, CoreDNS) may cache "no
// such name", in seconds: a container started just after a miss is answered within it.
const negativeCap = 5

// forwarders are the kinds `joyride setup` writes, each with its renderer.
var forwarders = map[string]func(io.Writer, plan){
	"dnsmasq":          writeDnsmasq,
	"pihole":           writePihole,
	"unbound":          writeUnbound,
	"systemd-resolved": writeResolved,
	"coredns":          writeCoreDNS,
}

func forwarderNames() []string {
	names := make([]string, 0, len(forwarders))
	for n := range forwarders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// plan is what a snippet forwards, and where.
type plan struct {
	zones []string // without the trailing dot
	nodes []target
	// left are the nodes left out, each with why, for a comment.
	left []string
}

// target is one node's DNS server.
type target struct {
	addr netip.AddrPort
	node string // "this node", or a cluster member's ID
}

func (c *cli) setupCommand() *cobra.Command {
	var f nodeFlags
	cmd := &cobra.Command{
		Use:   "setup " + strings.Join(forwarderNames(), "|"),
		Short: "Print the configuration that makes a local resolver forward Joyride's zones to every node",
		Long: `Print the configuration that makes a local resolver forward Joyride's zones (dns.zones) to this node and,
when the node runs the cluster module, to every member, with the settings that keep the resolver from caching
"no such name" for long. The node's API (--url) is asked for its zones, DNS address and cluster members; when the
default URL does not answer, the configuration alone describes this node.`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: forwarderNames(),
		RunE: func(_ *cobra.Command, args []string) error {
			res, err := c.load(f.src, c.env)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(c.stderr, w)
			}
			p, err := c.plan(&f, res.Config)
			if err != nil {
				return err
			}
			forwarders[args[0]](c.stdout, p)
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

// plan asks the node for its zones, address and members. When the node cannot be reached at the configuration's
// URL, the configuration describes this node alone (a note on stderr says so); an explicit --url must answer.
func (c *cli) plan(f *nodeFlags, cfg config.Config) (plan, error) {
	n, err := f.node(cfg)
	if err != nil && f.url != "" {
		return plan{}, err
	}
	var p plan
	if err == nil {
		p, err = n.plan()
		if err == nil || f.url != "" {
			return p, err
		}
	}
	fmt.Fprintf(c.stderr, "joyride: %s; using the configuration alone (this node, no cluster members)\n", err)
	return configPlan(cfg)
}

// configPlan is this node as the configuration describes it.
func configPlan(cfg config.Config) (plan, error) {
	d := cfg.DNS
	if d.Port == 0 {
		return plan{}, fail(exitUsage, "dns.port is 0 (a free port chosen at start): ask the running node (--url), or set dns.port")
	}
	return newPlan(d.Zones, dnsHost(d.BindAddress, d.Addresses, ""), d.Port, nil, nil)
}

// plan asks the node: /status for its zones and DNS address, /dns/cluster for its members.
func (n *node) plan() (plan, error) {
	const statusPath, clusterPath = "/status", "/dns/cluster"
	a, err := n.fetch(statusPath, http.StatusOK)
	if err != nil {
		return plan{}, err
	}
	var st statusAnswer
	if err := n.decode(statusPath, a, &st); err != nil {
		return plan{}, err
	}
	if st.DNS.Port == 0 {
		return plan{}, fail(exitAnswer, "the node at %s runs no DNS server (dns_server.port is 0)", n.base)
	}
	a, err = n.fetch(clusterPath, http.StatusOK, http.StatusServiceUnavailable)
	if err != nil {
		return plan{}, err
	}
	var body struct {
		Cluster *struct {
			Members []struct {
				NodeID  string `json:"node_id"`
				Address string `json:"address"`
				State   string `json:"state"`
				DNSPort int    `json:"dns_port"`
			} `json:"members"`
		} `json:"cluster"`
	}
	if a.code == http.StatusOK {
		if err := n.decode(clusterPath, a, &body); err != nil {
			return plan{}, err
		}
	}
	var peers []target
	var left []string
	if body.Cluster != nil {
		for _, m := range body.Cluster.Members {
			host, _, err := net.SplitHostPort(m.Address)
			ip, perr := netip.ParseAddr(host)
			switch {
			case m.State == "left":
				left = append(left, fmt.Sprintf("%s (%s): left the cluster", m.NodeID, host))
			case err != nil || perr != nil:
				left = append(left, fmt.Sprintf("%s: no address (%q)", m.NodeID, m.Address))
			case m.DNSPort == 0:
				left = append(left, fmt.Sprintf("%s (%s): its DNS port is unknown (a node without cluster.dns_port)", m.NodeID, host))
			default:
				peers = append(peers, target{addr: netip.AddrPortFrom(ip.Unmap(), uint16(m.DNSPort)), node: m.NodeID})
			}
		}
	}
	u, _ := url.Parse(n.base) // n.base was built from a parsed URL
	return newPlan(st.DNS.Zones, dnsHost(st.DNS.BindAddress, st.DNS.Addresses, u.Hostname()), st.DNS.Port, peers, left)
}

// dnsHost is the address a resolver reaches a node's DNS server at: the address it binds when that is one, else
// the first of dns.addresses (the address this node is reached at, HOSTIP), else the host the API was reached at
// when that is an address other than loopback, else loopback (a resolver on the same host).
func dnsHost(bind string, addresses []string, apiHost string) netip.Addr {
	if ip, err := netip.ParseAddr(bind); err == nil && !ip.IsUnspecified() {
		return ip.Unmap()
	}
	for _, a := range addresses {
		if ip, err := netip.ParseAddr(a); err == nil {
			return ip.Unmap()
		}
	}
	if ip, err := netip.ParseAddr(apiHost); err == nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		return ip.Unmap()
	}
	if ip, err := netip.ParseAddr(bind); err == nil && ip.Is6() {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

func newPlan(zones []string, host netip.Addr, port int, peers []target, left []string) (plan, error) {
	if len(zones) == 0 {
		return plan{}, fail(exitUsage, "dns.zones is empty: Joyride then answers any name, and there is no zone to forward; set dns.zones")
	}
	p := plan{left: left}
	for _, z := range zones {
		p.zones = append(p.zones, strings.ToLower(strings.TrimSuffix(z, ".")))
	}
	p.nodes = append([]target{{addr: netip.AddrPortFrom(host, uint16(port)), node: "this node"}}, peers...)
	return p, nil
}

// header is the comment every snippet starts with: what it forwards where, and the nodes left out.
func header(w io.Writer, p plan, kind, install string) {
	fmt.Fprintf(w, "# Joyride: forward %s to its nodes (joyride setup %s).\n", strings.Join(p.zones, ", "), kind)
	var nodes []string
	for _, t := range p.nodes {
		nodes = append(nodes, t.addr.String()+" ("+t.node+")")
	}
	fmt.Fprintf(w, "# Nodes: %s.\n", strings.Join(nodes, ", "))
	for _, l := range p.left {
		fmt.Fprintf(w, "# Left out: %s.\n", l)
	}
	fmt.Fprintf(w, "# %s\n", install)
}

func writeDnsmasq(w io.Writer, p plan) {
	header(w, p, "dnsmasq", "Save as /etc/dnsmasq.d/joyride.conf and restart dnsmasq.")
	dnsmasqLines(w, p)
}

func writePihole(w io.Writer, p plan) {
	header(w, p, "pihole", "Save as /etc/dnsmasq.d/05-joyride.conf and run `pihole restartdns`. Pi-hole v6 reads that\n"+
		"# directory only with misc.etc_dnsmasq_d set: `pihole-FTL --config misc.etc_dnsmasq_d true`.")
	dnsmasqLines(w, p)
}

// dnsmasqLines are dnsmasq's options, which Pi-hole's FTL takes as they are.
func dnsmasqLines(w io.Writer, p plan) {
	domains := "/" + strings.Join(p.zones, "/") + "/"
	for _, t := range p.nodes {
		fmt.Fprintf(w, "server=%s%s#%d\n", domains, t.addr.Addr(), t.addr.Port())
	}
	fmt.Fprintln(w, "# Joyride's names point at private addresses: let them through rebind protection (stop-dns-rebind).")
	fmt.Fprintf(w, "rebind-domain-ok=%s\n", domains)
	fmt.Fprintln(w, `# Never cache "no such name", so a container started just after a miss is answered at once. dnsmasq has no`)
	fmt.Fprintln(w, "# per-domain setting: this holds for every name it caches.")
	fmt.Fprintln(w, "no-negcache")
}

func writeUnbound(w io.Writer, p plan) {
	header(w, p, "unbound", "Save as /etc/unbound/unbound.conf.d/joyride.conf and restart unbound.")
	fmt.Fprintln(w, "server:")
	fmt.Fprintln(w, "    # The zones are not signed: answer them without DNSSEC validation.")
	for _, z := range p.zones {
		fmt.Fprintf(w, "    domain-insecure: %q\n", z)
	}
	fmt.Fprintln(w, "    # Resolve them even under a domain unbound answers itself (test., home.arpa., …), and let their private")
	fmt.Fprintln(w, "    # addresses through private-address.")
	for _, z := range p.zones {
		fmt.Fprintf(w, "    local-zone: %q transparent\n", z+".")
		fmt.Fprintf(w, "    private-domain: %q\n", z)
	}
	if slices.ContainsFunc(p.nodes, func(t target) bool { return t.addr.Addr().IsLoopback() }) {
		fmt.Fprintln(w, "    # A node on this host: unbound does not query localhost unless told to.")
		fmt.Fprintln(w, "    do-not-query-localhost: no")
	}
	fmt.Fprintf(w, "    # Cache \"no such name\" for at most %d s, so a container started just after a miss is answered soon.\n", negativeCap)
	fmt.Fprintln(w, "    # unbound has no per-zone setting: this holds for every name it caches.")
	fmt.Fprintf(w, "    cache-max-negative-ttl: %d\n", negativeCap)
	for _, z := range p.zones {
		fmt.Fprintln(w, "forward-zone:")
		fmt.Fprintf(w, "    name: %q\n", z+".")
		for _, t := range p.nodes {
			fmt.Fprintf(w, "    forward-addr: %s@%d\n", t.addr.Addr(), t.addr.Port())
		}
	}
}

func writeResolved(w io.Writer, p plan) {
	header(w, p, "systemd-resolved", "Save as /etc/systemd/resolved.conf.d/joyride.conf and run `systemctl restart systemd-resolved`\n"+
		"# (systemd 248 or later). resolved may also send other names to these servers when no link has DNS servers of its\n"+
		"# own; Joyride answers those only with dns.forwarders.")
	fmt.Fprintln(w, "[Resolve]")
	var servers, domains []string
	for _, t := range p.nodes {
		servers = append(servers, t.addr.String())
	}
	for _, z := range p.zones {
		domains = append(domains, "~"+z)
	}
	fmt.Fprintf(w, "DNS=%s\n", strings.Join(servers, " "))
	fmt.Fprintf(w, "Domains=%s\n", strings.Join(domains, " "))
	fmt.Fprintln(w, `# Never cache "no such name", so a container started just after a miss is answered at once.`)
	fmt.Fprintln(w, "Cache=no-negative")
}

func writeCoreDNS(w io.Writer, p plan) {
	header(w, p, "coredns", "Add this server block to the Corefile; CoreDNS reloads it with the reload plugin, or restart it.")
	var servers []string
	for _, t := range p.nodes {
		servers = append(servers, t.addr.String())
	}
	fmt.Fprintf(w, "%s {\n", strings.Join(p.zones, " "))
	fmt.Fprintf(w, "    forward . %s\n", strings.Join(servers, " "))
	fmt.Fprintf(w, "    # Cache \"no such name\" for at most %d s, so a container started just after a miss is answered soon.\n", negativeCap)
	fmt.Fprintln(w, "    cache {")
	fmt.Fprintf(w, "        denial 9984 %d\n", negativeCap)
	fmt.Fprintln(w, "    }")
	fmt.Fprintln(w, "}")
}
