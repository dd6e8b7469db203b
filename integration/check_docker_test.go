package integration

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

// check reads the labels of the running containers as the producer would: a container FROM scratch with a good
// name and one outside the allowed domains gives an ok engine line, a FAIL line naming the container, the label
// and why, and exit 1.
func TestCheckDockerLabels(t *testing.T) {
	requireDocker(t)
	good, outside := dockerName("check-good"), "check-"+runID+".example.org"
	c := runContainer(t, "joyride.host.name="+good, "coredns.host.name="+outside)
	code, lines := checkLines(t, dockerEnv(), "--set", "modules.dns=false", "--set", "modules.hosts=false")
	assert.Equal(t, 1, code)
	hasLine(t, lines, `^ok +docker engine +\S+ answers \(API \d+\.\d+\)$`)
	hasLine(t, lines, `^FAIL +docker labels +container `+regexp.QuoteMeta(c.name)+` \(`+c.id[:12]+`\): coredns\.host\.name="`+
		regexp.QuoteMeta(outside)+`": outside the allowed domains \[docker\.test\.\]$`)
	hasLine(t, lines, `^ok +docker labels +\d+ running containers?, \d+ of them names? \d+ names? in docker\.test$`)
	for _, l := range lines {
		assert.NotContains(t, l, good, "a good name is no problem")
	}
}
