package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
)

const (
	// batchSize is how many datagrams one system call reads or writes (recvmmsg/sendmmsg on Linux).
	batchSize = 32
	// maxForwarding bounds the forwarded queries in flight; past it a query gets SERVFAIL at once rather
	// than a goroutine waiting on a slow upstream.
	maxForwarding = 1024
)

// batchConn reads and writes batches of datagrams: ipv4.PacketConn on Linux (one recvmmsg or sendmmsg per
// batch), singleConn elsewhere. ipv4.Message and ipv6.Message are the same type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// singleConn is a batchConn over a plain net.PacketConn, one datagram per call, for platforms without
// recvmmsg. It carries no control messages.
type singleConn struct{ net.PacketConn }

func (c singleConn) ReadBatch(ms []ipv4.Message, _ int) (int, error) {
	n, addr, err := c.ReadFrom(ms[0].Buffers[0])
	if err != nil {
		return 0, err
	}
	ms[0].N, ms[0].NN, ms[0].Flags, ms[0].Addr = n, 0, 0, addr
	return 1, nil
}

func (c singleConn) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	if _, err := c.WriteTo(ms[0].Buffers[0], ms[0].Addr); err != nil {
		return 0, err
	}
	return 1, nil
}

// udpServer answers queries on one UDP socket: a worker reads a batch of datagrams, answers them (from the
// cache or through the full path) and sends the replies in one batch. Forwarded queries are answered by
// goroutines of their own so that a slow upstream never holds up a batch.
//
// One worker serves the socket. It answers from the cache in well under a microsecond and never waits on
// anything but the socket, so it keeps up with what one CPU's network stack delivers (over 100,000 queries a
// second). A second reader of the same socket was measured to cost about a quarter more CPU per query (the
// two hand the socket's read lock to each other on every batch) for no more throughput; serving more would
// take one socket per worker (SO_REUSEPORT), which would also let another process share the port unnoticed.
type udpServer struct {
	s    *Server
	ctx  context.Context // the run's: cancelled on Stop to abort forwarding
	conn net.PacketConn
	bc   batchConn
	// session: the socket is bound to a wildcard address, so each reply must leave from the address its
	// query was sent to (a multi-homed host would otherwise answer from another); control messages carry it.
	session bool

	worker   sync.WaitGroup
	forwards sync.WaitGroup
	fwdSlots chan struct{}
	stopping atomic.Bool
}

func newUDPServer(ctx context.Context, s *Server, conn net.PacketConn) *udpServer {
	u := &udpServer{s: s, ctx: ctx, conn: conn, fwdSlots: make(chan struct{}, maxForwarding)}
	u.bc, u.session = newBatchConn(conn)
	return u
}

// start launches the worker.
func (u *udpServer) start() {
	u.worker.Add(1)
	go func() {
		defer u.worker.Done()
		u.work()
	}()
}

// stop wakes the worker blocked in a read with a past deadline, waits for it to send what it has and for
// forwarded queries to be answered (the run's context is already cancelled), then closes the socket.
func (u *udpServer) stop(ctx context.Context) error {
	u.stopping.Store(true)
	_ = u.conn.SetReadDeadline(time.Now())
	done := make(chan struct{})
	go func() {
		u.worker.Wait()
		u.forwards.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("dns: shut down %s: %w", u.conn.LocalAddr(), ctx.Err())
	}
	_ = u.conn.Close() // ends any write still blocked; the goroutine above then exits
	<-done
	return err
}

// worker is the serving goroutine's state: batchSize read and reply buffers, and the messages pointing at
// them.
type worker struct {
	u       *udpServer
	in, out []ipv4.Message
	replies [][]byte // reply buffers, each of cap size+1 (miekg/dns packs into len(uncompressed)+1)
	size    uint16   // the UDPSize the buffers are allocated for
	cells   []int    // the counter (see cell) of each reply in out, counted once it is sent
	key     [maxKeyLen]byte
	tally   tally
	oobs    map[string][]byte // received control message → the one for the reply (session only)
	// read is when the batch being answered was read (Server.clock): its replies' answer time is measured from
	// it, and so is that of a query it hands to forwarding.
	read time.Duration
	// st are the settings the batch is answered with, loaded once when it was read.
	st *settings
}

func (u *udpServer) work() {
	w := u.newWorker()
	for {
		n, err := u.bc.ReadBatch(w.in, 0)
		if err != nil {
			if u.stopping.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTransient(err) {
				continue
			}
			u.s.failed("UDP", u.conn.LocalAddr(), err)
			return
		}
		w.batch(n)
	}
}

func (u *udpServer) newWorker() *worker {
	w := &worker{
		u:       u,
		in:      make([]ipv4.Message, batchSize),
		out:     make([]ipv4.Message, batchSize),
		replies: make([][]byte, batchSize),
		cells:   make([]int, batchSize),
		st:      u.s.settings.Load(),
	}
	oobSize := 0
	if u.session {
		oobSize = sessionOOBSize
		w.oobs = make(map[string][]byte)
	}
	for i := range w.in {
		if oobSize > 0 {
			w.in[i].OOB = make([]byte, oobSize)
		}
		w.out[i].Buffers = make([][]byte, 1)
	}
	w.allocate(w.st.cfg.UDPSize)
	return w
}

// allocate sizes the read and reply buffers for the payload size we advertise. A query longer than that is cut
// and (its body unparsable) answered FORMERR, as miekg/dns did.
func (w *worker) allocate(size uint16) {
	for i := range w.in {
		w.in[i].Buffers = [][]byte{make([]byte, size)}
		w.replies[i] = make([]byte, int(size)+1)
	}
	w.size = size
}

// isTransient reports errors a read loop should ride out: a signal, or memory the kernel lacked for a moment.
func isTransient(err error) bool {
	return errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ENOBUFS)
}

// batch answers the n datagrams read into w.in and sends the replies.
//
// Every reply of a batch leaves with the batch, so each is counted as taking the batch's time, from the read's
// return to the last send: two readings of the monotonic clock per batch rather than per query.
func (w *worker) batch(n int) {
	u, s := w.u, w.u.s
	w.read = s.clock()
	// One snapshot and one set of settings per batch: every query in it arrived before these loads.
	snap := s.store.Snapshot()
	w.st = s.settings.Load()
	k := 0
	for i := range n {
		m := &w.in[i]
		p := m.Buffers[0][:min(m.N, len(m.Buffers[0]))]
		var oob []byte
		if u.session {
			oob = w.replyOOB(m.OOB[:m.NN])
		}
		reply, c := w.answer(snap, p, m.Addr, oob, w.replies[k][:cap(w.replies[k])])
		if reply == nil {
			continue
		}
		w.out[k].Buffers[0] = reply
		w.out[k].OOB = oob
		w.out[k].Addr = m.Addr
		w.cells[k] = c
		k++
	}
	for sent := 0; sent < k; {
		c, err := u.bc.WriteBatch(w.out[sent:k], 0)
		for i := sent; i < sent+c; i++ {
			if w.cells[i] >= 0 {
				w.tally.reply(w.cells[i])
			}
		}
		sent += c
		if err != nil {
			// The datagram at sent could not go (a bad address, a full buffer): skip it, send the rest.
			if ce := s.log.Check(zap.DebugLevel, "cannot send a DNS reply"); ce != nil {
				ce.Write(zap.Stringer("remote", w.out[sent].Addr), zap.Error(err))
			}
			sent++
		}
	}
	w.tally.flush(&s.stats, s.clock()-w.read)
	for i := range k {
		w.out[i].Addr, w.out[i].Buffers[0] = nil, nil // let addresses and any grown reply be collected
	}
	if w.st.cfg.UDPSize != w.size {
		w.allocate(w.st.cfg.UDPSize) // Apply changed the payload size: read the next batch with buffers to match
	}
}

// answer returns the reply to the datagram p from addr, built in out (or a larger buffer), and the counter
// (see cell) to count it under once sent (-1: not counted), or nil when there is none to send now: a datagram
// without a header or a response is dropped, and a forwarded query is answered later by its own goroutine.
func (w *worker) answer(snap *dnsstore.Snapshot, p []byte, addr net.Addr, oob, out []byte) (
	reply []byte, counter int,
) {
	s, st := w.u.s, w.st
	var req *dns.Msg
	defer func() {
		if v := recover(); v != nil {
			reply, counter = w.panicked(req, p, v, out)
		}
	}()
	if len(p) < headerLen {
		s.invalid(p, errShortHeader) // no ID to answer: dropped, as any reply could serve amplification
		return nil, -1
	}
	if p[2]&flagQR != 0 {
		return nil, -1 // a response: answering it invites loops and reflection
	}
	q, key, plain := parsePlain(p, st.cfg.UDPSize, w.key[:0])
	if plain {
		if e := st.cache.get(key, snap.Generation(), p[headerLen:q.nameEnd]); e != nil {
			reply = e.patch(p, out)
			w.tally.queries++
			w.tally.hits++
			return reply, cell(q.qtype, int(e.rcode))
		}
	}

	// The full path: miekg/dns parses, the resolver answers.
	req = new(dns.Msg)
	if err := req.Unpack(p); err != nil {
		s.invalid(p, err)
		// Not counted as an answer: the query never reached the answering logic (Stats.Invalid has it).
		return s.pack(formErr(req), 0, out, req), -1
	}
	w.tally.queries++
	if s.beforeAnswer != nil {
		s.beforeAnswer(req)
	}
	m, fwd := st.res.answer(snap, req, clientAddr(addr))
	if fwd {
		s.stats.forwarded.Add(1)
		return w.u.forward(st, req, addr, oob, out, w.read)
	}
	size := st.res.replySize(req, true)
	reply = s.pack(m, size, out, req)
	// With forwarders a REFUSED may be a recursion refused to this client or to a query without RD, which
	// another query for the same question would not get: such replies are not cached.
	personal := st.res.forward && m.Rcode == dns.RcodeRefused
	if reply != nil && plain && !personal && cacheable(req, m, q, size, p, reply) {
		st.cache.put(key, snap.Generation(), reply, q.nameEnd-headerLen, !m.Compress, m.Rcode)
	}
	return reply, replyCell(req, m)
}

// panicked answers SERVFAIL to the query p whose handling panicked. req is the query as parsed, or nil when
// the panic came before parsing, in which case p is parsed here (and a query that cannot be is not answered).
func (w *worker) panicked(req *dns.Msg, p []byte, v any, out []byte) ([]byte, int) {
	s, st := w.u.s, w.st
	if req == nil {
		w.tally.queries++
		req = new(dns.Msg)
		if err := req.Unpack(p); err != nil {
			s.recovered(st, req, v) // counted and reported all the same
			return nil, -1
		}
	}
	m := s.recovered(st, req, v)
	return s.pack(m, st.res.replySize(req, true), out, req), replyCell(req, m)
}

// cacheable double-checks that the full path saw the plain query as parsePlain did and that the reply
// echoes its name as the raw octets, so that a cached copy patched for another query is exactly what the
// full path would have sent. It should always hold; it costs a few comparisons per miss.
func cacheable(req, m *dns.Msg, q plainQuery, size int, p, reply []byte) bool {
	return len(req.Question) == 1 && req.Question[0].Qtype == q.qtype && size == q.size &&
		m.Rcode <= 0xF && len(reply) >= q.nameEnd && be16(reply[4:]) == 1 &&
		string(reply[headerLen:q.nameEnd]) == string(p[headerLen:q.nameEnd])
}

// forward answers req, read at read, from the forwarders of st in a goroutine of its own, which sends the reply
// itself. When maxForwarding queries are already waiting on upstreams, req is answered SERVFAIL at once, in out.
func (u *udpServer) forward(st *settings, req *dns.Msg, addr net.Addr, oob, out []byte, read time.Duration) ([]byte, int) {
	s := u.s
	select {
	case u.fwdSlots <- struct{}{}:
	default:
		if ce := s.log.Check(zap.DebugLevel, "too many forwarded queries in flight; answered SERVFAIL"); ce != nil {
			ce.Write(zap.Stringer("question", questionOf(req)))
		}
		m := st.failure(req)
		return s.pack(m, st.res.replySize(req, true), out, req), replyCell(req, m)
	}
	u.forwards.Add(1)
	go func() {
		defer u.forwards.Done()
		defer func() { <-u.fwdSlots }()
		m := u.forwarded(st, req)
		reply := s.pack(m, st.res.replySize(req, true), nil, req)
		if reply == nil {
			return
		}
		msg := []ipv4.Message{{Buffers: [][]byte{reply}, OOB: oob, Addr: addr}}
		if _, err := u.bc.WriteBatch(msg, 0); err != nil {
			if ce := s.log.Check(zap.DebugLevel, "cannot send a DNS reply"); ce != nil {
				ce.Write(zap.Stringer("remote", addr), zap.Error(err))
			}
			return
		}
		s.stats.answered(replyCell(req, m), s.clock()-read)
	}()
	return nil, -1
}

// forwarded is the upstream's reply to req, or SERVFAIL when forwarding panicked.
func (u *udpServer) forwarded(st *settings, req *dns.Msg) (m *dns.Msg) {
	defer func() {
		if v := recover(); v != nil {
			m = u.s.recovered(st, req, v)
		}
	}()
	return u.s.forward(u.ctx, st, req)
}

// formErr turns req, as far as miekg/dns could parse it, into the FORMERR reply miekg/dns's own server
// sends for a body it cannot parse: the header's flags and whatever questions were read, nothing else.
func formErr(req *dns.Msg) *dns.Msg {
	req.SetRcodeFormatError(req)
	req.Zero = false
	req.Answer, req.Ns, req.Extra = nil, nil, nil
	return req
}

// tally counts a batch's queries and replies, added to the server's counters once per batch rather than
// with a few atomic additions per query. Of the many reply counters only those a batch touched are added and
// reset, so a flush costs what the batch's variety of questions and rcodes does, not the number of counters.
type tally struct {
	queries, hits uint64
	replies       [cells]uint32
	// touched lists the replies' counters that are not zero. A batch sends at most batchSize replies, so it
	// cannot touch more.
	touched  [batchSize]uint16
	nTouched int
	sent     int // replies counted
}

// reply counts a reply sent, whose counter is c (see cell).
func (t *tally) reply(c int) {
	if t.replies[c] == 0 {
		t.touched[t.nTouched] = uint16(c)
		t.nTouched++
	}
	t.replies[c]++
	t.sent++
}

// flush adds the tally to c, the replies counted as each taking took, and resets it.
func (t *tally) flush(c *counters, took time.Duration) {
	if t.queries > 0 {
		c.queries.Add(t.queries)
	}
	if t.hits > 0 {
		c.cacheHits.Add(t.hits)
	}
	for _, i := range t.touched[:t.nTouched] {
		c.replies[i].Add(uint64(t.replies[i]))
		t.replies[i] = 0
	}
	if t.sent > 0 {
		c.latency.observe(took, t.sent)
	}
	t.queries, t.hits, t.nTouched, t.sent = 0, 0, 0, 0
}

// sessionOOBSize fits the control message of either family that carries a datagram's destination.
var sessionOOBSize = max(
	len(ipv4.NewControlMessage(ipv4.FlagDst|ipv4.FlagInterface)),
	len(ipv6.NewControlMessage(ipv6.FlagDst|ipv6.FlagInterface)),
)

// replyOOB returns the control message that makes a reply leave from the address the query with control
// message oob was sent to (nil when oob carries none). Few distinct destinations exist, so the results are
// remembered and most datagrams cost a map lookup. The results are never modified, so a
// forwarding goroutine may keep one.
func (w *worker) replyOOB(oob []byte) []byte {
	if len(oob) == 0 {
		return nil
	}
	if r, ok := w.oobs[string(oob)]; ok {
		return r
	}
	r := sourceOOB(oob)
	if len(w.oobs) >= 64 {
		clear(w.oobs) // more local addresses than that is unusual; start over rather than grow
	}
	w.oobs[string(oob)] = r
	return r
}

// sourceOOB builds a control message whose source is the destination in oob, as miekg/dns does for its
// own UDP sessions: an IPv6 destination needs IPV6_PKTINFO, an IPv4 one (also on a dual-stack socket)
// IP_PKTINFO.
func sourceOOB(oob []byte) []byte {
	var dst net.IP
	if cm := new(ipv6.ControlMessage); cm.Parse(oob) == nil && cm.Dst != nil {
		dst = cm.Dst
	} else if cm := new(ipv4.ControlMessage); cm.Parse(oob) == nil && cm.Dst != nil {
		dst = cm.Dst
	}
	switch {
	case dst == nil:
		return nil
	case dst.To4() == nil:
		return (&ipv6.ControlMessage{Src: dst}).Marshal()
	default:
		return (&ipv4.ControlMessage{Src: dst}).Marshal()
	}
}
