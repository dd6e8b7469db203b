package traefikfile

import (
	"testing"

	"github.com/joyride-dns/joyride/pkg/traefikrule"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		syntax  traefikrule.Syntax
		allowed []string
		want    []string
		probs   []problem
		err     string
	}{
		{name: "empty file", yaml: ""},
		{name: "no routers", yaml: "http:\n  services:\n    nas:\n      loadBalancer:\n        servers:\n          - url: http://10.0.0.2/\n"},
		{name: "http and tcp routers", yaml: `
http:
  routers:
    nas:
      rule: "Host(` + "`nas.lab.test`" + `)"
      service: nas
    vm:
      rule: Host(` + "`vm.lab.test`" + `) || Host(` + "`VM2.lab.test`" + `)
tcp:
  routers:
    db:
      rule: "HostSNI(` + "`db.lab.test`" + `)"
    any:
      rule: "HostSNI(` + "`*`" + `)"
`, want: []string{"nas.lab.test.", "vm.lab.test.", "vm2.lab.test.", "db.lab.test."},
			probs: []problem{{Router: "tcp.any", Value: "*", Reason: "HostSNI skipped (catch-all): not guessed"}}},
		{name: "per-router v2 syntax", syntax: traefikrule.SyntaxV3, yaml: `
http:
  routers:
    old:
      rule: "Host(` + "`a.lab.test`, `b.lab.test`" + `)"
      ruleSyntax: v2
    new:
      rule: "Host(` + "`c.lab.test`, `d.lab.test`" + `)"
`, want: []string{"a.lab.test.", "b.lab.test."},
			probs: []problem{{Router: "http.new", Value: "Host(`c.lab.test`, `d.lab.test`)"}}},
		{name: "regexp, invalid and refused names", allowed: []string{"lab.test."}, yaml: `
http:
  routers:
    r:
      rule: "HostRegexp(` + "`.+`" + `) || Host(` + "`bad_!.lab.test`" + `) || Host(` + "`x.example.com`" + `) || Host(` + "`ok.lab.test`" + `)"
`, want: []string{"ok.lab.test."}, probs: []problem{
			{Router: "http.r", Value: ".+", Reason: "HostRegexp skipped (regular expression): not guessed"},
			{Router: "http.r", Value: "bad_!.lab.test"},
			{Router: "http.r", Value: "x.example.com", Reason: "outside the allowed domains [lab.test.]"},
		}},
		{name: "invalid yaml names the line", yaml: "http:\n  routers:\n    r:\n      rule: [unclosed\n", err: "line"},
		{name: "routers not a mapping", yaml: "http:\n  routers:\n    - rule: Host(`a`)\n", err: "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			syntax := tt.syntax
			if syntax == "" {
				syntax = traefikrule.SyntaxV3
			}
			allowed := tt.allowed
			if allowed == nil {
				allowed = []string{"."} // dnsname.AnyDomain
			}
			names, probs, err := parseFile([]byte(tt.yaml), syntax, allowed)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, names)
			require.Len(t, probs, len(tt.probs))
			for i, p := range tt.probs {
				assert.Equal(t, p.Router, probs[i].Router)
				assert.Equal(t, p.Value, probs[i].Value)
				if p.Reason != "" {
					assert.Equal(t, p.Reason, probs[i].Reason)
				}
			}
		})
	}
}
