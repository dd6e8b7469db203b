package docker

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
	"github.com/joyride-dns/joyride/pkg/ttl"
)

// The per-container override labels.
const (
	// IPLabel overrides the address a container's names point at: one or more IPv4 or IPv6 addresses, comma or
	// space separated. When set it replaces both HostIP and HostIP6 for that container.
	IPLabel = "joyride.host.ip"
	// TTLLabel overrides the TTL of a container's records (seconds).
	TTLLabel = "joyride.host.ttl"
)

// The Traefik labels read when Config.Traefik is on.
const (
	traefikEnable     = "traefik.enable"
	traefikHTTPRouter = "traefik.http.routers."
	traefikTCPRouter  = "traefik.tcp.routers."
)

// labelParser turns a container's labels into a target. It holds only configuration, so it is safe to share.
type labelParser struct {
	keys             []string
	allowed          dnsname.Domains
	ttl              uint32
	traefik          bool
	exposedByDefault bool
	syntax           traefikrule.Syntax
}

// target is what a container's labels ask for.
type target struct {
	names []string // canonical, valid and allowed, in label order, without duplicates
	// labels are the labels that named each of names, "key=value", for the HTTP API's explain.
	labels []string
	addrs  []netip.Addr // from IPLabel; nil means the host address
	ttl    uint32
}

// Problem is a label value that was ignored; the caller logs it with the container's name. Only the label
// key and value the problem is about are kept, never the other labels.
type Problem struct {
	Label  string
	Value  string
	Reason string
}

// Names returns the names a container's labels give under cfg, and every label value the producer would ignore,
// with why: the producer's own rules, for `joyride check` to report without running the producer. The error is
// an invalid cfg.AllowedDomains.
func Names(cfg Config, labels map[string]string) ([]string, []Problem, error) {
	lp, err := newLabelParser(cfg)
	if err != nil {
		return nil, nil, err
	}
	t, probs := lp.parse(labels)
	return t.names, probs, nil
}

func newLabelParser(cfg Config) (labelParser, error) {
	allowed, err := dnsname.ParseDomains("docker.allowed_domains", cfg.AllowedDomains)
	if err != nil {
		return labelParser{}, err
	}
	return labelParser{
		keys:             cfg.Labels,
		allowed:          allowed,
		ttl:              cfg.TTL,
		traefik:          cfg.Traefik,
		exposedByDefault: cfg.TraefikExposedByDefault,
		syntax:           traefikrule.Syntax(cfg.TraefikRuleSyntax),
	}, nil
}

// parse reads the name labels (and Traefik rules when enabled), the IP and TTL overrides. Every invalid or
// refused value is reported and skipped; the valid ones are still used.
func (lp *labelParser) parse(labels map[string]string) (target, []Problem) {
	t := target{ttl: lp.ttl}
	var probs []Problem
	add := func(label, name string) {
		c, err := dnsname.Canonical(name)
		switch {
		case err != nil:
			probs = append(probs, Problem{Label: label, Value: name, Reason: err.Error()})
		case !lp.allowed.Allows(c):
			probs = append(probs, Problem{Label: label, Value: name,
				Reason: fmt.Sprintf("outside the allowed domains %v", lp.allowed)})
		case !slices.Contains(t.names, c):
			t.names = append(t.names, c)
			t.labels = append(t.labels, label+"="+labels[label])
		}
	}
	for _, key := range lp.keys {
		v, ok := labels[key]
		if !ok {
			continue
		}
		for _, name := range splitList(v) {
			add(key, name)
		}
	}
	if lp.traefik {
		probs = append(probs, lp.traefikNames(labels, add)...)
	}
	if len(t.names) == 0 {
		return target{}, probs
	}
	if v, ok := labels[IPLabel]; ok {
		for _, s := range splitList(v) {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				probs = append(probs, Problem{Label: IPLabel, Value: s, Reason: "not an IPv4 or IPv6 address"})
				continue
			}
			if a = a.Unmap(); !slices.Contains(t.addrs, a) {
				t.addrs = append(t.addrs, a)
			}
		}
		if len(t.addrs) == 0 {
			// Pointing the names at the host instead would serve an address the owner explicitly did not want.
			probs = append(probs, Problem{Label: IPLabel, Value: v, Reason: "no valid address; container skipped"})
			return target{}, probs
		}
	}
	if v, ok := labels[TTLLabel]; ok {
		// A TTL the store would reject falls back here, so the container's names are still served.
		v, err := ttl.Parse(v)
		if err != nil {
			probs = append(probs, Problem{Label: TTLLabel, Value: labels[TTLLabel],
				Reason: fmt.Sprintf("%v; using %d", err, lp.ttl)})
		} else {
			t.ttl = v
		}
	}
	return t, probs
}

// traefikNames adds the hosts of the container's Traefik HTTP and TCP router rules, honouring traefik.enable
// and the exposed-by-default setting as Traefik does. Label keys are matched case-insensitively, as Traefik's.
func (lp *labelParser) traefikNames(labels map[string]string, add func(label, name string)) []Problem {
	var probs []Problem
	lower := make(map[string]string, len(labels))
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "traefik.") {
			lower[lk] = v
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	enabled := lp.exposedByDefault
	if v, ok := lower[traefikEnable]; ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			probs = append(probs, Problem{Label: traefikEnable, Value: v,
				Reason: fmt.Sprintf("not a boolean; using the exposed-by-default setting (%t)", enabled)})
		} else {
			enabled = b
		}
	}
	if !enabled {
		return probs
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		var prefix string
		switch {
		case strings.HasPrefix(lk, traefikHTTPRouter):
			prefix = traefikHTTPRouter
		case strings.HasPrefix(lk, traefikTCPRouter):
			prefix = traefikTCPRouter
		default:
			continue
		}
		router, ok := strings.CutSuffix(lk[len(prefix):], ".rule")
		if !ok || router == "" || strings.Contains(router, ".") {
			continue
		}
		syntax := lp.syntax
		if s, ok := lower[prefix+router+".rulesyntax"]; ok {
			syntax = traefikrule.Syntax(strings.TrimSpace(s))
		}
		hosts, err := traefikrule.Parse(labels[k], syntax)
		if err != nil {
			probs = append(probs, Problem{Label: k, Value: labels[k], Reason: err.Error()})
			continue
		}
		for _, s := range hosts.Skipped {
			probs = append(probs, Problem{Label: k, Value: s.Value,
				Reason: fmt.Sprintf("%s skipped (%s): not guessed", s.Matcher, s.Reason)})
		}
		for _, n := range hosts.Names {
			add(k, n)
		}
	}
	return probs
}

// splitList splits a label value on commas and white space, dropping empty items.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// hostAddrs are the addresses a container without an IP label points at; an invalid one adds no record.
type hostAddrs struct {
	v4, v6 netip.Addr
}

// records builds the container's whole record set, sorted so that two builds compare equal.
func (t target) records(host hostAddrs) []events.Record {
	addrs := t.addrs
	if addrs == nil {
		for _, a := range []netip.Addr{host.v4, host.v6} {
			if a.IsValid() {
				addrs = append(addrs, a)
			}
		}
	}
	recs := make([]events.Record, 0, len(t.names)*len(addrs))
	for _, n := range t.names {
		for _, a := range addrs {
			typ := "A"
			if a.Is6() {
				typ = "AAAA"
			}
			recs = append(recs, events.Record{Name: n, Type: typ, Value: a.String(), TTL: t.ttl})
		}
	}
	slices.SortFunc(recs, func(a, b events.Record) int {
		return strings.Compare(a.Name+" "+a.Type+" "+a.Value, b.Name+" "+b.Type+" "+b.Value)
	})
	return recs
}
