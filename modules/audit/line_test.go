package audit

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/pkg/events"
)

func TestLines(t *testing.T) {
	at := time.Date(2026, 3, 1, 4, 12, 7, 123456789, time.FixedZone("CET", 3600))
	meta := events.Metadata{ID: "ev-1", CorrelationID: "corr-1", Timestamp: at, Source: "records"}
	a := func(name, value string, ttl uint32) events.Record {
		return events.Record{Name: name, Type: "A", Value: value, TTL: ttl}
	}
	was := a("web.lab.test.", "10.0.0.1", 60)
	replaced := func(owner string, changes ...events.RecordChange) *batch {
		return recordBatch(&events.DNSEvent{Metadata: meta, Kind: events.DNSSourceReplaced, Owner: owner, Changes: changes})
	}
	tests := []struct {
		name string
		b    *batch
		want []string
	}{
		{"a record added to this node's source", replaced("hosts:/h/lab",
			events.RecordChange{Kind: events.DNSRecordAdded, Record: a("web.lab.test.", "10.0.0.1", 60)}),
			[]string{`{"time":"2026-03-01T03:12:07.123456789Z","kind":"record_added","name":"web.lab.test.","type":"A",` +
				`"value":"10.0.0.1","ttl":60,"source":"hosts:/h/lab","node":"here","correlation_id":"corr-1","event_id":"ev-1"}`}},
		{"an update says what the record was; a removal; in order", replaced("docker:abc",
			events.RecordChange{Kind: events.DNSRecordUpdated, Record: a("web.lab.test.", "10.0.0.2", 300), Previous: &was},
			events.RecordChange{Kind: events.DNSRecordRemoved, Record: events.Record{Name: "x.lab.test.", Type: "TXT", Value: `say "<hi>"`, TTL: 5}}),
			[]string{
				`{"time":"2026-03-01T03:12:07.123456789Z","kind":"record_updated","name":"web.lab.test.","type":"A",` +
					`"value":"10.0.0.2","ttl":300,"previous":{"value":"10.0.0.1","ttl":60},"source":"docker:abc","node":"here",` +
					`"correlation_id":"corr-1","event_id":"ev-1"}`,
				`{"time":"2026-03-01T03:12:07.123456789Z","kind":"record_removed","name":"x.lab.test.","type":"TXT",` +
					`"value":"say \"<hi>\"","ttl":5,"source":"docker:abc","node":"here","correlation_id":"corr-1","event_id":"ev-1"}`,
			}},
		{"a peer's record is owned by the peer", replaced("node:node-b/docker:abc",
			events.RecordChange{Kind: events.DNSRecordAdded, Record: a("web.lab.test.", "10.0.0.1", 60)}),
			[]string{`{"time":"2026-03-01T03:12:07.123456789Z","kind":"record_added","name":"web.lab.test.","type":"A",` +
				`"value":"10.0.0.1","ttl":60,"source":"node:node-b/docker:abc","node":"node-b","correlation_id":"corr-1","event_id":"ev-1"}`}},
		{"a configuration change: a line per key, an empty value kept", configBatch(&events.SystemEvent{Metadata: meta,
			Kind: events.ConfigurationChanged, Service: "joyride", Message: "reloaded", Changes: []events.ConfigChange{
				{Key: "dns.negative_ttl", From: "30", To: "60"},
				{Key: "dns.port", From: "5353", To: "53", Restart: true},
				{Key: "http.token", From: "", To: "******", Failed: true},
			}}),
			[]string{
				`{"time":"2026-03-01T03:12:07.123456789Z","kind":"configuration_changed","key":"dns.negative_ttl","from":"30","to":"60",` +
					`"message":"reloaded","node":"here","correlation_id":"corr-1","event_id":"ev-1"}`,
				`{"time":"2026-03-01T03:12:07.123456789Z","kind":"configuration_changed","key":"dns.port","from":"5353","to":"53",` +
					`"restart":true,"message":"reloaded","node":"here","correlation_id":"corr-1","event_id":"ev-1"}`,
				`{"time":"2026-03-01T03:12:07.123456789Z","kind":"configuration_changed","key":"http.token","from":"","to":"******",` +
					`"failed":true,"message":"reloaded","node":"here","correlation_id":"corr-1","event_id":"ev-1"}`,
			}},
		{"a rejected configuration without keys: one line with the reason", configBatch(&events.SystemEvent{Metadata: meta,
			Kind: events.ConfigurationRejected, Service: "joyride", Error: "config: dns.port = 70000 (file j.yaml:3): must be at most 65535"}),
			[]string{`{"time":"2026-03-01T03:12:07.123456789Z","kind":"configuration_rejected",` +
				`"error":"config: dns.port = 70000 (file j.yaml:3): must be at most 65535","node":"here","correlation_id":"corr-1","event_id":"ev-1"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, len(tt.want), tt.b.n, "lines in the batch")
			enc := newEncoder()
			for i, want := range tt.want {
				line := enc.line(tt.b, i, "here")
				assert.Equal(t, want+"\n", string(line))
				assert.True(t, json.Valid(line), "valid JSON")
			}
		})
	}
}
