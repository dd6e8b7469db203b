package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/client"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// LiveKeys are the keys a running producer applies (Apply). docker.host and docker.socket are not among them:
// the endpoint is chosen once, at Start.
var LiveKeys = []string{
	"docker.labels", "docker.ttl", "docker.allowed_domains", "docker.traefik", "docker.traefik_exposed_by_default",
	"docker.traefik_rule_syntax", "docker.stop_grace", "docker.address_check_interval", "docker.max_backoff",
	"docker.host_ip", "docker.host_ip6",
}

// ReloadTarget is the producer as the configuration watcher sees it (pkg/reload).
func ReloadTarget(p *Producer) reload.Target {
	return reload.Target{Module: moduleName, Keys: LiveKeys, Apply: p.Apply}
}

// reconfig is a new configuration on its way to the loop, which closes done once it is applied.
type reconfig struct {
	settings settings
	done     chan struct{}
}

// Apply makes section, a Config, the producer's configuration, apart from the endpoint (docker.host,
// docker.socket), which only a restart changes. The loop takes it between two engine events and re-evaluates
// every container with the new rules (see doc.go, Reload); Apply returns once that is done, or when ctx ends. An
// invalid section changes nothing.
func (p *Producer) Apply(ctx context.Context, section any) error {
	cfg, ok := section.(Config)
	if !ok {
		return fmt.Errorf("docker: a reload takes a docker.Config, not %T", section)
	}
	if err := validation.Section(moduleName, cfg); err != nil {
		return err
	}
	s, err := newSettings(cfg)
	if err != nil {
		return err
	}
	if !p.Status().Running {
		// No loop owns the settings: the next Start uses them.
		p.use(s)
		p.updateStatus(func(st *Status) { st.HostIP, st.HostIP6 = cfg.HostIP, cfg.HostIP6 })
		return nil
	}
	r := reconfig{settings: s, done: make(chan struct{})}
	select {
	case p.reconf <- r:
	case <-ctx.Done():
		return fmt.Errorf("docker: reload: %w", ctx.Err())
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("docker: reload: %w", ctx.Err())
	}
}

// reconfigure makes s the loop's settings and re-evaluates every container under them: the tracked ones (running
// or within their stop grace) from the labels they were started with, the others from a new list when connected
// (else from the list of the next connection). Only containers whose records change are published. An error is
// the list's: the settings are applied all the same.
func (l *loop) reconfigure(ctx context.Context, s settings, connected bool) error {
	before := l.p.labels
	hostChanged := s.hostIP != l.p.hostIP || s.hostV6 != l.p.hostV6
	if s.cfg.MaxBackoff != l.p.cfg.MaxBackoff {
		l.retry.SetMax(s.cfg.MaxBackoff)
	}
	l.p.use(s)
	if hostChanged {
		l.setHost()
	}
	l.resetAddressCheck()
	// Forgotten first, so that the next list parses them again; reparse marks those it withdraws.
	clear(l.ignored)
	for _, c := range l.tracked {
		l.reparse(ctx, c, &before)
	}
	l.armGrace()
	defer l.p.updateStatus(func(st *Status) { st.Containers = len(l.tracked) })
	l.log.Debug("configuration applied", zap.Strings("labels", s.cfg.Labels),
		zap.Strings("allowed_domains", s.cfg.AllowedDomains), zap.Bool("traefik", s.cfg.Traefik))
	if !connected {
		return nil
	}
	list, err := l.eng.ContainerList(ctx, client.ContainerListOptions{
		Filters: make(client.Filters).Add("status", "running"),
	})
	if err != nil {
		return fmt.Errorf("list containers after a reload: %w", err)
	}
	l.reconcile(ctx, list.Items, &before)
	return nil
}

// setHost takes the host addresses of the new settings: a configured IPv4 address at once, an auto-detected one
// at the next detection (the last known one is kept meanwhile), the IPv6 one as it is.
func (l *loop) setHost() {
	if l.p.hostIP.IsValid() {
		l.host.v4 = l.p.hostIP
		l.log.Info("host address configured", zap.Stringer("host_ip", l.host.v4))
	} else {
		l.detectAddress()
	}
	l.host.v6 = l.p.hostV6
	v4, v6 := "", ""
	if l.host.v4.IsValid() {
		v4 = l.host.v4.String()
	}
	if l.host.v6.IsValid() {
		v6 = l.host.v6.String()
	}
	l.p.updateStatus(func(st *Status) { st.HostIP, st.HostIP6 = v4, v6 })
}

// reparse applies the current rules to a tracked container's labels. A name it no longer gets is reported in an
// ErrorEvent naming the container, the label and the reason; a container left without names is withdrawn and,
// while it runs, ignored like one that never had any. Its records are published only when they change.
func (l *loop) reparse(ctx context.Context, c *container, before *labelParser) {
	t, probs := l.p.labels.parse(c.labels)
	_, old := before.parse(c.labels)
	lost := l.lost(c.target, t, probs)
	l.warn(c.name, c.id, slices.DeleteFunc(fresh(probs, old), func(p Problem) bool {
		return slices.ContainsFunc(lost, func(q Problem) bool { return q.Label == p.Label && q.Value == p.Value })
	}))
	if len(lost) > 0 {
		l.reportLost(ctx, c, lost, len(t.names) == 0)
	}
	if len(t.names) == 0 {
		running := c.removeAt.IsZero()
		l.remove(ctx, c)
		if running {
			l.ignored[c.id] = struct{}{}
		}
		return
	}
	was := c.target
	c.target = t
	recs := t.records(l.host)
	switch {
	case !slices.Equal(recs, c.records):
		kind := events.ContainerDiscovered
		if len(recs) == 0 {
			kind = events.ContainerStopped
		}
		c.records = recs
		l.publish(ctx, kind, c)
	case !slices.Equal(was.names, t.names) || !slices.Equal(was.labels, t.labels):
		l.p.served(c) // what Explain says changed, what is served did not
	}
}

// lost returns, for each name of was that t no longer has, the label and value that named it and why it is no
// longer served: the problem the new rules found with it, or the rule that no longer reads its label.
func (l *loop) lost(was, t target, probs []Problem) []Problem {
	var out []Problem
	for i, n := range was.names {
		if slices.Contains(t.names, n) {
			continue
		}
		key, value, _ := strings.Cut(was.labels[i], "=")
		// The problem with the name itself, else one with its label (a Traefik rule that no longer parses).
		i := slices.IndexFunc(probs, func(p Problem) bool {
			c, err := dnsname.Canonical(p.Value)
			return p.Label == key && err == nil && c == n
		})
		if i < 0 {
			i = slices.IndexFunc(probs, func(p Problem) bool { return p.Label == key })
		}
		if i >= 0 {
			if !slices.Contains(out, probs[i]) {
				out = append(out, probs[i])
			}
			continue
		}
		reason := fmt.Sprintf("docker.labels does not list %s", key)
		if strings.HasPrefix(strings.ToLower(key), "traefik.") {
			reason = "the router is not exposed (traefik.enable, docker.traefik_exposed_by_default)"
			if !l.p.labels.traefik {
				reason = "docker.traefik is off"
			}
		}
		if pr := (Problem{Label: key, Value: value, Reason: reason}); !slices.Contains(out, pr) {
			out = append(out, pr) // once for a label that named several names
		}
	}
	return out
}

// reportLost publishes an ErrorEvent for the names a reload took from c; all says that none is left.
func (l *loop) reportLost(ctx context.Context, c *container, lost []Problem, all bool) {
	parts := make([]string, len(lost))
	for i, p := range lost {
		parts[i] = fmt.Sprintf("label %s=%s: %s", p.Label, p.Value, p.Reason)
	}
	what := "some of its names are withdrawn"
	if all {
		what = "its records are withdrawn"
	}
	msg := fmt.Sprintf("container %s (%s): under the new configuration %s: %s", c.name, shortID(c.id), what,
		strings.Join(parts, "; "))
	err := l.p.bus.Publish(ctx, &events.ErrorEvent{
		Metadata: events.Metadata{Source: moduleName}, Kind: events.ErrorInput, Module: moduleName, Message: msg,
	})
	if err != nil && !errors.Is(err, events.ErrClosed) {
		l.log.Warn("container names withdrawn", zap.String("message", msg), zap.NamedError("report_error", err))
	}
}

// warn logs the label values the rules ignore in a container's labels.
func (l *loop) warn(name, id string, probs []Problem) {
	for _, pr := range probs {
		l.log.Warn("container label value ignored",
			zap.String("container", name), zap.String("id", shortID(id)),
			zap.String("label", pr.Label), zap.String("value", pr.Value), zap.String("reason", pr.Reason))
	}
}

// fresh returns the problems of probs about a label value that old has no problem with: after a reload, only
// those are worth a warning, the others were logged when the container was first seen.
func fresh(probs, old []Problem) []Problem {
	return slices.DeleteFunc(slices.Clone(probs), func(p Problem) bool {
		return slices.ContainsFunc(old, func(o Problem) bool { return o.Label == p.Label && o.Value == p.Value })
	})
}
