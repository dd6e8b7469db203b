// Package validation is Joyride's one validator for configuration, module configs and events: go-playground's
// validator with Joyride's own tags registered once, and one error format naming the key, the value and the rule
// in words:
//
//	dns.port = 70000: must be at most 65535
//
// Keys are koanf keys where a field has a koanf tag, JSON names where it has a json tag (events), Go names
// otherwise. The tags Joyride adds:
//
//   - zone: a zone name as dnsname.Zone accepts it (the DNS server uses the same function);
//   - hostport: an IP address or host name and a port 1..65535 ("1.1.1.1:53", "[2606:4700::1111]:53", "dns.lan:53");
//     the built-in hostname_port rejects IPv6 literals and accepts an empty host;
//   - ttl: a TTL ttl.Check accepts (at most 2^31-1, RFC 2181 section 8).
//
// A module calls Section in its constructor, so an application that builds a Config by hand gets the same clear
// error as `joyride config validate`.
package validation

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/ttl"
)

// validate is shared: a Validate caches struct metadata and is safe for concurrent use once set up, and it is set
// up here, before anything can use it.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name := f.Tag.Get("koanf"); name != "" {
			return name
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name // "" keeps the Go name; "-" is never validated
	})
	for tag, fn := range map[string]validator.Func{
		"zone": func(fl validator.FieldLevel) bool {
			_, err := dnsname.Zone(fl.Field().String())
			return err == nil
		},
		"hostport": func(fl validator.FieldLevel) bool { return hostPort(fl.Field().String()) },
		"ttl": func(fl validator.FieldLevel) bool {
			u := fl.Field().Uint()
			return u <= uint64(ttl.Max)
		},
	} {
		if err := v.RegisterValidation(tag, fn); err != nil {
			panic(err) // only a malformed tag name can fail, and the tests would show it
		}
	}
	return v
}

func hostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	_, err = dnsname.Canonical(host)
	return err == nil && !strings.HasPrefix(host, "*")
}

// Masked replaces a secret's value wherever it would be shown.
const Masked = "******"

// secretWords mark a key whose value is a credential when one of them is a whole "_"-separated word of the key's
// last segment: "token", "api_key", "client_secret", "admin_password" are masked. Plurals are not: "keys",
// "label_keys" or "tokens" name lists of names, and "labels" or "hostkey" are not secret words at all.
var secretWords = []string{"secret", "password", "passwd", "token", "key"}

// Secret reports whether the value of key (a koanf key, "cluster.key", "records[0].key") is a credential, which
// errors and printed configurations show as Masked.
func Secret(key string) bool {
	last := key[strings.LastIndex(key, ".")+1:]
	last, _, _ = strings.Cut(last, "[")
	for word := range strings.SplitSeq(strings.ToLower(last), "_") {
		if slices.Contains(secretWords, word) {
			return true
		}
	}
	return false
}

// Error is one failed rule.
type Error struct {
	Key   string // koanf key or field path below the validated struct ("port", "dns.zones[1]", "container_id")
	Value any
	Rule  string // the tag with its parameter ("max=65535")
	Msg   string // the rule in words ("must be at most 65535")
}

func (e *Error) Error() string { return e.Key + " = " + FormatValue(e.Value) + ": " + e.Msg }

// Errors are every rule that failed, in field order; Error joins them with "; ".
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Check validates v by its `validate` tags. It returns nil, Errors, or the validator's error when v cannot be
// validated at all (not a struct).
func Check(v any) error {
	err := validate.Struct(v)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	out := make(Errors, len(verrs))
	for i, fe := range verrs {
		key := fe.Namespace()
		if _, after, ok := strings.Cut(key, "."); ok {
			key = after // drop the struct's own name
		}
		value := fe.Value()
		if Secret(key) && value != "" {
			value = Masked // a credential never reaches an error, whoever prints it
		}
		out[i] = &Error{Key: key, Value: value, Rule: rule(fe), Msg: message(fe)}
	}
	return out
}

// Section validates cfg, the configuration of the koanf section named section, with an error such as
// `hosts: invalid config: hosts.mode = "inotify": must be one of auto, notify, poll`.
func Section(section string, cfg any) error {
	err := Check(cfg)
	var es Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		e.Key = section + "." + e.Key
	}
	return fmt.Errorf("%s: invalid config: %w", section, es)
}

// FormatValue shows a value in an error: strings quoted (so an empty one is visible), durations in Go notation,
// lists element by element.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case time.Duration:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = FormatValue(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = strconv.Quote(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "{…}"
	}
	return fmt.Sprint(v)
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
	case "min", "gte", "max", "lte":
		bound := "at least " + p
		if fe.Tag() == "max" || fe.Tag() == "lte" {
			bound = "at most " + p
		}
		switch kind {
		case reflect.String:
			return "must be " + bound + " characters long"
		case reflect.Slice, reflect.Map:
			return "must have " + bound + " entries"
		}
		return "must be " + bound
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
	case "hostport":
		return "must be host:port, such as 1.1.1.1:53, [2606:4700::1111]:53 or dns.lan:53"
	case "zone":
		return "must be a domain name such as lab.test (not an address or a wildcard)"
	case "base64":
		return "must be base64"
	case "ttl":
		return fmt.Sprintf("must be at most %d seconds (RFC 2181 section 8)", ttl.Max)
	case "printascii":
		return "must be printable ASCII"
	case "excludes":
		return fmt.Sprintf("must not contain %q", p)
	}
	return "fails rule " + rule(fe)
}
