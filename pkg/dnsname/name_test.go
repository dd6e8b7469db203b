package dnsname

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonical(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	label64 := strings.Repeat("a", 64)
	// Four labels of 63 octets joined by dots are 255 octets; trim to reach exactly 253 and 254.
	long := strings.Join([]string{label63, label63, label63, label63}, ".")
	name253, name254 := long[:253], long[:254]
	require.Len(t, name253, 253)

	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string // substring of the error; empty means no error
	}{
		{name: "adds trailing dot", in: "app.lab.test", want: "app.lab.test."},
		{name: "keeps trailing dot", in: "app.lab.test.", want: "app.lab.test."},
		{name: "lower-cases", in: "App.LAB.Test", want: "app.lab.test."},
		{name: "lower-cases with dot", in: "APP.lab.test.", want: "app.lab.test."},
		{name: "single label", in: "localhost", want: "localhost."},
		{name: "digits hyphens underscores", in: "_sip._tcp.web-1.lab.test", want: "_sip._tcp.web-1.lab.test."},
		{name: "all-digit label", in: "123.lab.test", want: "123.lab.test."},
		{name: "wildcard", in: "*.apps.lab.test", want: "*.apps.lab.test."},
		{name: "wildcard at root", in: "*", want: "*."},
		{name: "63-octet label", in: label63 + ".test", want: label63 + ".test."},
		{name: "253-octet name", in: name253, want: name253 + "."},
		{name: "253-octet name with dot", in: name253 + ".", want: name253 + "."},

		{name: "empty", in: "", wantErr: `name "" is empty`},
		{name: "root", in: ".", wantErr: `name "." is empty`},
		{name: "64-octet label", in: label64 + ".test", wantErr: `label "` + label64 + `" is 64 octets long (max 63)`},
		{name: "254-octet name", in: name254, wantErr: "is 254 octets long (max 253)"},
		{name: "empty label", in: "a..test", wantErr: `name "a..test" has an empty label`},
		{name: "leading dot", in: ".a.test", wantErr: "has an empty label"},
		{name: "two trailing dots", in: "a.test..", wantErr: "has an empty label"},
		{name: "space", in: "a b.test", wantErr: `label "a b" has invalid character ' '`},
		{name: "bang", in: "web!.test", wantErr: `name "web!.test": label "web!" has invalid character '!'`},
		{name: "non-ASCII", in: "café.test", wantErr: "has invalid character"},
		{name: "escaped dot", in: `a\.b.test`, wantErr: "has invalid character '\\\\'"},
		{name: "leading hyphen", in: "-web.test", wantErr: `label "-web" starts with '-'`},
		{name: "trailing hyphen", in: "web-.test", wantErr: `label "web-" ends with '-'`},
		{name: "wildcard not first", in: "a.*.test", wantErr: `"*" is only allowed as the whole first label`},
		{name: "wildcard inside label", in: "a*.test", wantErr: `label "a*": "*" is only allowed as the whole first label`},
		{name: "double wildcard", in: "*.*.test", wantErr: `"*" is only allowed as the whole first label`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := Canonical(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "a canonical name is its own canonical form")
		})
	}
}

func TestParentName(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"a.b.c.", "b.c.", true},
		{"c.", ".", true},
		{"*.c.", "c.", true},
		{".", "", false},
		{"", "", false},
		{"nodot", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Parent(tt.in)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
