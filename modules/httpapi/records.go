package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// Record is one record of /dns/records: joyride-python's hostname, ip_address and ttl, then what Joyride adds.
// It is exported for clients of the API (`joyride records`), so that the wire shape is written once.
type Record struct {
	Hostname string `json:"hostname"` // without the trailing dot, as joyride-python had it
	// IPAddress is the value of an A or AAAA record; joyride-python had only those, so for the other types it is
	// the value as well, rather than a field that a script reads going missing.
	IPAddress  string    `json:"ip_address"`
	TTL        uint32    `json:"ttl"`
	Type       string    `json:"type"`
	Value      string    `json:"value"`
	Source     string    `json:"source"`
	Node       string    `json:"node"` // the owning node's ID; "" for this node
	SetAt      time.Time `json:"set_at"`
	AgeSeconds int64     `json:"age_seconds"`
}

// nodeOf returns the ID of the node that owns source: the peer's for "node:<id>/…", "" for this node's.
func nodeOf(source string) string {
	rest, ok := strings.CutPrefix(source, events.PeerPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func toRecordJSON(r dnsstore.Record, now time.Time) Record {
	return Record{
		Hostname: strings.TrimSuffix(r.Name(), "."), IPAddress: r.Value(), TTL: r.TTL(),
		Type: dns.TypeToString[r.Type()], Value: r.Value(), Source: r.Source(), Node: nodeOf(r.Source()),
		SetAt: r.SetAt(), AgeSeconds: int64(max(now.Sub(r.SetAt()), 0) / time.Second),
	}
}

// serveRecords is joyride-python's /dns/records: every record of every source, filtered by name (a
// case-insensitive substring), source (a substring) and node (an owning node's ID, "" for this node's).
func (s *Server) serveRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, source := strings.ToLower(q.Get("name")), q.Get("source")
	node, byNode := q.Get("node"), q.Has("node")
	now := time.Now()
	out := []Record{}
	for _, rec := range s.store.Snapshot().Records() {
		switch {
		case name != "" && !strings.Contains(rec.Name(), name),
			source != "" && !strings.Contains(rec.Source(), source),
			byNode && nodeOf(rec.Source()) != node:
			continue
		}
		out = append(out, toRecordJSON(rec, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "total_records": len(out), "records": out})
}

// Explanation is /dns/records/{name}'s answer, exported for clients of the API (`joyride explain`).
type Explanation struct {
	Status string `json:"status"`
	Name   string `json:"name"`
	// Owner is the wildcard whose records answer Name, when only a wildcard does.
	Owner         string      `json:"owner,omitempty"`
	Records       []Explained `json:"records"`
	Nodes         []string    `json:"nodes"`
	MultipleNodes bool        `json:"multiple_nodes"`
}

// Explained is one record of /dns/records/{name}, with why it exists.
type Explained struct {
	Type       string              `json:"type"`
	Value      string              `json:"value"`
	TTL        uint32              `json:"ttl"`
	Source     string              `json:"source"`
	Node       string              `json:"node"`
	SetAt      time.Time           `json:"set_at"`
	Provenance []status.Provenance `json:"provenance"`
	LastEvent  *EventRef           `json:"last_event"` // null when the bus history no longer holds one
}

// EventRef names an event: enough to find it in /events and follow its correlation ID.
type EventRef struct {
	ID            string    `json:"id"`
	CorrelationID string    `json:"correlation_id"`
	Family        string    `json:"family"`
	Kind          string    `json:"kind"`
	Timestamp     time.Time `json:"timestamp"`
	Source        string    `json:"source"`
}

// serveExplain explains one name: each of its records, where it comes from (every Reporter's Explain), the last
// event that touched it, and whether several nodes publish the name. A name that only a wildcard answers is
// explained by the wildcard's records ("owner").
//
// Each source at the name is explained once, however many records it has there: a round-robin name on 2,000 lines
// of a hosts file is one read of the file, not 2,000. A record gets the entries that give its value and those
// that give none (the whole source's, as a container's label), so that a line explains only its own record.
func (s *Server) serveExplain(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("name")
	name, err := dnsname.Canonical(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid name: "+err.Error())
		return
	}
	snap := s.store.Snapshot()
	owner := name
	if m := snap.Lookup(name); m.Kind == dnsstore.Wildcard {
		owner = m.Owner
	}
	var recs []dnsstore.Record
	for _, rec := range snap.Records() {
		if rec.Name() == owner {
			recs = append(recs, rec)
		}
	}
	if len(recs) == 0 {
		writeError(w, http.StatusNotFound, "no records for "+strings.TrimSuffix(name, "."))
		return
	}
	history := s.bus.History(events.Filter{})
	out := make([]Explained, 0, len(recs))
	var nodes []string
	bySource := map[string][]status.Provenance{}
	for _, rec := range recs {
		src := rec.Source()
		e := Explained{
			Type: dns.TypeToString[rec.Type()], Value: rec.Value(), TTL: rec.TTL(), Source: src, Node: nodeOf(src),
			SetAt: rec.SetAt(), Provenance: []status.Provenance{}, LastEvent: lastEvent(history, rec),
		}
		prov, ok := bySource[src]
		if !ok {
			for _, n := range s.names {
				if explain := s.reporters[n].Explain; explain != nil {
					prov = append(prov, explain(src, owner)...)
				}
			}
			bySource[src] = prov
		}
		for _, pv := range prov {
			if pv.Value == "" || pv.Value == rec.Value() {
				e.Provenance = append(e.Provenance, pv)
			}
		}
		out = append(out, e)
		nodes = append(nodes, e.Node)
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	body := Explanation{Status: "success", Name: strings.TrimSuffix(name, "."), Records: out, Nodes: nodes,
		MultipleNodes: len(nodes) > 1}
	if owner != name {
		body.Owner = strings.TrimSuffix(owner, ".")
	}
	writeJSON(w, http.StatusOK, body)
}

// lastEvent finds, newest first in history, the event that last touched rec: the store's DNSEvent that added or
// updated this very record (its source, name, type and value: a sibling record's removal is not rec's), else the
// last event that carried or replaced its source's snapshot. Nil when history holds neither any more.
func lastEvent(history []events.Event, rec dnsstore.Record) *EventRef {
	source, typ := rec.Source(), dns.TypeToString[rec.Type()]
	var fallback events.Event
	for i := len(history) - 1; i >= 0; i-- {
		e := history[i]
		if d, ok := e.(*events.DNSEvent); ok && d.Owner == source {
			if d.Kind != events.DNSRecordRemoved && d.Record.Name == rec.Name() && d.Record.Type == typ &&
				d.Record.Value == rec.Value() {
				return refOf(e)
			}
			if d.Kind == events.DNSSourceReplaced && fallback == nil {
				fallback = e
			}
			continue
		}
		if sn, ok := e.(events.Snapshotter); ok && fallback == nil {
			if snap := sn.RecordSnapshot(); snap != nil && snap.Source == source {
				fallback = e
			}
		}
	}
	if fallback == nil {
		return nil
	}
	return refOf(fallback)
}

func refOf(e events.Event) *EventRef {
	m := e.Meta()
	return &EventRef{ID: m.ID, CorrelationID: m.CorrelationID, Family: string(e.Family()), Kind: string(e.EventKind()),
		Timestamp: m.Timestamp, Source: m.Source}
}
