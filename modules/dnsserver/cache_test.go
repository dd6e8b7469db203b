package dnsserver

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/dnstest"
)

// newRawServer returns a stopped server and a worker that answers raw UDP queries in-process, through the
// path the UDP worker takes (cache, then the full path). Forwarding needs a socket, so cfg must not forward.
func newRawServer(t testing.TB, cfg Config, store *dnsstore.Store) (*Server, *worker) {
	t.Helper()
	log := zap.NewNop() // a fuzz target must not log through its *testing.F
	if tt, ok := t.(*testing.T); ok {
		log = zaptest.NewLogger(tt)
	}
	s, err := NewServer(cfg, store, log, nil)
	require.NoError(t, err)
	u := &udpServer{s: s, ctx: context.Background(), fwdSlots: make(chan struct{}, maxForwarding)}
	return s, u.newWorker()
}

// raw answers the packed query p and returns a copy of the reply (nil: none) and whether the cache answered.
func (w *worker) raw(p []byte) ([]byte, bool) {
	s := w.u.s
	hits := s.stats.cacheHits.Load()
	w.st = s.settings.Load() // as batch does
	reply, _ := w.answer(s.store.Snapshot(), p, nil, nil, w.replies[0][:cap(w.replies[0])])
	w.tally.flush(&s.stats, 0)
	if reply == nil {
		return nil, false
	}
	return append([]byte(nil), reply...), s.stats.cacheHits.Load() > hits
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	p, err := m.Pack()
	require.NoError(t, err)
	return p
}

// query builds a query; edns < 0 means no OPT.
func query(name string, qtype uint16, edns int, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns >= 0 {
		m.SetEdns0(uint16(edns), do)
	}
	return m
}

// variants of a query that must share its cache entry: another ID, RD and CD flipped, 0x20 spellings.
func variants(m *dns.Msg) []*dns.Msg {
	var out []*dns.Msg
	for i, spell := range []func(string) string{
		func(s string) string { return s },
		strings.ToUpper,
		func(s string) string { // 0x20: alternate case
			b := []byte(s)
			for i := range b {
				if i%2 == 0 && 'a' <= b[i] && b[i] <= 'z' {
					b[i] -= 'a' - 'A'
				}
			}
			return string(b)
		},
	} {
		v := m.Copy()
		v.Id = uint16(0x1000 + i)
		v.RecursionDesired = i%2 == 0
		v.CheckingDisabled = i == 1
		v.Question[0].Name = spell(m.Question[0].Name)
		out = append(out, v)
	}
	return out
}

// TestCacheMatchesFullPath checks, for every kind of answer, that a reply from the cache is byte for byte
// what the full path (a server with an empty cache) sends for the same query, whatever its ID, flags and
// spelling.
func TestCacheMatchesFullPath(t *testing.T) {
	store := newTestStore(t)
	const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	zoned := []struct {
		name  string
		q     *dns.Msg
		cache bool // a plain query whose reply fits uncompressed: every variant is a hit
	}{
		{"A", query("a.lab.test.", dns.TypeA, -1, false), true},
		{"AAAA with EDNS", query("a.lab.test.", dns.TypeAAAA, 1232, false), true},
		{"TXT with DO", query("a.lab.test.", dns.TypeTXT, 4096, true), true},
		{"SRV", query("_http._tcp.lab.test.", dns.TypeSRV, 1232, false), true},
		{"NXDOMAIN", query("missing.lab.test.", dns.TypeA, -1, false), true},
		{"NXDOMAIN with EDNS", query("Missing.lab.test.", dns.TypeA, 1232, false), true},
		{"NODATA", query("a.lab.test.", dns.TypeSRV, 1232, false), true},
		{"empty non-terminal", query("deep.lab.test.", dns.TypeA, -1, false), true},
		{"wildcard", query("host.wild.lab.test.", dns.TypeA, -1, false), true},
		{"deep wildcard", query("a.b.wild.lab.test.", dns.TypeA, 1232, false), true},
		{"wildcard NODATA", query("host.wild.lab.test.", dns.TypeAAAA, -1, false), true},
		{"CNAME chain", query("www.lab.test.", dns.TypeA, -1, false), true},
		{"long CNAME chain", query("c0.lab.test.", dns.TypeA, 1232, false), true},
		{"dangling CNAME", query("dangling.lab.test.", dns.TypeA, -1, false), true},
		{"CNAME loop", query("loop1.lab.test.", dns.TypeA, -1, false), true},
		{"PTR v4", query("1.0.0.10.in-addr.arpa.", dns.TypePTR, -1, false), true},
		{"PTR v6", query(v6, dns.TypePTR, 1232, false), true},
		{"apex SOA", query("lab.test.", dns.TypeSOA, -1, false), true},
		{"apex NS", query("lab.test.", dns.TypeNS, 1232, false), true},
		{"ANY", query("a.lab.test.", dns.TypeANY, -1, false), true},
		{"AXFR refused", query("lab.test.", dns.TypeAXFR, -1, false), true},
		{"outside the zones refused", query("example.com.", dns.TypeA, -1, false), true},
		{"small EDNS payload", query("a.lab.test.", dns.TypeA, 100, false), true},
		// Truncated replies are compressed: the cache answers only the spelling they were built for.
		{"truncated without EDNS", query("big.lab.test.", dns.TypeA, -1, false), false},
		{"truncated at the EDNS payload", query("big.lab.test.", dns.TypeA, 4096, false), false},
		{"truncated at 600", query("big.lab.test.", dns.TypeA, 600, true), false},
	}
	noZones := testConfig()
	noZones.Zones = nil
	unzoned := []struct {
		name  string
		q     *dns.Msg
		cache bool
	}{
		{"NXDOMAIN without SOA", query("missing.lab.test.", dns.TypeA, -1, false), true},
		{"record", query("a.lab.test.", dns.TypeA, 1232, false), true},
	}
	for _, cfg := range []struct {
		name  string
		cfg   Config
		cases []struct {
			name  string
			q     *dns.Msg
			cache bool
		}
	}{{"zone", testConfig(), zoned}, {"no zones", noZones, unzoned}} {
		for _, tc := range cfg.cases {
			t.Run(cfg.name+"/"+tc.name, func(t *testing.T) {
				_, cached := newRawServer(t, cfg.cfg, store)
				first, hit := cached.raw(pack(t, tc.q))
				require.NotNil(t, first)
				require.False(t, hit, "an empty cache answers nothing")
				for i, v := range variants(tc.q) {
					p := pack(t, v)
					got, hit := cached.raw(p)
					_, fresh := newRawServer(t, cfg.cfg, store)
					want, _ := fresh.raw(p)
					require.Equal(t, want, got, "variant %d (%s) differs from the full path", i, v.Question[0].Name)
					if tc.cache || i == 0 {
						require.True(t, hit, "variant %d (%s) must come from the cache", i, v.Question[0].Name)
					}
					resp := new(dns.Msg)
					require.NoError(t, resp.Unpack(got))
					require.Equal(t, v.Id, resp.Id)
					require.Equal(t, v.Question, resp.Question, "the question is echoed as asked")
					require.Equal(t, v.RecursionDesired, resp.RecursionDesired)
					require.Equal(t, v.CheckingDisabled, resp.CheckingDisabled)
				}
			})
		}
	}
}

// TestCacheInvalidatedOnStoreChange: a cached answer is never served once the store has changed.
func TestCacheInvalidatedOnStoreChange(t *testing.T) {
	store := newTestStore(t)
	_, w := newRawServer(t, testConfig(), store)
	ask := func(name string) (*dns.Msg, bool) {
		t.Helper()
		reply, hit := w.raw(pack(t, query(name, dns.TypeA, 1232, false)))
		m := new(dns.Msg)
		require.NoError(t, m.Unpack(reply))
		return m, hit
	}
	set := func(value string) {
		t.Helper()
		var recs []dnsstore.Record
		if value != "" {
			r, err := dnsstore.NewRecord("moving.lab.test", "A", value, 60)
			require.NoError(t, err)
			recs = append(recs, r)
		}
		store.Replace("moving", recs)
	}

	set("10.9.0.1")
	m, hit := ask("moving.lab.test.")
	require.False(t, hit)
	require.Equal(t, []string{"moving.lab.test. 60 IN A 10.9.0.1"}, dnstest.Sorted(m.Answer))
	_, hit = ask("moving.lab.test.")
	require.True(t, hit)

	set("10.9.0.2")
	m, hit = ask("MOVING.lab.test.")
	require.False(t, hit, "the store changed")
	require.Equal(t, []string{"moving.lab.test. 60 IN A 10.9.0.2"}, dnstest.Sorted(m.Answer))

	nx, _ := ask("missing.lab.test.")
	set("")
	m, hit = ask("moving.lab.test.")
	require.False(t, hit)
	require.Equal(t, dns.RcodeNameError, m.Rcode)
	require.Empty(t, m.Answer)
	m, hit = ask("missing.lab.test.")
	require.False(t, hit, "negative answers carry the generation as SOA serial")
	require.Equal(t, nx.Ns[0].(*dns.SOA).Serial+1, m.Ns[0].(*dns.SOA).Serial)

	store.Replace("moving", nil) // no change, no new generation: the cache stays valid
	_, hit = ask("missing.lab.test.")
	require.True(t, hit)
}

// TestCacheOnlyPlainQueries: queries the cache must not answer always take the full path.
func TestCacheOnlyPlainQueries(t *testing.T) {
	withOption := func(o dns.EDNS0) *dns.Msg {
		m := query("a.lab.test.", dns.TypeA, 1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, o)
		return m
	}
	tests := []struct {
		name  string
		q     *dns.Msg
		rcode int
	}{
		{"EDNS version 1", func() *dns.Msg {
			m := query("a.lab.test.", dns.TypeA, 1232, false)
			m.IsEdns0().SetVersion(1)
			return m
		}(), dns.RcodeBadVers},
		{"NOTIFY", func() *dns.Msg { m := new(dns.Msg); m.SetNotify("lab.test."); return m }(), dns.RcodeNotImplemented},
		{"CHAOS", func() *dns.Msg {
			m := query("version.bind.", dns.TypeTXT, -1, false)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}(), dns.RcodeRefused},
		{"two questions", func() *dns.Msg {
			m := query("a.lab.test.", dns.TypeA, -1, false)
			m.Question = append(m.Question, m.Question[0])
			return m
		}(), dns.RcodeFormatError},
		{"client subnet option", withOption(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24,
			Address: []byte{192, 0, 2, 0}}), dns.RcodeSuccess},
		{"an answer record in the query", func() *dns.Msg {
			m := query("a.lab.test.", dns.TypeA, -1, false)
			m.Answer = dnstest.RRs("a.lab.test. 60 IN A 10.0.0.1")
			return m
		}(), dns.RcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, w := newRawServer(t, testConfig(), newTestStore(t))
			for range 3 {
				reply, hit := w.raw(pack(t, tt.q))
				require.False(t, hit)
				m := new(dns.Msg)
				require.NoError(t, m.Unpack(reply))
				require.Equal(t, dns.RcodeToString[tt.rcode], dns.RcodeToString[m.Rcode])
			}
			require.Zero(t, s.Stats().CacheHits)
			require.Equal(t, uint64(3), s.Stats().Queries)
		})
	}
}

// TestCacheNotForwarded: a forwarded reply is the upstream's and never cached.
func TestCacheNotForwarded(t *testing.T) {
	cfg := testConfig()
	cfg.Forwarders = []string{dnstest.Serve(t, dns.HandlerFunc(upstream))}
	srv := startServer(t, cfg, newTestStore(t), nil, nil)
	for range 3 {
		resp := dnstest.Exchange(t, "udp", addrOf(srv, "udp"), query("example.com.", dns.TypeA, -1, false))
		require.True(t, resp.RecursionAvailable)
		require.Len(t, resp.Answer, 1)
	}
	// Replies are counted once sent, so the last count may follow the reply by a moment.
	require.Eventually(t, func() bool { return srv.Stats().Answers["NOERROR"] == 3 }, 5*time.Second, time.Millisecond)
	st := srv.Stats()
	require.Zero(t, st.CacheHits)
	require.Equal(t, uint64(3), st.Forwarded)
}

// clear empties the cache, so that the next query takes the full path.
func (c *answerCache) clear() {
	for i := range c.slots {
		c.slots[i].Store(nil)
	}
	c.bytes.Store(0)
}

// sameSet returns n keys that the cache puts into one set.
func sameSet(c *answerCache, n int) [][]byte {
	var keys [][]byte
	want := -1
	for i := 0; len(keys) < n; i++ {
		k := []byte(fmt.Sprintf("key-%d", i))
		set := int(maphash.Bytes(c.seed, k) % cacheSets)
		if want < 0 {
			want = set
		}
		if set == want {
			keys = append(keys, k)
		}
	}
	return keys
}

// fakeReply is a fake packed reply of n octets with one question.
func fakeReply(n int) []byte {
	r := make([]byte, n)
	r[5] = 1 // QDCOUNT
	return r
}

func TestCacheReplacement(t *testing.T) {
	c := newAnswerCache()
	keys := sameSet(c, cacheWays+2)
	const gen = 7
	for _, k := range keys[:cacheWays] {
		c.put(k, gen, fakeReply(40), 1, true, 0)
	}
	for _, k := range keys[:cacheWays] {
		require.NotNil(t, c.get(k, gen, nil), "a set holds cacheWays entries")
	}
	require.Nil(t, c.get(keys[0], gen+1, nil), "another generation never matches")

	// All four were used (get marks them): the next insert clears the marks and takes one way; the one
	// after that takes a way not used since, never the key asked again in between.
	c.put(keys[cacheWays], gen, fakeReply(40), 1, true, 0)
	hot := -1
	for i, k := range keys[:cacheWays] {
		if c.get(k, gen, nil) != nil {
			hot = i
			break
		}
	}
	require.GreaterOrEqual(t, hot, 0)
	c.put(keys[cacheWays+1], gen, fakeReply(40), 1, true, 0)
	require.NotNil(t, c.get(keys[hot], gen, nil), "an entry used since the last insert survives the next")
	require.NotNil(t, c.get(keys[cacheWays+1], gen, nil))

	// An entry for a newer generation takes the place of a stale one.
	c.put(keys[0], gen+1, fakeReply(40), 1, true, 0)
	require.NotNil(t, c.get(keys[0], gen+1, nil))
}

func TestCacheBounded(t *testing.T) {
	c := newAnswerCache()
	big := fakeReply(60_000)
	for i := range 1000 {
		c.put([]byte(fmt.Sprintf("big-%d", i)), 1, big, 1, true, 0)
	}
	require.LessOrEqual(t, c.bytes.Load(), int64(cacheBudget), "the byte budget holds")
	held := int64(0)
	n := 0
	for i := range c.slots {
		if e := c.slots[i].Load(); e != nil {
			held += e.cost()
			n++
		}
	}
	require.Equal(t, held, c.bytes.Load(), "the budget accounts for exactly what is held")
	require.Less(t, n, 1000)

	c = newAnswerCache()
	for i := range 3 * cacheSets * cacheWays {
		c.put([]byte(fmt.Sprintf("small-%d", i)), 1, fakeReply(50), 1, true, 0)
	}
	n = 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	require.LessOrEqual(t, n, cacheSets*cacheWays)
	require.Greater(t, n, cacheSets*cacheWays/2, "most slots are used")
}

// TestCacheConcurrent hammers one cache from many goroutines, generations moving underneath, under -race:
// a reader only ever gets an entry of the generation and key it asked for.
func TestCacheConcurrent(t *testing.T) {
	c := newAnswerCache()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20_000 {
				key := []byte(fmt.Sprintf("k%d", i%500))
				gen := uint64(i / 2000)
				if e := c.get(key, gen, nil); e != nil {
					if !assert.Equal(t, string(key), string(e.key())) || !assert.Equal(t, gen, e.gen) {
						return
					}
					continue
				}
				r := fakeReply(40)
				r[20] = byte(g)
				c.put(key, gen, r, 1, true, 0)
			}
		}()
	}
	wg.Wait()
}
