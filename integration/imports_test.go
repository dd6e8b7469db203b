package integration

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modulePath is this repository's Go module path.
const modulePath = "github.com/joyride-dns/joyride"

// moduleRoles says what each package under modules/ is. A new module must be added here: the test fails for a
// module it does not know, so no module escapes the rules by being new.
var moduleRoles = map[string]string{
	"modules/docker":      "producer",
	"modules/hosts":       "producer",
	"modules/traefikfile": "producer",
	"modules/system":      "producer",
	"modules/records":     "handler",
	"modules/logging":     "handler",
	"modules/metrics":     "handler",
	"modules/health":      "handler",
	"modules/httpapi":     "handler",
	"modules/audit":       "handler",
	"modules/dnsserver":   "server",
	"modules/cluster":     "cluster",
}

// importRule is one rule of docs/architecture.md: a package of the importer's kind must not import the target.
type importRule struct {
	name    string
	applies func(from string) bool
	forbids func(from, imp string) bool
}

// under reports whether pkg is dir or below it.
func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// moduleOf returns the modules/<name> package pkg belongs to, or "".
func moduleOf(pkg string) string {
	if !under(pkg, "modules") {
		return ""
	}
	parts := strings.SplitN(pkg, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

func role(pkg string) string { return moduleRoles[moduleOf(pkg)] }

var importRules = []importRule{
	{
		name:    "modules meet on the bus: a module imports no other module",
		applies: func(from string) bool { return moduleOf(from) != "" },
		forbids: func(from, imp string) bool { return moduleOf(imp) != "" && moduleOf(imp) != moduleOf(from) },
	},
	{
		name:    "producers do not import the store",
		applies: func(from string) bool { return role(from) == "producer" },
		forbids: func(_, imp string) bool { return under(imp, "pkg/dnsstore") },
	},
	{
		// Both producer and handler: it reads the store and writes peers' records only through the bus.
		name:    "the cluster module imports the bus, the store and leaf packages under pkg/ only",
		applies: func(from string) bool { return role(from) == "cluster" },
		forbids: func(from, imp string) bool { return !under(imp, "pkg") && moduleOf(imp) != moduleOf(from) },
	},
	{
		name:    "the store knows nothing of the bus",
		applies: func(from string) bool { return under(from, "pkg/dnsstore") },
		forbids: func(_, imp string) bool { return under(imp, "pkg/events") },
	},
	{
		name:    "the bus knows nothing of the store",
		applies: func(from string) bool { return under(from, "pkg/events") },
		forbids: func(_, imp string) bool { return under(imp, "pkg/dnsstore") },
	},
	{
		name:    "nothing under pkg/ imports modules/, config/, cmd/ or integration/",
		applies: func(from string) bool { return under(from, "pkg") },
		forbids: func(_, imp string) bool {
			return under(imp, "modules") || under(imp, "config") || under(imp, "cmd") || under(imp, "integration")
		},
	},
	{
		name:    "nothing imports cmd/ or integration/",
		applies: func(string) bool { return true },
		forbids: func(_, imp string) bool { return under(imp, "cmd") || under(imp, "integration") },
	},
}

// violations checks one file's imports (paths relative to the module) against every rule.
func violations(file, from string, imports []string) []string {
	var out []string
	if moduleOf(from) != "" && role(from) == "" {
		out = append(out, fmt.Sprintf("%s: module %s has no role in moduleRoles (producer, handler, server, cluster)", file, moduleOf(from)))
	}
	for _, imp := range imports {
		for _, r := range importRules {
			if r.applies(from) && r.forbids(from, imp) {
				out = append(out, fmt.Sprintf("%s imports %s: %s", file, imp, r.name))
			}
		}
	}
	return out
}

// TestImportRules parses every Go file of the repository (tests included: a producer's tests assert on the
// events it publishes, not through the store) and checks its imports against the rules.
func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	var problems []string
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		var imports []string
		for _, s := range f.Imports {
			p, _ := strconv.Unquote(s.Path.Value)
			if local, ok := strings.CutPrefix(p, modulePath+"/"); ok {
				imports = append(imports, local)
			}
		}
		files++
		problems = append(problems, violations(rel, filepath.ToSlash(filepath.Dir(rel)), imports)...)
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 50, "the walk must reach the repository's Go files")
	assert.Empty(t, problems, "import rules broken (docs/architecture.md):\n%s", strings.Join(problems, "\n"))
}

// TestImportRulesCatch feeds each rule an import that breaks it, so that a rule that no longer matches anything
// fails here rather than passing silently.
func TestImportRulesCatch(t *testing.T) {
	tests := []struct {
		name, from, imp string
		want            string // a substring of the reported rule; empty means allowed
	}{
		{name: "producer imports the store", from: "modules/hosts", imp: "pkg/dnsstore", want: "do not import the store"},
		{name: "producer imports another producer", from: "modules/traefikfile", imp: "modules/docker", want: "no other module"},
		{name: "producer imports the server", from: "modules/docker", imp: "modules/dnsserver", want: "no other module"},
		{name: "producer imports a handler", from: "modules/hosts", imp: "modules/records", want: "no other module"},
		{name: "server imports a producer", from: "modules/dnsserver", imp: "modules/docker", want: "no other module"},
		{name: "handler imports the server", from: "modules/records", imp: "modules/dnsserver", want: "no other module"},
		{name: "store imports the bus", from: "pkg/dnsstore", imp: "pkg/events", want: "store knows nothing"},
		{name: "bus imports the store", from: "pkg/events/eventstest", imp: "pkg/dnsstore", want: "bus knows nothing"},
		{name: "pkg imports a module", from: "pkg/dnsname", imp: "modules/dnsserver", want: "nothing under pkg/"},
		{name: "pkg imports config", from: "pkg/events", imp: "config", want: "nothing under pkg/"},
		{name: "pkg imports cmd", from: "pkg/dnsstore", imp: "cmd/joyride", want: "nothing under pkg/"},
		{name: "unknown module", from: "modules/newthing", imp: "pkg/events", want: "has no role"},
		{name: "cluster imports a producer", from: "modules/cluster", imp: "modules/docker", want: "no other module"},
		{name: "cluster imports a handler", from: "modules/cluster/internal", imp: "modules/records", want: "cluster module imports"},
		{name: "cluster imports the server", from: "modules/cluster", imp: "modules/dnsserver", want: "cluster module imports"},
		{name: "cluster imports config", from: "modules/cluster", imp: "config", want: "cluster module imports"},
		{name: "cluster imports cmd", from: "modules/cluster", imp: "cmd/joyride", want: "cluster module imports"},
		{name: "cluster's tests import integration", from: "modules/cluster", imp: "integration", want: "cluster module imports"},

		{name: "producer imports the bus", from: "modules/docker", imp: "pkg/events"},
		{name: "producer imports a leaf", from: "modules/traefikfile", imp: "pkg/traefikrule"},
		{name: "handler imports the store", from: "modules/records", imp: "pkg/dnsstore"},
		{name: "server imports the store", from: "modules/dnsserver", imp: "pkg/dnsstore"},
		{name: "config imports a module", from: "config", imp: "modules/docker"},
		{name: "cluster imports the bus", from: "modules/cluster", imp: "pkg/events"},
		{name: "cluster imports the store", from: "modules/cluster", imp: "pkg/dnsstore"},
		{name: "cluster imports a leaf", from: "modules/cluster", imp: "pkg/dnsname"},
		{name: "cluster imports a test package", from: "modules/cluster", imp: "pkg/events/eventstest"},
		{name: "cluster imports its own sub-package", from: "modules/cluster", imp: "modules/cluster/internal/wire"},
		{name: "config imports the cluster module", from: "config", imp: "modules/cluster"},
		{name: "a module imports its own sub-package", from: "modules/dnsserver", imp: "modules/dnsserver/internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations("x.go", tt.from, []string{tt.imp})
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			require.NotEmpty(t, got)
			assert.True(t, slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tt.want) }), "%v", got)
			assert.Contains(t, got[0], "x.go", "a problem names the file")
		})
	}
}
