// Package dnsstore is Joyride's record store: the resource records every source (hosts files, Docker
// containers, static configuration, cluster peers) publishes, merged into one view the DNS server answers from.
//
// # Records and sources
//
// NewRecord validates and canonicalises one record (lower-case, fully qualified names; canonical RDATA);
// Record.RR builds its dns.RR when an answer needs one. A record is validated once, there: Record's fields are
// unexported (read through Name, Value, TTL and Type), so a Record can only be made valid, by NewRecord, and the
// store, its indexes, RR and the DNS server trust it without checking it again. (The fields were exported at
// first, so Replace validated every record again, unable to know that none had been edited since: about a sixth
// of reloading a 100,000-line hosts file.) The zero Record, the only other one, is dropped by Replace.
//
// A source owns a set of records and always replaces the whole set with Store.Replace, so replaying or
// duplicating a producer's snapshot is harmless. Two sources may publish the same name, even the same value: a
// lookup merges them (one record per type and value, with the lowest TTL), and removing one source leaves the
// other's records.
//
// A record may carry the time its owner set it (Record.WithSetAt): the store keeps that time instead of stamping
// the record when it stores it, and a record given another time is an update (Diff.Updated), so that a peer's
// record has the same SetAt on every node of a cluster.
//
// # Origins and policies
//
// A cluster node's peers' records are sources of their own ("node:<peer>/<the peer's source>"), replaced with
// ReplaceOwnedFrom and the Origin of the peer that owns them: its node ID and priority. The zero Origin is this
// node; SetPolicy says which node that is. When sources of two or more nodes publish one name, the Policy decides
// what it answers: All (the default) merges every source as above; Newest answers the node whose records there
// were set last; Priority the node with the highest priority. A policy chooses a node, not a source: a node's
// sources at a name are answered together, merged as usual, and a name that only one node's sources publish is
// never weighed, whatever its number of sources.
//
// Every node must answer alike, so a policy compares only what every node has: the owner of each source, the
// owner's priority, and the owner's SetAt of each record (the latest of a node's records at the name). Ties are
// broken until none is left (Newest: the lowest node ID; Priority: the newest, then the lowest node ID): no
// outcome depends on the order in which records arrived, nor on any clock but the owners'.
//
// The policy is applied when a name's records are merged, on write, not on lookup: a write that changes a name's
// sources merges the name again anyway, while weighing nodes on lookup would cost every query. Lookup returns
// the records merged at the name as it always did, and costs the same under any policy; the records a policy
// left out come back when the chosen node's go, because removing them merges the name again. A change
// of a source's origin alone merges its names again, and SetPolicy every name that several sources publish. A
// policy hides no source: Records, Sources and SourceRecords list every record; Reverse follows what names answer
// (no PTR for an address a policy left out).
//
// # Concurrency model
//
// Reads are the DNS hot path, so they take no lock and never wait for a writer. The store keeps its state
// in an immutable Snapshot behind an atomic.Pointer: Store.Snapshot is one atomic load, and everything read
// from a snapshot afterwards is immutable, so a reader sees each Replace entirely or not at all and a long
// response can be built from one consistent view. Writers serialise on a mutex, build the next snapshot and
// publish it with one atomic store; a superseded snapshot stays valid for as long as someone holds it.
//
// A sync.RWMutex would have readers on every core write the same reader count (cache-line contention under
// load) and stall behind a writer reloading a large hosts file. Plain maps copied on every write would make
// a container start cost O(all records). Instead each snapshot holds persistent hash array mapped tries
// (hamt.go): a write copies only the few nodes on the paths to what changed, so consecutive snapshots share
// almost all of their structure, and replacing a one-record source next to 100,000 others takes some 5 µs.
// Within one Replace a transaction changes the nodes it already copied in place.
//
// # Large sources
//
// A node and its trie slot per name, and an entry per address in a shared reverse trie, cost some 300 octets a
// record: with a 100,000-line hosts file, more than the records themselves. So a source of at least 4,096
// records (defaultBulkMin) gets a bulk index of its own, built once per Replace and never changed: an
// open-addressing table from name hash to the name's records in the source's sorted list, and sorted arrays
// of (address, record) for PTR answers, about 20 octets a record with no pointers for the garbage collector
// to scan. Such a source's names get no node, except those that need one anyway: empty non-terminals above
// them, names another source also has, names with children, and wildcard owners. The shared index is then
// small, and a store holding one 100,000-line hosts file keeps about 107 octets per record alive: the Record
// (48 octets), its name and value strings and its share of the bulk index; BenchmarkHeapPerRecord measures it.
// (Keeping each record's dns.RR built beside it, as the store first did, cost another 80 octets a record to
// spare an answer some 50 ns and one allocation, on the full path that the DNS server's answer cache keeps most
// queries from; a wildcard answer is faster without, since it no longer copies the stored RR to rename it.)
// Loading such a file takes about 45 ms, and so does reloading it with one line edited: sorting takes about a
// third and rebuilding the bulk index whole about a quarter. (Validating every record again took another sixth
// before Record's fields were unexported; see Records and sources.)
//
// A node holds slices of its sources' record lists, and every Replace re-points the nodes of the source it
// replaces to the new list: a node left pointing into the previous list would keep that whole list alive, so
// that each edit of a big file would leave another copy of it in memory. ReplaceOwned lets a caller that
// built the list for the store (the records handler) hand it over instead of having it copied.
//
// # Lookups
//
// The name index maps each owner name that has a node to the node, holding its records already merged over
// sources, so Lookup returns that slice without allocating; a name without one is looked up in the bulk
// indexes with the same hash, and its records are a slice of its source's list. Empty non-terminals ("lab.test."
// when only "a.lab.test." has records) and the root are stored as nodes too, each counting its existing
// children, so "does this name exist" is a hash lookup and a probe per bulk source. Wildcards follow RFC 4592:
// a name that exists is never wildcard-matched; otherwise Lookup walks up the labels to the closest encloser
// (the first ancestor that exists) and answers from "*.<closest encloser>" if that owns records, through a
// pointer the encloser's node keeps to its wildcard child (a name without a node has no children, so no
// wildcard child). A hit costs one hash and a few memory accesses (about 30 ns with 100,000 names); a miss
// adds one lookup per label walked up. A radix tree over reversed labels was the alternative: it finds closest
// enclosers by prefix seeks but needs the reversed key built per query and a byte-wise descent, which the
// explicit empty non-terminals make unnecessary.
//
// The reverse index maps each address to the sorted names with an A or AAAA record for it (PTR answers): a
// trie for the names with nodes, merged at query time with the bulk indexes' arrays.
//
// # Sharing
//
// Match.Records is shared by every reader and must not be modified. Record.RR returns a new dns.RR each
// time, owned by the name it is given, which answers a wildcard match without a copy.
//
// # fx
//
// Module provides the process-wide *Store. The store has no lifecycle and starts no goroutines; a test or
// an embedding application can hand in a prepared store with fx.Replace.
package dnsstore
