package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/joyride-dns/joyride/pkg/events"
)

// batch is what one event gives the audit log: its record changes or its configuration changes, a line each.
// It holds the event's own slices, not copies: the handler hands a 100,000-change event to the writer in
// constant time, and the memory is the event's, already allocated.
type batch struct {
	meta events.Metadata
	// node owns the records: the peer a "node:<peer>/…" source belongs to, or "" for this node's own sources,
	// which the writer names (Config.Node, or the host's name, known once started).
	node    string
	source  string
	records []events.RecordChange
	// A configuration event: its kind, changes, and what it says of itself (why it was rejected).
	kind    events.SystemKind
	config  []events.ConfigChange
	message string
	err     string
	// n is the number of lines; fewer than the changes when the queue had no room for all.
	n int
}

// recordBatch is a source_replaced DNSEvent's lines: one per change.
func recordBatch(e *events.DNSEvent) *batch {
	changes := e.RecordChanges()
	b := &batch{meta: e.Metadata, source: e.Owner, records: changes, n: len(changes)}
	if rest, ok := strings.CutPrefix(e.Owner, events.PeerPrefix); ok {
		b.node, _, _ = strings.Cut(rest, "/")
	}
	return b
}

// configBatch is a configuration_changed or configuration_rejected SystemEvent's lines: one per changed key, or
// one for the event itself when it names none (a rejected file).
func configBatch(e *events.SystemEvent) *batch {
	return &batch{meta: e.Metadata, kind: e.Kind, config: e.Changes, message: e.Message, err: e.Error,
		n: max(1, len(e.Changes))}
}

// recordLine is one record change as the audit log writes it.
type recordLine struct {
	Time          time.Time      `json:"time"`
	Kind          events.DNSKind `json:"kind"`
	Name          string         `json:"name"`
	Type          string         `json:"type"`
	Value         string         `json:"value"`
	TTL           uint32         `json:"ttl"`
	Previous      *previous      `json:"previous,omitempty"`
	Source        string         `json:"source"`
	Node          string         `json:"node"`
	CorrelationID string         `json:"correlation_id"`
	EventID       string         `json:"event_id"`
}

// previous is what an updated record was: the same name and type, another value or TTL.
type previous struct {
	Value string `json:"value"`
	TTL   uint32 `json:"ttl"`
}

// configLine is one configuration change (or a rejected configuration) as the audit log writes it. Key, From
// and To are absent from a line about the event alone; From and To are present, if empty, for a key.
type configLine struct {
	Time          time.Time         `json:"time"`
	Kind          events.SystemKind `json:"kind"`
	Key           string            `json:"key,omitempty"`
	From          *string           `json:"from,omitempty"`
	To            *string           `json:"to,omitempty"`
	Restart       bool              `json:"restart,omitempty"`
	Failed        bool              `json:"failed,omitempty"`
	Inactive      bool              `json:"inactive,omitempty"`
	Error         string            `json:"error,omitempty"`
	Message       string            `json:"message,omitempty"`
	Node          string            `json:"node"`
	CorrelationID string            `json:"correlation_id"`
	EventID       string            `json:"event_id"`
}

// encoder turns a batch's lines into JSON, reusing one buffer.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false) // "<" in a TXT record stays readable: the log is read by people and grep, not browsers
	return e
}

// line encodes line i of b, ending in "\n"; local names this node. The bytes are valid until the next call.
func (e *encoder) line(b *batch, i int, local string) []byte {
	e.buf.Reset()
	at := b.meta.Timestamp.UTC()
	node := b.node
	if node == "" {
		node = local
	}
	var v any
	if b.records != nil {
		c := b.records[i]
		l := recordLine{Time: at, Kind: c.Kind, Name: c.Record.Name, Type: c.Record.Type, Value: c.Record.Value,
			TTL: c.Record.TTL, Source: b.source, Node: node, CorrelationID: b.meta.CorrelationID, EventID: b.meta.ID}
		if c.Previous != nil {
			l.Previous = &previous{Value: c.Previous.Value, TTL: c.Previous.TTL}
		}
		v = l
	} else {
		l := configLine{Time: at, Kind: b.kind, Error: b.err, Message: b.message, Node: node,
			CorrelationID: b.meta.CorrelationID, EventID: b.meta.ID}
		if i < len(b.config) {
			c := b.config[i]
			l.Key, l.From, l.To, l.Restart, l.Failed, l.Inactive = c.Key, &c.From, &c.To, c.Restart, c.Failed, c.Inactive
		}
		v = l
	}
	// The lines are plain structs of strings, numbers and a time: encoding cannot fail.
	_ = e.enc.Encode(v)
	return e.buf.Bytes()
}
