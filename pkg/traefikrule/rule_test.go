package traefikrule

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		rule    string
		syntax  Syntax
		want    []string
		skipped []SkippedHost
		err     string
	}{
		{name: "v3 host", rule: "Host(`a.example.com`)", want: []string{"a.example.com"}},
		{name: "empty syntax is v3", rule: "Host(`a`, `b`)", syntax: "", err: "takes one value in v3 syntax"},
		{name: "v3 or", rule: "Host(`a`) || Host(`b`)", syntax: SyntaxV3, want: []string{"a", "b"}},
		{name: "v3 several values refused", rule: "Host(`a`, `b`)", syntax: SyntaxV3, err: "takes one value in v3 syntax"},
		{name: "v2 several values", rule: "Host(`a`, `b`)", syntax: SyntaxV2, want: []string{"a", "b"}},
		{name: "v2 HostHeader", rule: "HostHeader(`a`)", syntax: SyntaxV2, want: []string{"a"}},
		{name: "v3 HostHeader refused", rule: "HostHeader(`a`)", syntax: SyntaxV3, err: "HostHeader at offset 0 is v2 syntax"},
		{name: "host with path", rule: "Host(`a`) && PathPrefix(`/api`)", want: []string{"a"}},
		{name: "grouping", rule: "(Host(`a`) || Host(`b`)) && Method(`GET`)", want: []string{"a", "b"}},
		{name: "other matchers with several values are fine in v3", rule: "Header(`X-A`, `b`) && Host(`a`)", want: []string{"a"}},
		{name: "double-quoted string", rule: `Host("a.example.com")`, want: []string{"a.example.com"}},
		{name: "escaped double-quoted string", rule: `Host("a\u002eb")`, want: []string{"a.b"}},
		{name: "duplicates collapse", rule: "Host(`a`) || (Host(`a`) && Path(`/x`))", want: []string{"a"}},
		{name: "white space", rule: "  Host( `a` )\n||\tHost(`b`)  ", want: []string{"a", "b"}},
		{name: "tcp HostSNI", rule: "HostSNI(`db.example.com`)", want: []string{"db.example.com"}},
		{name: "v2 HostSNI several", rule: "HostSNI(`a`, `b`)", syntax: SyntaxV2, want: []string{"a", "b"}},
		{name: "HostSNI catch-all", rule: "HostSNI(`*`)",
			skipped: []SkippedHost{{Matcher: "HostSNI", Value: "*", Reason: "catch-all"}}},
		{name: "HostRegexp skipped", rule: "HostRegexp(`^.+\\.example\\.com$`) || Host(`a`)", want: []string{"a"},
			skipped: []SkippedHost{{Matcher: "HostRegexp", Value: `^.+\.example\.com$`, Reason: "regular expression"}}},
		{name: "HostSNIRegexp skipped", rule: "HostSNIRegexp(`^a.*`)",
			skipped: []SkippedHost{{Matcher: "HostSNIRegexp", Value: "^a.*", Reason: "regular expression"}}},
		{name: "v2 placeholder skipped", rule: "Host(`{sub:[a-z]+}.example.com`)", syntax: SyntaxV2,
			skipped: []SkippedHost{{Matcher: "Host", Value: "{sub:[a-z]+}.example.com", Reason: "template or placeholder"}}},
		{name: "go template skipped", rule: "Host(`{{ normalize .Name }}.example.com`)",
			skipped: []SkippedHost{{Matcher: "Host", Value: "{{ normalize .Name }}.example.com", Reason: "template or placeholder"}}},
		{name: "negated host skipped", rule: "Host(`a`) && !Host(`b`)", want: []string{"a"},
			skipped: []SkippedHost{{Matcher: "Host", Value: "b", Reason: "negated"}}},
		{name: "negated group", rule: "!(Host(`a`) || Host(`b`))",
			skipped: []SkippedHost{{Matcher: "Host", Value: "a", Reason: "negated"}, {Matcher: "Host", Value: "b", Reason: "negated"}}},
		{name: "double negation", rule: "!!Host(`a`)", want: []string{"a"}},
		{name: "empty host", rule: "Host(``)", skipped: []SkippedHost{{Matcher: "Host", Value: "", Reason: "empty"}}},
		{name: "no host matcher", rule: "PathPrefix(`/`)"},
		{name: "host without value", rule: "Host()", err: "Host at offset 0 has no value"},
		{name: "unknown syntax", rule: "Host(`a`)", syntax: "v4", err: `unknown rule syntax "v4"`},
		{name: "empty rule", rule: "", err: "expected a matcher"},
		{name: "unquoted value", rule: "Host(example)", err: "expected a quoted value at offset 5"},
		{name: "unquoted dotted value", rule: "Host(a.example.com)", err: "unexpected character '.' at offset 6"},
		{name: "unterminated backquote", rule: "Host(`a)", err: "unterminated backquoted string at offset 5"},
		{name: "unterminated double quote", rule: `Host("a)`, err: "unterminated string at offset 5"},
		{name: "single quotes", rule: "Host('a')", err: "unexpected character"},
		{name: "missing paren", rule: "Host(`a`", err: `expected ")" closing Host`},
		{name: "trailing garbage", rule: "Host(`a`) Host(`b`)", err: `unexpected matcher "Host" at offset 10`},
		{name: "dangling operator", rule: "Host(`a`) ||", err: "expected a matcher"},
		{name: "single ampersand", rule: "Host(`a`) & Host(`b`)", err: "unexpected character '&'"},
		{name: "deep nesting", rule: strings.Repeat("(", 500) + "Host(`a`)" + strings.Repeat(")", 500), err: "nested more than"},
		{name: "deep negation", rule: strings.Repeat("!", 500) + "Host(`a`)", err: "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			syntax := tt.syntax
			if syntax == "" && tt.name != "empty syntax is v3" {
				syntax = SyntaxV3
			}
			got, err := Parse(tt.rule, syntax)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				assert.Contains(t, err.Error(), "traefik rule", "the error names the rule")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Names)
			assert.Equal(t, tt.skipped, got.Skipped)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Host(`a`) || Host(`b`)", "!(HostSNI(`*`) && Path(\"/x\"))", "Host(`a`, `b`)", "(("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		for _, syntax := range []Syntax{SyntaxV2, SyntaxV3} {
			_, _ = Parse(rule, syntax) // must not panic
		}
	})
}
