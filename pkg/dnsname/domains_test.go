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
		{name: "none is an error that says what to set",
			err: `traefikfile.allowed_domains is empty: set it to the domains names may be claimed in (usually the DNS zones), or to ["*"] to allow any name`},
		{name: "any, explicitly", domains: []string{"*"}, want: Domains{"."}},
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
		{"none allow nothing", nil, "evil.com.", false},
		{"any allows everything", Domains{"."}, "evil.com.", true},
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

func TestZone(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"Lab.Test", "lab.test.", ""},
		{"home.arpa.", "home.arpa.", ""},
		{"1.168.192.in-addr.arpa", "1.168.192.in-addr.arpa.", ""},
		{"*.lab.test", "", `zone "*.lab.test" is a wildcard`},
		{"10.0.0.1", "", `zone "10.0.0.1" is an IP address, not a domain name`},
		{"bad domain", "", `name "bad domain": label "bad domain" has invalid character ' '`},
		{"", "", `name "" is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Zone(tt.in)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
