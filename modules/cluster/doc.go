// Package cluster makes every Joyride node answer for the records of every other: it shares this node's own
// sources (containers, Traefik files, and hosts files and static records when cluster.share says so) with its
// peers over hashicorp/memberlist, and puts the peers' records in the store, through the bus, as sources of
// theirs ("node:<peer id>/<the peer's source>"). memberlist does membership, failure detection, encryption and
// the transport; this package writes no gossip protocol of its own, only what travels in it.
//
// # What travels, and why it converges
//
// A node is the only author of its sources. Each change it makes to one of them gets the next number of the
// node's change counter; with the node's epoch (its boot: the clock in nanoseconds, or one more than the epoch
// kept in cluster.data_dir) that is a version that never goes backwards, across restarts too. Every node keeps a
// copy of every owner's sources (ownerState, state.go); a copy keeps, per source, the highest version it has seen:
// records, or a tombstone for a deletion. A later epoch replaces an owner's copy wholesale, so a restarted node's
// new state wins at once and what it no longer has disappears everywhere. A copy also knows how far it is
// complete (its head), which makes a deletion win even after its tombstone is collected: an older copy's source
// whose version is at most the head of a copy that lacks it is stale. Merging is per-source maximum within an
// epoch, so the order in which messages arrive does not matter (TestMergeOrderDoesNotMatter checks it over random
// histories, losses and stale states).
//
// Three ways carry versions:
//   - a delta (one source at one version) as a memberlist broadcast when it fits a packet (maxBroadcast); every
//     node that finds it new queues it again with its owner's version unchanged, because memberlist sends a
//     broadcast to a few nodes only and never re-gossips user messages. A newer change to a source replaces its
//     queued older one.
//   - a notice when it does not fit (a container with 200 names): nodes pull the owner's full state over TCP.
//   - the full state in memberlist's push/pull: at every join and every push_pull_interval, and on demand.
//
// A node announces a new epoch (in its metadata, by a notice, and in push/pull) only once its own sources have
// settled after Start (settle): until then its peers keep what they had of its previous boot, rather than
// replacing it with the few sources its producers have loaded so far.
//
// Each node's memberlist metadata carries its epoch and head. memberlist disseminates metadata reliably, so a
// node whose copy of an owner stays behind the owner's metadata for two gossip intervals pulls the owner's state
// (catchUp): no change is missed for long, in clusters of any size.
//
// # Membership and records
//
// A peer's records are in the store while memberlist has it alive or suspect, and for cluster.failed_grace after
// it is declared dead; the copy is remembered, so a node that comes back with the same state has its records back
// without a resync. A node that leaves gracefully has its records withdrawn at once. Every rejoin_interval
// (jittered) the node joins the seeds, the discovered peers and the peers last seen alive that are not members
// now, so a partition longer than memberlist's gossip to the dead heals by itself. A node that has no member and
// fails to join retries under the retry policy (pkg/retry, capped at rejoin_interval): 0.25, 0.5, 1, 2 s after
// the failures, so a whole cluster restarted at once forms again, then, once five joins in a row have failed and
// the circuit is open, a probe every two rejoin_intervals (±20 %), so that seeds that stay down are not hammered.
// The loop makes one rejoin at a time and schedules the next when its result comes back (rejoined): a healthy
// node's next is rejoin_interval later, whatever its joins to dead members do.
//
// Two live nodes with one node_id: a join whose states show the ID at another address that answers a ping is
// refused (NotifyMerge) on both sides; the newcomer's Start fails with the other's address, and it shuts down
// without leaving (a leave in that name would withdraw the other's records).
//
// A name that several nodes publish is answered by the store's policy (cluster.policy): all, newest or priority,
// applied where the store merges sources, from what every node has (each source's owner and priority, each
// record's set-at time from its owner's clock), so every node gives the same answer.
//
// # Trust
//
// With cluster.key or cluster.keyring_file memberlist encrypts and authenticates every packet and stream; a node
// without the key can neither join nor inject a record. Without one, anyone who reaches the port can publish
// names, and the node says so at start. Whatever a peer sends is checked before it is used (wire.go): bounded
// sizes, versions, sources only in the namespaces nodes share, records NewRecord accepts. A message that claims
// this node's own sources is dropped and reported; a name outside cluster.allowed_domains is left out of the
// store and reported (the copy keeps it, so a relay passes the owner's version on unchanged). Reports are
// ErrorEvents, at most one a minute per cause.
//
// Keys rotate without a restart (keys.go). A node sends with its keyring's primary and accepts every key in it,
// so it must not send with a key a peer lacks, nor drop a key a peer still sends with. Every node therefore
// advertises the IDs of its keys (a hash prefix, keyID) in its metadata, and syncKeys, at every tick of the loop
// and after a reload, makes the keyring hold what planKeys decides: every configured key at once; the configured
// primary once every live member holds it (the one in use until then); a key no longer configured while a live
// member still sends with it. The operator's three steps (add the new key everywhere, make it primary, remove the
// old) then never split the cluster, and neither does a key replaced node by node. LAN discovery follows the
// keyring (discovery.Announcer.SetKeys). Turning encryption on or off needs a restart: memberlist decides at
// Create whether it encrypts.
//
// # Reload
//
// Module adds a reload.Target (ReloadTarget) for LiveKeys: policy, priority, allowed_domains, share, key and
// keyring_file. cfg stays the configuration the node was built with; the live settings are fields under mu that
// Apply replaces. A new policy or priority goes to the store's SetPolicy; the priority also into this node's
// metadata, and peers file its records with the priority its metadata carries (memberlist orders metadata
// updates), so every node answers the same. New allowed domains re-file every peer source (reconcile); a new
// share marks every source for readLocal, which shares a source of a kind no longer shared as deleted. The other
// keys are memberlist's configuration or the node's identity and need a restart.
//
// # Lifecycle
//
// NewCluster wires and does no I/O. Start resolves the node ID (cluster.node_id, else the ID kept in data_dir,
// else the host name), binds the gossip port (UDP and TCP), joins the seeds, and starts one loop goroutine
// (loop.go); the memberlist delegates (delegate.go) only update the state under a mutex and wake the loop. The
// loop reads local sources from the store (the records handler announces each replaced source with a
// source_replaced DNSEvent), puts peers' records in the store through the bus (publish.go), pulls, expires and
// rejoins; joins and metadata updates, which may wait on the network, run beside it. Stop leaves gracefully,
// stops the loop and withdraws the peers' records. Status and ForceSync are for the HTTP API.
//
// # Health and the operator's window
//
// The node reports the "cluster" component with HealthEvents (report.go): healthy at Start without seeds (or
// with synchronisation off, which is no failure), and with seeds once another node is a member: that is its
// first load, which readiness waits for (pkg/status). A node with seeds that has no member and cannot join one
// (alone, the same moment as its warning) reports unhealthy, and healthy again when it joins; when its circuit
// opens, the message says so ("seeds: circuit open after 5 failures; …"). Otherwise only changes are reported.
// Every failed join while alone and every transition of the circuit is a RetryEvent (target "seeds"), and Status
// carries the breaker (retry), as the metrics do (joyride_retry_circuit, joyride_retry_failures_total).
// Module provides a status.Reporter: Status, which carries joyride-python's /dns/cluster fields
// (statistics with nodes_active and last_sync, null until a first sync; discovered_nodes; nodes with node_id,
// ip_address, last_seen and metadata; swim_cluster with alive_members, member_counts by alive, suspect, failed
// and left, this node included, and dns_version, this node's change counter); Explain, which names for a
// "node:<id>/<source>" the owning node, its gossip address and the source on that node; and Sync, ForceSync.
package cluster
