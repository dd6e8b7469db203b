package dnsname

import (
	"fmt"
	"net/netip"
	"strings"
)

// AnyDomain is the allowed-domains entry that allows every name. It must be written explicitly: an empty list
// allows nothing, so a producer whose allowed domains were forgotten fails at start instead of letting whoever can
// start a container take over any name.
const AnyDomain = "*"

// root is AnyDomain canonicalised: every name is below the root.
const root = "."

// Domains are the canonical domains names may be claimed in. They exist because whoever can start a container
// (or write a Traefik file) must not be able to take over an unrelated name; docker and traefikfile share them,
// so the two producers cannot disagree on what a domain covers.
type Domains []string

// ParseDomains canonicalises configured domains; key names the setting in errors ("docker.allowed_domains").
// An empty list is an error that says what to set; AnyDomain ("*") allows every name.
func ParseDomains(key string, domains []string) (Domains, error) {
	if len(domains) == 0 {
		return nil, fmt.Errorf("%s is empty: set it to the domains names may be claimed in (usually the DNS zones), "+
			"or to [%q] to allow any name", key, AnyDomain)
	}
	out := make(Domains, 0, len(domains))
	for i, d := range domains {
		if d == AnyDomain {
			out = append(out, root)
			continue
		}
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
	for _, z := range d {
		if z == root || name == z || strings.HasSuffix(name, "."+z) {
			return true
		}
	}
	return false
}

// Zone canonicalises the name of a zone Joyride is authoritative for: a name Canonical accepts that is neither a
// wildcard nor an IP address. The configuration's check and the DNS server both use it, so a zone the
// configuration accepts is one the server serves.
func Zone(name string) (string, error) {
	c, err := Canonical(name)
	switch {
	case err != nil:
		return "", err
	case strings.HasPrefix(c, "*."):
		return "", fmt.Errorf("zone %q is a wildcard", name)
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(c, ".")); err == nil {
		return "", fmt.Errorf("zone %q is an IP address, not a domain name", name)
	}
	return c, nil
}
