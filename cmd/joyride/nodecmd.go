package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joyride-dns/joyride/modules/cluster"
	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/modules/docker"
	"github.com/joyride-dns/joyride/modules/hosts"
	"github.com/joyride-dns/joyride/modules/httpapi"
	"github.com/joyride-dns/joyride/pkg/status"
)

// statusAnswer is what `joyride status` reads of /status: each module's object decodes into the module's own
// Status type (the API lays joyride-python's keys over it, and keeps the module's).
type statusAnswer struct {
	Service     string             `json:"service"`
	Version     string             `json:"version"`
	Environment string             `json:"environment"`
	Uptime      string             `json:"uptime"`
	Ready       bool               `json:"ready"`
	Health      []status.Component `json:"health"`
	DNS         dnsserver.Status   `json:"dns_server"`
	Docker      docker.Status      `json:"docker_monitor"`
	Hosts       hosts.Status       `json:"hosts_monitor"`
	Cluster     cluster.Status     `json:"dns_sync_cluster"`
}

func (c *cli) statusCommand() *cobra.Command {
	var f nodeFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running node's state: readiness, each module and its health",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			const path = "/status"
			n, a, err := c.ask(&f, path, http.StatusOK)
			if err != nil {
				return err
			}
			if f.json {
				c.printJSON(a)
				return nil
			}
			var st statusAnswer
			if err := n.decode(path, a, &st); err != nil {
				return err
			}
			// /ready's reason when not ready: /status says only that it is not.
			waiting := ""
			if !st.Ready {
				if r, err := n.get("/ready"); err == nil {
					waiting = message(r.body)
				}
			}
			writeStatus(c.stdout, n.base, st, waiting)
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

// writeStatus prints a node's status: a line per running module, then each component's health.
func writeStatus(out io.Writer, base string, st statusAnswer, waiting string) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	line := func(k, format string, args ...any) { fmt.Fprintf(w, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	line("node", "%s %s (%s) at %s, up %s", st.Service, st.Version, st.Environment, base, st.Uptime)
	switch {
	case st.Ready:
		line("ready", "yes")
	case waiting != "":
		line("ready", "no: %s", waiting)
	default:
		line("ready", "no")
	}
	if d := st.DNS; d.Running {
		zones := "every name (no zones)"
		if len(d.Zones) > 0 {
			zones = strings.Join(d.Zones, ", ")
		}
		line("dns", "udp %s, tcp %s; zones %s; %d queries", d.UDP, d.TCP, zones, d.Stats.Queries)
	} else {
		line("dns", "not serving")
	}
	if d := st.Docker; d.Running {
		state := "disconnected"
		if d.Connected {
			state = "connected"
		}
		text := fmt.Sprintf("%s to %s, %d containers named", state, d.Endpoint, d.Containers)
		if !d.Connected && d.LastError != "" {
			text += "; last error: " + d.LastError
		}
		line("docker", "%s", text)
	}
	if h := st.Hosts; h.Running {
		line("hosts", "%d %s, %d %s, %d bad %s in %s", h.Files, plural(h.Files, "file", "files"), h.RecordsCount,
			plural(h.RecordsCount, "record", "records"), h.BadLines, plural(h.BadLines, "line", "lines"), strings.Join(h.Directories, ", "))
	}
	if cl := st.Cluster; cl.Enabled {
		alive := 0
		for _, m := range cl.Members {
			if m.State == "alive" {
				alive++
			}
		}
		line("cluster", "node %s at %s, %d of %d peers alive, policy %s", cl.NodeID, cl.Address, alive, len(cl.Members), cl.Policy)
	}
	_ = w.Flush()
	if len(st.Health) == 0 {
		return
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tSTATE\tSINCE\tMESSAGE")
	for _, h := range st.Health {
		since := "-"
		if !h.Since.IsZero() {
			since = h.Since.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", h.Name, h.State, since, h.Message)
	}
	_ = w.Flush()
}

func (c *cli) readyCommand() *cobra.Command {
	var f nodeFlags
	cmd := &cobra.Command{
		Use:   "ready",
		Short: "Exit 0 when a running node is ready (GET /ready), 1 when not: a container healthcheck",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, a, err := c.ask(&f, "/ready", http.StatusOK, http.StatusServiceUnavailable)
			if err != nil {
				return err
			}
			switch {
			case f.json:
				c.printJSON(a)
			case a.code == http.StatusOK:
				fmt.Fprintln(c.stdout, "ready")
			default:
				fmt.Fprintf(c.stdout, "not ready: %s\n", message(a.body))
			}
			if a.code != http.StatusOK {
				return exitCode(exitNo)
			}
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

func (c *cli) recordsCommand() *cobra.Command {
	var f nodeFlags
	var name, source, nodeID string
	cmd := &cobra.Command{
		Use:   "records",
		Short: "List a running node's records, filtered by name, source or owning node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if name != "" {
				q.Set("name", name)
			}
			if source != "" {
				q.Set("source", source)
			}
			if cmd.Flags().Changed("node") {
				q.Set("node", nodeID) // "" too: this node's own records
			}
			path := "/dns/records"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			n, a, err := c.ask(&f, path, http.StatusOK)
			if err != nil {
				return err
			}
			if f.json {
				c.printJSON(a)
				return nil
			}
			var body struct{ Records []httpapi.Record }
			if err := n.decode(path, a, &body); err != nil {
				return err
			}
			writeRecords(c.stdout, body.Records)
			return nil
		},
	}
	f.register(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "only names that contain this (case-insensitive)")
	fl.StringVar(&source, "source", "", "only sources that contain this: docker, hosts:/app/hosts/lab, node:node-b/…")
	fl.StringVar(&nodeID, "node", "", `only the records this cluster node owns; --node "" for this node's own`)
	return cmd
}

// writeRecords prints records as a table, "-" for this node as owner, and their count.
func writeRecords(out io.Writer, recs []httpapi.Record) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTYPE\tVALUE\tTTL\tSOURCE\tNODE\tAGE")
	for _, r := range recs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Hostname, r.Type, r.Value, r.TTL, r.Source, orDash(r.Node),
			time.Duration(r.AgeSeconds)*time.Second)
	}
	_ = w.Flush()
	fmt.Fprintf(out, "%d %s\n", len(recs), plural(len(recs), "record", "records"))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (c *cli) explainCommand() *cobra.Command {
	var f nodeFlags
	cmd := &cobra.Command{
		Use:   "explain NAME",
		Short: "Tell why a name has its records on a running node: each record's source, file line or label, last event",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := "/dns/records/" + url.PathEscape(args[0])
			n, a, err := c.ask(&f, path, http.StatusOK, http.StatusNotFound, http.StatusBadRequest)
			if err != nil {
				return err
			}
			if f.json {
				c.printJSON(a)
			}
			switch a.code {
			case http.StatusNotFound:
				if !f.json {
					fmt.Fprintf(c.stderr, "joyride: %s\n", message(a.body))
				}
				return exitCode(exitNo)
			case http.StatusBadRequest:
				return fail(exitUsage, "%s", message(a.body))
			}
			if f.json {
				return nil
			}
			var ex httpapi.Explanation
			if err := n.decode(path, a, &ex); err != nil {
				return err
			}
			writeExplain(c.stdout, ex)
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

// writeExplain prints each record of a name with where it comes from, indented under it.
func writeExplain(out io.Writer, ex httpapi.Explanation) {
	head := fmt.Sprintf("%s: %d %s", ex.Name, len(ex.Records), plural(len(ex.Records), "record", "records"))
	if len(ex.Nodes) > 1 {
		head += fmt.Sprintf(" from %d nodes", len(ex.Nodes))
	}
	if ex.Owner != "" {
		head += ", answered by the wildcard " + ex.Owner
	}
	fmt.Fprintln(out, head)
	for _, r := range ex.Records {
		fmt.Fprintf(out, "\n%s %s ttl %d from %s", r.Type, r.Value, r.TTL, r.Source)
		if r.Node != "" {
			fmt.Fprintf(out, " (node %s)", r.Node)
		}
		fmt.Fprintf(out, ", set %s\n", r.SetAt.UTC().Format(time.RFC3339))
		for _, p := range r.Provenance {
			fmt.Fprintf(out, "  %s\n", provenance(p))
		}
		if e := r.LastEvent; e != nil {
			fmt.Fprintf(out, "  last event %s/%s at %s, correlation %s\n", e.Family, e.Kind, e.Timestamp.UTC().Format(time.RFC3339), e.CorrelationID)
		}
	}
}

// provenance says in one line where a record comes from.
func provenance(p status.Provenance) string {
	switch p.Kind {
	case "container":
		return fmt.Sprintf("container %s (%s), label %s", p.Container, shortID(p.ContainerID), p.Label)
	case "hosts":
		if p.Line == 0 {
			return fmt.Sprintf("hosts file %s", p.File)
		}
		return fmt.Sprintf("hosts file %s:%d: %s", p.File, p.Line, p.Text)
	case "traefik":
		return fmt.Sprintf("traefik file %s, router %s, rule %s", p.File, p.Router, p.Rule)
	case "static":
		return fmt.Sprintf("configuration: %s", p.Text)
	case "peer":
		return fmt.Sprintf("cluster node %s at %s, its source %s", p.Node, p.Address, p.Source)
	}
	parts := []string{p.Kind}
	for _, kv := range [][2]string{{"file", p.File}, {"text", p.Text}, {"source", p.Source}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	if p.Line != 0 {
		parts = append(parts, "line "+strconv.Itoa(p.Line))
	}
	return strings.Join(parts, ", ")
}

// shortID is a container ID as docker ps shows it.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
