package reload

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type section struct{ TTL int }

func TestFor(t *testing.T) {
	tests := []struct {
		name    string
		section any
		applied []section
		err     string
	}{
		{name: "its own type", section: section{TTL: 5}, applied: []section{{TTL: 5}}},
		{name: "another type", section: 5, err: "mod: reload: the section is a int, not a reload.section"},
		{name: "nil", section: nil, err: "mod: reload: the section is a <nil>, not a reload.section"},
		{name: "a pointer to its type", section: &section{}, err: "the section is a *reload.section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var applied []section
			target := For("mod", []string{"mod.ttl"}, func(_ context.Context, s section) error {
				applied = append(applied, s)
				return nil
			})
			assert.Equal(t, "mod", target.Module)
			assert.Equal(t, []string{"mod.ttl"}, target.Keys)
			err := target.Apply(context.Background(), tt.section)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.applied, applied)
		})
	}
}
