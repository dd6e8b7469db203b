package config

import (
	"fmt"
	"strings"

	"github.com/joyride-dns/joyride/pkg/validation"
)

// Layer is a configuration source, lowest precedence first.
type Layer int

// The layers in the order they are merged: each overrides the ones before it.
const (
	LayerDefault Layer = iota
	LayerProfile
	LayerFile
	LayerEnv
	LayerFlag
	// LayerDerived is not a source the user writes: a key left empty that the runtime configuration fills from
	// others (Derive). Name says from which.
	LayerDerived
)

// Source says where a key's value came from.
type Source struct {
	Layer Layer
	// Name is the profile name, the file path, the environment variable, or the flag ("--set", "--profile").
	Name string
	// Line is the line in the file, when it is known.
	Line int
}

// String is how provenance is shown: "default", "profile dev", "file /etc/joyride.yaml:12",
// "env JOYRIDE_DNS_PORT", "flag --set", "derived from dns.zones".
func (s Source) String() string {
	switch s.Layer {
	case LayerDefault:
		return "default"
	case LayerProfile:
		return "profile " + s.Name
	case LayerFile:
		if s.Line > 0 {
			return fmt.Sprintf("file %s:%d", s.Name, s.Line)
		}
		return "file " + s.Name
	case LayerEnv:
		return "env " + s.Name
	case LayerDerived:
		return "derived from " + s.Name
	default:
		return "flag " + s.Name
	}
}

// Error is one problem with the configuration. Its text names the key, the value (masked when secret), the source
// and the rule, e.g. `config: dns.port = 70000 (env JOYRIDE_DNS_PORT): must be at most 65535`.
type Error struct {
	Key    string // koanf key, with a list index when it is about one element ("records[1].type")
	Value  string // the offending value as shown; empty when the error is about a whole source
	Source Source
	Rule   string // "unknown", "type", "module", "profile", "read", or the validation rule ("max=65535")
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Key != "" {
		b.WriteString(e.Key)
		if e.Value != "" {
			b.WriteString(" = " + e.Value)
		}
		b.WriteString(" (" + e.Source.String() + "): ")
	} else {
		b.WriteString(e.Source.String() + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are every problem Load found, in a stable order; Error joins them one per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// formatValue shows a value in an error as pkg/validation does, with a secret's value masked.
func formatValue(key string, v any) string {
	if validation.Secret(key) && v != nil && v != "" {
		return validation.Masked
	}
	return validation.FormatValue(v)
}
