package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// joyride-python's /status and /dns/cluster objects, as defaults that a module's Status() is laid over. A key
// of these objects is always present with joyride-python's JSON type, whatever a module's Status() holds: a
// value of another type is left out of the compat object (it stays in /status's "modules"). Keys that a
// module adds pass through.
//
// Types follow joyride-python's source: numbers are integers, timestamps strings, and hosts_monitor.directory
// and statistics.last_sync a string or null.

// nullableString is the default of a key that joyride-python gave as a string or null.
type nullableString struct{}

// listOf is the default of a list whose items are objects: each item is laid over item.
type listOf struct{ item func() map[string]any }

// compatDNSServer is dns_server; joyride-python always said running: true (it had started the server itself).
func compatDNSServer(present bool) map[string]any {
	return map[string]any{"port": 0, "bind_address": "", "running": present}
}

// compatDocker is docker_monitor.
func compatDocker(present bool) map[string]any { return map[string]any{"running": present} }

// compatHosts is hosts_monitor: without the module, joyride-python's shape for a monitor that was not created.
func compatHosts(present bool) map[string]any {
	return map[string]any{"enabled": present, "directory": nullableString{}, "running": present, "records_count": 0}
}

// compatCluster is dns_sync_cluster and /dns/cluster's cluster: joyride-python's get_cluster_status() with
// enabled and running. Without the module it is joyride-python's {"enabled": false, "running": false}.
func compatCluster(present bool) map[string]any {
	if !present {
		return map[string]any{"enabled": false, "running": false}
	}
	return map[string]any{
		"enabled": false, "running": false, "node_id": "",
		"statistics": map[string]any{
			"nodes_discovered": 0, "nodes_active": 0, "dns_records_synced": 0, "sync_operations": 0,
			"last_sync": nullableString{},
		},
		"discovered_nodes": 0,
		"nodes": listOf{item: func() map[string]any {
			return map[string]any{"node_id": "", "ip_address": "", "last_seen": "", "metadata": map[string]any{}}
		}},
		"swim_cluster": map[string]any{"alive_members": 0, "member_counts": map[string]any{}, "dns_version": 0},
	}
}

// decodeStatus returns a Status() value as generic JSON (numbers kept exact), or nil when it cannot be encoded.
func decodeStatus(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if d.Decode(&out) != nil {
		return nil
	}
	return out
}

// overlay lays status (generic JSON) over the compat defaults and returns the result; defaults is consumed.
func overlay(defaults map[string]any, status any) map[string]any {
	m, _ := status.(map[string]any)
	for k, v := range m {
		d, known := defaults[k]
		if !known {
			defaults[k] = v
			continue
		}
		if merged, ok := conform(d, v); ok {
			defaults[k] = merged
		}
	}
	for k, d := range defaults {
		switch d := d.(type) {
		case nullableString:
			defaults[k] = nil
		case listOf:
			defaults[k] = []any{}
		case map[string]any:
			defaults[k] = overlay(d, nil)
		}
	}
	return defaults
}

// conform returns v when it has the JSON type of the default d (objects and lists of objects merged with
// their defaults), and false when it has another.
func conform(d, v any) (any, bool) {
	switch d := d.(type) {
	case nullableString:
		_, isString := v.(string)
		return v, v == nil || isString
	case bool:
		_, ok := v.(bool)
		return v, ok
	case string:
		_, ok := v.(string)
		return v, ok
	case int:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		_, err := strconv.ParseInt(n.String(), 10, 64)
		return v, err == nil
	case map[string]any:
		if _, ok := v.(map[string]any); !ok {
			return nil, false
		}
		return overlay(d, v), true
	case listOf:
		items, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(items))
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				out = append(out, overlay(d.item(), obj))
			}
		}
		return out, true
	}
	return nil, false
}

// field returns status's key as JSON of type T, if it is there with that type.
func field[T any](status any, key string) (T, bool) {
	m, _ := status.(map[string]any)
	v, ok := m[key].(T)
	return v, ok
}
