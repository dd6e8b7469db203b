// Package dnsname holds the rules for the owner names Joyride serves: one canonical form (lower-case, trailing
// dot), the characters and lengths accepted, and the domains a producer may claim names in. The store and every
// producer share it, so a name a producer accepts is one the store accepts.
package dnsname

import (
	"fmt"
	"strings"
)

const (
	maxLabelLen = 63
	maxNameLen  = 253 // octets in presentation form without the final dot
)

// Canonical lower-cases name, adds the trailing dot and checks it against the rules Joyride accepts for an owner
// name: labels of 1..63 octets, at most 253 octets in all (without the final dot), only letters, digits, hyphens
// and underscores (service names such as "_sip._tcp"), no label starting or ending with '-', and "*" only as the
// entire first label (a wildcard owner). Errors name the value and the rule broken; callers add where it came from.
// It makes one pass over the bytes and allocates only when the name needs lower-casing or a trailing dot,
// because loading a large hosts file calls it once per line.
func Canonical(name string) (string, error) {
	s := strings.TrimSuffix(name, ".")
	if s == "" {
		return "", fmt.Errorf("name %q is empty", name)
	}
	if len(s) > maxNameLen {
		return "", fmt.Errorf("name %q is %d octets long (max %d)", name, len(s), maxNameLen)
	}
	upper := false
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			case c >= 'A' && c <= 'Z':
				upper = true
			case c == '*':
				// Checked with the whole label below.
			default:
				return "", fmt.Errorf("name %q: label %q has invalid character %q", name, labelAt(s, start), rune(c))
			}
			continue
		}
		label := s[start:i]
		switch {
		case label == "":
			return "", fmt.Errorf("name %q has an empty label", name)
		case len(label) > maxLabelLen:
			return "", fmt.Errorf("name %q: label %q is %d octets long (max %d)", name, label, len(label), maxLabelLen)
		case label == "*":
			if start != 0 {
				return "", fmt.Errorf("name %q: \"*\" is only allowed as the whole first label", name)
			}
		case strings.IndexByte(label, '*') >= 0:
			return "", fmt.Errorf("name %q: label %q: \"*\" is only allowed as the whole first label", name, label)
		case label[0] == '-':
			return "", fmt.Errorf("name %q: label %q starts with '-'", name, label)
		case label[len(label)-1] == '-':
			return "", fmt.Errorf("name %q: label %q ends with '-'", name, label)
		}
		start = i + 1
	}
	switch {
	case upper:
		// Lower-case and add the dot in one allocation.
		var b strings.Builder
		b.Grow(len(s) + 1)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
		b.WriteByte('.')
		return b.String(), nil
	case len(s) == len(name):
		return s + ".", nil
	}
	return name, nil
}

// labelAt returns the label of s that starts at offset start.
func labelAt(s string, start int) string {
	if i := strings.IndexByte(s[start:], '.'); i >= 0 {
		return s[start : start+i]
	}
	return s[start:]
}

// parentName returns the name one label up ("b.c." for "a.b.c.", "." for "c."), and false for the root or a
// name that is not canonical.
func Parent(name string) (string, bool) {
	if len(name) < 2 {
		return "", false
	}
	i := strings.IndexByte(name, '.')
	if i < 0 {
		return "", false
	}
	if i == len(name)-1 {
		return ".", true
	}
	return name[i+1:], true
}

// isWildcard reports whether name is a wildcard owner ("*.<parent>").
func IsWildcard(name string) bool {
	return len(name) >= 2 && name[0] == '*' && name[1] == '.'
}
