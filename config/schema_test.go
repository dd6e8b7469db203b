package config

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		name string
		in   any
		typ  reflect.Type
		want any    // when ok
		err  string // when not
	}{
		{"yaml int to int", 53, reflect.TypeFor[int](), 53, ""},
		{"json whole float to int", 53.0, reflect.TypeFor[int](), 53, ""},
		{"json fraction", 53.5, reflect.TypeFor[int](), nil, "must be an integer"},
		{"string to uint16", "1232", reflect.TypeFor[uint16](), uint16(1232), ""},
		{"uint16 overflow", 70000, reflect.TypeFor[uint16](), nil, "must be at most 65535"},
		{"negative uint", -1, reflect.TypeFor[uint32](), nil, "must not be negative"},
		{"int to string", 2, reflect.TypeFor[string](), "2", ""},
		{"float to string", 1.0, reflect.TypeFor[string](), nil, "must be a string (quote it)"},
		{"null scalar", nil, reflect.TypeFor[string](), nil, "must not be empty"},
		{"null list", nil, reflect.TypeFor[[]string](), []string(nil), ""},
		{"bool from string", "FALSE", reflect.TypeFor[bool](), false, ""},
		{"bool from int", 1, reflect.TypeFor[bool](), nil, "must be true or false"},
		{"duration", "1m30s", reflect.TypeFor[time.Duration](), 90 * time.Second, ""},
		{"duration zero without unit", 0, reflect.TypeFor[time.Duration](), time.Duration(0), ""},
		{"duration without unit", 5, reflect.TypeFor[time.Duration](), nil, "must be a duration such as 500ms, 15s or 2m"},
		{"list of lists", []any{[]any{"a"}}, reflect.TypeFor[[]string](), nil, "must be a string (quote it)"},
		{"mapping as list", map[string]any{"a": 1}, reflect.TypeFor[[]string](), nil, "must be a list"},
		{"text unmarshaler", "10.0.0.1", reflect.TypeFor[netip.Addr](), netip.MustParseAddr("10.0.0.1"), ""},
		{"text unmarshaler error", "10.0.0.300", reflect.TypeFor[netip.Addr](), nil, `ParseAddr("10.0.0.300"): IPv4 field has value >255`},
		{"text unmarshaler needs a string", 10, reflect.TypeFor[netip.Addr](), nil, "must be a string"},
		{"unsupported", "1.5", reflect.TypeFor[float64](), nil, "has a type (float64) the configuration cannot set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convert(tt.in, tt.typ, nil)
			if tt.err != "" {
				require.NotNil(t, err)
				assert.Equal(t, tt.err, err.msg)
				return
			}
			require.Nil(t, err)
			assert.Equal(t, tt.want, got.Interface())
		})
	}
}

// A field whose type reads itself from text (netip.Addr) is one key, set from a string and printed as one.
func TestTextFields(t *testing.T) {
	type section struct {
		Addr netip.Addr `koanf:"addr"`
	}
	root := schemaOf(reflect.TypeFor[struct {
		S section `koanf:"s"`
	}]())
	n, hint := root.resolve("s.addr")
	require.NotNil(t, n, hint)
	assert.Equal(t, leafNode, n.kind)

	var v struct {
		S section `koanf:"s"`
	}
	v.S.Addr = netip.MustParseAddr("::1")
	es := entries(root, reflect.ValueOf(v), nil)
	require.Len(t, es, 1)
	assert.Equal(t, "::1", es[0].Value)
}
