package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

// serve starts goroutines and fx applications; every test must leave none behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGCPercent(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		want   int
		wantOK bool
	}{
		{name: "unset", env: []string{"HOME=/root", "GOMEMLIMIT=100MiB"}, want: defaultGCPercent, wantOK: true},
		{name: "set", env: []string{"GOGC=200"}},
		{name: "off", env: []string{"GOGC=off"}},
		{name: "empty value is the operator's too", env: []string{"GOGC="}},
		{name: "other variable", env: []string{"XGOGC=1"}, want: defaultGCPercent, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := gcPercent(tt.env)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
