package config

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/ttl"
)

func TestConvertHook(t *testing.T) {
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
		{"hex is not decimal", "0x10", reflect.TypeFor[int](), nil, "must be an integer"},
		{"uint16 overflow", 70000, reflect.TypeFor[uint16](), nil, "must be at most 65535"},
		{"negative uint", -1, reflect.TypeFor[uint32](), nil, "must not be negative"},
		{"int8 overflow", 300, reflect.TypeFor[int8](), nil, "is out of range"},
		{"int to string", 2, reflect.TypeFor[string](), "2", ""},
		{"float to string", 1.0, reflect.TypeFor[string](), nil, "must be a string (quote it)"},
		{"bool from string", "FALSE", reflect.TypeFor[bool](), false, ""},
		{"bool from int", 1, reflect.TypeFor[bool](), nil, "must be true or false"},
		{"duration", "1m30s", reflect.TypeFor[time.Duration](), 90 * time.Second, ""},
		{"duration zero without unit", 0, reflect.TypeFor[time.Duration](), time.Duration(0), ""},
		{"duration without unit", 5, reflect.TypeFor[time.Duration](), nil, "must be a duration such as 500ms, 15s or 2m"},
		{"scalar is a list of one", "a", reflect.TypeFor[[]string](), []any{"a"}, ""},
		{"empty list is nil", []any{}, reflect.TypeFor[[]string](), nil, ""},
		{"mapping as list", map[string]any{"a": 1}, reflect.TypeFor[[]string](), nil, "must be a list"},
		{"scalar as a list of mappings", "a", reflect.TypeFor[[]records.Static](), nil, "must be a list (set it in a configuration file)"},
		{"scalar as a section", 53, reflect.TypeFor[Log](), nil, "must be a mapping"},
		{"scalar as a map", "dns", reflect.TypeFor[map[string]bool](), nil, "must be a mapping"},
		{"static record without ttl", map[string]any{"name": "a"}, reflect.TypeFor[records.Static](),
			map[string]any{"name": "a", "ttl": ttl.Default}, ""},
		{"static record with ttl 0", map[string]any{"name": "a", "ttl": 0}, reflect.TypeFor[records.Static](),
			map[string]any{"name": "a", "ttl": 0}, ""},
		{"text unmarshaler", "10.0.0.1", reflect.TypeFor[netip.Addr](), netip.MustParseAddr("10.0.0.1"), ""},
		{"text unmarshaler error", "10.0.0.300", reflect.TypeFor[netip.Addr](), nil, `ParseAddr("10.0.0.300"): IPv4 field has value >255`},
		{"text unmarshaler needs a string", 10, reflect.TypeFor[netip.Addr](), nil, "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convertHook(reflect.TypeOf(tt.in), tt.typ, tt.in)
			if tt.err != "" {
				var ce *convError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tt.err, ce.msg)
				assert.Equal(t, tt.in, ce.value)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// What koanf's unmarshalling does without convertHook and the schema, and why they stay: mapstructure's weak
// typing accepts values a configuration must reject, and its unknown-key error names neither the value, the
// line nor the keys that would have been valid.
func TestMapstructureAlone(t *testing.T) {
	type section struct {
		Port    uint16        `koanf:"port"`
		TTL     uint32        `koanf:"ttl"`
		Size    int           `koanf:"size"`
		On      bool          `koanf:"on"`
		Timeout time.Duration `koanf:"timeout"`
	}
	tests := []struct {
		name string
		in   map[string]any
		got  section // what weak decoding makes of it, silently
	}{
		{"uint16 overflow wraps", map[string]any{"port": 70000}, section{Port: 4464}},
		{"negative uint wraps", map[string]any{"ttl": -1}, section{TTL: 4294967295}},
		{"fraction truncated", map[string]any{"size": 53.5}, section{Size: 53}},
		{"int as bool", map[string]any{"on": 1}, section{On: true}},
		{"bare number as nanoseconds", map[string]any{"timeout": 5}, section{Timeout: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := koanf.New(".")
			require.NoError(t, k.Load(confmap.Provider(tt.in, "."), nil))
			var got section
			require.NoError(t, k.UnmarshalWithConf("", &got, koanf.UnmarshalConf{Tag: "koanf",
				DecoderConfig: &mapstructure.DecoderConfig{WeaklyTypedInput: true, ErrorUnused: true}}))
			assert.Equal(t, tt.got, got)
		})
	}
	k := koanf.New(".")
	require.NoError(t, k.Load(confmap.Provider(map[string]any{"dns.prot": 54}, "."), nil))
	var cfg struct {
		DNS section `koanf:"dns"`
	}
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{ErrorUnused: true}})
	assert.ErrorContains(t, err, "'dns' has invalid keys: prot")
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
