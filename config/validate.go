package config

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
)

// problem is one failed check, keyed by koanf key ("dns.zones[1]"), before its source is attached.
type problem struct {
	key   string
	value any
	rule  string
	msg   string
}

// validate is shared: a Validate caches struct metadata and is safe for concurrent use once set up.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Namespaces then read as koanf keys: "Config.dns.port".
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name := f.Tag.Get("koanf"); name != "-" {
			return name
		}
		return ""
	})
	// The built-in hostname_port (used by dns.forwarders) rejects IPv6 literals and accepts an empty host;
	// a forwarder is an IP address or host name and a port.
	must(v.RegisterValidation("hostname_port", func(fl validator.FieldLevel) bool {
		return hostPort(fl.Field().String())
	}))
	v.RegisterStructValidation(dnsLevel, dnsserver.Config{})
	v.RegisterStructValidation(clusterLevel, Cluster{})
	return v
}

// must stops the program at start-up if a validation cannot be registered, which only a wrong tag name can cause.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

var hostnameRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$`)

func hostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return false
	}
	return net.ParseIP(host) != nil || hostnameRE.MatchString(host)
}

// dnsLevel checks that every zone is a name the server will accept as a zone.
func dnsLevel(sl validator.StructLevel) {
	cfg := sl.Current().Interface().(dnsserver.Config)
	for i, z := range cfg.Zones {
		if z == "" {
			continue // "required" reports it
		}
		field := fmt.Sprintf("zones[%d]", i)
		if _, err := dnsname.Canonical(z); err != nil || strings.HasPrefix(z, "*") || net.ParseIP(strings.TrimSuffix(z, ".")) != nil {
			sl.ReportError(z, field, field, "zone", "")
		}
	}
}

// clusterLevel keeps the gossip and discovery ports apart: both are UDP.
func clusterLevel(sl validator.StructLevel) {
	c := sl.Current().Interface().(Cluster)
	if c.SwimPort != 0 && c.SwimPort == c.DiscoveryPort {
		sl.ReportError(c.SwimPort, "swim_port", "SwimPort", "nefield", "discovery_port")
	}
}

// check validates cfg in one pass and returns every failure.
func check(cfg Config) []problem {
	var out []problem
	err := validate.Struct(cfg)
	var verrs validator.ValidationErrors
	if err != nil && !errors.As(err, &verrs) {
		return []problem{{msg: err.Error(), rule: "validate"}}
	}
	bad := map[string]bool{}
	for _, fe := range verrs {
		key := strings.TrimPrefix(fe.Namespace(), "Config.")
		bad[key] = true
		out = append(out, problem{key: key, value: fe.Value(), rule: rule(fe), msg: message(fe)})
	}
	// Static records whose fields passed their tags must also be records the store accepts, so that
	// `config validate` catches what would otherwise fail at start.
	for i, r := range cfg.Records {
		prefix := fmt.Sprintf("records[%d]", i)
		if anyPrefix(bad, prefix) {
			continue
		}
		if _, err := dnsstore.NewRecord(r.Name, r.Type, r.Value, r.TTL); err != nil {
			out = append(out, problem{
				key: prefix, value: r.Name + " " + r.Type + " " + r.Value, rule: "record",
				msg: "is not a valid record: " + strings.TrimPrefix(err.Error(), "dnsstore: "),
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

func rule(fe validator.FieldError) string {
	if fe.Param() != "" {
		return fe.Tag() + "=" + fe.Param()
	}
	return fe.Tag()
}

// message says in words what the rule wants, e.g. "must be at most 65535".
func message(fe validator.FieldError) string {
	p := fe.Param()
	kind := fe.Kind()
	switch fe.Tag() {
	case "required":
		return "must be set"
	case "min", "gte":
		switch {
		case kind == reflect.String:
			return "must be at least " + p + " characters long"
		case kind == reflect.Slice || kind == reflect.Map:
			return "must have at least " + p + " entries"
		}
		return "must be at least " + p
	case "max", "lte":
		switch {
		case kind == reflect.String:
			return "must be at most " + p + " characters long"
		case kind == reflect.Slice || kind == reflect.Map:
			return "must have at most " + p + " entries"
		}
		return "must be at most " + p
	case "oneof":
		return "must be one of " + strings.Join(strings.Fields(p), ", ")
	case "ip":
		return "must be an IP address"
	case "ipv4":
		return "must be an IPv4 address"
	case "ipv6":
		return "must be an IPv6 address"
	case "ip|hostname":
		return "must be an IP address or a host name"
	case "hostname_port":
		return "must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53"
	case "zone":
		return "must be a domain name such as lab.test (not an address or a wildcard)"
	case "nefield":
		return "must differ from " + strings.TrimSuffix(strings.TrimPrefix(fe.Namespace(), "Config."), fe.Field()) + p
	}
	return "fails rule " + rule(fe)
}
