package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/miekg/dns"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
)

// What peers send, and the bounds a receiver holds them to. Everything is JSON behind a one-byte message type:
// compact enough for a packet with a few records, and a decoder that cannot be made to allocate much more than
// the message it reads (memberlist bounds a packet to its UDP buffer and a push/pull state to 20 MiB).
const (
	msgDelta  byte = 'd' // one source of one owner, new or changed: broadcast, and relayed by every node it is new to
	msgNotice byte = 'n' // an owner's change too large for a packet: pull the owner's state
	msgState  byte = 's' // the full state, for push/pull

	// maxBroadcast is the largest delta sent as a broadcast. memberlist's UDP buffer is 1,400 octets and
	// encryption adds some 30; the rest is memberlist's framing and a compound message's headers.
	maxBroadcast = 1200

	maxNodeID         = 128
	maxOwners         = 4096
	maxSourcesPerNode = 100_000
	maxRecordsPerSrc  = 200_000
	maxSourceName     = 4096
)

// sourceKinds are the kinds a node may share; a kind's store sources are "<kind>:…". A peer's source must be of
// one of them; it is filed in the receiver's store under "node:<owner>/", so a peer can never write a local source.
var sourceKinds = map[string]bool{"docker": true, "traefik": true, "hosts": true, "static": true}

// wireRecord is one record as its owner stored it, with the owner's set-at time (Unix milliseconds) for the
// newest policy.
type wireRecord struct {
	Name  string `json:"n"`
	Type  string `json:"t"`
	Value string `json:"v"`
	TTL   uint32 `json:"l"`
	SetAt int64  `json:"a,omitempty"`
}

// wireSource is one source of an owner at one of the owner's versions; Deleted is a tombstone.
type wireSource struct {
	Source  string       `json:"s"`
	Counter uint64       `json:"c"`
	Deleted bool         `json:"d,omitempty"`
	Records []wireRecord `json:"r,omitempty"`
}

// wireOwner is an owner's state, or part of it: a delta holds one source; a notice none; a full state every
// source the sender knows. Head is how far the sender's copy is complete (see ownerState).
type wireOwner struct {
	Node     string       `json:"o"`
	Epoch    uint64       `json:"e"`
	Head     uint64       `json:"h,omitempty"`
	Priority int          `json:"p,omitempty"`
	Sources  []wireSource `json:"s,omitempty"`
}

// wireState is a push/pull state: every owner the sender knows, itself included.
type wireState struct {
	Version int         `json:"v"`
	Owners  []wireOwner `json:"owners"`
}

// meta is a node's memberlist metadata: its own epoch and head (so that any node can tell it is behind and pull,
// memberlist carrying the metadata reliably where it does not carry user messages), its priority (which its
// peers file its records with) and its keys.
type meta struct {
	Epoch    uint64 `json:"e"`
	Head     uint64 `json:"h"`
	Priority int    `json:"p,omitempty"`
	// Leaving is set just before a graceful leave: memberlist does not tell a leave from a failure.
	Leaving bool `json:"l,omitempty"`
	// DNSPort is Config.DNSPort: where the node answers DNS, for /dns/cluster. Older nodes send none (0).
	DNSPort int `json:"d,omitempty"`
	// Keys are the IDs of the node's keys (keyID), the primary first: a key rotation waits for them (planKeys).
	Keys []string `json:"k,omitempty"`
}

func encode(kind byte, v any) []byte {
	var b bytes.Buffer
	b.WriteByte(kind)
	// Every value encoded here is made of strings, numbers and slices: Encode cannot fail.
	_ = json.NewEncoder(&b).Encode(v)
	return bytes.TrimRight(b.Bytes(), "\n")
}

// decodeMessage reads a delta or a notice and checks it (checkOwner).
func decodeMessage(b []byte) (byte, wireOwner, error) {
	var w wireOwner
	if len(b) == 0 {
		return 0, w, errors.New("empty message")
	}
	kind := b[0]
	if kind != msgDelta && kind != msgNotice {
		return 0, w, fmt.Errorf("unknown message type %#x", kind)
	}
	if err := strictJSON(b[1:], &w); err != nil {
		return 0, w, err
	}
	switch {
	case kind == msgDelta && len(w.Sources) != 1:
		return 0, w, fmt.Errorf("delta from %q holds %d sources, not one", w.Node, len(w.Sources))
	case kind == msgNotice && len(w.Sources) != 0:
		return 0, w, fmt.Errorf("notice from %q holds sources", w.Node)
	}
	return kind, w, checkOwner(&w)
}

// decodeState reads a push/pull state and checks every owner in it.
func decodeState(b []byte) (wireState, error) {
	var s wireState
	if len(b) == 0 || b[0] != msgState {
		return s, errors.New("not a state")
	}
	if err := strictJSON(b[1:], &s); err != nil {
		return s, err
	}
	if s.Version != 1 {
		return s, fmt.Errorf("state version %d, this node reads 1", s.Version)
	}
	if len(s.Owners) > maxOwners {
		return s, fmt.Errorf("state holds %d nodes, more than %d", len(s.Owners), maxOwners)
	}
	seen := make(map[string]struct{}, len(s.Owners))
	for i := range s.Owners {
		if err := checkOwner(&s.Owners[i]); err != nil {
			return s, err
		}
		if _, dup := seen[s.Owners[i].Node]; dup {
			return s, fmt.Errorf("state holds node %q twice", s.Owners[i].Node)
		}
		seen[s.Owners[i].Node] = struct{}{}
	}
	return s, nil
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("malformed: %w", err)
	}
	if d.More() {
		return errors.New("malformed: data after the message")
	}
	return nil
}

// checkOwner validates what an owner's state claims and canonicalises its records in place, so that every node
// holds, compares and relays the same bytes for the same version. A record NewRecord refuses makes the whole
// message invalid: its owner sent something no Joyride node produces.
func checkOwner(w *wireOwner) error {
	if err := checkNodeID(w.Node); err != nil {
		return err
	}
	if w.Epoch == 0 {
		return fmt.Errorf("node %q: epoch 0", w.Node)
	}
	if len(w.Sources) == 0 {
		w.Sources = nil // "s":[] and no "s" are the same state
	}
	if len(w.Sources) > maxSourcesPerNode {
		return fmt.Errorf("node %q: %d sources, more than %d", w.Node, len(w.Sources), maxSourcesPerNode)
	}
	seen := make(map[string]struct{}, len(w.Sources))
	for i := range w.Sources {
		s := &w.Sources[i]
		if err := checkSource(w.Node, s); err != nil {
			return err
		}
		if _, dup := seen[s.Source]; dup {
			return fmt.Errorf("node %q: source %q twice", w.Node, s.Source)
		}
		seen[s.Source] = struct{}{}
	}
	return nil
}

func checkNodeID(id string) error {
	if id == "" || len(id) > maxNodeID {
		return fmt.Errorf("node id %q: must be 1 to %d characters", id, maxNodeID)
	}
	for _, r := range id {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == '/' {
			return fmt.Errorf("node id %q: printable ASCII without '/' only", id)
		}
	}
	return nil
}

func checkSource(node string, s *wireSource) error {
	if len(s.Source) > maxSourceName || !shareable(s.Source) {
		return fmt.Errorf("node %q: source %q is not a source a node shares (docker:, traefik:, hosts:, static:)", node, clip(s.Source))
	}
	if s.Counter == 0 {
		return fmt.Errorf("node %q: source %q: version 0", node, s.Source)
	}
	if s.Deleted && len(s.Records) > 0 {
		return fmt.Errorf("node %q: source %q: deleted but holds records", node, s.Source)
	}
	if len(s.Records) > maxRecordsPerSrc {
		return fmt.Errorf("node %q: source %q: %d records, more than %d", node, s.Source, len(s.Records), maxRecordsPerSrc)
	}
	if len(s.Records) == 0 {
		s.Records = nil // "r":[] and no "r" are the same source, held and relayed alike
	}
	for i, r := range s.Records {
		rec, err := dnsstore.NewRecord(r.Name, r.Type, r.Value, r.TTL)
		if err != nil {
			return fmt.Errorf("node %q: source %q: record %d: %w", node, s.Source, i, err)
		}
		s.Records[i] = fromStore(rec, r.SetAt)
	}
	return nil
}

// shareable reports whether source is in the namespace of a kind nodes share.
func shareable(source string) bool {
	kind, rest, ok := strings.Cut(source, ":")
	return ok && sourceKinds[kind] && rest != ""
}

func fromStore(r dnsstore.Record, setAt int64) wireRecord {
	return wireRecord{Name: r.Name(), Type: dns.TypeToString[r.Type()], Value: r.Value(), TTL: r.TTL(), SetAt: setAt}
}

// clip shortens what a hostile message may make arbitrarily long before it is logged.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
