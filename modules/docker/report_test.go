package docker

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events/eventstest"
	"github.com/joyride-dns/joyride/pkg/status"
	"github.com/joyride-dns/joyride/pkg/traefikrule"
)

func TestNamingLabels(t *testing.T) {
	lp := labelParser{keys: []string{"joyride.host.name", "coredns.host.name"}, allowed: dnsname.Domains{"."}, ttl: 60,
		traefik: true, exposedByDefault: true, syntax: traefikrule.SyntaxV3}
	tests := []struct {
		name   string
		labels map[string]string
		want   []string // per name, in order
	}{
		{name: "a list names each of its names",
			labels: map[string]string{"joyride.host.name": "a.lab.test, b.lab.test"},
			want:   []string{"joyride.host.name=a.lab.test, b.lab.test", "joyride.host.name=a.lab.test, b.lab.test"}},
		{name: "the first label that names a name is its label",
			labels: map[string]string{"joyride.host.name": "a.lab.test", "coredns.host.name": "a.lab.test,c.lab.test"},
			want:   []string{"joyride.host.name=a.lab.test", "coredns.host.name=a.lab.test,c.lab.test"}},
		{name: "a traefik router rule",
			labels: map[string]string{"traefik.http.routers.Web.rule": "Host(`w.lab.test`)"},
			want:   []string{"traefik.http.routers.Web.rule=Host(`w.lab.test`)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := lp.parse(tt.labels)
			assert.Equal(t, tt.want, got.labels)
		})
	}
}

func TestExplainServed(t *testing.T) {
	p, err := NewProducer(testConfig(), nil, eventstest.NewBus(t))
	require.NoError(t, err)
	lp := p.labels
	tg, _ := lp.parse(map[string]string{"joyride.host.name": name("web") + "," + name("www")})
	c := &container{id: "abc123", name: "web-1", target: tg, records: tg.records(hostAddrs{v4: p.hostIP})}
	p.served(c)
	gone := &container{id: "def456", name: "old", target: tg, records: tg.records(hostAddrs{v4: p.hostIP})}
	p.served(gone)
	gone.records = nil
	p.served(gone)

	label := "joyride.host.name=" + name("web") + "," + name("www")
	tests := []struct {
		name, source, lookup string
		want                 []status.Provenance
	}{
		{name: "the label that named it", source: SourcePrefix + "abc123", lookup: name("www"),
			want: []status.Provenance{{Kind: "container", Container: "web-1", ContainerID: "abc123", Label: label}}},
		{name: "case and trailing dot do not matter", source: SourcePrefix + "abc123", lookup: "WEB." + testDomain + ".",
			want: []status.Provenance{{Kind: "container", Container: "web-1", ContainerID: "abc123", Label: label}}},
		{name: "a name its labels do not have", source: SourcePrefix + "abc123", lookup: name("other"),
			want: []status.Provenance{{Kind: "container", Container: "web-1", ContainerID: "abc123"}}},
		{name: "a container no longer served", source: SourcePrefix + "def456", lookup: name("web"),
			want: []status.Provenance{{Kind: "container", ContainerID: "def456"}}},
		{name: "another module's source", source: "hosts:/app/hosts/lab", lookup: name("web")},
		{name: "not a name", source: SourcePrefix + "abc123", lookup: "bad name!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, p.Explain(tt.source, tt.lookup))
		})
	}
}

// TestExplainRealContainer asks a producer following a real engine to explain a running container's name.
func TestExplainRealContainer(t *testing.T) {
	cs := newContainers(t, testEngine(t))
	id, cname := cs.run(map[string]string{"joyride.host.name": name("explained")})
	h := newHarness(t, testConfig())
	h.requireResolves(name("explained"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, []status.Provenance{{Kind: "container", Container: cname, ContainerID: id,
			Label: "joyride.host.name=" + name("explained")}}, h.producer.Explain(SourcePrefix+id, name("explained")))
	}, waitFor, tick)

	r := Reporter(h.producer)
	assert.Equal(t, "docker", r.Name)
	b, err := json.Marshal(r.Status())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, true, got["running"], "joyride-python's docker_monitor.running")
}
