package config

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// EnvPrefix starts every Joyride variable: JOYRIDE_<SECTION>_<KEY> sets section.key.
const EnvPrefix = "JOYRIDE_"

// These two choose the profile and the file, for containers whose command line is fixed; the flags win.
const (
	envProfile = EnvPrefix + "PROFILE"
	envFile    = EnvPrefix + "CONFIG"
)

// pythonAliases are joyride-python's variables (and HOSTIP6, HOSTIP's IPv6 twin) and the key each sets, with the
// same meaning. A JOYRIDE_ variable for the same key wins. FLASK_DEBUG is handled on its own: it sets log.level
// only when true.
var pythonAliases = []struct{ name, key string }{
	{"HOSTIP", "docker.host_ip"},
	{"HOSTIP6", "docker.host_ip6"}, // not joyride-python's, but docs/docker.md's compose example has always set it
	{"HOSTS_DIRECTORY", "hosts.directories"},
	{"DNS_PORT", "dns.port"},
	{"DNS_BIND_ADDRESS", "dns.bind_address"},
	{"FLASK_HOST", "http.host"},
	{"FLASK_PORT", "http.port"},
	{"ENABLE_DNS_SYNC", "cluster.enabled"},
	{"NODE_ID", "cluster.node_id"},
	{"SWIM_PORT", "cluster.port"},
	{"DISCOVERY_PORT", "cluster.discovery_port"},
	{"SERVICE_NAME", "service.name"},
	{"ENVIRONMENT", "service.environment"},
	{"SEMANTIC_VERSION", "service.version"},
}

// kubernetesLink matches the variables Kubernetes injects for a Service named "joyride" (JOYRIDE_SERVICE_HOST,
// JOYRIDE_PORT_53_UDP, …). They are not configuration, so they are skipped without a warning.
var kubernetesLink = regexp.MustCompile(`^JOYRIDE_(SERVICE_HOST|SERVICE_PORT(_.*)?|PORT(_.*)?)$`)

// environ turns "NAME=value" strings into a map; a later duplicate wins, as with the last `export`.
func environ(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if name, value, ok := strings.Cut(kv, "="); ok {
			m[name] = value
		}
	}
	return m
}

// envKey maps the part after JOYRIDE_ to a koanf key: the first "_" ends the section, the rest is the key
// (DNS_NEGATIVE_TTL → dns.negative_ttl, MODULES_DOCKER → modules.docker).
func envKey(rest string) string {
	section, key, ok := strings.Cut(strings.ToLower(rest), "_")
	if !ok {
		return section
	}
	return section + "." + key
}

// envLayer reads the environment: the joyride-python aliases first, then the JOYRIDE_ variables over them.
// Unknown JOYRIDE_ variables are warnings, not errors: a container often inherits variables it does not own.
func (l *loader) envLayer(env map[string]string) layer {
	ly := newLayer()
	for _, a := range pythonAliases {
		v, ok := env[a.name]
		if !ok {
			continue
		}
		n, _ := l.root.resolve(a.key)
		var value any = v
		if n.typ.Kind() == reflect.Slice {
			value = []string{v} // HOSTS_DIRECTORY is one path, commas and all
		}
		ly.set(a.key, value, Source{Layer: LayerEnv, Name: a.name})
	}
	if v, ok := env["FLASK_DEBUG"]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on":
			ly.set("log.level", "debug", Source{Layer: LayerEnv, Name: "FLASK_DEBUG"})
		case "", "0", "false", "no", "off":
		default:
			l.errs = append(l.errs, &Error{
				Key: "log.level", Value: formatValue("", v), Source: Source{Layer: LayerEnv, Name: "FLASK_DEBUG"},
				Rule: "type", Msg: "FLASK_DEBUG must be true or false",
			})
		}
	}
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, EnvPrefix)
		if !ok || name == envProfile || name == envFile || kubernetesLink.MatchString(name) {
			continue
		}
		key := envKey(rest)
		src := Source{Layer: LayerEnv, Name: name}
		n, hint := l.root.resolve(key)
		if n == nil {
			l.warnings = append(l.warnings, (&Error{Key: key, Value: formatValue(key, env[name]), Source: src, Msg: hint + " (ignored)"}).Error())
			continue
		}
		ly.set(key, listValue(n, env[name]), src)
	}
	return ly
}

// flagLayer reads --set key=value. Unlike the environment, a flag is typed on purpose, so an unknown key is an
// error.
func (l *loader) flagLayer(sets []string) layer {
	ly := newLayer()
	src := Source{Layer: LayerFlag, Name: "--set"}
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			l.errs = append(l.errs, &Error{Source: src, Rule: "syntax", Msg: formatValue("", s) + " must be key=value"})
			continue
		}
		n, hint := l.root.resolve(key)
		if n == nil {
			l.errs = append(l.errs, &Error{Key: key, Value: formatValue(key, value), Source: src, Rule: "unknown", Msg: hint})
			continue
		}
		ly.set(key, listValue(n, value), src)
	}
	return ly
}

// listValue splits a list given as one string at commas (`JOYRIDE_DNS_ZONES=lab.test,home.arpa`); an empty
// string is an empty list.
func listValue(n *node, v string) any {
	if n.kind != leafNode || n.typ.Kind() != reflect.Slice {
		return v
	}
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
