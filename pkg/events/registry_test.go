package events

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryKindIsRegistered: a kind is declared once, as a constant in types.go, and builtinFamilies ties it to
// its family. A constant left out there would be rejected by every bus; this finds it by reading types.go.
func TestEveryKindIsRegistered(t *testing.T) {
	// The families whose events carry each kind type. ClusterKind is split between node and sync.
	familiesOf := map[string][]Family{
		"ContainerKind": {FamilyContainer},
		"FileKind":      {FamilyHosts, FamilyTraefikFile},
		"HostsKind":     {FamilyHosts},
		"ClusterKind":   {FamilyNode, FamilySync},
		"SystemKind":    {FamilySystem},
		"DNSKind":       {FamilyDNS},
		"ErrorKind":     {FamilyError},
		"HealthKind":    {FamilyHealth},
		"RetryKind":     {FamilyRetry},
	}
	reg := newRegistry()
	f, err := parser.ParseFile(token.NewFileSet(), "types.go", nil, 0)
	require.NoError(t, err)
	found := 0
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			typ, ok := vs.Type.(*ast.Ident)
			if !ok || !strings.HasSuffix(typ.Name, "Kind") {
				continue
			}
			for i, name := range vs.Names {
				value, err := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
				require.NoError(t, err)
				found++
				families, ok := familiesOf[typ.Name]
				if !assert.True(t, ok, "kind type %s: which families carry it? (add it to this test)", typ.Name) {
					continue
				}
				var registered []Family
				for _, fam := range families {
					if s, _ := reg.lookup(fam); s.has(Kind(value)) {
						registered = append(registered, fam)
					}
				}
				if typ.Name == "FileKind" {
					assert.Equal(t, families, registered, "%s is a kind of every file family", name.Name)
				} else {
					assert.NotEmpty(t, registered, "%s (%q) is in none of %v", name.Name, value, families)
				}
			}
		}
	}
	assert.Greater(t, found, 30, "the kind constants were found in types.go")
}
