package traefikfile

import (
	"slices"

	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Reporter is the producer as the operator's window sees it: its Status, and Explain.
func Reporter(p *Producer) status.Reporter {
	return status.Reporter{Name: moduleName, Status: func() any { return p.Status() }, Explain: p.Explain}
}

// Explain tells why source, a file of this producer ("traefik:<path>"), holds records at name: every router whose
// rule names it, with the rule, as the file reads now, parsed as a load parses it. A file that cannot be read or
// parsed now, or whose routers no longer name it, is still named, without a router. It returns nil for another
// module's source, a file outside the watched directories, or a name that is not a valid DNS name.
func (p *Producer) Explain(source, name string) []status.Provenance {
	st := p.settings.Load()
	path, ok := dirwatch.File(source, SourcePrefix, st.dirs)
	if !ok {
		return nil
	}
	want, err := dnsname.Canonical(name)
	if err != nil {
		return nil
	}
	file := status.Provenance{Kind: "traefik", File: path}
	var out []status.Provenance
	if data, err := readFile(path); err == nil {
		_, _ = walkRouters(data, st.syntax, st.allowed, func(router, rule, host string) {
			pv := file
			pv.Router, pv.Rule = router, rule
			if host == want && !slices.Contains(out, pv) {
				out = append(out, pv)
			}
		})
	}
	if len(out) == 0 {
		return []status.Provenance{file}
	}
	return out
}
