package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
)

// Server is Joyride's authoritative DNS server: UDP and TCP listeners answering from a dnsstore.Store.
// Create it with NewServer (or New under fx); it listens only between Start and Stop.
type Server struct {
	// settings are what a query is answered with; Apply swaps them whole (see settings).
	settings atomic.Pointer[settings]
	store    *dnsstore.Store
	log      *zap.Logger
	bus      *events.Bus
	stats    counters
	epoch    time.Time // when the server was created; clock measures from its monotonic reading
	// reports hands recovered panics and failed listeners to the goroutine that publishes them, so that a query
	// never waits on the bus.
	reports chan events.Event
	// beforeAnswer, when set (by tests, before Start), runs before each answer the full path builds.
	beforeAnswer func(*dns.Msg)

	mu      sync.Mutex // serialises Start and Stop
	run     *run       // nil when stopped
	running atomic.Bool
}

// settings are the server's configuration as queries use it: the Config, the resolver derived from it, the
// forwarding clients and the cache of packed replies built under them. A value is never modified once built: a
// query (over UDP, a batch of them) loads the current one once, with one atomic load, and uses it throughout, so
// it never sees half of a change, and Apply swaps in a new value without a lock on the query path.
//
// The cache belongs to the settings because a reply depends on them (the SOA's negative TTL, the zones, the OPT's
// payload size, whether a REFUSED may be cached): new settings start with an empty cache, and a batch still
// answering under the old ones can only fill the old cache, which goes with them.
type settings struct {
	cfg   Config
	res   *resolver
	udpc  *dns.Client // forwarding
	tcpc  *dns.Client // forwarding, when the UDP answer was truncated
	cache *answerCache
}

// run is one Start..Stop period.
type run struct {
	cancel  context.CancelFunc // aborts forwarding in flight
	udp     *udpServer
	tcp     *dns.Server
	serving sync.WaitGroup // the TCP ActivateAndServe goroutine
	started atomic.Bool    // the TCP server reported started
	report  chan struct{}  // closed to stop the reporter
	done    chan struct{}  // closed when the reporter has drained and exited
}

// NewServer checks cfg and returns a stopped server answering from store. bus may be nil (panics are then
// only logged); log may be nil and is named "dns". Errors name the offending key and value.
func NewServer(cfg Config, store *dnsstore.Store, log *zap.Logger, bus *events.Bus) (*Server, error) {
	if store == nil {
		return nil, errors.New("dns: a record store is required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("dns")
	st, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	srv := &Server{
		store:   store,
		log:     log,
		bus:     bus,
		epoch:   time.Now(),
		reports: make(chan events.Event, 16),
	}
	srv.settings.Store(st)
	return srv, nil
}

// newSettings checks cfg, the checks NewServer and Apply share, and builds the settings it describes. Errors
// name the offending key and value.
func newSettings(cfg Config) (*settings, error) {
	if _, err := netip.ParseAddr(cfg.BindAddress); err != nil {
		return nil, fmt.Errorf("dns: bind_address %q is not an IP address", cfg.BindAddress)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("dns: port %d is not in 0..65535", cfg.Port)
	}
	if cfg.UDPSize < dns.MinMsgSize {
		return nil, fmt.Errorf("dns: udp_size %d is smaller than %d", cfg.UDPSize, dns.MinMsgSize)
	}
	for _, f := range cfg.Forwarders {
		if _, _, err := net.SplitHostPort(f); err != nil {
			return nil, fmt.Errorf("dns: forwarder %q is not host:port: %w", f, err)
		}
	}
	if len(cfg.Forwarders) > 0 && cfg.ForwardTimeout <= 0 {
		return nil, fmt.Errorf("dns: forward_timeout %v must be positive when forwarders are set", cfg.ForwardTimeout)
	}
	res, err := newResolver(cfg)
	if err != nil {
		return nil, err
	}
	cfg.Forwarders = slices.Clone(cfg.Forwarders)
	return &settings{
		cfg:   cfg,
		res:   res,
		udpc:  &dns.Client{Net: "udp", Timeout: cfg.ForwardTimeout, UDPSize: cfg.UDPSize},
		tcpc:  &dns.Client{Net: "tcp", Timeout: cfg.ForwardTimeout},
		cache: newAnswerCache(),
	}, nil
}

// Apply makes the server answer with cfg from the next query on (over UDP, the next batch): forwarders, the
// forwarding timeout and clients, the zones with their nameserver, addresses, hostmaster and negative TTL, and the
// UDP payload size. Queries being answered finish with the settings they started with, forwarded ones included,
// so no query is dropped or answered with half of each. Replies cached under the old settings are never served
// again. BindAddress and Port are where the sockets are bound: a change of either needs a restart and is refused.
// An error (cfg does not pass NewServer's checks, ctx has ended) leaves the server on its old settings.
func (s *Server) Apply(ctx context.Context, cfg Config) error {
	old := s.settings.Load()
	if cfg.BindAddress != old.cfg.BindAddress || cfg.Port != old.cfg.Port {
		return fmt.Errorf("dns: bind_address and port cannot change live (%s:%d to %s:%d): restart",
			old.cfg.BindAddress, old.cfg.Port, cfg.BindAddress, cfg.Port)
	}
	next, err := newSettings(cfg)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dns: settings not applied: %w", err)
	}
	s.settings.Store(next)
	s.log.Info("DNS settings applied", zap.Strings("zones", next.zoneNames()), zap.Strings("forwarders", next.cfg.Forwarders),
		zap.Uint32("negative_ttl", next.cfg.NegativeTTL))
	next.warnUnaddressed(s.log)
	return nil
}

// Start binds UDP and TCP on BindAddress:Port (Port 0: a free port, the same for both), starts serving and
// returns once both listeners run. A failure (a taken port, ctx done) releases everything and names the address.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil {
		return errors.New("dns: server already started")
	}
	pc, ln, err := s.listen(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, report: make(chan struct{}), done: make(chan struct{})}
	started := make(chan struct{})
	exited := make(chan error, 1)
	r.tcp = &dns.Server{
		Listener:          ln,
		Handler:           s.handler(runCtx),
		MsgAcceptFunc:     accept,
		MsgInvalidFunc:    s.invalid,
		NotifyStartedFunc: func() { close(started) },
	}
	r.serving.Add(1)
	go func() {
		defer r.serving.Done()
		err := r.tcp.ActivateAndServe()
		if r.started.Load() && runCtx.Err() == nil {
			s.failed("TCP", ln.Addr(), err)
		}
		exited <- err
	}()
	select {
	case <-started:
	case err := <-exited:
		s.abort(r, pc, ln)
		return fmt.Errorf("dns: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil { // also when TCP started just as ctx ended: the caller has given up
		s.abort(r, pc, ln)
		return fmt.Errorf("dns: start on %s: %w", pc.LocalAddr(), err)
	}
	r.udp = newUDPServer(runCtx, s, pc)
	r.udp.start()
	r.started.Store(true)
	go s.reporter(r)
	s.run = r
	s.running.Store(true)
	s.health(events.Healthy, fmt.Sprintf("serving on %s (UDP and TCP)", pc.LocalAddr()))
	st := s.settings.Load()
	s.log.Info("serving DNS",
		zap.Stringer("udp", pc.LocalAddr()), zap.Stringer("tcp", ln.Addr()),
		zap.Strings("zones", st.zoneNames()), zap.Strings("forwarders", st.cfg.Forwarders))
	st.warnUnaddressed(s.log)
	return nil
}

// warnUnaddressed warns about each nameserver name of the zones that has no address to answer with.
func (st *settings) warnUnaddressed(log *zap.Logger) {
	for _, srv := range st.res.servers {
		if len(srv.addrs) == 0 {
			log.Warn("the zones' nameserver name has no address: set dns.addresses to this node's addresses",
				zap.String("nameserver", srv.name), zap.String("bind_address", st.cfg.BindAddress))
		}
	}
}

// listen binds both sockets. With Port 0 the TCP socket takes the port the kernel chose for UDP, retrying
// a few times in the rare case that port is taken for TCP.
func (s *Server) listen(ctx context.Context) (net.PacketConn, net.Listener, error) {
	var lc net.ListenConfig
	cfg := s.settings.Load().cfg
	addr := net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port))
	for attempt := 1; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: %w", err)
		}
		ln, err := lc.Listen(ctx, "tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		if cfg.Port != 0 || attempt == 5 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("dns: %w", err)
		}
	}
}

// abort undoes a Start that failed after binding: closing the sockets ends whichever serve loops began.
func (s *Server) abort(r *run, pc net.PacketConn, ln net.Listener) {
	r.cancel()
	_ = pc.Close()
	_ = ln.Close()
	r.serving.Wait()
}

// Stop stops serving: it aborts forwarding in flight, shuts both listeners down, waiting within ctx for
// queries being answered, and publishes the reports still queued. It returns once every goroutine the server
// started has ended, also when ctx ends first or a listener had failed: past ctx the sockets are closed and
// forwarding aborted, so what is left is a query finishing its answer. It is safe to call when not started.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.run
	if r == nil {
		return nil
	}
	s.run = nil
	s.running.Store(false)
	r.cancel()
	var errs []error
	if err := r.udp.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := r.tcp.ShutdownContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("dns: shut down %s: %w", r.tcp.Listener.Addr(), err))
	}
	r.serving.Wait() // the listener is closed and its connections' reads cut short, so TCP serving ends
	close(r.report)  // after the serve loops, so that a failure they reported is published too
	<-r.done
	return errors.Join(errs...)
}

// Addr returns the bound UDP and TCP addresses, or nils when not started.
func (s *Server) Addr() (udp, tcp net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil {
		return nil, nil
	}
	return s.run.udp.conn.LocalAddr(), s.run.tcp.Listener.Addr()
}

// Running reports whether both listeners are serving.
func (s *Server) Running() bool { return s.running.Load() }

func (st *settings) zoneNames() []string {
	names := make([]string, len(st.res.zones))
	for i, z := range st.res.zones {
		names[i] = z.name
	}
	return names
}

// accept replaces miekg/dns's default filter, which answers a wrong opcode or question count itself, so that
// the resolver decides every rcode. Responses are still dropped unanswered: answering them invites loops
// and reflection.
func accept(h dns.Header) dns.MsgAcceptAction {
	const qr = 1 << 15
	if h.Bits&qr != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

// invalid counts a packet that could not be parsed; it is answered FORMERR when its header was readable.
// Logged only at debug: garbage from the network is not an error of ours.
func (s *Server) invalid(m []byte, err error) {
	s.stats.invalid.Add(1)
	if ce := s.log.Check(zap.DebugLevel, "dropped a malformed DNS packet"); ce != nil {
		ce.Write(zap.Int("bytes", len(m)), zap.Error(err))
	}
}

var errShortHeader = errors.New("dns: a packet shorter than a DNS header")

// packBuffers holds TCP reply buffers; most replies are far smaller, and a larger one allocates its own.
var packBuffers = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// handler serves TCP, always through the full path: miekg/dns has parsed the query, the resolver answers.
// ctx is the run's context, cancelled on Stop to abort forwarding.
func (s *Server) handler(ctx context.Context) dns.HandlerFunc {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		read := s.clock()
		st := s.settings.Load()
		s.stats.queries.Add(1)
		defer func() {
			if v := recover(); v != nil {
				s.send(w, req, s.recovered(st, req, v), read)
			}
		}()
		if s.beforeAnswer != nil {
			s.beforeAnswer(req)
		}
		m, fwd := st.res.answer(s.store.Snapshot(), req, clientAddr(w.RemoteAddr()))
		if fwd {
			s.stats.forwarded.Add(1)
			m = s.forward(ctx, st, req)
		}
		s.send(w, req, m, read)
	}
}

// send packs m, the reply to req read at read, for TCP and sends it.
func (s *Server) send(w dns.ResponseWriter, req, m *dns.Msg, read time.Duration) {
	bp := packBuffers.Get().(*[]byte)
	defer packBuffers.Put(bp)
	out := s.pack(m, dns.MaxMsgSize, *bp, req)
	if out == nil {
		return
	}
	if _, err := w.Write(out); err != nil {
		if ce := s.log.Check(zap.DebugLevel, "cannot send a DNS reply"); ce != nil {
			ce.Write(zap.Stringer("remote", w.RemoteAddr()), zap.Error(err))
		}
		return
	}
	s.stats.answered(replyCell(req, m), s.clock()-read)
}

// pack sizes m to size octets (setting TC when records had to go; 0 leaves it whole) and packs it into buf,
// or a larger buffer when buf is too small. It returns nil, logged, when m cannot be packed; req names the
// question in the log.
func (s *Server) pack(m *dns.Msg, size int, buf []byte, req *dns.Msg) []byte {
	if size > 0 {
		m.Truncate(size)
	}
	out, err := m.PackBuffer(buf)
	if err != nil {
		s.log.Warn("cannot pack a DNS reply", zap.Stringer("question", questionOf(req)), zap.Error(err))
		return nil
	}
	return out
}

// forward sends req to the forwarders of st in order and relays the first reply, flags and all, under the
// client's ID. A UDP reply with TC is retried over TCP. It answers SERVFAIL when no forwarder replies.
func (s *Server) forward(ctx context.Context, st *settings, req *dns.Msg) *dns.Msg {
	id := req.Id
	defer func() { req.Id = id }()
	for _, addr := range st.cfg.Forwarders {
		if ctx.Err() != nil {
			break
		}
		req.Id = dns.Id() // a fresh ID per upstream query: the client's is predictable to the client's peers
		resp, err := exchangeContext(ctx, st.udpc, req, addr)
		if err == nil && resp.Truncated {
			resp, err = exchangeContext(ctx, st.tcpc, req, addr)
		}
		if err != nil {
			if ce := s.log.Check(zap.DebugLevel, "forwarder failed"); ce != nil {
				ce.Write(zap.String("forwarder", addr), zap.Stringer("question", questionOf(req)), zap.Error(err))
			}
			continue
		}
		resp.Id = id
		return resp
	}
	req.Id = id
	return st.failure(req)
}

// exchangeContext sends req to addr with c and returns the reply. miekg/dns bounds the wait by c's timeout
// only, so ctx (cancelled on Stop) closes the connection to end the wait early.
func exchangeContext(ctx context.Context, c *dns.Client, req *dns.Msg, addr string) (*dns.Msg, error) {
	co, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	defer context.AfterFunc(ctx, func() { _ = co.Close() })()
	resp, _, err := c.ExchangeWithConnContext(ctx, req, co)
	return resp, err
}

// failure is a SERVFAIL reply to req, with OPT when req had one.
func (st *settings) failure(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.Id = req.Id
	m.Response = true
	m.Opcode = req.Opcode
	m.RecursionDesired = req.RecursionDesired
	m.Rcode = dns.RcodeServerFailure
	if len(req.Question) == 1 {
		m.Question = req.Question
	}
	if req.IsEdns0() != nil {
		m.Extra = []dns.RR{st.res.opt()}
	}
	return m
}

// recovered handles a panic raised while answering req under st: it counts the panic, reports it (with the
// stack) as an ErrorEvent and returns the SERVFAIL reply to send.
func (s *Server) recovered(st *settings, req *dns.Msg, v any) *dns.Msg {
	s.stats.panics.Add(1)
	s.report(&events.ErrorEvent{
		Metadata: events.Metadata{Source: "dns"},
		Kind:     events.ErrorPanic,
		Module:   "dns",
		Message:  fmt.Sprintf("panic answering %v (answered SERVFAIL): %v\n%s", questionOf(req), v, debug.Stack()),
	})
	return st.failure(req)
}

// failed reports that a listener's serve loop ended on its own with err: the server no longer serves.
func (s *Server) failed(transport string, addr net.Addr, err error) {
	s.running.Store(false)
	s.health(events.Unhealthy, fmt.Sprintf("the %s listener on %s stopped: %v", transport, addr, err))
}

// health reports the server's health, through the reporter like every report: healthy once both listeners
// serve (its first load, pkg/status), unhealthy when one stopped on its own.
func (s *Server) health(kind events.HealthKind, msg string) {
	if s.bus == nil && kind == events.Healthy {
		return // nobody to tell, and logUnpublished is for failures
	}
	s.report(&events.HealthEvent{Metadata: events.Metadata{Source: "dns"}, Kind: kind, Component: "dns", Message: msg})
}

// report queues e for the reporter without waiting: the query path never blocks on the bus. An error is
// handled once, so e is only published (the logging handler writes it); it is logged here instead when it
// cannot be, because there is no bus or the queue is full.
func (s *Server) report(e events.Event) {
	if s.bus != nil {
		select {
		case s.reports <- e:
			return
		default:
		}
	}
	s.logUnpublished(e, errors.New("no bus, or the report queue is full"))
}

// logUnpublished logs a report that could not be published, so that it is not lost.
func (s *Server) logUnpublished(e events.Event, err error) {
	var msg string
	switch ev := e.(type) {
	case *events.ErrorEvent:
		msg = ev.Message
	case *events.HealthEvent:
		msg = ev.Message
	}
	// The same shape as the logging handler's line for a published event.
	s.log.Error(string(e.Family())+"/"+string(e.EventKind()), zap.String("message", msg), zap.NamedError("unpublished", err))
}

// reporter publishes queued reports until Stop, then publishes what is left and exits.
func (s *Server) reporter(r *run) {
	defer close(r.done)
	for {
		select {
		case e := <-s.reports:
			s.publish(e)
		case <-r.report:
			for {
				select {
				case e := <-s.reports:
					s.publish(e)
				default:
					return
				}
			}
		}
	}
}

func (s *Server) publish(e events.Event) {
	if err := s.bus.Publish(context.Background(), e); err != nil {
		s.logUnpublished(e, err)
	}
}

// clientAddr is the IP address of a client's transport address, or the invalid Addr (a client allowed
// nothing) for an address of another kind.
func clientAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr()
	case *net.TCPAddr:
		return a.AddrPort().Addr()
	}
	return netip.Addr{}
}

// questionOf describes req's question for logs, lazily: it is formatted only when a line is written.
func questionOf(req *dns.Msg) fmt.Stringer { return question{req} }

type question struct{ m *dns.Msg }

func (q question) String() string {
	if q.m == nil || len(q.m.Question) == 0 {
		return "(no question)"
	}
	return q.m.Question[0].String()
}
