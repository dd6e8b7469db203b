package dnsserver

import (
	"strconv"
	"sync/atomic"

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

// counters are atomics so that concurrent queries never contend on a lock to count themselves.
type counters struct {
	queries, forwarded, panics, invalid, cacheHits atomic.Uint64
	rcodes                                         [rcodeSlots]atomic.Uint64
}

func (c *counters) answered(rcode int) { c.rcodes[rcodeSlot(rcode)].Add(1) }

// rcodeSlot is the index of rcode's counter.
func rcodeSlot(rcode int) int {
	if rcode < 0 || rcode >= rcodeSlots-1 {
		return rcodeSlots - 1
	}
	return rcode
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
	for i := range s.stats.rcodes {
		n := s.stats.rcodes[i].Load()
		if n == 0 {
			continue
		}
		name, ok := dns.RcodeToString[i]
		switch {
		case i == rcodeSlots-1:
			name = "OTHER"
		case !ok:
			name = "RCODE" + strconv.Itoa(i)
		}
		st.Answers[name] += n
	}
	return st
}
