// Package configcheck validates one module's Config by its `validate` tags and names each failure by its koanf
// key. The config package validates the whole configuration before any module is built; modules call Section
// as well so that an embedding application that builds a Config by hand gets the same clear error instead of,
// say, a panic from a zero ticker interval.
package configcheck

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

var validate = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return f.Tag.Get("koanf") })
	return v
})

// Section validates cfg, the configuration of the koanf section named section, returning an error such as
// `hosts: invalid config: hosts.mode: value inotify fails rule "oneof=auto notify poll"`.
func Section(section string, cfg any) error {
	err := validate().Struct(cfg)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	msgs := make([]string, len(verrs))
	for i, fe := range verrs {
		rule := fe.Tag()
		if fe.Param() != "" {
			rule += "=" + fe.Param()
		}
		key := fe.Namespace()
		if _, after, ok := strings.Cut(key, "."); ok {
			key = after // drop the struct's own name
		}
		msgs[i] = fmt.Sprintf("%s.%s: value %v fails rule %q", section, key, fe.Value(), rule)
	}
	return fmt.Errorf("%s: invalid config: %s", section, strings.Join(msgs, "; "))
}
