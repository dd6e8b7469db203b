package events

import (
	"fmt"
	"slices"
	"sync"
)

// FamilySpec declares a family of events: the kinds it may carry and which of them are informational.
type FamilySpec struct {
	Family Family
	Kinds  []Kind
	// Informational kinds describe state carried elsewhere (a per-record diff next to the file snapshot, an
	// error report). Only these may be dropped for a subscriber whose queue is over its limit.
	Informational []Kind
}

func (s FamilySpec) has(k Kind) bool           { return slices.Contains(s.Kinds, k) }
func (s FamilySpec) informational(k Kind) bool { return slices.Contains(s.Informational, k) }

func kinds[K ~string](ks ...K) []Kind {
	out := make([]Kind, len(ks))
	for i, k := range ks {
		out[i] = Kind(k)
	}
	return out
}

// builtinFamilies are registered in every bus. This is the one place a built-in kind is tied to its family:
// validation checks an event's kind here, so the structs carry no list of their kinds.
func builtinFamilies() []FamilySpec {
	files := kinds(FileChanged, FileCreated, FileDeleted, DirectoryScanned)
	hostsRecords := kinds(RecordAdded, RecordUpdated, RecordRemoved)
	errs := kinds(ErrorHandler, ErrorPanic, ErrorInput)
	attempts := kinds(AttemptFailed)
	return []FamilySpec{
		{Family: FamilyContainer, Kinds: kinds(ContainerStarted, ContainerStopped, ContainerDiscovered)},
		{Family: FamilyHosts, Kinds: slices.Concat(files, hostsRecords), Informational: hostsRecords},
		{Family: FamilyTraefikFile, Kinds: files},
		{Family: FamilyNode, Kinds: kinds(NodeDiscovered, NodeJoined, NodeLeft, NodeFailed, NodeSuspected)},
		{Family: FamilySync, Kinds: kinds(DNSRecordSynced, SyncForced, ClusterStateChanged)},
		{Family: FamilySystem, Kinds: kinds(ServiceStarting, ServiceStarted, ServiceStopping, ServiceStopped,
			ServiceFailed, ConfigurationChanged, ConfigurationRejected, HealthCheckFailed, HealthCheckRecovered)},
		{Family: FamilyDNS, Kinds: kinds(DNSRecordAdded, DNSRecordRemoved, DNSRecordUpdated, DNSSourceReplaced)},
		{Family: FamilyError, Kinds: errs, Informational: errs},
		{Family: FamilyHealth, Kinds: kinds(Healthy, Unhealthy)},
		{Family: FamilyRetry, Kinds: slices.Concat(attempts, kinds(CircuitOpened, CircuitHalfOpen, Recovered)),
			Informational: attempts},
	}
}

// registry holds the families a bus accepts.
type registry struct {
	mu       sync.RWMutex
	families map[Family]FamilySpec
}

func newRegistry() *registry {
	builtin := builtinFamilies()
	r := &registry{families: make(map[Family]FamilySpec, len(builtin))}
	for _, s := range builtin {
		r.families[s.Family] = s
	}
	return r
}

func (r *registry) register(s FamilySpec) error {
	if s.Family == "" || len(s.Kinds) == 0 {
		return fmt.Errorf("events: family %q: a family needs a name and at least one kind", s.Family)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.families[s.Family]; ok {
		return fmt.Errorf("events: family %q is already registered", s.Family)
	}
	r.families[s.Family] = s
	return nil
}

func (r *registry) lookup(f Family) (FamilySpec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.families[f]
	return s, ok
}
