package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/joyride-dns/joyride/modules/cluster"
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
	return append(out, checkCluster(cfg.Cluster, bad)...)
}

// checkCluster is what the cluster section's tags cannot say. The key's value is never put in an error: Load
// masks it by its name, and leaving it out here keeps it out of every other use of these errors too.
func checkCluster(c cluster.Config, bad map[string]bool) validation.Errors {
	var out validation.Errors
	// The gossip and discovery ports are both UDP, so they must differ; 0 (any free port) twice is fine.
	if c.Port != 0 && c.Port == c.DiscoveryPort {
		out = append(out, &validation.Error{
			Key: "cluster.port", Value: c.Port, Rule: "nefield=discovery_port",
			Msg: "must differ from cluster.discovery_port",
		})
	}
	if c.Key != "" && c.KeyringFile != "" {
		out = append(out, &validation.Error{
			Key: "cluster.key", Value: validation.Masked, Rule: "excluded_with=keyring_file",
			Msg: "must not be set with cluster.keyring_file: use one or the other",
		})
	}
	if c.Key != "" && !bad["cluster.key"] {
		if b, err := base64.StdEncoding.DecodeString(c.Key); err != nil || !slices.Contains([]int{16, 24, 32}, len(b)) {
			out = append(out, &validation.Error{
				Key: "cluster.key", Value: validation.Masked, Rule: "aeskey",
				Msg: "must be the base64 of a 16, 24 or 32-byte key (AES-128, AES-192 or AES-256)",
			})
		}
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
