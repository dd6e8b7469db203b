package config

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/joyride-dns/joyride/pkg/validation"
)

// Entry is one key of the effective configuration as `config print` shows it.
type Entry struct {
	Key string
	// Value is printable: durations as strings ("15s"), lists as []any, list elements as map[string]any,
	// secrets as "******".
	Value  any
	Source Source
}

// Entries lists every key with its value and source, in schema order (map entries sorted by name).
func (r *Result) Entries() []Entry {
	return entries(schema, reflect.ValueOf(r.Config), r.Sources)
}

func entries(root *node, v reflect.Value, sources map[string]Source) []Entry {
	var out []Entry
	root.leaves(func(n *node) {
		fv := v.FieldByIndex(n.index)
		if n.kind != mapNode {
			out = append(out, Entry{Key: n.key, Value: printable(n.key, fv, n.children), Source: sources[n.key]})
			return
		}
		keys := fv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, mk := range keys {
			key := n.key + "." + mk.String()
			out = append(out, Entry{Key: key, Value: printable(key, fv.MapIndex(mk), nil), Source: sources[key]})
		}
	})
	return out
}

// printable converts a field value to plain data: what a JSON or YAML encoder shows the way a user writes it.
func printable(key string, v reflect.Value, fields []*node) any {
	if validation.Secret(key) && !v.IsZero() {
		return validation.Masked
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		text, err := m.MarshalText()
		if err != nil {
			return fmt.Sprintf("<%v>", err)
		}
		return string(text)
	}
	switch v.Kind() {
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = printable(key, v.Index(i), fields)
		}
		return out
	case reflect.Struct:
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			m[f.name] = printable(f.name, v.FieldByIndex(f.index), f.children)
		}
		return m
	}
	return v.Interface()
}

// Write prints the effective configuration in format "yaml" (a valid configuration file, each value commented
// with its source) or "json" (an object keyed by koanf key, each with its value and source).
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "yaml":
		return writeYAML(w, r.header(), schema, reflect.ValueOf(r.Config), r.Sources)
	case "json":
		return writeJSON(w, r.Profile, r.File, r.Entries())
	}
	return fmt.Errorf("config: unknown format %q (want yaml or json)", format)
}

func (r *Result) header() string {
	file := "no file"
	if r.File != "" {
		file = "file " + r.File
	}
	return fmt.Sprintf("Joyride configuration: profile %s, %s.\nEach comment names the layer that set the value; secrets are shown as %s.", r.Profile, file, validation.Masked)
}

type jsonEntry struct {
	Value  any    `json:"value"`
	Source string `json:"source"`
}

func writeJSON(w io.Writer, profile, file string, es []Entry) error {
	values := make(map[string]jsonEntry, len(es))
	for _, e := range es {
		values[e.Key] = jsonEntry{Value: e.Value, Source: e.Source.String()}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Profile string               `json:"profile"`
		File    string               `json:"file"`
		Values  map[string]jsonEntry `json:"values"`
	}{profile, file, values})
}

func writeYAML(w io.Writer, header string, root *node, v reflect.Value, sources map[string]Source) error {
	body, err := yamlSection(root, v, sources)
	if err != nil {
		return err
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: header, Content: []*yaml.Node{body}}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

// yamlSection builds a mapping in schema order, so the output reads like the documentation, not alphabetically.
func yamlSection(n *node, root reflect.Value, sources map[string]Source) (*yaml.Node, error) {
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, c := range n.children {
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: c.name}
		fv := root.FieldByIndex(c.index)
		var val *yaml.Node
		var err error
		switch c.kind {
		case sectionNode:
			val, err = yamlSection(c, root, sources)
		case mapNode:
			val = &yaml.Node{Kind: yaml.MappingNode}
			keys := fv.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			for _, mk := range keys {
				key := c.key + "." + mk.String()
				ev, err := yamlValue(printable(key, fv.MapIndex(mk), nil))
				if err != nil {
					return nil, err
				}
				ev.LineComment = sources[key].String()
				val.Content = append(val.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: mk.String()}, ev)
			}
		default:
			val, err = yamlValue(printable(c.key, fv, c.children))
			if err == nil {
				comment(k, val, sources[c.key].String())
			}
		}
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, k, val)
	}
	return out, nil
}

// comment puts the source after a scalar or flow value, and after the key of a block list.
func comment(k, val *yaml.Node, text string) {
	if val.Kind == yaml.ScalarNode || val.Style == yaml.FlowStyle {
		val.LineComment = text
		return
	}
	k.LineComment = text
}

// yamlValue encodes plain data; lists of scalars are written inline ([a, b]), lists of mappings as blocks.
func yamlValue(v any) (*yaml.Node, error) {
	items, isList := v.([]any)
	if !isList {
		n := &yaml.Node{}
		return n, n.Encode(v)
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, item := range items {
		if _, isMap := item.(map[string]any); isMap {
			seq.Style = 0
		}
		n := &yaml.Node{}
		if err := n.Encode(item); err != nil {
			return nil, err
		}
		seq.Content = append(seq.Content, n)
	}
	return seq, nil
}
