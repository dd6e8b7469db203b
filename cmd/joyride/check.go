package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/joyride-dns/joyride/config"
	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/docker"
	"github.com/joyride-dns/joyride/modules/hosts"
)

// finding is one line of `joyride check`.
type finding struct {
	state string // ok, warn (worth knowing, not wrong) or FAIL
	what  string // the check: "docker engine", "dns port", …
	text  string
}

const (
	stateOK   = "ok"
	stateWarn = "warn"
	stateFail = "FAIL"
)

func (c *cli) checkCommand() *cobra.Command {
	var src sources
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "check",
		Aliases: []string{"doctor"},
		Short:   "Check what the enabled modules need: the Docker engine and labels, the DNS port, the hosts files",
		Long: `Check, one line each, what the configuration's enabled modules need: that the Docker engine answers and
the running containers' labels give valid names inside the allowed domains, that the DNS port is free (or who
holds it), and that the hosts files parse (each bad line with its file and number). Exit 1 when something is
wrong.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			res, err := c.load(src, c.env)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(c.stderr, w)
			}
			if timeout <= 0 {
				return fail(exitUsage, "--timeout %s: must be positive", timeout)
			}
			var found []finding
			cfg := res.Config
			if cfg.Enabled("docker") {
				found = append(found, checkDocker(cfg.Docker, getenv(c.env), timeout)...)
			}
			if cfg.Enabled("dns") {
				found = append(found, checkPort(cfg.DNS, "/proc")...)
			}
			if cfg.Enabled("hosts") {
				found = append(found, checkHosts(cfg)...)
			}
			if writeFindings(c.stdout, found) > 0 {
				return exitCode(exitNo)
			}
			return nil
		},
	}
	src.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "how long to wait for the Docker engine")
	return cmd
}

// writeFindings prints the findings as a table and a last line that counts the failures, which it returns.
func writeFindings(out io.Writer, found []finding) int {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	failed := 0
	for _, f := range found {
		fmt.Fprintf(w, "%s\t%s\t%s\n", f.state, f.what, f.text)
		if f.state == stateFail {
			failed++
		}
	}
	_ = w.Flush()
	if failed == 0 {
		fmt.Fprintln(out, "no problems found")
	} else {
		fmt.Fprintf(out, "%d %s found\n", failed, plural(failed, "problem", "problems"))
	}
	return failed
}

// getenv looks a variable up in env, the command's environment.
func getenv(env []string) func(string) string {
	return func(name string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}

// checkDocker asks the engine the producer would use whether it answers, then reads every running container's
// labels with the producer's rules.
func checkDocker(cfg docker.Config, getenv func(string) string, timeout time.Duration) []finding {
	const engine, labels = "docker engine", "docker labels"
	ep := docker.Endpoint(cfg, getenv)
	cli, err := client.New(client.FromEnv, client.WithHost(ep))
	if err != nil {
		return []finding{{stateFail, engine, fmt.Sprintf("%s: %v", ep, err)}}
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return []finding{{stateFail, engine, fmt.Sprintf("%s does not answer: %s", ep, dockerError(err, timeout))}}
	}
	found := []finding{{stateOK, engine, fmt.Sprintf("%s answers (API %s)", ep, ping.APIVersion)}}
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("status", "running")})
	if err != nil {
		return append(found, finding{stateFail, labels, fmt.Sprintf("listing the running containers: %s", dockerError(err, timeout))})
	}
	named, names := 0, 0
	for _, it := range list.Items {
		got, probs, err := docker.Names(cfg, it.Labels)
		if err != nil {
			return append(found, finding{stateFail, labels, err.Error()})
		}
		if len(got) > 0 {
			named++
			names += len(got)
		}
		name := shortID(it.ID)
		if len(it.Names) > 0 {
			name = strings.TrimPrefix(it.Names[0], "/") + " (" + name + ")"
		}
		for _, p := range probs {
			found = append(found, finding{stateFail, labels, fmt.Sprintf("container %s: %s=%q: %s", name, p.Label, p.Value, p.Reason)})
		}
	}
	found = append(found, finding{stateOK, labels, fmt.Sprintf("%d running %s, %d of them %s %d %s in %s",
		len(list.Items), plural(len(list.Items), "container", "containers"), named, plural(named, "names", "name"), names,
		plural(names, "name", "names"), strings.Join(cfg.AllowedDomains, ", "))})
	return found
}

// dockerError is an engine error in a few words.
func dockerError(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s (--timeout)", timeout)
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// checkPort binds the DNS address, UDP and TCP, as the server will, and says who holds it when it is taken.
func checkPort(cfg dnsserver.Config, proc string) []finding {
	const what = "dns port"
	if cfg.Port == 0 {
		return []finding{{stateOK, what, "dns.port is 0: a free port is picked at start"}}
	}
	addr := net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port))
	var found []finding
	for _, network := range []string{"udp", "tcp"} {
		var err error
		if network == "udp" {
			var pc net.PacketConn
			if pc, err = net.ListenPacket("udp", addr); err == nil {
				_ = pc.Close()
			}
		} else {
			var ln net.Listener
			if ln, err = net.Listen("tcp", addr); err == nil {
				_ = ln.Close()
			}
		}
		where := network + " " + addr
		switch {
		case err == nil:
			found = append(found, finding{stateOK, what, where + " is free"})
		case errors.Is(err, syscall.EADDRINUSE):
			ap, _ := netip.ParseAddrPort(addr) // dns.bind_address is an IP, dns.port a port: the config checked both
			o, known := portOwner(proc, network, ap)
			switch {
			case !known:
				found = append(found, finding{stateFail, what, where + " is taken (process unknown)"})
			case o.name == "joyride":
				found = append(found, finding{stateOK, what, fmt.Sprintf("%s is served by %s: a node runs here", where, o)})
			default:
				found = append(found, finding{stateFail, what, fmt.Sprintf("%s is taken by %s", where, o)})
			}
		case errors.Is(err, syscall.EACCES):
			found = append(found, finding{stateFail, what, where + ": permission denied: a port below 1024 needs root or CAP_NET_BIND_SERVICE"})
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			found = append(found, finding{stateFail, what, where + ": dns.bind_address is not an address of this host"})
		default:
			found = append(found, finding{stateFail, what, fmt.Sprintf("%s: %v", where, err)})
		}
	}
	return found
}

// checkHosts reads the hosts directories with the producer's parser: a line per file with its records, one per
// bad line with its file and number.
func checkHosts(cfg config.Config) []finding {
	const what = "hosts"
	dirs, err := hosts.Check(cfg.Hosts.Directories)
	if err != nil {
		return []finding{{stateFail, what, err.Error()}}
	}
	var found []finding
	for _, d := range dirs {
		switch {
		case d.Missing:
			found = append(found, finding{stateWarn, what, d.Dir + " does not exist: joyride waits for it"})
			continue
		case d.Err != nil:
			found = append(found, finding{stateFail, what, fmt.Sprintf("%s cannot be listed: %v", d.Dir, d.Err)})
			continue
		case len(d.Files) == 0:
			found = append(found, finding{stateOK, what, d.Dir + " holds no hosts file"})
		}
		for _, f := range d.Files {
			if f.Err != nil {
				found = append(found, finding{stateFail, what, fmt.Sprintf("%s cannot be read: %v", f.Path, f.Err)})
				continue
			}
			state, text := stateOK, fmt.Sprintf("%s: %d %s", f.Path, f.Records, plural(f.Records, "record", "records"))
			if len(f.Bad) > 0 {
				state, text = stateWarn, text+fmt.Sprintf(", %d bad %s", len(f.Bad), plural(len(f.Bad), "line", "lines"))
			}
			found = append(found, finding{state, what, text})
			for _, b := range f.Bad {
				found = append(found, finding{stateFail, what, b.Error()})
			}
		}
	}
	return found
}
