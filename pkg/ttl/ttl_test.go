package ttl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/ttl"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		err  string
	}{
		{"0", 0, ""},
		{" 300 ", 300, ""},
		{"2147483647", ttl.Max, ""},
		{"2147483648", 0, "TTL 2147483648 is larger than 2147483647 (RFC 2181 section 8)"},
		{"3000000000", 0, "TTL 3000000000 is larger than 2147483647 (RFC 2181 section 8)"},
		{"4294967296", 0, `"4294967296" is not a TTL in seconds (0..2147483647)`},
		{"-1", 0, `"-1" is not a TTL in seconds (0..2147483647)`},
		{"1m", 0, `"1m" is not a TTL in seconds (0..2147483647)`},
		{"", 0, `"" is not a TTL in seconds (0..2147483647)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ttl.Parse(tt.in)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		v  uint32
		ok bool
	}{{0, true}, {ttl.Default, true}, {ttl.Max, true}, {ttl.Max + 1, false}, {1<<32 - 1, false}}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, ttl.Check(tt.v) == nil, "%d", tt.v)
	}
}
