// Package discovery finds cluster peers on the local network by UDP broadcast: every node announces "node X
// gossips at host:port" on one port (joyride-python's DISCOVERY_PORT, 8889 by default) and reports what it
// hears from the others. It is the cluster module's way to learn whom to join without a list of seeds, since
// memberlist only gossips among nodes that already know one another and has no discovery of its own.
//
// # Lifecycle and concurrency
//
// New checks the configuration and does no I/O. Start binds one IPv4 UDP socket, shared through SO_REUSEADDR
// and SO_REUSEPORT so that several nodes on one host (tests on 127.0.0.x) all hear every broadcast, and starts
// two goroutines on a context of the Announcer's own: one announces at once and then every Interval (jittered
// ±20%), the other reads. Stop cancels both, closes the socket and waits for them within its context; it is
// safe after a failed Start. The reader alone owns the throttling state and calls found without holding any
// lock, at most once per Interval for the same (node, address), so a chatty network cannot flood the caller.
//
// The socket binds 0.0.0.0 by default because a socket bound to a specific address does not receive datagrams
// sent to a broadcast address. Tests use the loopback broadcast 127.255.255.255 (Linux routes it on lo), so
// their announcements never leave the host.
//
// # Wire format
//
// An announcement is a small binary datagram (see message.go): magic, version, flags, send time, node ID,
// gossip address and, with a key, an HMAC-SHA256. Datagrams over MaxMessageSize bytes, of another version, with
// a byte too many or too few, or sent more than MaxSkew from the receiver's clock are dropped (at debug level),
// so that garbage costs a read and nothing else; FuzzDecode holds the decoder to that. A later version can
// change everything after the version byte; nodes of this version ignore it.
//
// # Limits
//
// Broadcasts reach one broadcast domain: routers do not forward them, and a container on a bridge network
// reaches only the containers on its bridge (run Joyride with the host's network to reach the LAN). Nodes on
// different subnets, or any fixed setup, should list seeds in cluster.join and switch discovery off.
// Broadcast is IPv4 only.
//
// # Security
//
// Without a key anyone on the LAN can announce anything, and every node hears the addresses of the others.
// With the cluster key, announcements carry an HMAC-SHA256 under a key derived from it (never the gossip key
// itself), and unauthenticated or wrongly keyed ones are ignored, as are keyed ones by a node without a key;
// the time window limits replay of a captured announcement to MaxSkew, and replaying one only repeats what its
// node said. A forged announcement can at worst make the node try to join an address, which fails without the
// gossip key: discovery only suggests peers, memberlist decides who is one.
package discovery
