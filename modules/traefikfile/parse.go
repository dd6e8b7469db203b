package traefikfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
	"go.yaml.in/yaml/v3"
)

// dynamicConfig is the part of a Traefik dynamic-configuration file that names hosts; services, middlewares
// and TLS settings are ignored.
type dynamicConfig struct {
	HTTP struct {
		Routers map[string]router `yaml:"routers"`
	} `yaml:"http"`
	TCP struct {
		Routers map[string]router `yaml:"routers"`
	} `yaml:"tcp"`
}

type router struct {
	Rule       string `yaml:"rule"`
	RuleSyntax string `yaml:"ruleSyntax"`
}

// problem is a router value that was ignored; the caller logs it with the file.
type problem struct {
	Router string // "http.nas"
	Value  string
	Reason string
}

// parseFile returns the canonical, allowed host names of every HTTP and TCP router rule in one file, in router
// order. A file that is not valid YAML (or whose routers are not a mapping) is an error naming the line; a bad
// rule or name only skips that value.
func parseFile(data []byte, syntax traefikrule.Syntax, allowed dnsname.Domains) ([]string, []problem, error) {
	var names []string
	probs, err := walkRouters(data, syntax, allowed, func(_, _, name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	})
	return names, probs, err
}

// walkRouters parses one file and calls found for every canonical, allowed host name of every HTTP and TCP router
// rule, in router order, with the router ("http.nas") and its rule: parseFile's names, and Explain's routers.
func walkRouters(data []byte, syntax traefikrule.Syntax, allowed dnsname.Domains, found func(router, rule, name string)) ([]problem, error) {
	var cfg dynamicConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var probs []problem
	for _, group := range []struct {
		kind    string
		routers map[string]router
	}{{"http", cfg.HTTP.Routers}, {"tcp", cfg.TCP.Routers}} {
		keys := make([]string, 0, len(group.routers))
		for k := range group.routers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r := group.routers[k]
			id := group.kind + "." + k
			if r.Rule == "" {
				continue
			}
			s := syntax
			if r.RuleSyntax != "" {
				s = traefikrule.Syntax(r.RuleSyntax)
			}
			hosts, err := traefikrule.Parse(r.Rule, s)
			if err != nil {
				probs = append(probs, problem{Router: id, Value: r.Rule, Reason: err.Error()})
				continue
			}
			for _, sk := range hosts.Skipped {
				probs = append(probs, problem{Router: id, Value: sk.Value,
					Reason: fmt.Sprintf("%s skipped (%s): not guessed", sk.Matcher, sk.Reason)})
			}
			for _, h := range hosts.Names {
				c, err := dnsname.Canonical(h)
				switch {
				case err != nil:
					probs = append(probs, problem{Router: id, Value: h, Reason: err.Error()})
				case !allowed.Allows(c):
					probs = append(probs, problem{Router: id, Value: h,
						Reason: fmt.Sprintf("outside the allowed domains %v", allowed)})
				default:
					found(id, r.Rule, c)
				}
			}
		}
	}
	return probs, nil
}
