package config

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/modules/system"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// Change is one key whose value differs between two configurations, its values as `config print` shows them
// (a credential masked).
type Change struct {
	Key      string
	From, To string
}

// Diff returns the keys whose values differ between old and new, in schema order. A map's entries are keys of
// their own ("modules.docker"); a list, a list of records included, is one key ("records", "dns.forwarders").
func Diff(old, new Config) []Change {
	var out []Change
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	schema.leaves(func(n *node) {
		o, w := ov.FieldByIndex(n.index), nv.FieldByIndex(n.index)
		if n.kind != mapNode {
			if !reflect.DeepEqual(o.Interface(), w.Interface()) {
				out = append(out, Change{Key: n.key, From: formatValue(n.key, o.Interface()), To: formatValue(n.key, w.Interface())})
			}
			return
		}
		for _, mk := range unionKeys(o, w) {
			k := mk.String()
			ok, wk := o.MapIndex(mk), w.MapIndex(mk)
			var from, to any
			if ok.IsValid() {
				from = ok.Interface()
			}
			if wk.IsValid() {
				to = wk.Interface()
			}
			if !reflect.DeepEqual(from, to) {
				key := n.key + "." + k
				out = append(out, Change{Key: key, From: formatValue(key, from), To: formatValue(key, to)})
			}
		}
	})
	return out
}

// With returns old with the values of keys taken from new: the configuration a node runs on after applying the
// keys it can change live and keeping the rest. A key may be any key Diff returns, or a section above them.
func With(old, new Config, keys []string) Config {
	out := old
	// The maps are old's: a copy is written instead.
	out.Modules = maps.Clone(old.Modules)
	ov, nv := reflect.ValueOf(&out).Elem(), reflect.ValueOf(new)
	schema.leaves(func(n *node) {
		if n.kind == mapNode {
			dst := ov.FieldByIndex(n.index)
			src := nv.FieldByIndex(n.index)
			for _, mk := range unionKeys(dst, src) {
				if !reload.Covered(keys, n.key+"."+mk.String()) {
					continue
				}
				if v := src.MapIndex(mk); v.IsValid() {
					dst.SetMapIndex(mk, v)
				} else {
					dst.SetMapIndex(mk, reflect.Value{})
				}
			}
			return
		}
		if reload.Covered(keys, n.key) {
			ov.FieldByIndex(n.index).Set(nv.FieldByIndex(n.index))
		}
	})
	return out
}

// unionKeys returns the keys of two maps of the same type, each once, sorted.
func unionKeys(a, b reflect.Value) []reflect.Value {
	seen := map[string]reflect.Value{}
	for _, m := range []reflect.Value{a, b} {
		for _, k := range m.MapKeys() {
			seen[k.String()] = k
		}
	}
	out := make([]reflect.Value, 0, len(seen))
	for _, k := range sortedKeys(seen) {
		out = append(out, seen[k])
	}
	return out
}

// Section returns the section of cfg that the module called name is configured with, of that module's Config
// type, as cmd/joyride supplies it: dnsserver.Config for "dns", records.Config for "records", Log for "log" (the
// process logger's, not a module's). ok is false for a module without a section (health, metrics).
func (c Config) Section(name string) (section any, ok bool) {
	switch name {
	case "audit":
		return c.Audit, true
	case "cluster":
		return c.Cluster, true
	case "dns":
		return c.DNS, true
	case "docker":
		return c.Docker, true
	case "hosts":
		return c.Hosts, true
	case "http":
		return c.HTTP, true
	case "logging":
		return c.Logging, true
	case "records":
		return records.Config{Static: c.Records, MaxEvents: c.RecordEvents}, true
	case "traefikfile":
		return c.Traefikfile, true
	case "system":
		s := system.DefaultConfig()
		s.Service = c.Service.Name
		return s, true
	case "log":
		return c.Log, true
	}
	return nil, false
}

// ModuleOf returns the module whose section holds key ("dns" for "dns.forwarders", "records" for
// "records[0].name" and "record_events"), "" for a key of no module's (log, service, events, modules): Section's
// mapping read the other way.
func ModuleOf(key string) string {
	top, _, _ := strings.Cut(key, ".")
	top, _, _ = strings.Cut(top, "[")
	if top == "record_events" {
		top = "records"
	}
	if !slices.Contains(knownModules, top) {
		return ""
	}
	return top
}
