// Package ttl holds Joyride's one rule for record TTLs: 60 seconds unless configured, and at most 2^31-1 seconds
// (RFC 2181 section 8: resolvers treat a larger TTL as zero). Configuration, the container-label parser, static
// records and the store all check a TTL here, so a value one of them accepts is never rejected further on.
package ttl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// Default is the TTL of records whose source sets none: hosts files, containers, Traefik routers and static
	// records.
	Default uint32 = 60
	// Max is the largest TTL RFC 2181 section 8 allows.
	Max uint32 = math.MaxInt32
)

// Check reports a TTL larger than Max.
func Check(v uint32) error {
	if v > Max {
		return fmt.Errorf("TTL %d is larger than %d (RFC 2181 section 8)", v, Max)
	}
	return nil
}

// Parse reads a TTL in seconds written as text (a container label): a decimal integer in 0..Max.
func Parse(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a TTL in seconds (0..%d)", s, Max)
	}
	if err := Check(uint32(v)); err != nil {
		return 0, err
	}
	return uint32(v), nil
}
