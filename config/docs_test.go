package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// notConfiguration are variables the docs show that Joyride's configuration does not read, on purpose.
var notConfiguration = map[string]string{
	"DOCKER_HOST":                "read by the Docker client (docker.host wins over it)",
	"GOGC":                       "Go's runtime; cmd/joyride sets 25 when it is unset",
	"GOMEMLIMIT":                 "Go's runtime",
	"JOYRIDE_REQUIRE_DOCKER":     "the test suite's switch, not the service's",
	"JOYRIDE_REQUIRE_BROWSER":    "the test suite's switch, not the service's",
	"JOYRIDE_REQUIRE_FORWARDERS": "the test suite's switch, not the service's",
	"JOYRIDE_ARTIFACTS":          "where the browser tests write their screenshots",
	"JOYRIDE_SERVICE_HOST":       "injected by Kubernetes, skipped on purpose",
	"CGO_ENABLED":                "a build setting",
	"GOOS":                       "a build setting",
	"MSG_WAITFORONE":             "a recvmmsg flag benchmarks.md discusses, not a variable",
	// docker-socket-proxy's settings, from the compose example that puts it in front of the Docker socket.
	"CONTAINERS": "docker-socket-proxy's", "EVENTS": "docker-socket-proxy's", "PING": "docker-socket-proxy's",
	"POST": "docker-socket-proxy's", "VERSION": "docker-socket-proxy's",
}

var (
	// fence is a fenced code block; inside one, an environment variable is set as NAME=value (shell, .env,
	// docker run -e) or NAME: value (a compose environment mapping), possibly commented out.
	fence     = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	assigned  = regexp.MustCompile(`(?m)(?:^|[\s#-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(?:=|: )`)
	joyrideVa = regexp.MustCompile(`\b` + EnvPrefix + `[A-Z0-9_]*[A-Z0-9]\b`)
	// quoted is a variable named in running text: `NAME` or `NAME=value`, with at least one "_" so that DNS
	// terms (`NXDOMAIN`, `AAAA`) are not taken for variables.
	quoted = regexp.MustCompile("`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`")
)

// documentedVariables finds the environment variables README.md and docs/*.md use: every JOYRIDE_ name, every
// name set in a code block, and every NAME_WITH_UNDERSCORES quoted in the text.
func documentedVariables(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, filepath.Join("..", "README.md"))
	found := map[string][]string{}
	add := func(name, file string) {
		if !slices.Contains(found[name], file) {
			found[name] = append(found[name], file)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		rel, _ := filepath.Rel("..", f)
		for _, m := range joyrideVa.FindAllString(string(data), -1) {
			add(m, rel)
		}
		for _, m := range quoted.FindAllStringSubmatch(string(data), -1) {
			add(m[1], rel)
		}
		for _, block := range fence.FindAllStringSubmatch(string(data), -1) {
			for _, m := range assigned.FindAllStringSubmatch(block[1], -1) {
				add(m[1], rel)
			}
		}
	}
	return found
}

// reads reports whether Load takes name from the environment: a key's source names it, or an error does.
func reads(name string) bool {
	if name == envProfile || name == envFile {
		return true
	}
	r, err := Load(Options{Env: []string{name + "=x"}})
	if err != nil {
		var errs Errors
		errors.As(err, &errs)
		for _, e := range errs {
			if e.Source.Layer == LayerEnv && e.Source.Name == name {
				return true
			}
		}
		return false
	}
	for _, s := range r.Sources {
		if s.Layer == LayerEnv && s.Name == name {
			return true
		}
	}
	return false
}

// Every variable the documentation tells users to set is one the configuration reads: HOSTIP6 in the compose
// example was once silently ignored, and AAAA records never appeared.
func TestDocumentedVariablesAreRead(t *testing.T) {
	found := documentedVariables(t)
	require.Contains(t, found, "HOSTIP", "the scan finds the variables of the compose examples")
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if why, ok := notConfiguration[name]; ok {
				// Read elsewhere (why says where); the list must not hide a variable the configuration reads.
				assert.False(t, reads(name), "%s is listed as not configuration (%s) but the configuration reads it", name, why)
				return
			}
			assert.True(t, reads(name), "%s is used in %s but the configuration does not read it",
				name, strings.Join(found[name], ", "))
		})
	}
}

// Every cluster key has its row in configuration.md's Cluster table: the section is a module's whole Config, so
// a key added there must not go undocumented.
func TestClusterKeysDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	require.NoError(t, err)
	for _, n := range schema.child("cluster").children {
		assert.Contains(t, string(data), "| `"+n.key+"` |", "docs/configuration.md has no row for %s", n.key)
	}
}
