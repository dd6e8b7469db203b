package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "one value is every percentile", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "median of 100 is the 50th", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 100 is the 99th", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p99 of 50 is the largest", sorted: hundred[:50], p: 99, want: 50 * time.Millisecond},
		{name: "p100 is the largest", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "a tiny p is the smallest", sorted: hundred, p: 0.001, want: time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, percentile(tt.sorted, tt.p))
		})
	}
}
