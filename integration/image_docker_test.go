package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageHostIP is HOSTIP inside the image's container, distinct from dockerHostIP so an answer cannot come from a
// joyride process another test started.
const imageHostIP = "10.0.0.98"

// TestDockerImage builds the Containerfile from a static binary, as `task image` does, and proves the image's
// joyride answers, from the host through a published port, for a labelled container it learned about through the
// mounted socket.
func TestDockerImage(t *testing.T) {
	requireDocker(t)
	socket := engineSocketPath(t)
	tag := joyrideImage(t)

	t.Run("image configuration", func(t *testing.T) {
		var cfg struct {
			User         string
			ExposedPorts map[string]struct{}
			Entrypoint   []string
			Cmd          []string
			Env          []string
		}
		require.NoError(t, json.Unmarshal([]byte(dockerCLI(t, "image", "inspect", "--format", "{{json .Config}}", tag)), &cfg))
		assert.Equal(t, "65532:65532", cfg.User, "non-root without /etc/passwd")
		assert.ElementsMatch(t, []string{"5353/udp", "5353/tcp", "5000/tcp"}, keys(cfg.ExposedPorts))
		assert.Equal(t, []string{"/joyride"}, cfg.Entrypoint)
		assert.Equal(t, []string{"run"}, cfg.Cmd)
		assert.Contains(t, cfg.Env, "HOSTS_DIRECTORY=/app/hosts")
		// The static binary runs in an empty image and carries the version it was built with.
		assert.Contains(t, dockerCLI(t, "run", "--rm", "--network", "none", "--label", testLabel+"="+runID, tag, "version"),
			"joyride "+imageVersion)
	})

	t.Run("answers DNS for a labelled container", func(t *testing.T) {
		name := "joyride-it-" + runID + "-image"
		t.Cleanup(func() {
			if t.Failed() {
				logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
				t.Logf("image container logs:\n%s", logs)
			}
			_, _ = dockerRun("rm", "-f", name)
		})
		args := []string{"run", "-d", "--name", name, "--label", testLabel + "=" + runID,
			"-v", socket + ":/var/run/docker.sock:ro", "-p", "127.0.0.1::5353/udp",
			"-e", "HOSTIP=" + imageHostIP, "-e", "JOYRIDE_DNS_ZONES=" + dockerZone}
		dockerCLI(t, append(append(args, socketAccess(t, socket)...), tag)...)
		addr := dockerCLI(t, "port", name, "5353/udp")
		require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), "published on loopback only: %q", addr)

		runContainer(t, "joyride.host.name="+dockerName("image"))
		// eventually only needs the address to query.
		image := &proc{udp: addr}
		image.eventually(t, "the labelled container through the image", qA(dockerName("image")), answersA(imageHostIP))
		image.eventually(t, "NXDOMAIN with the SOA for a missing name", qA(dockerName("image-missing")), nxdomain)
	})
}

// engineSocketPath is the engine's Unix socket, which the image's container mounts.
func engineSocketPath(t *testing.T) string {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		return "/var/run/docker.sock"
	}
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		t.Skipf("DOCKER_HOST=%s is not a Unix socket, which this test mounts into the image's container", host)
	}
	return path
}

// socketAccess gives the image's user 65532 the socket's group when the group may read and write it, as the
// Containerfile recommends; otherwise (a 0600 socket) the container must run as root.
func socketAccess(t *testing.T, socket string) []string {
	t.Helper()
	fi, err := os.Stat(socket)
	require.NoError(t, err)
	st, ok := fi.Sys().(*syscall.Stat_t)
	require.True(t, ok, "stat of %s", socket)
	if fi.Mode().Perm()&0o060 == 0o060 {
		return []string{"--group-add", strconv.FormatUint(uint64(st.Gid), 10)}
	}
	return []string{"--user", "0"}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// imageVersion is the version the test image's binary carries.
var imageVersion = "it-" + runID

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

// joyrideImage returns the tag of the Containerfile's image built from a static binary compiled here, as
// `task image` does: no base image is pulled. It is built once per test process, for every test that runs
// Joyride in a container, and removed when the package's tests end (removeJoyrideImage).
func joyrideImage(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() { imageErr = buildJoyrideImage() })
	require.NoError(t, imageErr, "building the joyride image")
	return imageTag
}

func buildJoyrideImage() error {
	dir, err := os.MkdirTemp("", "joyride-it-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := goBuildStatic(filepath.Join(dir, "joyride"), "../cmd/joyride", "-s -w -X main.version="+imageVersion); err != nil {
		return err
	}
	tag := "joyride-it:" + runID
	// No --label: the legacy builder would add a step, about a second; the tag is unique and removed at the end.
	if _, err := dockerRun("build", "-q", "-f", "../Containerfile", "-t", tag, dir); err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	imageTag = tag
	return nil
}

// removeJoyrideImage removes the image joyrideImage built, if it did.
func removeJoyrideImage() {
	if imageTag != "" {
		_, _ = dockerRun("image", "rm", "-f", imageTag)
	}
}
