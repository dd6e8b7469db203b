package reload

import (
	"context"
	"fmt"
)

// For builds the Target of a module whose section is a C: its Apply refuses a section of another type with an
// error naming both, and hands apply the typed section, so that each module writes only its typed Apply (which a
// program without fx calls directly).
func For[C any](module string, keys []string, apply func(context.Context, C) error) Target {
	return Target{Module: module, Keys: keys, Apply: func(ctx context.Context, section any) error {
		c, ok := section.(C)
		if !ok {
			return fmt.Errorf("%s: reload: the section is a %T, not a %T", module, section, *new(C))
		}
		return apply(ctx, c)
	}}
}
