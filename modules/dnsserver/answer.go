package dnsserver

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
)

const (
	// maxChain is how many CNAME links are followed inside the store. A resolver continues from the last target,
	// so a longer chain still resolves; the limit only bounds the work one query can cause.
	maxChain = 8
	// nsTTL is the TTL of the synthesised apex NS records. Nothing downstream depends on them (resolvers reach
	// Joyride by forwarding, not by delegation), so a short TTL keeps a changed Nameserver visible quickly.
	nsTTL = 300
	// The SOA timers matter only to secondaries, and Joyride offers no zone transfers; these are RFC 1912's
	// suggestions.
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 86400
)

// resolver is the answering policy derived from Config. It is immutable after newResolver apart from each
// zone's SOA cache, which is safe for concurrent use.
type resolver struct {
	zones   []*zone // canonical, longest first so that the innermost zone wins
	negTTL  uint32
	udpSize uint16
	forward bool // Forwarders are configured: names outside every zone may go upstream instead of REFUSED
	// allow are the client networks whose recursive queries may be forwarded (Config.ForwardAllow).
	allow []netip.Prefix
	// servers are the zones' nameserver names with this node's address records, answered when the store holds
	// no records at the name (see lookup).
	servers []server
}

// server is a nameserver name and the address records it answers with, sorted by type like a store lookup.
type server struct {
	name  string
	addrs []dnsstore.Record
}

// zone is one configured zone with its synthesised apex records.
type zone struct {
	name string
	ns   *dns.NS
	mbox string
	// soa caches the SOA for the store generation it was built for, so that negative answers do not allocate
	// one per query; it is rebuilt when the generation (the serial) changes.
	soa atomic.Pointer[soaEntry]
}

type soaEntry struct {
	gen uint64
	rr  *dns.SOA
}

// newResolver canonicalises and checks the zone settings of cfg; errors name the offending key and value.
func newResolver(cfg Config) (*resolver, error) {
	r := &resolver{negTTL: cfg.NegativeTTL, udpSize: cfg.UDPSize, forward: len(cfg.Forwarders) > 0}
	for _, s := range cfg.ForwardAllow {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("dns: forward_allow %q is not a CIDR prefix: %w", s, err)
		}
		r.allow = append(r.allow, p.Masked())
	}
	addrs, err := ownAddresses(cfg)
	if err != nil {
		return nil, err
	}
	var ns, mbox string
	if cfg.Nameserver != "" {
		n, err := dnsname.Canonical(cfg.Nameserver)
		if err != nil || strings.HasPrefix(n, "*.") {
			return nil, fmt.Errorf("dns: nameserver %q is not a valid host name: %v", cfg.Nameserver, err)
		}
		ns = n
	}
	if cfg.Hostmaster != "" {
		m, err := mailboxName(cfg.Hostmaster)
		if err != nil {
			return nil, fmt.Errorf("dns: hostmaster %q: %w", cfg.Hostmaster, err)
		}
		mbox = m
	}
	for _, raw := range cfg.Zones {
		name, err := dnsname.Zone(raw)
		if err != nil {
			return nil, fmt.Errorf("dns: zone %q: %w", raw, err)
		}
		if slices.ContainsFunc(r.zones, func(z *zone) bool { return z.name == name }) {
			continue
		}
		z := &zone{name: name, mbox: mbox}
		target := ns
		if target == "" {
			target = "ns." + name
		}
		if z.mbox == "" {
			z.mbox = "hostmaster." + name
		}
		z.ns = &dns.NS{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: nsTTL}, Ns: target}
		r.zones = append(r.zones, z)
		if !slices.ContainsFunc(r.servers, func(s server) bool { return s.name == target }) {
			s, err := newServer(target, addrs)
			if err != nil {
				return nil, err
			}
			r.servers = append(r.servers, s)
		}
	}
	slices.SortFunc(r.zones, func(a, b *zone) int { return cmp.Compare(len(b.name), len(a.name)) })
	return r, nil
}

// ownAddresses are the addresses the nameserver names answer with: Config.Addresses, or else BindAddress
// when it is a specific address, or else none.
func ownAddresses(cfg Config) ([]netip.Addr, error) {
	var addrs []netip.Addr
	for _, s := range cfg.Addresses {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("dns: addresses: %q is not an IP address", s)
		}
		addrs = append(addrs, a.Unmap())
	}
	if len(addrs) == 0 {
		if a, err := netip.ParseAddr(cfg.BindAddress); err == nil && !a.IsUnspecified() {
			addrs = append(addrs, a.Unmap())
		}
	}
	return addrs, nil
}

// newServer builds the address records of the nameserver name, A before AAAA as the store sorts them.
func newServer(name string, addrs []netip.Addr) (server, error) {
	s := server{name: name}
	for _, a := range addrs {
		typ := "AAAA"
		if a.Is4() {
			typ = "A"
		}
		rec, err := dnsstore.NewRecord(name, typ, a.String(), nsTTL)
		if err != nil {
			return server{}, fmt.Errorf("dns: nameserver %q: %w", name, err)
		}
		s.addrs = append(s.addrs, rec)
	}
	slices.SortStableFunc(s.addrs, func(a, b dnsstore.Record) int { return cmp.Compare(a.Type(), b.Type()) })
	return s, nil
}

// mailboxName turns a SOA RNAME given as a domain name ("hostmaster.lab.test") or as an address
// ("hostmaster@lab.test") into the domain-name form.
func mailboxName(s string) (string, error) {
	if local, domain, ok := strings.Cut(s, "@"); ok {
		if local == "" || strings.ContainsAny(local, ".@") {
			return "", fmt.Errorf("the local part %q must be one label", local)
		}
		s = local + "." + domain
	}
	name, err := dnsname.Canonical(s)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(name, "*.") {
		return "", fmt.Errorf("%q is a wildcard", s)
	}
	return name, nil
}

// answer builds the reply to req, sent by client, from snap. It holds the whole answering policy and does no
// I/O, so that it can be tested, fuzzed and benchmarked without sockets and its results cached by a later
// layer. It returns forward = true (and no reply) when req is for a name outside every zone that the store
// does not know, Forwarders are configured, req has RD set and client is in ForwardAllow. The reply is not
// yet sized for the transport: the caller truncates it.
//
// Only a REFUSED reply can depend on the client or on RD (a recursion refused); every other reply is the same
// for every client, which is what lets the UDP layer cache replies by question alone.
//
// Each answer RR is built from its store record, owned by the name asked (the record's own, or the name a
// wildcard answers); the answer cache in front of this spares most queries from building any.
func (r *resolver) answer(snap *dnsstore.Snapshot, req *dns.Msg, client netip.Addr) (*dns.Msg, bool) {
	buf := new(replyBuf)
	m := &buf.msg
	m.Answer, m.Ns = buf.answer[:0], buf.ns[:0]
	m.Id = req.Id
	m.Response = true
	m.Opcode = req.Opcode
	m.RecursionDesired = req.RecursionDesired
	m.CheckingDisabled = req.CheckingDisabled

	opt, nopt := requestOPT(req)
	switch {
	case nopt > 1:
		// RFC 6891 section 6.1.1: more than one OPT is a format error, answered without OPT.
		m.Rcode = dns.RcodeFormatError
		return m, false
	case opt != nil && opt.Version() != 0:
		m.Question = req.Question
		m.Rcode = dns.RcodeBadVers
	case req.Opcode != dns.OpcodeQuery:
		m.Question = req.Question
		m.Rcode = dns.RcodeNotImplemented
	case len(req.Question) != 1:
		// RFC 9619: a query has exactly one question; the section is what was wrong, so it is not echoed.
		m.Rcode = dns.RcodeFormatError
	case req.Question[0].Qclass != dns.ClassINET:
		m.Question = req.Question
		m.Rcode = dns.RcodeRefused
	default:
		m.Question = req.Question // echoed exactly as asked, case included (resolvers using 0x20 check it)
		if r.query(snap, m, req.Question[0]) {
			// Not ours: forwarded for a client that asked for recursion and may have it, else refused.
			if r.forward && req.RecursionDesired && r.allowed(client) {
				return nil, true
			}
			m.Authoritative = false
			m.Rcode = dns.RcodeRefused
		}
	}
	if opt != nil {
		m.Extra = append(m.Extra, r.opt())
	}
	return m, false
}

// replyBuf lets the common reply (one answer record, or one SOA in the authority section) come from a single
// allocation; longer sections grow out of it as usual.
type replyBuf struct {
	msg    dns.Msg
	answer [1]dns.RR
	ns     [1]dns.RR
}

// requestOPT returns the request's OPT record and how many it has.
func requestOPT(req *dns.Msg) (*dns.OPT, int) {
	var opt *dns.OPT
	n := 0
	for _, rr := range req.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			opt = o
			n++
		}
	}
	return opt, n
}

// opt returns a fresh OPT for a reply: packing writes the extended rcode into it, so it is never shared.
func (r *resolver) opt() *dns.OPT {
	return &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: r.udpSize}}
}

// replySize is the largest reply the client accepts: over UDP its EDNS0 payload size (at least 512, at most
// our UDPSize) or 512 without EDNS0; over TCP the protocol maximum.
func (r *resolver) replySize(req *dns.Msg, udp bool) int {
	if !udp {
		return dns.MaxMsgSize
	}
	if opt := req.IsEdns0(); opt != nil {
		return int(min(max(opt.UDPSize(), dns.MinMsgSize), r.udpSize))
	}
	return dns.MinMsgSize
}

// query fills m for one IN question, following CNAMEs inside the store. It reports true, leaving m to the
// caller to forward or refuse, when the name asked is outside every zone and unknown to the store.
func (r *resolver) query(snap *dnsstore.Snapshot, m *dns.Msg, q dns.Question) bool {
	qtype := q.Qtype
	if qtype == dns.TypeAXFR || qtype == dns.TypeIXFR {
		m.Rcode = dns.RcodeRefused // no zone transfers: the store is not a zone file to copy
		return false
	}
	m.Authoritative = true
	name := lower(q.Name)
	var seen [maxChain]string
	for links := 0; ; links++ {
		z := r.zoneOf(name)
		apex := z != nil && name == z.name
		if apex && (qtype == dns.TypeSOA || qtype == dns.TypeNS || qtype == dns.TypeANY) {
			r.apex(snap, m, z, qtype)
			return false
		}
		if (qtype == dns.TypePTR || qtype == dns.TypeANY) && r.ptr(snap, m, name) {
			return false
		}
		match := r.lookup(snap, name)
		if match.Kind == dnsstore.Wildcard && z != nil && !inZone(match.Owner[2:], z.name) {
			// A wildcard above the zone's apex does not reach into the zone (a zone cut, RFC 4592 section 2.2).
			match.Kind = dnsstore.NotFound
		}
		switch match.Kind {
		case dnsstore.Exact, dnsstore.Wildcard:
			recs, cname := pick(match.Records, qtype)
			if len(recs) > 0 {
				m.Answer = slices.Grow(m.Answer, len(recs))
				ttl := minTTL(recs)
				for i := range recs {
					rr := recs[i].RR(name)
					rr.Header().Ttl = ttl
					m.Answer = append(m.Answer, rr)
				}
				return false
			}
			if cname == nil {
				r.negative(snap, m, z, dns.RcodeSuccess)
				return false
			}
			m.Answer = append(m.Answer, cname.RR(name))
			seen[links] = name
			if links+1 == maxChain || slices.Contains(seen[:links+1], cname.Value()) {
				// A loop, or a chain too long to follow: the links so far are the answer (RFC 1034 section 3.6.2).
				return false
			}
			name = cname.Value()
			continue
		case dnsstore.EmptyNonTerminal:
			if z != nil {
				r.negative(snap, m, z, dns.RcodeSuccess)
				return false
			}
		case dnsstore.NotFound:
			switch {
			case apex || r.reverseExists(snap, name):
				r.negative(snap, m, z, dns.RcodeSuccess)
				return false
			case z != nil:
				r.negative(snap, m, z, dns.RcodeNameError)
				return false
			}
		}
		// The name is outside every zone (all names are, without zones) and holds no records: not ours to deny.
		return links == 0 // after a CNAME that led out of our data the resolver follows it from here
	}
}

// lookup is the store's match for name, except that a zone's nameserver name that owns no records in the
// store answers with this node's addresses (an empty list still makes the name exist: NODATA, not NXDOMAIN).
func (r *resolver) lookup(snap *dnsstore.Snapshot, name string) dnsstore.Match {
	match := snap.Lookup(name)
	if match.Kind == dnsstore.Exact {
		return match
	}
	for _, s := range r.servers {
		if s.name == name {
			return dnsstore.Match{Kind: dnsstore.Exact, Owner: name, Records: s.addrs}
		}
	}
	return match
}

// allowed reports whether client may have its queries forwarded.
func (r *resolver) allowed(client netip.Addr) bool {
	client = client.Unmap()
	for _, p := range r.allow {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// minTTL is the TTL an RRset is answered with: the lowest of its records', since RFC 2181 section 5.2 wants
// one TTL per RRset and sources (two containers claiming one name) may publish different ones.
func minTTL(recs []dnsstore.Record) uint32 {
	ttl := recs[0].TTL()
	for i := 1; i < len(recs); i++ {
		ttl = min(ttl, recs[i].TTL())
	}
	return ttl
}

// sameTTL gives each RRset in rrs, a run of records with one owner and type, the lowest TTL among them (see
// minTTL). The records must be the reply's own, not shared ones.
func sameTTL(rrs []dns.RR) {
	for i := 0; i < len(rrs); {
		h := rrs[i].Header()
		j, ttl := i+1, h.Ttl
		for ; j < len(rrs) && rrs[j].Header().Rrtype == h.Rrtype && rrs[j].Header().Name == h.Name; j++ {
			ttl = min(ttl, rrs[j].Header().Ttl)
		}
		for ; i < j; i++ {
			rrs[i].Header().Ttl = ttl
		}
	}
}

// pick returns the records of qtype in recs (sorted by type), the first RRset for ANY (RFC 8482 section
// 4.2: one RRset rather than all of them), and the CNAME record at the name if there is one.
func pick(recs []dnsstore.Record, qtype uint16) ([]dnsstore.Record, *dnsstore.Record) {
	if len(recs) == 0 {
		return nil, nil
	}
	if qtype == dns.TypeANY {
		qtype = recs[0].Type()
	}
	var cname *dnsstore.Record
	start, end := -1, -1
	for i := range recs {
		t := recs[i].Type()
		if t == dns.TypeCNAME && cname == nil {
			cname = &recs[i]
		}
		if t == qtype {
			if start < 0 {
				start = i
			}
			end = i + 1
		}
	}
	if start < 0 {
		return nil, cname
	}
	return recs[start:end], cname
}

// negative completes a NODATA (rcode NOERROR) or NXDOMAIN answer: inside a zone the zone's SOA goes into the
// authority section so that resolvers cache the absence for NegativeTTL (RFC 2308 section 3).
func (r *resolver) negative(snap *dnsstore.Snapshot, m *dns.Msg, z *zone, rcode int) {
	m.Rcode = rcode
	if z != nil {
		m.Ns = append(m.Ns, r.soa(snap, z))
	}
}

// apex answers SOA, NS or ANY (with the SOA) at a zone's apex. The NS target's addresses, when the store has
// them, go into the additional section so that a resolver needs no second query.
func (r *resolver) apex(snap *dnsstore.Snapshot, m *dns.Msg, z *zone, qtype uint16) {
	if qtype != dns.TypeNS {
		m.Answer = append(m.Answer, r.soa(snap, z))
		return
	}
	m.Answer = append(m.Answer, z.ns)
	if match := r.lookup(snap, z.ns.Ns); match.Kind == dnsstore.Exact {
		start := len(m.Extra)
		for _, rec := range match.Records {
			if rec.Type() == dns.TypeA || rec.Type() == dns.TypeAAAA {
				m.Extra = append(m.Extra, rec.RR(rec.Name()))
			}
		}
		sameTTL(m.Extra[start:])
	}
}

// soa returns z's SOA for snap's generation. The serial is the store generation: it changes exactly when
// the data does, which is all a serial is for when there are no transfers.
func (r *resolver) soa(snap *dnsstore.Snapshot, z *zone) *dns.SOA {
	gen := snap.Generation()
	if e := z.soa.Load(); e != nil && e.gen == gen {
		return e.rr
	}
	rr := &dns.SOA{
		Hdr:     dns.RR_Header{Name: z.name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: r.negTTL},
		Ns:      z.ns.Ns,
		Mbox:    z.mbox,
		Serial:  uint32(gen),
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  r.negTTL,
	}
	z.soa.Store(&soaEntry{gen: gen, rr: rr})
	return rr
}

// ptr answers a PTR (or ANY) query for an in-addr.arpa or ip6.arpa name with the names whose A or AAAA
// records hold the address, with the lowest of those records' TTLs. It reports false when there are none.
func (r *resolver) ptr(snap *dnsstore.Snapshot, m *dns.Msg, name string) bool {
	addr, ok := reverseAddr(name)
	if !ok {
		return false
	}
	value, start := "", len(m.Answer)
	for _, target := range snap.Reverse(addr) {
		if strings.HasPrefix(target, "*.") {
			continue // a wildcard owner is not a host name to point at
		}
		if value == "" {
			value = addr.String()
		}
		ttl := r.negTTL
		for _, rec := range snap.Lookup(target).Records {
			if (rec.Type() == dns.TypeA || rec.Type() == dns.TypeAAAA) && rec.Value() == value {
				ttl = rec.TTL()
				break
			}
		}
		m.Answer = append(m.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl},
			Ptr: target,
		})
	}
	sameTTL(m.Answer[start:])
	return len(m.Answer) > start
}

// reverseExists reports whether name is a reverse name the store can answer PTR for, so that other types at
// it are NODATA rather than NXDOMAIN.
func (r *resolver) reverseExists(snap *dnsstore.Snapshot, name string) bool {
	addr, ok := reverseAddr(name)
	if !ok {
		return false
	}
	return slices.ContainsFunc(snap.Reverse(addr), func(n string) bool { return !strings.HasPrefix(n, "*.") })
}

// zoneOf returns the innermost zone containing name, or nil.
func (r *resolver) zoneOf(name string) *zone {
	for _, z := range r.zones {
		if inZone(name, z.name) {
			return z
		}
	}
	return nil
}
