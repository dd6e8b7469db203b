package events

import (
	"sync"
	"time"
)

// Family groups event structs; subscribers filter on it. Embedding applications may register their own.
type Family string

// Kind is what happened, within a family.
type Kind string

// The built-in families.
const (
	FamilyContainer Family = "container"
	FamilyHosts     Family = "hosts"
	// FamilyTraefikFile is the Traefik file-provider producer's: its FileEvents.
	FamilyTraefikFile Family = "traefikfile"
	FamilyNode        Family = "node"
	FamilySync        Family = "sync"
	FamilySystem      Family = "system"
	FamilyDNS         Family = "dns"
	FamilyError       Family = "error"
	FamilyHealth      Family = "health"
	// FamilyRetry is a failing source retried under the one retry policy (pkg/retry): its RetryEvents.
	FamilyRetry Family = "retry"
)

// Event is implemented by every event struct. Meta is promoted from the embedded Metadata.
type Event interface {
	Meta() *Metadata
	Family() Family
	EventKind() Kind
}

// Metadata is carried by every event. Publish fills ID, CorrelationID and Timestamp when they are empty, so
// producers only set Source (their module's name).
type Metadata struct {
	ID            string    `json:"id" validate:"required"`
	CorrelationID string    `json:"correlation_id" validate:"required"`
	Timestamp     time.Time `json:"timestamp" validate:"required"`
	Source        string    `json:"source" validate:"required"`
}

// Meta gives the bus and middleware access to the metadata of any event.
func (m *Metadata) Meta() *Metadata { return m }

// Record is a DNS record as producers describe it. Its content is validated and canonicalised by the record store
// when applied, not by the bus: validating 100,000 hosts lines twice would double the cost of a large reload.
type Record struct {
	Name  string `json:"name"`
	Type  string `json:"type"` // A, AAAA, CNAME, TXT or SRV
	Value string `json:"value"`
	TTL   uint32 `json:"ttl"`
	// SetAt is when the record's owner set it, for a record synced from a peer: the store keeps it, so that every
	// node weighs the record alike (see dnsstore.Policy). Zero for a local producer's records, which the store
	// stamps itself.
	SetAt time.Time `json:"set_at,omitzero"`
}

// RecordSnapshot is the whole record set of one source. Consumers replace the source's records with it, so a
// duplicated or replayed snapshot is harmless and an empty one removes the source.
type RecordSnapshot struct {
	Source  string   `json:"source" validate:"required"`
	Records []Record `json:"records"`
	// Node and Priority are the owner of a peer's snapshot (a SyncEvent's, whose Source is "node:<Node>/…") and
	// its rank under the priority policy; empty for this node's own sources.
	Node     string `json:"node,omitempty"`
	Priority int    `json:"priority,omitempty"`
}

// PeerPrefix starts the source of every record synced from a cluster peer: PeerSource(node, source).
const PeerPrefix = "node:"

// PeerSource is the store source under which a peer's own source is kept, "node:<node>/<source>"; with an empty
// source it is the prefix of all of that node's. The cluster module names peers' snapshots with it and the
// records handler checks them against it, so the two cannot disagree on the rule.
func PeerSource(node, source string) string { return PeerPrefix + node + "/" + source }

// Snapshotter is implemented by events that may carry a record snapshot (containers, files, sync, and an
// embedding application's own).
type Snapshotter interface {
	Event
	RecordSnapshot() *RecordSnapshot
	// WithoutSnapshot returns a copy of the event, of the same type, whose RecordSnapshot is nil; the event itself
	// is left as it is. The history keeps that copy instead of an event with a large snapshot. A type that embeds
	// another event must implement it itself: the promoted method would return the embedded type.
	WithoutSnapshot() Event
}

// ContainerKind is the kind of a ContainerEvent.
type ContainerKind string

// Container event kinds.
const (
	ContainerStarted    ContainerKind = "started"
	ContainerStopped    ContainerKind = "stopped"
	ContainerDiscovered ContainerKind = "discovered"
)

// ContainerEvent reports a container whose labels name DNS records. Started and discovered carry the container's
// records; stopped carries an empty snapshot.
type ContainerEvent struct {
	Metadata
	Kind          ContainerKind   `json:"kind"`
	ContainerID   string          `json:"container_id" validate:"required"`
	ContainerName string          `json:"container_name"`
	Names         []string        `json:"names"`
	Snapshot      *RecordSnapshot `json:"snapshot,omitempty"`
}

func (*ContainerEvent) Family() Family                    { return FamilyContainer }
func (e *ContainerEvent) EventKind() Kind                 { return Kind(e.Kind) }
func (e *ContainerEvent) RecordSnapshot() *RecordSnapshot { return e.Snapshot }
func (e *ContainerEvent) WithoutSnapshot() Event {
	c := *e
	c.Snapshot = nil
	return &c
}

// FileKind is the kind of a FileEvent.
type FileKind string

// File event kinds.
const (
	FileChanged      FileKind = "file_changed"
	FileCreated      FileKind = "file_created"
	FileDeleted      FileKind = "file_deleted"
	DirectoryScanned FileKind = "directory_scanned"
)

// FileEvent reports a watched file (or a scanned directory). File kinds carry the file's whole snapshot.
//
// Its family is its producer's, the module named by Source: FamilyHosts for hosts files, FamilyTraefikFile for
// Traefik's dynamic configuration, so that a subscriber to one never mistakes the other's files for its own. A
// producer of another name must register a family of that name with the file kinds.
type FileEvent struct {
	Metadata
	Kind     FileKind        `json:"kind"`
	Path     string          `json:"path" validate:"required"`
	Snapshot *RecordSnapshot `json:"snapshot,omitempty"`
	// BadLines counts lines that were skipped; each was logged with its file and line number.
	BadLines int `json:"bad_lines,omitempty"`
}

func (e *FileEvent) Family() Family                  { return Family(e.Source) }
func (e *FileEvent) EventKind() Kind                 { return Kind(e.Kind) }
func (e *FileEvent) RecordSnapshot() *RecordSnapshot { return e.Snapshot }
func (e *FileEvent) WithoutSnapshot() Event {
	c := *e
	c.Snapshot = nil
	return &c
}

// HostsKind is the kind of a HostsRecordEvent.
type HostsKind string

// Hosts record event kinds.
const (
	RecordAdded   HostsKind = "record_added"
	RecordUpdated HostsKind = "record_updated"
	RecordRemoved HostsKind = "record_removed"
)

// HostsRecordEvent reports one record of a hosts file that changed. It is informational: the FileEvent it is
// correlated with carries the state. The records handler publishes it (Source "records") from what applying
// the file's snapshot changed in the store; an update is a record that took the place of one with the same name
// and type.
type HostsRecordEvent struct {
	Metadata
	Kind   HostsKind `json:"kind"`
	Path   string    `json:"path" validate:"required"`
	Record Record    `json:"record"`
}

func (*HostsRecordEvent) Family() Family    { return FamilyHosts }
func (e *HostsRecordEvent) EventKind() Kind { return Kind(e.Kind) }

// ClusterKind is the kind of a NodeEvent or SyncEvent.
type ClusterKind string

// Cluster event kinds.
const (
	NodeDiscovered      ClusterKind = "node_discovered"
	NodeJoined          ClusterKind = "node_joined"
	NodeLeft            ClusterKind = "node_left"
	NodeFailed          ClusterKind = "node_failed"
	NodeSuspected       ClusterKind = "node_suspected"
	DNSRecordSynced     ClusterKind = "dns_record_synced"
	SyncForced          ClusterKind = "sync_forced"
	ClusterStateChanged ClusterKind = "cluster_state_changed"
)

// NodeEvent reports a change in cluster membership.
type NodeEvent struct {
	Metadata
	Kind    ClusterKind       `json:"kind"`
	NodeID  string            `json:"node_id" validate:"required"`
	Address string            `json:"address"`
	Labels  map[string]string `json:"metadata,omitempty"`
}

func (*NodeEvent) Family() Family    { return FamilyNode }
func (e *NodeEvent) EventKind() Kind { return Kind(e.Kind) }

// SyncEvent reports record synchronisation between nodes. dns_record_synced carries the remote node's records.
type SyncEvent struct {
	Metadata
	Kind     ClusterKind     `json:"kind"`
	NodeID   string          `json:"node_id"`
	Snapshot *RecordSnapshot `json:"snapshot,omitempty"`
	Message  string          `json:"message,omitempty"`
}

func (*SyncEvent) Family() Family                    { return FamilySync }
func (e *SyncEvent) EventKind() Kind                 { return Kind(e.Kind) }
func (e *SyncEvent) RecordSnapshot() *RecordSnapshot { return e.Snapshot }
func (e *SyncEvent) WithoutSnapshot() Event {
	c := *e
	c.Snapshot = nil
	return &c
}

// SystemKind is the kind of a SystemEvent.
type SystemKind string

// System event kinds.
const (
	ServiceStarting      SystemKind = "service_starting"
	ServiceStarted       SystemKind = "service_started"
	ServiceStopping      SystemKind = "service_stopping"
	ServiceStopped       SystemKind = "service_stopped"
	ServiceFailed        SystemKind = "service_failed"
	ConfigurationChanged SystemKind = "configuration_changed"
	// ConfigurationRejected says that a new configuration was not applied (invalid, or unreadable); Error says
	// why, as `joyride config validate` would, and the running configuration stays.
	ConfigurationRejected SystemKind = "configuration_rejected"
	HealthCheckFailed     SystemKind = "health_check_failed"
	HealthCheckRecovered  SystemKind = "health_check_recovered"
)

// SystemEvent reports the service's own lifecycle.
type SystemEvent struct {
	Metadata
	Kind    SystemKind `json:"kind"`
	Service string     `json:"service" validate:"required"`
	Message string     `json:"message,omitempty"`
	Error   string     `json:"error,omitempty"`
	// Changes are the keys a configuration_changed event is about, in key order.
	Changes []ConfigChange `json:"changes,omitempty"`
}

// ConfigChange is one configuration key whose value changed, its values as `joyride config print` shows them
// (a credential masked).
type ConfigChange struct {
	Key  string `json:"key"`
	From string `json:"from"`
	To   string `json:"to"`
	// Restart says that the key only takes effect at the next start: the node keeps running on From.
	Restart bool `json:"restart,omitempty"`
	// Failed says that the module could not apply the value: the node keeps running on From.
	Failed bool `json:"failed,omitempty"`
	// Inactive says that the value changes nothing now: its module is switched off, or it is back to the value the
	// node runs on.
	Inactive bool `json:"inactive,omitempty"`
}

func (*SystemEvent) Family() Family    { return FamilySystem }
func (e *SystemEvent) EventKind() Kind { return Kind(e.Kind) }

// DNSKind is the kind of a DNSEvent.
type DNSKind string

// DNS store event kinds.
const (
	DNSRecordAdded   DNSKind = "record_added"
	DNSRecordRemoved DNSKind = "record_removed"
	DNSRecordUpdated DNSKind = "record_updated"
	// DNSSourceReplaced says that a source's records changed, once per snapshot that changed any, however many
	// per-record events were left out: a consumer that keeps up with a source reads it from the store then
	// (the cluster module learns this way which of this node's sources to send to its peers). It has no Record.
	DNSSourceReplaced DNSKind = "source_replaced"
)

// DNSEvent reports a change the records handler made to the store.
type DNSEvent struct {
	Metadata
	Kind   DNSKind `json:"kind"`
	Owner  string  `json:"owner" validate:"required"` // the store source that owns the record
	Record Record  `json:"record"`                    // the zero Record for DNSSourceReplaced
	// Changes are, for DNSSourceReplaced, every change the snapshot made to the source, however many: the
	// per-record events are capped, and a consumer that must see each change (the audit log) reads them with
	// RecordChanges. Sorted by name and type. The history keeps the event without them when there are many
	// (ChangeCarrier). The records handler sets them with SetChanges instead, so that a list nobody reads is never
	// built (100,000 changes are about 12 MB): the list is for subscribers in the process, and what leaves it as
	// JSON (/events, the event stream, the log) shows the counts below.
	Changes []RecordChange `json:"changes,omitempty"`
	lazy    *lazyChanges
	// Added, Updated and Removed count Changes by kind, for DNSSourceReplaced; they stay when the history drops
	// Changes, so /events and the log can still say how much changed.
	Added   int `json:"added,omitempty"`
	Updated int `json:"updated,omitempty"`
	Removed int `json:"removed,omitempty"`
}

func (*DNSEvent) Family() Family    { return FamilyDNS }
func (e *DNSEvent) EventKind() Kind { return Kind(e.Kind) }
func (e *DNSEvent) WithoutChanges() Event {
	c := *e
	c.Changes, c.lazy = nil, nil
	return &c
}

// RecordChanges returns Changes, built by the function SetChanges gave on the first call when that is how they
// were set. It is safe for concurrent use: every subscriber gets the same list, built once.
func (e *DNSEvent) RecordChanges() []RecordChange {
	if e.lazy == nil {
		return e.Changes
	}
	e.lazy.once.Do(func() {
		e.lazy.list = e.lazy.build()
		e.lazy.build = nil
	})
	return e.lazy.list
}

// ChangeCount is the number of changes: Added, Updated and Removed when SetChanges set them, so that the history
// need not build the list to weigh it.
func (e *DNSEvent) ChangeCount() int {
	if e.lazy == nil {
		return len(e.Changes)
	}
	return e.Added + e.Updated + e.Removed
}

// SetChanges makes build the source of the event's changes, called the first time RecordChanges is, and never
// when no subscriber asks. build must not depend on state that changes after Publish, and must return
// Added+Updated+Removed changes, which the caller sets.
func (e *DNSEvent) SetChanges(build func() []RecordChange) { e.lazy = &lazyChanges{build: build} }

// lazyChanges is a change list built on first use (SetChanges).
type lazyChanges struct {
	once  sync.Once
	build func() []RecordChange
	list  []RecordChange
}

// RecordChange is one record a snapshot added, updated or removed, as a source_replaced DNSEvent lists them.
type RecordChange struct {
	Kind DNSKind `json:"kind"` // DNSRecordAdded, DNSRecordUpdated or DNSRecordRemoved
	// Record is the record as now stored, or as it was for a removal.
	Record Record `json:"record"`
	// Previous is, for an update, the record it replaced: one with the same name and type, whose value or TTL
	// differed (an address edited in place, a TTL changed). Nil otherwise.
	Previous *Record `json:"previous,omitempty"`
}

// ChangeCarrier is implemented by events that may carry a list of record changes (the records handler's
// source_replaced DNSEvent, an embedding application's own). Like a large snapshot (Snapshotter), a long list
// is only kept in the history as a copy of its event without it.
type ChangeCarrier interface {
	Event
	RecordChanges() []RecordChange
	// ChangeCount is len(RecordChanges()), known without building a list that is built on first use.
	ChangeCount() int
	// WithoutChanges returns a copy of the event, of the same type, whose RecordChanges is nil; the event itself is
	// left as it is. A type that embeds another event must implement it itself, as for WithoutSnapshot.
	WithoutChanges() Event
}

// ErrorKind is the kind of an ErrorEvent.
type ErrorKind string

// Error event kinds.
const (
	ErrorHandler ErrorKind = "handler_error" // a handler returned an error
	ErrorPanic   ErrorKind = "panic"         // a handler or the DNS server recovered a panic
	ErrorInput   ErrorKind = "bad_input"     // input was rejected (a record, a packet, a label)
)

// ErrorEvent reports an error consumed somewhere it could not be returned to a caller.
type ErrorEvent struct {
	Metadata
	Kind    ErrorKind `json:"kind"`
	Module  string    `json:"module" validate:"required"`
	Message string    `json:"message" validate:"required"`
	// EventID is the event being handled when the error happened, if any.
	EventID string `json:"event_id,omitempty"`
}

func (*ErrorEvent) Family() Family    { return FamilyError }
func (e *ErrorEvent) EventKind() Kind { return Kind(e.Kind) }

// HealthKind is the kind of a HealthEvent.
type HealthKind string

// Health event kinds.
const (
	Healthy   HealthKind = "healthy"
	Unhealthy HealthKind = "unhealthy"
)

// HealthEvent reports a component's health changing.
type HealthEvent struct {
	Metadata
	Kind      HealthKind `json:"kind"`
	Component string     `json:"component" validate:"required"`
	Message   string     `json:"message,omitempty"`
}

func (*HealthEvent) Family() Family    { return FamilyHealth }
func (e *HealthEvent) EventKind() Kind { return Kind(e.Kind) }

// RetryKind is the kind of a RetryEvent.
type RetryKind string

// Retry event kinds: an attempt that failed, and the circuit breaker's transitions (pkg/retry).
const (
	// AttemptFailed says that an attempt failed and the circuit stays closed: the next one is after Delay.
	AttemptFailed RetryKind = "attempt_failed"
	// CircuitOpened says that a failure opened the circuit (the last of Threshold in a row, or a failed probe):
	// the source is left alone for Delay, the open interval.
	CircuitOpened RetryKind = "circuit_opened"
	// CircuitHalfOpen says that the open interval is over and the probe is being made.
	CircuitHalfOpen RetryKind = "circuit_half_open"
	// Recovered says that an attempt worked after failures: the circuit is closed.
	Recovered RetryKind = "recovered"
)

// RetryEvent reports a source that keeps failing, retried under the one retry policy (pkg/retry): every failed
// attempt and every transition of its circuit breaker, so that the gaps between attempts can be read from the
// events. The module's health (a HealthEvent) says the same in one line while the circuit is open; its Status
// says when the next attempt is.
type RetryEvent struct {
	Metadata
	Kind RetryKind `json:"kind"`
	// Target is what is retried: the engine's endpoint, a directory, "seeds", the audit log's path.
	Target string `json:"target" validate:"required"`
	// From and Circuit are the breaker's state before and after the event: closed, open or half_open.
	From    string `json:"from" validate:"required"`
	Circuit string `json:"circuit" validate:"required"`
	// Failures counts the failed attempts in a row, this one included; for recovered, those before the success.
	Failures int `json:"failures" validate:"min=0"`
	// Delay is the time until the next attempt; zero when none is waited for (a probe under way, a recovery).
	Delay time.Duration `json:"delay" validate:"min=0"`
	Error string        `json:"error,omitempty"`
}

func (*RetryEvent) Family() Family    { return FamilyRetry }
func (e *RetryEvent) EventKind() Kind { return Kind(e.Kind) }
