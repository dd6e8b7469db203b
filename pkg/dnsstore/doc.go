// Package dnsstore is Joyride's record store: the resource records every source (hosts files, Docker
// containers, static configuration, cluster peers) publishes, merged into one view the DNS server answers from.
//
// # Records and sources
//
// NewRecord validates and canonicalises one record (lower-case, fully qualified names; canonical RDATA) and
// builds its dns.RR once. A source owns a set of records and always replaces the whole set with
// Store.Replace, so replaying or duplicating a producer's snapshot is harmless. Two sources may publish the
// same name, even the same value: a lookup merges them (one record per type and value, with the lowest TTL),
// and removing one source leaves the other's records.
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
// almost all of their structure. Replacing a one-record source next to 100,000 others takes about 15 µs;
// within one Replace a transaction changes the nodes it already copied in place, so loading 100,000
// records takes about 130 ms and reloading them with one change about 40 ms (sorting and diffing dominate).
//
// # Lookups
//
// The name index maps each existing owner name to a node holding its records already merged over sources,
// so Lookup returns that slice without allocating. Empty non-terminals ("lab.test." when only
// "a.lab.test." has records) and the root are stored as nodes too, each counting its existing children, so
// "does this name exist" is one hash lookup. Wildcards follow RFC 4592: a name that exists is never
// wildcard-matched; otherwise Lookup walks up the labels to the closest encloser (the first ancestor that
// exists) and answers from "*.<closest encloser>" if that owns records, through a pointer the encloser's node
// keeps to its wildcard child. A hit costs one hash and a few pointer hops (about 30 ns with 100,000 names);
// a miss adds one lookup per label walked up. A radix tree over reversed labels was the alternative: it
// finds closest enclosers by prefix seeks but needs the reversed key built per query and a byte-wise
// descent, which the explicit empty non-terminals make unnecessary.
//
// The reverse index maps each address to the sorted names with an A or AAAA record for it (PTR answers).
//
// # Sharing
//
// Match.Records and each Record.RR are shared by every reader and must not be modified. To answer a
// wildcard match, dns.Copy the RR and set the query name on the copy. (dns.Msg.Pack writes nothing to the
// RRs it packs; dns.PackRR sets Rdlength on its argument, so do not call it on a shared RR.)
//
// # fx
//
// Module provides the process-wide *Store. The store has no lifecycle and starts no goroutines; a test or
// an embedding application can hand in a prepared store with fx.Replace.
package dnsstore
