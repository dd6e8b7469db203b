package dnsserver

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Stats are the server's counters since it was created.
type Stats struct {
	Queries uint64 `json:"queries"` // queries handed to the answering logic
	// Answers counts replies sent, by rcode name ("NOERROR", "NXDOMAIN", "REFUSED", …); forwarded replies
	// count under the upstream's rcode.
	Answers   map[string]uint64 `json:"answers"`
	Forwarded uint64            `json:"forwarded"` // queries sent to the forwarders
	Panics    uint64            `json:"panics"`    // queries whose handling panicked (answered SERVFAIL)
	Invalid   uint64            `json:"invalid"`   // packets that could not be parsed
	// CacheHits counts UDP queries answered from the packed-answer cache (a subset of Queries).
	CacheHits uint64 `json:"cache_hits"`
}

// rcodeSlots covers every rcode miekg/dns names; the last slot collects the rest.
const rcodeSlots = dns.RcodeBadCookie + 2

// qtypes are the question types counted apart, in slot order; every other type counts in the last slot,
// "OTHER", and so does a reply to a query without a question. A fixed set keeps the counters an array that
// the UDP worker indexes without a lookup, and keeps the metrics' label values bounded whatever clients ask.
var qtypes = [...]uint16{
	dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeNS, dns.TypePTR, dns.TypeSOA, dns.TypeSRV,
	dns.TypeTXT, dns.TypeCAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY,
}

const qtypeSlots = len(qtypes) + 1

// cells is the number of (question type, rcode) counters.
const cells = qtypeSlots * rcodeSlots

// qtypeSlot is the index of qtype's row.
func qtypeSlot(qtype uint16) int {
	switch qtype {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeCNAME:
		return 2
	case dns.TypeMX:
		return 3
	case dns.TypeNS:
		return 4
	case dns.TypePTR:
		return 5
	case dns.TypeSOA:
		return 6
	case dns.TypeSRV:
		return 7
	case dns.TypeTXT:
		return 8
	case dns.TypeCAA:
		return 9
	case dns.TypeHTTPS:
		return 10
	case dns.TypeSVCB:
		return 11
	case dns.TypeANY:
		return 12
	}
	return qtypeSlots - 1
}

// rcodeSlot is the index of rcode's column.
func rcodeSlot(rcode int) int {
	if rcode < 0 || rcode >= rcodeSlots-1 {
		return rcodeSlots - 1
	}
	return rcode
}

// cell is the counter of a reply with rcode to a question of type qtype.
func cell(qtype uint16, rcode int) int { return qtypeSlot(qtype)*rcodeSlots + rcodeSlot(rcode) }

// replyCell is the counter of the reply m to req: the type of req's question, m's rcode.
func replyCell(req, m *dns.Msg) int {
	var qtype uint16 // no question: the OTHER row
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	return cell(qtype, m.Rcode)
}

// qtypeName and rcodeName name a row and a column, as the metrics label them.
func qtypeName(slot int) string {
	if slot == qtypeSlots-1 {
		return "OTHER"
	}
	return dns.TypeToString[qtypes[slot]]
}

func rcodeName(slot int) string {
	if slot == rcodeSlots-1 {
		return "OTHER"
	}
	if name, ok := dns.RcodeToString[slot]; ok {
		return name
	}
	return "RCODE" + strconv.Itoa(slot)
}

// latencyBounds are the upper bounds of the answer-time histogram's buckets: a cached answer takes a few
// microseconds inside the server, a batch of 32 some tens, a forwarded one as long as its upstream.
var latencyBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
}

// latency is a histogram of answer times: per bucket (the last is +Inf), not cumulative, and the sum.
type latency struct {
	buckets [len(latencyBounds) + 1]atomic.Uint64
	sumNS   atomic.Uint64
}

// observe counts n answers that each took d.
func (l *latency) observe(d time.Duration, n int) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	l.buckets[i].Add(uint64(n))
	l.sumNS.Add(uint64(max(d, 0)) * uint64(n))
}

// clock is the time since the server was created, from one reading of the monotonic clock (time.Now reads
// the wall clock too): answer times need only differences, and the UDP worker takes two per batch.
func (s *Server) clock() time.Duration { return time.Since(s.epoch) }

// counters are atomics so that concurrent queries never contend on a lock to count themselves.
type counters struct {
	queries, forwarded, panics, invalid, cacheHits atomic.Uint64
	// replies counts the replies sent by question type and rcode: index cell(qtype, rcode).
	replies [cells]atomic.Uint64
	latency latency
}

// answered counts one reply sent, whose counter is c (see cell), that took d since its query was read.
func (c *counters) answered(cell int, d time.Duration) {
	c.replies[cell].Add(1)
	c.latency.observe(d, 1)
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Queries:   s.stats.queries.Load(),
		Answers:   make(map[string]uint64),
		Forwarded: s.stats.forwarded.Load(),
		Panics:    s.stats.panics.Load(),
		Invalid:   s.stats.invalid.Load(),
		CacheHits: s.stats.cacheHits.Load(),
	}
	for i := range s.stats.replies {
		if n := s.stats.replies[i].Load(); n > 0 {
			st.Answers[rcodeName(i%rcodeSlots)] += n
		}
	}
	return st
}
