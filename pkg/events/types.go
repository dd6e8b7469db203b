package events

import (
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
	FamilyNode      Family = "node"
	FamilySync      Family = "sync"
	FamilySystem    Family = "system"
	FamilyDNS       Family = "dns"
	FamilyError     Family = "error"
	FamilyHealth    Family = "health"
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
}

// RecordSnapshot is the whole record set of one source. Consumers replace the source's records with it, so a
// duplicated or replayed snapshot is harmless and an empty one removes the source.
type RecordSnapshot struct {
	Source  string   `json:"source" validate:"required"`
	Records []Record `json:"records"`
}

// Snapshotter is implemented by events that may carry a record snapshot (containers, hosts files, sync).
type Snapshotter interface {
	Event
	RecordSnapshot() *RecordSnapshot
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
	Kind          ContainerKind   `json:"kind" validate:"required,oneof=started stopped discovered"`
	ContainerID   string          `json:"container_id" validate:"required"`
	ContainerName string          `json:"container_name"`
	Names         []string        `json:"names"`
	Snapshot      *RecordSnapshot `json:"snapshot,omitempty"`
}

func (*ContainerEvent) Family() Family                    { return FamilyContainer }
func (e *ContainerEvent) EventKind() Kind                 { return Kind(e.Kind) }
func (e *ContainerEvent) RecordSnapshot() *RecordSnapshot { return e.Snapshot }

// HostsKind is the kind of a FileEvent or HostsRecordEvent.
type HostsKind string

// Hosts event kinds.
const (
	FileChanged      HostsKind = "file_changed"
	FileCreated      HostsKind = "file_created"
	FileDeleted      HostsKind = "file_deleted"
	DirectoryScanned HostsKind = "directory_scanned"
	RecordAdded      HostsKind = "record_added"
	RecordUpdated    HostsKind = "record_updated"
	RecordRemoved    HostsKind = "record_removed"
)

// FileEvent reports a hosts file (or a scanned directory). File kinds carry the file's whole snapshot.
type FileEvent struct {
	Metadata
	Kind     HostsKind       `json:"kind" validate:"required,oneof=file_changed file_created file_deleted directory_scanned"`
	Path     string          `json:"path" validate:"required"`
	Snapshot *RecordSnapshot `json:"snapshot,omitempty"`
	// BadLines counts lines that were skipped; each was logged with its file and line number.
	BadLines int `json:"bad_lines,omitempty"`
}

func (*FileEvent) Family() Family                    { return FamilyHosts }
func (e *FileEvent) EventKind() Kind                 { return Kind(e.Kind) }
func (e *FileEvent) RecordSnapshot() *RecordSnapshot { return e.Snapshot }

// HostsRecordEvent reports one record of a hosts file that changed. It is informational: the FileEvent that
// accompanies it carries the state.
type HostsRecordEvent struct {
	Metadata
	Kind   HostsKind `json:"kind" validate:"required,oneof=record_added record_updated record_removed"`
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
	Kind    ClusterKind       `json:"kind" validate:"required,oneof=node_discovered node_joined node_left node_failed node_suspected"`
	NodeID  string            `json:"node_id" validate:"required"`
	Address string            `json:"address"`
	Labels  map[string]string `json:"metadata,omitempty"`
}

func (*NodeEvent) Family() Family    { return FamilyNode }
func (e *NodeEvent) EventKind() Kind { return Kind(e.Kind) }

// SyncEvent reports record synchronisation between nodes. dns_record_synced carries the remote node's records.
type SyncEvent struct {
	Metadata
	Kind     ClusterKind     `json:"kind" validate:"required,oneof=dns_record_synced sync_forced cluster_state_changed"`
	NodeID   string          `json:"node_id"`
	Snapshot *RecordSnapshot `json:"snapshot,omitempty"`
	Message  string          `json:"message,omitempty"`
}

func (*SyncEvent) Family() Family                    { return FamilySync }
func (e *SyncEvent) EventKind() Kind                 { return Kind(e.Kind) }
func (e *SyncEvent) RecordSnapshot() *RecordSnapshot { return e.Snapshot }

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
	HealthCheckFailed    SystemKind = "health_check_failed"
	HealthCheckRecovered SystemKind = "health_check_recovered"
)

// SystemEvent reports the service's own lifecycle.
type SystemEvent struct {
	Metadata
	Kind    SystemKind `json:"kind" validate:"required,oneof=service_starting service_started service_stopping service_stopped service_failed configuration_changed health_check_failed health_check_recovered"`
	Service string     `json:"service" validate:"required"`
	Message string     `json:"message,omitempty"`
	Error   string     `json:"error,omitempty"`
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
)

// DNSEvent reports a change the records handler made to the store.
type DNSEvent struct {
	Metadata
	Kind   DNSKind `json:"kind" validate:"required,oneof=record_added record_removed record_updated"`
	Owner  string  `json:"owner" validate:"required"` // the store source that owns the record
	Record Record  `json:"record"`
}

func (*DNSEvent) Family() Family    { return FamilyDNS }
func (e *DNSEvent) EventKind() Kind { return Kind(e.Kind) }

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
	Kind    ErrorKind `json:"kind" validate:"required,oneof=handler_error panic bad_input"`
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
	Kind      HealthKind `json:"kind" validate:"required,oneof=healthy unhealthy"`
	Component string     `json:"component" validate:"required"`
	Message   string     `json:"message,omitempty"`
}

func (*HealthEvent) Family() Family    { return FamilyHealth }
func (e *HealthEvent) EventKind() Kind { return Kind(e.Kind) }
