package dnsname

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDomains(t *testing.T) {
	tests := []struct {
		name    string
		domains []string
		want    Domains
		err     string
	}{
		{name: "none", want: Domains{}},
		{name: "canonicalised", domains: []string{"Lab.Test", "example.com."}, want: Domains{"lab.test.", "example.com."}},
		{name: "an invalid one is named by its index", domains: []string{"ok.test", "bad domain"},
			err: "traefikfile.allowed_domains[1]: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDomains("traefikfile.allowed_domains", tt.domains)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDomainsAllows(t *testing.T) {
	lab := Domains{"lab.test.", "example.com."}
	tests := []struct {
		name    string
		domains Domains
		host    string
		want    bool
	}{
		{"none allow anything", nil, "evil.com.", true},
		{"the domain itself", lab, "lab.test.", true},
		{"below a domain", lab, "a.b.lab.test.", true},
		{"below the second domain", lab, "www.example.com.", true},
		{"a suffix that is not a label", lab, "notlab.test.", false},
		{"elsewhere", lab, "evil.com.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.domains.Allows(tt.host))
		})
	}
}
