package docker

import (
	"strings"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/status"
)

// servedContainer is what Explain knows of a container whose records are served. Its slices are the target's,
// which the loop never modifies in place once built.
type servedContainer struct {
	name          string
	names, labels []string
}

// Reporter is the producer as the operator's window sees it: its Status as docker_monitor, and Explain.
func Reporter(p *Producer) status.Reporter {
	return status.Reporter{Name: moduleName, Status: func() any { return p.Status() }, Explain: p.Explain}
}

// served records, for Explain, what the loop just published for c: its names and labels while it has records,
// nothing once they are removed.
func (p *Producer) served(c *container) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(c.records) == 0 {
		delete(p.explain, c.id)
		return
	}
	p.explain[c.id] = servedContainer{name: c.name, names: c.target.names, labels: c.target.labels}
}

// Explain tells why source, a container of this producer ("docker:<id>"), holds records at name: the container's
// name and ID, and the label (key=value) that named name. A container no longer served, or one whose labels no
// longer name it, is still named without a label. It returns nil for another module's source or a name that is
// not a valid DNS name.
func (p *Producer) Explain(source, name string) []status.Provenance {
	id, ok := strings.CutPrefix(source, SourcePrefix)
	if !ok || id == "" {
		return nil
	}
	want, err := dnsname.Canonical(name)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	c, known := p.explain[id]
	p.mu.Unlock()
	pv := status.Provenance{Kind: "container", Container: c.name, ContainerID: id}
	if known {
		for i, n := range c.names {
			if n == want {
				pv.Label = c.labels[i]
				break
			}
		}
	}
	return []status.Provenance{pv}
}
