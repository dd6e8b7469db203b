// Package dnsserver is Joyride's authoritative DNS server: UDP and TCP listeners (github.com/miekg/dns) that answer
// from the record store (pkg/dnsstore).
//
// # Answering rules
//
// The rules live in one function, resolver.answer(snapshot, request, client), which does no I/O; the transport only
// sizes, packs and sends what it returns (over UDP, a cache of packed replies stands in front of it: see
// "The UDP fast path"). Checks come first, in this order:
//
//   - more than one OPT: FORMERR, without OPT (RFC 6891 section 6.1.1);
//   - EDNS version above 0: BADVERS;
//   - an opcode other than QUERY (NOTIFY, UPDATE, …): NOTIMP;
//   - not exactly one question: FORMERR, with an empty question section (RFC 9619);
//   - a class other than IN: REFUSED; AXFR and IXFR: REFUSED (there are no zone transfers).
//
// Every other reply echoes the question exactly as asked (0x20 case included), copies RD and CD, never sets RA
// and carries an OPT advertising Config.UDPSize when the query had one. Names match case-insensitively;
// answers use the store's lower-case owner names.
//
// Data comes from one store snapshot per query, so a query never sees half of an update:
//
//   - A, AAAA, CNAME, TXT, SRV: the records of that type at the name, with AA set. The records of one RRset
//     share one TTL, the lowest among them (RFC 2181 section 5.2): two sources, such as two containers
//     claiming one name, may publish it with different TTLs. PTR answers and the NS target's addresses in
//     the additional section follow the same rule.
//   - CNAME: when the name has a CNAME and not the asked type, the CNAME is added and its target looked up
//     again, up to 8 links; a loop stops at the first repeated name and a longer chain at the eighth link,
//     with the links so far (the resolver continues from the last target). The rcode and the SOA are those
//     of the final name (RFC 6604). A chain leading out of every zone to a name the store lacks ends with
//     NOERROR: it is not ours to deny.
//   - Wildcards (RFC 4592, resolved by the store): a "*.<parent>" record answers names below <parent> that
//     do not exist, renamed to the query name; an existing name (even one with other types or only
//     children) blocks the wildcard, and a wildcard above a zone's apex never reaches into the zone.
//   - PTR for in-addr.arpa and ip6.arpa names of full addresses: the non-wildcard names whose A or AAAA
//     records hold the address, with the lowest of those records' TTLs. Other types at such a name are NODATA.
//   - ANY (RFC 8482 section 4.2): one RRset, the one with the lowest type code at the name (A before AAAA
//     before CNAME …); the SOA at a zone apex; PTRs at a reverse name.
//
// Zones (Config.Zones, canonicalised, the innermost one applies):
//
//   - Inside a zone a missing name is NXDOMAIN and a name without the asked type (including an empty
//     non-terminal and the apex) is NOERROR/NODATA, both with the zone's SOA in the authority section,
//     whose TTL and MINIMUM are Config.NegativeTTL (RFC 2308). The serial is the store generation: it
//     changes exactly when the data does.
//   - The apex answers SOA and NS (Nameserver, default "ns.<zone>"; Hostmaster, default
//     "hostmaster.<zone>"), the NS target's A and AAAA records going into the additional section.
//   - The NS target is this server, so its name resolves (inside a zone or not): to the store's A and AAAA
//     records when the store holds records at that name, else to Config.Addresses (this node's addresses,
//     TTL 300), else to BindAddress when it is a specific address. With a wildcard BindAddress and no
//     Addresses the name exists without addresses (NODATA), and Start warns that dns.addresses is unset.
//   - Outside every zone, a name the store has records for still answers, to every client. Any other name
//     (an empty non-terminal included) is forwarded when Config.Forwarders are set, the query has RD set and
//     the client's address is in Config.ForwardAllow (by default the local networks: loopback, RFC 1918,
//     ULA and link-local; BIND's allow-recursion localnets, dnsmasq's --local-service), so that Joyride on
//     a public interface is no open resolver; otherwise it is REFUSED (without AA). Each forwarder in order
//     gets the query (with a fresh ID, Config.ForwardTimeout each, over TCP again if the UDP reply is
//     truncated) and the first reply is relayed as the upstream gave it (RA included) under the client's ID;
//     SERVFAIL if none replies.
//   - Without zones every name is outside every zone: a name the store lacks is REFUSED or forwarded as
//     above, never NXDOMAIN, since a resolver pointed at Joyride would cache a denial Joyride has no
//     authority to give.
//
// Size: over UDP a reply is cut to the client's EDNS0 payload size (at least 512, at most Config.UDPSize),
// or 512 without EDNS0, with TC set when records had to go; over TCP up to 65535 octets.
//
// # Robustness
//
// A packet whose header cannot be read is dropped; one whose body miekg/dns cannot parse is answered FORMERR
// the way miekg/dns's own server answers it (the header's flags and the questions read so far); both are
// counted in Stats.Invalid. Responses (QR set) are dropped unanswered. Panics are recovered wherever a query
// is handled (the UDP worker, a forwarding goroutine, the TCP handler): the query gets SERVFAIL, the panic is
// counted and reported, with its stack, as an events.ErrorEvent; a serve loop that fails on its own (its
// socket broken) is reported as an unhealthy events.HealthEvent and the server no longer counts as Running. Start
// reports the "dns" component healthy once both listeners serve: its first load (pkg/status); an unhealthy dns
// makes the node unready (modules/health).
// A report is handled once: it is published on the bus (the logging handler writes it) by a separate
// goroutine through a bounded queue, so the query path never waits on the bus, and it is logged instead only
// when it cannot be published: there is no bus, the queue is full, or Publish fails.
//
// # The UDP fast path
//
// TCP is served by miekg/dns's server, every query through the full path: miekg/dns parses, resolver.answer
// decides, miekg/dns sizes and packs. UDP, where nearly all queries arrive, is served by udpServer: one
// worker goroutine reads up to 32 datagrams with one system call and sends their replies with one more
// (recvmmsg and sendmmsg through golang.org/x/net/ipv4 on Linux; one datagram per call elsewhere). On a
// wildcard address each datagram's destination is read from its control message and the reply sent from
// it, as miekg/dns does, so that a multi-homed host answers from the address asked.
//
// For each datagram the worker reads the header, question and OPT from the raw octets (parsePlain, no
// allocation) and, for a plain query, looks up answerCache: packed replies keyed by the lower-cased name,
// the type, EDNS presence, the DO bit and the reply size limit (the client's payload size clamped to
// 512..UDPSize), valid for one store generation. A hit is the cached reply with the query's ID, RD and CD,
// and its question name copied in as asked (0x20 case kept), byte for byte what the full path would send.
// A reply that needed compression (a large or truncated one) may point into the question, so it answers only
// the exact spelling it was built from. A miss, and every query that is not plain, takes the full path, whose
// reply to a plain query is then cached.
//
// A query is plain when QR is clear, the opcode is QUERY, there is exactly one question, of class IN, with
// no compression pointer in its name, no answer or authority record, and at most one additional record: an
// OPT owned by the root, EDNS version 0, whose options are only ones miekg/dns parses whatever their content
// (NSID, DAU, DHU, N3U, cookie, padding). Everything else (NOTIFY, UPDATE, CHAOS, BADVERS, two questions,
// TSIG, client-subnet options, malformed packets, …) takes the full path and is answered exactly as before.
// Forwarded replies and replies to queries that panicked are never cached, nor, when forwarders are set, a
// REFUSED: it may be a recursion refused to this client, or to a query without RD, that another query for the
// same question would not get. Every other reply is the same for every client, so a cache hit needs no
// look at the client's address.
//
// The cache never serves a stale answer: every lookup passes the generation of the snapshot the batch is
// answered from, and an entry built from another generation never matches (generations are unique within a
// store, so a changed store invalidates every entry at once); and the cache belongs to the settings it was
// filled under (see "Live settings"), so changed settings start with an empty one. It holds at most 32,768 entries and 8 MiB,
// replacing per set of four by a CLOCK-like second chance, so names asked once do not push out names asked
// all the time. Readers take no lock (a hash, a few atomic loads, a comparison); writers install an entry
// with one compare-and-swap.
//
// The worker counts a batch's queries, cache hits and replies (by question type and rcode) locally and adds
// them to the shared counters once per batch, only the counters the batch touched. It times the batch, not each
// query: two readings of the monotonic clock, from the read's return to the last send, counted for each of its
// replies in the answer-time histogram (a reply leaves with its batch). The metrics collector (metrics.go)
// reads the counters when scraped and builds the labels there. One worker keeps up with what one CPU's network stack delivers; udpServer says why there
// is not one per CPU. A forwarded query is answered by a goroutine of its own (at most 1024 at a time;
// beyond that SERVFAIL at once), so that a slow upstream never holds up a batch. The hot path logs nothing
// above debug and takes no lock; a cache hit allocates nothing.
//
// # Lifecycle
//
// NewServer (and New, its fx wrapper) checks the configuration, canonicalises the zones and starts nothing.
// Start binds UDP and TCP on BindAddress:Port (Port 0 picks a free port, the same for both; Addr reports
// it), serves TCP with dns.Server.ActivateAndServe in its own goroutine, waits for it to report started (or
// for ctx to end, which undoes everything), then starts the UDP worker. A taken port fails Start with an
// error naming the address. Stop aborts forwarding in flight (closing the upstream connections), wakes the
// UDP worker with a read deadline and waits, within ctx, for it to send the replies it holds and for
// forwarded queries to be answered, shuts TCP down with ShutdownContext, and publishes the queued reports.
// It returns only when every goroutine the server started has ended, also when ctx ended first (it then
// returns ctx's error, once the closed sockets have cut short what was left: a query finishing its answer)
// or a serve loop had already failed. A stopped server can be started again.
//
// # Live settings
//
// Apply changes every setting but BindAddress and Port (where the sockets are bound: a restart) while the server
// runs: forwarders, forward_timeout, forward_allow, negative_ttl, the zones, nameserver, addresses, hostmaster
// and udp_size. Module adds a reload.Target for them (pkg/reload), which the configuration watcher calls with the
// new "dns" section. Apply checks the Config as NewServer does and builds one immutable settings value (the
// Config, the resolver derived from it, the forwarding clients and an empty answer cache), then swaps it in with
// one atomic store; an error leaves the old value. A query loads the settings once, with the store snapshot (a
// UDP batch once for all its queries, a TCP query for itself), and keeps them to the end, forwarding included, so
// no query is dropped or answered half with the old settings and half with the new. The hot path gains no lock
// and no work beyond that one atomic load per batch. A batch still answering under the old settings can only fill
// the old settings' cache, which goes with them, so no reply built under old settings is served after Apply has
// returned; the zones' SOA caches are rebuilt with the resolver. After udp_size changes, the UDP worker
// re-sizes its buffers at the end of the batch that saw the change: the read it was blocked in during Apply
// still used the old size, so one query longer than the old size may be cut (FORMERR) then.
//
// # fx
//
// Module provides *Server (needs fx.Lifecycle, *zap.Logger, Config and *dnsstore.Store; *events.Bus is
// optional) and anchors it with an empty Invoke so that it runs even when nothing consumes it. *Server is
// the module's only product and is meant for others (readiness, statistics), so nothing is fx.Private: the
// settings (resolver, cache) and the UDP server are plain fields built by NewServer, which with Start, Stop and
// Apply is the whole API without fx. The store is the replaceable part: supply a different *dnsstore.Store with
// fx.Replace or fx.Decorate to answer from other data. Config is consumed by value, so tests supply their
// own with fx.Supply.
//
// Module also provides the reload.Target above (Target), and a status.Reporter named "dns" (the `modules:` key
// and its health component): Status is joyride-python's dns_server (port, the bound one while serving;
// bind_address; running) with the bound addresses and the counters (Stats).
package dnsserver
