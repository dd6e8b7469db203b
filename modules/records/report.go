package records

import (
	"fmt"
	"strings"

	"github.com/joyride-dns/joyride/pkg/status"
)

// Status is what the HTTP API reports for the records handler.
type Status struct {
	StaticRecords int `json:"static_records"` // records of the configuration's `records:`
	Records       int `json:"records"`        // records in the store, from every source
	Sources       int `json:"sources"`        // sources in the store
}

// Status reports the handler's state; it is safe to call at any time (it reads a store snapshot).
func (h *Handler) Status() Status {
	snap := h.store.Snapshot()
	return Status{StaticRecords: len(h.static.Load().records), Records: snap.Len(), Sources: len(snap.Sources())}
}

// Reporter is the records handler as the operator's window sees it: its Status, and Explain for the static
// records.
func Reporter(h *Handler) status.Reporter {
	return status.Reporter{Name: "records", Status: func() any { return h.Status() }, Explain: h.Explain}
}

// Explain tells why the static records (StaticSource) hold records at name: each entry of the configuration's
// `records:` that has it, with its place there ("records[2]"), what it says, and its value as the store keeps it
// (the record's Value, so that each record is explained by its own entry). It returns nil for another source.
func (h *Handler) Explain(source, name string) []status.Provenance {
	if source != StaticSource {
		return nil
	}
	want := strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	static := h.static.Load()
	var out []status.Provenance
	for i, r := range static.records {
		if r.Name() != want {
			continue
		}
		s := static.config[i]
		out = append(out, status.Provenance{Kind: "static", Value: r.Value(),
			Text: fmt.Sprintf("records[%d]: %s %s %s ttl %d", i, s.Name, strings.ToUpper(s.Type), s.Value, r.TTL())})
	}
	return out
}
