package dnsname

import (
	"fmt"
	"strings"
)

// Domains are the canonical zones names may be claimed in; none means every name may be. They exist because
// whoever can start a container must not be able to take over an unrelated name. traefikfile restricts its
// routers' names the same way, with its own allowed_domains, so the two producers cannot disagree on what a
// domain covers.
type Domains []string

// ParseDomains canonicalises configured domains; key names the setting in errors ("docker.allowed_domains").
func ParseDomains(key string, domains []string) (Domains, error) {
	out := make(Domains, 0, len(domains))
	for i, d := range domains {
		c, err := Canonical(d)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Allows reports whether a canonical name is one of the domains or below one.
func (d Domains) Allows(name string) bool {
	if len(d) == 0 {
		return true
	}
	for _, z := range d {
		if name == z || strings.HasSuffix(name, "."+z) {
			return true
		}
	}
	return false
}
