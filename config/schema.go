package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// node is one koanf key of a configuration struct, derived from the koanf tags. The loader uses the tree to
// reject unknown keys, to convert every value with an error that names its key, and to print the result.
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

// convError is a value that does not fit its key. path is relative to the key ("[2].ttl" inside a list).
type convError struct {
	path  string
	value any
	msg   string
}

func (e *convError) Error() string { return e.msg }

// convert turns a value as a parser, the environment or a flag gives it into type t. elem describes the fields of
// a list's struct elements. Values that already have type t (the defaults) are taken as they are.
func convert(v any, t reflect.Type, elem []*node) (reflect.Value, *convError) {
	if v != nil && reflect.TypeOf(v) == t {
		return reflect.ValueOf(v), nil
	}
	out := reflect.New(t).Elem()
	fail := func(msg string) (reflect.Value, *convError) { return out, &convError{value: v, msg: msg} }
	if v == nil {
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			return out, nil // "zones:" with nothing after it is an empty list
		}
		return fail("must not be empty")
	}
	if t == durationType {
		return convertDuration(v, out)
	}
	if u, ok := out.Addr().Interface().(encoding.TextUnmarshaler); ok {
		s, isString := v.(string)
		if !isString {
			return fail("must be a string")
		}
		if err := u.UnmarshalText([]byte(s)); err != nil {
			return fail(err.Error())
		}
		return out, nil
	}
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			out.SetString(x)
		case int, int64, uint64:
			out.SetString(fmt.Sprint(x))
		default:
			return fail("must be a string (quote it)")
		}
	case reflect.Bool:
		b, ok := toBool(v)
		if !ok {
			return fail("must be true or false")
		}
		out.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := toInt(v)
		if !ok {
			return fail("must be an integer")
		}
		if out.OverflowInt(i) {
			return fail("is out of range")
		}
		out.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := toInt(v)
		switch {
		case !ok:
			return fail("must be an integer")
		case i < 0:
			return fail("must not be negative")
		case out.OverflowUint(uint64(i)):
			return fail(fmt.Sprintf("must be at most %d", uint64(math.MaxUint64)>>(64-t.Bits())))
		}
		out.SetUint(uint64(i))
	case reflect.Slice:
		return convertList(v, t, elem)
	case reflect.Struct:
		return convertStruct(v, t, elem)
	default:
		return fail(fmt.Sprintf("has a type (%s) the configuration cannot set", t))
	}
	return out, nil
}

func convertDuration(v any, out reflect.Value) (reflect.Value, *convError) {
	const msg = "must be a duration such as 500ms, 15s or 2m"
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return out, &convError{value: v, msg: msg}
		}
		out.SetInt(int64(d))
		return out, nil
	case int, int64, uint64, float64:
		// A bare number has no unit; only zero means the same whatever the unit.
		if i, ok := toInt(x); ok && i == 0 {
			return out, nil
		}
	}
	return out, &convError{value: v, msg: msg}
}

// convertList accepts a list, or one scalar as a list of one (`directories: /srv/hosts`). Lists from the
// environment and flags arrive already split at commas.
func convertList(v any, t reflect.Type, elem []*node) (reflect.Value, *convError) {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case map[string]any:
		return reflect.New(t).Elem(), &convError{value: v, msg: "must be a list"}
	default:
		if t.Elem().Kind() == reflect.Struct {
			return reflect.New(t).Elem(), &convError{value: v, msg: "must be a list (set it in a configuration file)"}
		}
		items = []any{x}
	}
	out := reflect.New(t).Elem() // an empty list is nil, however it was written
	for i, item := range items {
		ev, err := convert(item, t.Elem(), elem)
		if err != nil {
			err.path = fmt.Sprintf("[%d]%s", i, err.path)
			return out, err
		}
		out = reflect.Append(out, ev)
	}
	return out, nil
}

// convertStruct fills a list element from its mapping; unknown field names were reported when the layer was read.
func convertStruct(v any, t reflect.Type, fields []*node) (reflect.Value, *convError) {
	out := reflect.New(t).Elem()
	m, ok := v.(map[string]any)
	if !ok {
		return out, &convError{value: v, msg: "must be a mapping of " + strings.Join(names(fields), ", ")}
	}
	for _, f := range fields {
		fv, present := m[f.name]
		if !present {
			continue
		}
		cv, err := convert(fv, f.typ, f.children)
		if err != nil {
			err.path = "." + f.name + err.path
			return out, err
		}
		out.FieldByIndex(f.index).Set(cv)
	}
	return out, nil
}

func names(fields []*node) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

// toInt accepts the integer types YAML gives, JSON's float64 when it is whole, and decimal strings.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}
