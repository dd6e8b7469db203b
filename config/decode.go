package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"

	"github.com/joyride-dns/joyride/modules/records"
	"github.com/joyride-dns/joyride/pkg/ttl"
)

// listDefaults are the values a list element takes for the keys it leaves out: a static record without ttl gets
// the TTL every other source uses, not 0.
var listDefaults = map[reflect.Type]any{
	reflect.TypeFor[records.Static](): records.Static{TTL: ttl.Default},
}

// decode unmarshals the merged layers into a Config with koanf (mapstructure): unknown keys are errors, and the
// decode hook converts every value the way a user writes it. A value that does not fit is an error naming the
// key, the value and the layer it came from; the field keeps its zero value.
func (l *loader) decode() Config {
	var cfg Config
	err := l.k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:  convertHook,
		ErrorUnused: true,
		TagName:     "koanf",
	}})
	var errs Errors
	for _, de := range decodeErrors(err) {
		errs = append(errs, l.decodeError(de)...)
	}
	if err != nil && len(errs) == 0 {
		errs = Errors{{Rule: "decode", Msg: err.Error()}} // not about one field; never seen, but never hidden
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return strings.Compare(a.Key, b.Key) })
	l.errs = append(l.errs, errs...)
	return cfg
}

// decodeErrors flattens mapstructure's joined errors into the ones that name a field.
func decodeErrors(err error) []*mapstructure.DecodeError {
	var out []*mapstructure.DecodeError
	var walk func(error)
	walk = func(err error) {
		if de, ok := err.(*mapstructure.DecodeError); ok {
			if _, joined := errors.Unwrap(de).(interface{ Unwrap() []error }); !joined {
				out = append(out, de)
				return
			}
		}
		switch x := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// mapEntry is how mapstructure names a map entry ("modules[docker]"); koanf keys use a dot.
var mapEntry = regexp.MustCompile(`\[([^\]0-9][^\]]*)\]`)

const invalidKeys = "has invalid keys: "

// decodeError turns one of mapstructure's errors into Errors that name the key, value, source and rule.
func (l *loader) decodeError(de *mapstructure.DecodeError) Errors {
	name := mapEntry.ReplaceAllString(de.Name(), ".$1")
	inner := errors.Unwrap(de)
	if names, ok := strings.CutPrefix(inner.Error(), invalidKeys); ok {
		// ErrorUnused: mapstructure names the keys but not their values, lines or what would have been valid.
		var out Errors
		for _, k := range strings.Split(names, ", ") {
			key := joinKey(name, k)
			value := ""
			if raw := lookup(l.k.Raw(), key); !isMapping(raw) {
				value = formatValue(key, raw)
			}
			out = append(out, &Error{Key: key, Value: value, Source: l.sourceOf(key), Rule: "unknown", Msg: l.root.hintAt(name)})
		}
		return out
	}
	l.badType[name] = true
	var ce *convError
	if !errors.As(inner, &ce) {
		ce = &convError{value: lookup(l.k.Raw(), name), msg: inner.Error()}
	}
	value := ""
	if !isMapping(ce.value) {
		value = formatValue(name, ce.value)
	}
	return Errors{{Key: name, Value: value, Source: l.sourceOf(name), Rule: "type", Msg: ce.msg}}
}

func isMapping(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// lookup finds a key ("dns.port", "records[1].ttl") in koanf's nested map.
func lookup(m map[string]any, key string) any {
	var cur any = m
	for part := range strings.SplitSeq(key, ".") {
		name, index, _ := strings.Cut(part, "[")
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[name]
		for index != "" {
			var i string
			i, index, _ = strings.Cut(index, "]")
			index = strings.TrimPrefix(index, "[")
			n, err := strconv.Atoi(i)
			list, ok := cur.([]any)
			if err != nil || !ok || n >= len(list) {
				return nil
			}
			cur = list[n]
		}
	}
	return cur
}

// convError is a value that does not fit its key.
type convError struct {
	value any
	msg   string
}

func (e *convError) Error() string { return e.msg }

// convertHook turns a value as a parser, the environment or a flag gives it into the field's type. It does what
// mapstructure's weak typing gets wrong for a configuration (TestMapstructureAlone): 70000 into a uint16 wraps
// to 4464, -1 into a uint32 becomes 4294967295, 53.5 into an int becomes 53, 1 into a bool becomes true, a bare 5
// into a duration becomes 5ns; and it reads one scalar as a list of one.
func convertHook(from, to reflect.Type, v any) (any, error) {
	fail := func(msg string) (any, error) { return nil, &convError{value: v, msg: msg} }
	if from == to {
		return v, nil
	}
	switch {
	case to == durationType:
		return convertDuration(v)
	case reflect.PointerTo(to).Implements(textUnmarshalerType):
		s, ok := v.(string)
		if !ok {
			return fail("must be a string")
		}
		out := reflect.New(to)
		if err := out.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return fail(err.Error())
		}
		return out.Elem().Interface(), nil
	}
	out := reflect.New(to).Elem()
	switch to.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, uint64:
			return fmt.Sprint(x), nil
		}
		return fail("must be a string (quote it)")
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
		return fail("must be true or false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := toInt(v)
		switch {
		case !ok:
			return fail("must be an integer")
		case out.OverflowInt(i):
			return fail("is out of range")
		}
		out.SetInt(i)
		return out.Interface(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := toInt(v)
		switch {
		case !ok:
			return fail("must be an integer")
		case i < 0:
			return fail("must not be negative")
		case out.OverflowUint(uint64(i)):
			return fail(fmt.Sprintf("must be at most %d", uint64(math.MaxUint64)>>(64-to.Bits())))
		}
		out.SetUint(uint64(i))
		return out.Interface(), nil
	case reflect.Slice:
		return convertList(v, to)
	case reflect.Map:
		if !isMapping(v) {
			return fail("must be a mapping")
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fail("must be a mapping")
		}
		return withDefaults(m, to), nil
	}
	return v, nil
}

func convertDuration(v any) (any, error) {
	const msg = "must be a duration such as 500ms, 15s or 2m"
	switch x := v.(type) {
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return d, nil
		}
	case int, int64, uint64, float64:
		// A bare number has no unit; only zero means the same whatever the unit.
		if i, ok := toInt(x); ok && i == 0 {
			return time.Duration(0), nil
		}
	}
	return nil, &convError{value: v, msg: msg}
}

// convertList accepts a list, or one scalar as a list of one (`directories: /srv/hosts`). Lists from the
// environment and flags arrive already split at commas. An empty list is nil, however it was written.
func convertList(v any, to reflect.Type) (any, error) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil, nil
		}
		return x, nil
	case []string:
		if len(x) == 0 {
			return nil, nil
		}
		return x, nil
	case map[string]any:
		return nil, &convError{value: v, msg: "must be a list"}
	}
	if to.Elem().Kind() == reflect.Struct {
		return nil, &convError{value: v, msg: "must be a list (set it in a configuration file)"}
	}
	return []any{v}, nil
}

// withDefaults fills the keys a list element leaves out from listDefaults.
func withDefaults(m map[string]any, to reflect.Type) map[string]any {
	def, ok := listDefaults[to]
	if !ok {
		return m
	}
	out := make(map[string]any, len(m)+1)
	dv := reflect.ValueOf(def)
	for _, f := range fieldsOf(to, "", nil) {
		if fv := dv.FieldByIndex(f.index); !fv.IsZero() {
			out[f.name] = fv.Interface()
		}
	}
	for k, v := range m {
		out[k] = v
	}
	return out
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
