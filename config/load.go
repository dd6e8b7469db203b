package config

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	koanfjson "github.com/knadh/koanf/parsers/json"
	koanfyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// DefaultProfile is used when neither --profile nor JOYRIDE_PROFILE names one.
const DefaultProfile = "standalone"

//go:embed profiles/*.yaml
var profileFS embed.FS

// Profiles returns the names of the embedded profiles, sorted.
func Profiles() []string {
	entries, _ := profileFS.ReadDir("profiles") // embedded: cannot fail
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// Options say which sources Load reads. Nothing is read from the process: main passes os.Environ().
type Options struct {
	// Profile names an embedded profile; empty means JOYRIDE_PROFILE, then DefaultProfile.
	Profile string
	// File is a YAML (.yaml, .yml) or JSON (.json) file; empty means JOYRIDE_CONFIG, then none.
	File string
	// Env is the environment as "NAME=value" strings.
	Env []string
	// Set are --set flags, "key=value", applied in order.
	Set []string
	// Version is the binary's version; when set it replaces "dev" as the default service.version.
	Version string
}

// Result is a loaded, valid configuration and where each key came from.
type Result struct {
	// Config is the runtime configuration: the user's, validated, with the settings derived from others filled in
	// (see derive). Each module's section is ready to hand to it.
	Config  Config
	Profile string
	File    string // empty when no file was read
	// Sources maps every key (map entries such as "modules.docker" included) to the layer that set it.
	Sources map[string]Source
	// Warnings are problems that did not stop loading: JOYRIDE_ variables that name no key.
	Warnings []string
}

// schema is Config's key tree.
var schema = schemaOf(reflect.TypeFor[Config]())

// layer is one source's values as flat koanf keys, each with where it came from.
type layer struct {
	values  map[string]any
	sources map[string]Source
}

func newLayer() layer { return layer{values: map[string]any{}, sources: map[string]Source{}} }

func (ly layer) set(key string, v any, src Source) {
	ly.values[key] = v
	ly.sources[key] = src
}

type loader struct {
	root     *node
	k        *koanf.Koanf
	sources  map[string]Source
	errs     Errors
	warnings []string
	// badType are the keys whose value could not be decoded (see undecoded).
	badType map[string]bool
}

// Load merges the sources, lowest first: defaults < profile < file < environment < --set flags. It returns
// every problem it finds as Errors, never just the first.
func Load(opts Options) (*Result, error) {
	l := &loader{root: schema, k: koanf.New("."), sources: map[string]Source{}, badType: map[string]bool{}}
	env := environ(opts.Env)

	l.merge(l.defaults(opts.Version))

	profile, profileSrc := opts.Profile, Source{Layer: LayerFlag, Name: "--profile"}
	if profile == "" {
		profile, profileSrc = env[envProfile], Source{Layer: LayerEnv, Name: envProfile}
	}
	if profile == "" {
		profile, profileSrc = DefaultProfile, Source{Layer: LayerDefault}
	}
	l.merge(l.profileLayer(profile, profileSrc))

	file := opts.File
	if file == "" {
		file = env[envFile]
	}
	if file != "" {
		l.merge(l.fileLayer(file))
	}
	l.merge(l.envLayer(env))
	l.merge(l.flagLayer(opts.Set))

	cfg := l.decode()
	l.checkModules(cfg)
	for _, p := range check(cfg) {
		if !l.undecoded(p.Key) {
			l.errs = append(l.errs, &Error{Key: p.Key, Value: formatValue(p.Key, p.Value), Source: l.sourceOf(p.Key), Rule: p.Rule, Msg: p.Msg})
		}
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	cfg, filled := derive(cfg)
	for _, d := range filled {
		l.sources[d.Key] = Source{Layer: LayerDerived, Name: d.From}
	}
	return &Result{Config: cfg, Profile: profile, File: file, Sources: l.sources, Warnings: l.warnings}, nil
}

// undecoded reports whether key, or a key above it, had a value that could not be decoded: validating its zero
// value would only repeat the error.
func (l *loader) undecoded(key string) bool {
	for {
		if l.badType[key] {
			return true
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return false
		}
		key = key[:i]
	}
}

func (l *loader) merge(ly layer) {
	if len(ly.values) == 0 {
		return
	}
	// Flat keys in, nested out: lists are leaves, so a higher layer replaces a list rather than appending.
	if err := l.k.Load(confmap.Provider(ly.values, "."), nil); err != nil {
		l.errs = append(l.errs, &Error{Rule: "merge", Msg: err.Error()})
		return
	}
	// A replaced list takes its elements' sources with it.
	for k := range ly.values {
		for old := range l.sources {
			if strings.HasPrefix(old, k+"[") {
				delete(l.sources, old)
			}
		}
	}
	for k, s := range ly.sources {
		l.sources[k] = s
	}
}

// sourceOf finds the source of key or of the nearest key above it: "records[1].type" falls back to
// "records[1]" (a field missing from an element) and then to "records".
func (l *loader) sourceOf(key string) Source {
	for {
		if s, ok := l.sources[key]; ok {
			return s
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return Source{}
		}
		key = key[:i]
	}
}

// defaults flattens Default(), so that every key has a value and a source before anything else is read.
func (l *loader) defaults(version string) layer {
	def := Default()
	if version != "" {
		def.Service.Version = version
	}
	v := reflect.ValueOf(def)
	ly := newLayer()
	src := Source{Layer: LayerDefault}
	l.root.leaves(func(n *node) {
		fv := v.FieldByIndex(n.index)
		if n.kind != mapNode {
			ly.set(n.key, fv.Interface(), src)
			return
		}
		for _, mk := range fv.MapKeys() {
			ly.set(n.key+"."+mk.String(), fv.MapIndex(mk).Interface(), src)
		}
	})
	return ly
}

func (l *loader) profileLayer(name string, src Source) layer {
	data, err := profileFS.ReadFile(path.Join("profiles", name+".yaml"))
	if err != nil || strings.ContainsAny(name, "/\\") {
		l.errs = append(l.errs, &Error{
			Key: "profile", Value: formatValue("", name), Source: src, Rule: "profile",
			Msg: "unknown profile; available profiles are " + strings.Join(Profiles(), ", "),
		})
		return newLayer()
	}
	return l.document(data, koanfyaml.Parser(), Source{Layer: LayerProfile, Name: name})
}

func (l *loader) fileLayer(file string) layer {
	src := Source{Layer: LayerFile, Name: file}
	var parser koanf.Parser
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml":
		parser = koanfyaml.Parser()
	case ".json":
		parser = koanfjson.Parser()
	default:
		l.errs = append(l.errs, &Error{Source: src, Rule: "read", Msg: "a configuration file must end in .yaml, .yml or .json"})
		return newLayer()
	}
	data, err := os.ReadFile(file)
	if err != nil {
		l.errs = append(l.errs, &Error{Source: src, Rule: "read", Msg: err.Error()})
		return newLayer()
	}
	return l.document(data, parser, src)
}

// document parses a profile or file into a layer whose every key knows its line, so that the errors koanf finds
// when it decodes (an unknown key, a section that is not a mapping) name the line, and a typo is never ignored.
func (l *loader) document(data []byte, parser koanf.Parser, src Source) layer {
	ly := newLayer()
	m, err := parser.Unmarshal(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			err = fmt.Errorf("line %d: %w", 1+strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n"), err)
		}
		l.errs = append(l.errs, &Error{Source: src, Rule: "parse", Msg: err.Error()})
		return ly
	}
	d := &document{ly: ly, src: src, lines: keyLines(data)}
	d.section(l.root, m)
	// A list's elements and their fields keep their own lines, so that errors about them name them.
	for k := range d.lines {
		if list, _, ok := strings.Cut(k, "["); ok {
			if _, set := ly.values[list]; set {
				ly.sources[k] = d.at(k)
			}
		}
	}
	return ly
}

type document struct {
	ly    layer
	src   Source
	lines map[string]int
}

func (d *document) at(key string) Source {
	s := d.src
	if s.Layer == LayerFile {
		s.Line = d.lines[key]
	}
	return s
}

// set puts a value into the layer with its line; what it means is decided when koanf decodes the merged layers.
func (d *document) set(key string, v any) { d.ly.set(key, v, d.at(key)) }

// section walks a parsed document by the schema, so that each key gets its own source and line: koanf would
// merge the document as a whole. Keys the schema does not know are passed on for koanf to reject (ErrorUnused).
func (d *document) section(n *node, m map[string]any) {
	for _, name := range sortedKeys(m) {
		v := m[name]
		key := joinKey(n.key, name)
		c := n.child(name)
		sub, isMap := v.(map[string]any)
		switch {
		case c != nil && c.kind == sectionNode && isMap:
			d.section(c, sub)
		case c != nil && c.kind == mapNode && isMap:
			for _, entry := range sortedKeys(sub) {
				d.set(key+"."+entry, sub[entry])
			}
		case c != nil && (c.kind == sectionNode || c.kind == mapNode) && v == nil:
			// "dns:" with nothing below it
		default:
			// A value, a list, an unknown key or a section that is not a mapping: decoding judges it.
			d.set(key, v)
		}
	}
}

// keyLines finds the line of every key in a YAML or JSON document ("dns.port", "records[1].type"). A document
// the YAML parser cannot read yields no lines; the real parser reports the error.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return lines
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := joinKey(prefix, n.Content[i].Value)
				lines[key] = n.Content[i].Line
				walk(n.Content[i+1], key)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				key := fmt.Sprintf("%s[%d]", prefix, i)
				lines[key] = item.Line
				walk(item, key)
			}
		}
	}
	walk(doc.Content[0], "")
	return lines
}

// checkModules rejects module names the application does not have.
func (l *loader) checkModules(cfg Config) {
	for _, name := range sortedKeys(cfg.Modules) {
		if !slices.Contains(knownModules, name) {
			key := "modules." + name
			l.errs = append(l.errs, &Error{
				Key: key, Value: formatValue(key, cfg.Modules[name]), Source: l.sources[key], Rule: "module",
				Msg: "unknown module; known modules are " + strings.Join(knownModules, ", "),
			})
		}
	}
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
