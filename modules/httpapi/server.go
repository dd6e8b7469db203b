package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// moduleName is the module's name on the bus (ErrorEvents' Source and Module) and its logger's.
const moduleName = "http"

// Server is the HTTP API server: one listener for joyride-python's endpoints, readiness, the event stream and the
// routes other modules add. Create it with New; it listens only between Start and Stop.
type Server struct {
	cfg       Config
	log       *zap.Logger
	bus       *events.Bus
	store     *dnsstore.Store
	service   status.Service
	reporters map[string]status.Reporter
	names     []string // the reporters' names, sorted
	health    status.Health
	handler   http.Handler
	stdLog    *log.Logger
	pingEvery time.Duration // an idle event stream's keep-alive; shortened by tests
	// streamSlots holds one token per open event stream, maxStreams at most.
	streamSlots chan struct{}

	mu  sync.Mutex // serialises Start and Stop
	srv *http.Server
	// served is closed when Serve has returned.
	served chan struct{}
	// streams is closed by Stop: every event stream ends, so that Shutdown does not wait for them. A stream
	// reads it without the lock, which Stop holds while it waits for requests.
	streams atomic.Pointer[chan struct{}]
	addr    atomic.Value // string: the bound address, "" when stopped
	started atomic.Bool
}

// Start binds Config.Host:Port (port 0: a free port, read back with Addr) and serves until Stop. A failure to
// bind names the address.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("http: server already started")
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w", addr, err)
	}
	streams := make(chan struct{})
	s.streams.Store(&streams)
	s.served = make(chan struct{})
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		// net/http's own complaints (a malformed request line, a TLS handshake on a plain port) go to the
		// module's log at debug level: a client's mistake is not the service's error.
		ErrorLog: s.stdLog,
	}
	s.addr.Store(ln.Addr().String())
	srv, served := s.srv, s.served
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.failed(err)
		}
	}()
	s.started.Store(true)
	s.log.Info("serving HTTP", zap.String("addr", ln.Addr().String()))
	return nil
}

// failed reports that Serve stopped on its own (the listener broke), which leaves the API unreachable.
func (s *Server) failed(err error) {
	s.publishError(context.Background(), events.ErrorHandler, "serving HTTP stopped: "+err.Error())
}

// Stop ends the event streams, then shuts the server down gracefully: requests in flight finish unless ctx ends
// first, in which case every connection is closed. It is safe after a failed or missing Start.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	srv, served := s.srv, s.served
	s.srv = nil
	s.started.Store(false)
	s.addr.Store("")
	close(*s.streams.Load())
	err := srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("http: shutdown: %w", err), srv.Close())
	}
	select {
	case <-served:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}

// Addr is the address the server listens on ("127.0.0.1:5000"), or "" when it is not running.
func (s *Server) Addr() string {
	a, _ := s.addr.Load().(string)
	return a
}

// Handler is the server's whole HTTP handler (routing, limits, the token rule, panic recovery), for tests and
// for an application that serves it on a listener of its own.
func (s *Server) Handler() http.Handler { return s.handler }
