package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// check validates cfg in one pass and returns every failure, keyed by koanf key ("dns.zones[1]") before its
// source is attached: the modules' `validate` tags through pkg/validation, then what no tag can say.
func check(cfg Config) validation.Errors {
	var out validation.Errors
	if err := validation.Check(cfg); err != nil && !errors.As(err, &out) {
		return validation.Errors{{Rule: "validate", Msg: err.Error()}}
	}
	bad := map[string]bool{}
	for _, e := range out {
		bad[e.Key] = true
	}
	// Static records whose fields passed their tags must also be records the store accepts, so that
	// `config validate` catches what would otherwise fail at start.
	for i, r := range cfg.Records {
		prefix := fmt.Sprintf("records[%d]", i)
		if anyPrefix(bad, prefix) {
			continue
		}
		if _, err := dnsstore.NewRecord(r.Name, r.Type, r.Value, r.TTL); err != nil {
			out = append(out, &validation.Error{
				Key: prefix, Value: r.Name + " " + r.Type + " " + r.Value, Rule: "record",
				Msg: "is not a valid record: " + strings.TrimPrefix(err.Error(), "dnsstore: "),
			})
		}
	}
	// The gossip and discovery ports are both UDP, so they must differ; 0 (any free port) twice is fine.
	if c := cfg.Cluster; c.SwimPort != 0 && c.SwimPort == c.DiscoveryPort {
		out = append(out, &validation.Error{
			Key: "cluster.swim_port", Value: c.SwimPort, Rule: "nefield=discovery_port",
			Msg: "must differ from cluster.discovery_port",
		})
	}
	return out
}

func anyPrefix(keys map[string]bool, prefix string) bool {
	for k := range keys {
		if strings.HasPrefix(k, prefix+".") || k == prefix {
			return true
		}
	}
	return false
}
