package config

import (
	"encoding"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// node is one koanf key of a configuration struct, derived from the koanf tags. koanf's unmarshalling decodes
// the values; the loader uses the tree for what it cannot do: resolve an environment variable or --set flag to
// its key (and know whether it is a list to split at commas), say which keys a section has when one is unknown,
// flatten the defaults, and print the result in schema order with each key's source.
type node struct {
	name  string       // the last key segment
	key   string       // the full dotted key, e.g. "dns.port"
	index []int        // reflect field index from the root struct
	typ   reflect.Type // the field's type
	kind  nodeKind
	// children of a section, in field order; for a list of structs, the element's fields (keys relative to it).
	children []*node
}

type nodeKind int

const (
	leafNode    nodeKind = iota // a scalar or a list of scalars
	sectionNode                 // a struct: its fields are keys below it
	mapNode                     // map[string]T: every map key is a key below it (e.g. modules.docker)
	listNode                    // a list of structs (records): one key, elements checked field by field
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// schemaOf builds the key tree of struct type t. Exported fields without a koanf tag are not configurable; a
// test keeps Config free of them.
func schemaOf(t reflect.Type) *node {
	root := &node{typ: t, kind: sectionNode}
	root.children = fieldsOf(t, "", nil)
	return root
}

func fieldsOf(t reflect.Type, prefix string, index []int) []*node {
	var out []*node
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("koanf")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		n := &node{name: name, key: prefix + name, index: append(slices.Clone(index), i), typ: f.Type}
		switch {
		case isScalar(f.Type):
			n.kind = leafNode
		case f.Type.Kind() == reflect.Struct:
			n.kind = sectionNode
			n.children = fieldsOf(f.Type, n.key+".", n.index)
		case f.Type.Kind() == reflect.Map && f.Type.Key().Kind() == reflect.String:
			n.kind = mapNode
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && !isScalar(f.Type.Elem()):
			n.kind = listNode
			n.children = fieldsOf(f.Type.Elem(), "", nil)
		default:
			n.kind = leafNode
		}
		out = append(out, n)
	}
	return out
}

// isScalar reports whether values of t are written as one YAML scalar.
func isScalar(t reflect.Type) bool {
	if t == durationType || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	return t.Kind() != reflect.Struct && t.Kind() != reflect.Map && t.Kind() != reflect.Slice
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *node) childNames() string {
	names := make([]string, len(n.children))
	for i, c := range n.children {
		names[i] = c.name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// resolve finds the node that a flat key from the environment or a flag sets: a leaf or list, or an entry of a
// map ("modules.docker" resolves to the modules node). It returns a hint for the error when there is none.
func (n *node) resolve(key string) (*node, string) {
	cur := n
	parts := strings.Split(key, ".")
	for i, p := range parts {
		next := cur.child(p)
		if next == nil {
			return nil, unknownHint(cur)
		}
		switch next.kind {
		case sectionNode:
			if i == len(parts)-1 {
				return nil, next.key + " is a section; set one of its keys: " + next.childNames()
			}
			cur = next
		case mapNode:
			if i != len(parts)-2 {
				return nil, "set " + next.key + ".<name>"
			}
			return next, ""
		default:
			if i != len(parts)-1 {
				return nil, unknownHint(cur)
			}
			return next, ""
		}
	}
	return nil, unknownHint(cur)
}

// hintAt is the unknown-key hint for the section or list element mapstructure names ("", "dns", "records[0]").
func (n *node) hintAt(name string) string {
	cur := n
	for part := range strings.SplitSeq(name, ".") {
		base, _, _ := strings.Cut(part, "[")
		if base == "" {
			continue
		}
		next := cur.child(base)
		if next == nil {
			break
		}
		cur = next
	}
	if cur.kind == listNode {
		return "unknown key; a " + cur.name + " entry has " + cur.childNames()
	}
	return unknownHint(cur)
}

func unknownHint(section *node) string {
	if section.key == "" {
		return "unknown key; sections are " + section.childNames()
	}
	return "unknown key; " + section.key + " has " + section.childNames()
}

// leaves calls f for every leaf, list and map node below n.
func (n *node) leaves(f func(*node)) {
	for _, c := range n.children {
		if c.kind == sectionNode {
			c.leaves(f)
			continue
		}
		f(c)
	}
}
