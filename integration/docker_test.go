package integration

// Tests of the real joyride binary against the machine's container engine, driven with the docker command line
// as a user drives it: labelled containers of a tiny image FROM scratch (testdata/sleeper, compiled here), and
// DNS queries over UDP on loopback. They skip when no engine answers, unless JOYRIDE_REQUIRE_DOCKER is set
// (.ci/run sets it whenever `docker info` works), which makes a missing engine a failure.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnstest"
)

const (
	// dockerZone is the zone the Docker tests serve; container names live under it.
	dockerZone = "docker.test"
	// dockerHostIP is HOSTIP for the joyride processes these tests start: only data in answers.
	dockerHostIP = "10.0.0.99"
	// testLabel marks every container and image a run creates, so a human can find leftovers of a killed run.
	testLabel = "joyride.test"
)

// runID is unique per test process: container names and DNS names carry it, so runs sharing an engine never
// collide.
var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// dockerName is a DNS name under dockerZone that belongs to this run.
func dockerName(label string) string { return fmt.Sprintf("%s-%s.%s", label, runID, dockerZone) }

var (
	engineOnce sync.Once
	engineErr  error
)

// requireDocker skips the test when no engine answers the docker command line, or fails it when
// JOYRIDE_REQUIRE_DOCKER is set.
func requireDocker(t *testing.T) {
	t.Helper()
	engineOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			engineErr = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
	})
	if engineErr == nil {
		return
	}
	if os.Getenv("JOYRIDE_REQUIRE_DOCKER") != "" {
		t.Fatalf("JOYRIDE_REQUIRE_DOCKER is set but `docker version` reaches no engine: %v", engineErr)
	}
	t.Skipf("no Docker engine reachable (`docker version`: %v); set JOYRIDE_REQUIRE_DOCKER=1 to make this a failure",
		engineErr)
}

// dockerCLI runs the docker command line and returns its trimmed standard output; a failure fails the test.
func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerRun(args...)
	require.NoError(t, err, "docker %s", strings.Join(args, " "))
	return out
}

func dockerRun(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

var (
	sleeperOnce sync.Once
	sleeperTag  string
	sleeperErr  error
)

// sleeperImage returns the tag of an image FROM scratch holding testdata/sleeper. The tag is the binary's hash,
// so an unchanged binary reuses the image an earlier run built (it is 1.5 MB and labelled joyride.test=image).
func sleeperImage(t *testing.T) string {
	t.Helper()
	sleeperOnce.Do(func() { sleeperTag, sleeperErr = buildSleeperImage() })
	require.NoError(t, sleeperErr, "building the sleeper image")
	return sleeperTag
}

func buildSleeperImage() (string, error) {
	dir, err := os.MkdirTemp("", "joyride-it-sleeper-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := goBuildStatic(filepath.Join(dir, "sleeper"), "./testdata/sleeper", "-s -w"); err != nil {
		return "", err
	}
	bin, err := os.ReadFile(filepath.Join(dir, "sleeper"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	tag := "joyride-it-sleeper:" + hex.EncodeToString(sum[:6])
	if _, err := dockerRun("image", "inspect", tag); err == nil {
		return tag, nil
	}
	dockerfile := "FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	if _, err := dockerRun("build", "-q", "--label", testLabel+"=image", "-t", tag, dir); err != nil {
		return "", fmt.Errorf("docker build: %w", err)
	}
	return tag, nil
}

// goBuildStatic compiles pkg into out as a static Linux binary, for an image FROM scratch.
func goBuildStatic(out, pkg, ldflags string) error {
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

var containerSeq atomic.Int64

// container is a labelled test container.
type container struct{ id, name string }

// runContainer starts a container of the sleeper image with the given labels ("key=value") and this run's test
// label, without a network (start and stop are quicker); it is force-removed when the test ends.
func runContainer(t *testing.T, labels ...string) container {
	t.Helper()
	c := container{name: fmt.Sprintf("joyride-it-%s-%d", runID, containerSeq.Add(1))}
	args := []string{"run", "-d", "--network", "none", "--name", c.name, "--label", testLabel + "=" + runID}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	t.Cleanup(func() { _, _ = dockerRun("rm", "-f", c.name) })
	c.id = dockerCLI(t, append(args, sleeperImage(t))...)
	return c
}

// dockerEnv is the environment joyride needs to find the same engine as the docker command line.
func dockerEnv(extra ...string) []string {
	env := []string{"JOYRIDE_DNS_ZONES=" + dockerZone}
	if h, ok := os.LookupEnv("DOCKER_HOST"); ok {
		env = append(env, "DOCKER_HOST="+h)
	}
	return append(env, extra...)
}

// startDocker runs joyride's standalone profile (docker module on) on loopback with a hosts directory.
func startDocker(t *testing.T, hosts string, args ...string) *proc {
	t.Helper()
	return start(t, dockerEnv(), append([]string{"--profile", "standalone",
		"--set", "dns.bind_address=127.0.0.1", "--set", "dns.port=0", "--set", "hosts.directories=" + hosts,
		"--set", "docker.host_ip=" + dockerHostIP}, args...)...)
}

// answersA is true for a NOERROR reply whose answer is exactly one A record with address ip.
func answersA(ip string) func(*dns.Msg) bool {
	return func(r *dns.Msg) bool {
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			return false
		}
		a, ok := r.Answer[0].(*dns.A)
		return ok && a.A.String() == ip
	}
}

// nxdomain is true for NXDOMAIN carrying the docker zone's SOA, which downstream resolvers need to cache the
// negative answer only briefly.
func nxdomain(r *dns.Msg) bool {
	if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 || len(r.Ns) != 1 {
		return false
	}
	soa, ok := r.Ns[0].(*dns.SOA)
	return ok && soa.Hdr.Name == dockerZone+"."
}

func qA(name string) *dns.Msg { return dnstest.Query(dns.Fqdn(name), dns.TypeA) }

// labelIgnored waits for the docker module's warning about one label value of a container.
func labelIgnored(t *testing.T, p *proc, c container, value, reason string) {
	t.Helper()
	e := p.logs.wait(t, "a warning about "+value, 10*time.Second, func(e map[string]any) bool {
		return e["msg"] == "container label value ignored" && e["container"] == c.name && e["value"] == value
	})
	assert.Equal(t, "joyride.host.name", e["label"])
	assert.Contains(t, e["reason"], reason)
}

func TestDockerLabels(t *testing.T) {
	requireDocker(t)
	early := runContainer(t, "joyride.host.name="+dockerName("early"))
	hosts := t.TempDir()
	writeFile(t, filepath.Join(hosts, "static"), "10.0.0.7 "+dockerName("static")+"\n")
	p := startDocker(t, hosts)
	p.logs.wait(t, "the docker module to connect", 10*time.Second, func(e map[string]any) bool {
		return e["msg"] == "connected to the container engine"
	})

	t.Run("a container running before start resolves", func(t *testing.T) {
		p.eventually(t, early.name, qA(dockerName("early")), answersA(dockerHostIP))
		p.eventually(t, "the hosts file beside it", qA(dockerName("static")), answersA("10.0.0.7"))
	})

	t.Run("several names in one label appear together", func(t *testing.T) {
		runContainer(t, "joyride.host.name="+dockerName("multi-a")+","+dockerName("multi-b")+" "+dockerName("multi-c"))
		p.eventually(t, "the first name", qA(dockerName("multi-a")), answersA(dockerHostIP))
		// One container's records are one source replaced at once: no query sees the first name without the others.
		for _, n := range []string{"multi-b", "multi-c"} {
			r := p.query(t, "udp", qA(dockerName(n)))
			assert.True(t, answersA(dockerHostIP)(r), "%s right after the first name:\n%v", n, r)
		}
	})

	t.Run("stop gives NXDOMAIN with the SOA", func(t *testing.T) {
		c := runContainer(t, "joyride.host.name="+dockerName("stop"))
		p.eventually(t, "started", qA(dockerName("stop")), answersA(dockerHostIP))
		dockerCLI(t, "stop", "-t", "10", c.id)
		p.eventually(t, "stopped", qA(dockerName("stop")), nxdomain)
		dockerCLI(t, "start", c.id)
		p.eventually(t, "started again", qA(dockerName("stop")), answersA(dockerHostIP))
	})

	t.Run("pause and unpause", func(t *testing.T) {
		c := runContainer(t, "joyride.host.name="+dockerName("pause"))
		p.eventually(t, "started", qA(dockerName("pause")), answersA(dockerHostIP))
		dockerCLI(t, "pause", c.id)
		p.eventually(t, "paused", qA(dockerName("pause")), nxdomain)
		dockerCLI(t, "unpause", c.id)
		p.eventually(t, "unpaused", qA(dockerName("pause")), answersA(dockerHostIP))
	})

	t.Run("kill and rm -f", func(t *testing.T) {
		killed := runContainer(t, "joyride.host.name="+dockerName("kill"))
		removed := runContainer(t, "joyride.host.name="+dockerName("rm"))
		p.eventually(t, "both started", qA(dockerName("rm")), answersA(dockerHostIP))
		p.eventually(t, "both started", qA(dockerName("kill")), answersA(dockerHostIP))
		dockerCLI(t, "kill", killed.id)
		dockerCLI(t, "rm", "-f", removed.id)
		p.eventually(t, "killed", qA(dockerName("kill")), nxdomain)
		p.eventually(t, "removed while running", qA(dockerName("rm")), nxdomain)
	})

	t.Run("an invalid name is skipped and the valid one served", func(t *testing.T) {
		bad := "bad_!name." + dockerZone
		c := runContainer(t, "joyride.host.name="+bad+","+dockerName("valid"))
		p.eventually(t, "the valid name", qA(dockerName("valid")), answersA(dockerHostIP))
		labelIgnored(t, p, c, bad, "invalid character")
	})

	t.Run("a name outside the allowed domains is refused", func(t *testing.T) {
		outside := "takeover-" + runID + ".example.com"
		c := runContainer(t, "joyride.host.name="+outside+" "+dockerName("inside"))
		p.eventually(t, "the name inside the zone", qA(dockerName("inside")), answersA(dockerHostIP))
		labelIgnored(t, p, c, outside, "outside the allowed domains")
		r := p.query(t, "udp", qA(outside))
		assert.Equal(t, "REFUSED", dns.RcodeToString[r.Rcode])
		assert.Empty(t, r.Answer)
	})

	t.Run("coredns.host.name, joyride.host.ip and joyride.host.ttl", func(t *testing.T) {
		runContainer(t, "coredns.host.name="+dockerName("legacy"), "joyride.host.ip=10.0.0.5", "joyride.host.ttl=7")
		r := p.eventually(t, "the overridden address", qA(dockerName("legacy")), answersA("10.0.0.5"))
		assert.EqualValues(t, 7, r.Answer[0].Header().Ttl)
	})

	t.Run("two containers, one name: it stays while either runs", func(t *testing.T) {
		shared := dockerName("shared")
		first := runContainer(t, "joyride.host.name="+shared+","+dockerName("first"))
		second := runContainer(t, "joyride.host.name="+shared)
		p.eventually(t, "the first container's own name", qA(dockerName("first")), answersA(dockerHostIP))
		p.eventually(t, "the shared name", qA(shared), answersA(dockerHostIP))
		dockerCLI(t, "stop", "-t", "10", first.id)
		// The first container's own name is in the same source as its claim on the shared name, so once it is gone
		// the stop has been applied.
		p.eventually(t, "the first container's stop applied", qA(dockerName("first")), nxdomain)
		r := p.query(t, "udp", qA(shared))
		assert.True(t, answersA(dockerHostIP)(r), "the shared name while the second runs:\n%v", r)
		dockerCLI(t, "stop", "-t", "10", second.id)
		p.eventually(t, "both stopped", qA(shared), nxdomain)
	})

	p.stop(t)
}

func TestDockerEngineUnreachableAtStart(t *testing.T) {
	// No engine needed: joyride is pointed at a socket nobody listens on.
	dead := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	hosts := t.TempDir()
	writeFile(t, filepath.Join(hosts, "static"), "10.0.0.7 "+dockerName("without-engine")+"\n")
	p := startDocker(t, hosts, "--set", "docker.host="+dead)
	e := p.logs.wait(t, "the unreachable engine to be reported", 10*time.Second, func(e map[string]any) bool {
		return e["msg"] == "container engine unreachable; retrying with backoff"
	})
	assert.Equal(t, dead, e["endpoint"])
	p.eventually(t, "the hosts-file record", qA(dockerName("without-engine")), answersA("10.0.0.7"))
	r := p.query(t, "udp", qA(dockerName("missing")))
	assert.True(t, nxdomain(r), "a missing name is still NXDOMAIN:\n%v", r)
	p.stop(t)
}
