package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/joyride-dns/joyride/modules/httpapi/dashboard"
	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// routes builds the server's handler: the API's endpoints and the other modules' Routes on one ServeMux, behind
// panic recovery, the body limit and JSON answers for what the mux cannot route.
func (s *Server) routes(extra []status.Route) (http.Handler, error) {
	page := dashboard.Handler()
	own := []status.Route{
		// "GET /{$}" is the root alone: "GET /" would match every unknown path and end the JSON 404s.
		{Pattern: "GET /{$}", Handler: page},
		{Pattern: "GET /assets/", Handler: page},
		{Pattern: "GET /health", Handler: http.HandlerFunc(s.serveHealth)},
		{Pattern: "GET /status", Handler: http.HandlerFunc(s.serveStatus)},
		{Pattern: "GET /ready", Handler: http.HandlerFunc(s.serveReady)},
		{Pattern: "GET /dns/records", Handler: http.HandlerFunc(s.serveRecords)},
		{Pattern: "GET /dns/records/{name}", Handler: http.HandlerFunc(s.serveExplain)},
		{Pattern: "GET /dns/cluster", Handler: http.HandlerFunc(s.serveCluster)},
		{Pattern: "POST /dns/sync", Handler: http.HandlerFunc(s.serveSync), Write: true},
		{Pattern: "GET /events", Handler: http.HandlerFunc(s.serveEvents)},
		{Pattern: "GET /events/stream", Handler: http.HandlerFunc(s.serveStream)},
	}
	// Sorted so that a conflict between two modules' routes is reported the same way on every start.
	extra = slices.SortedFunc(slices.Values(extra), func(a, b status.Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	mux := http.NewServeMux()
	for _, r := range append(own, extra...) {
		if r.Handler == nil {
			return nil, fmt.Errorf("http: route %q has no handler", r.Pattern)
		}
		h := r.Handler
		if r.Write {
			h = s.authorize(h)
		}
		if err := handle(mux, r.Pattern, h); err != nil {
			return nil, err
		}
	}
	return s.guard(mux), nil
}

// handle registers h, turning ServeMux's panic on an invalid or conflicting pattern into an error: a module's
// Route must not crash the process.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("http: route %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// guard wraps the mux with what every request goes through: panic recovery, the body limit, and JSON answers
// where the mux would answer in plain text (unknown path, wrong method).
func (s *Server) guard(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &trackingWriter{ResponseWriter: rw}
		defer s.recoverPanic(w, r)
		if r.ContentLength > s.cfg.MaxBodyBytes {
			w.Header().Set("Connection", "close") // the unread body is not worth draining
			writeError(w, http.StatusRequestEntityTooLarge, bodyTooLarge(s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if h, pattern := mux.Handler(r); pattern == "" {
			unrouted(w, r, h)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// unrouted answers a request no pattern matched. The mux's own handler says which case it is (it is run into a
// recorder: it only writes a status line, a few headers and a short text); redirects (a path to clean) pass
// through, a wrong method is a JSON 405 with the Allow header, anything else a JSON 404.
func unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	h.ServeHTTP(rec, r)
	switch {
	case rec.code == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed for %s", r.Method, r.URL.Path))
	case rec.code >= 300 && rec.code < 400:
		w.Header().Set("Location", rec.header.Get("Location"))
		w.WriteHeader(rec.code)
	default:
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}
}

// recoverPanic turns a handler's panic into a JSON 500 without internals, reported on the bus as a panic
// ErrorEvent with the stack. A response already under way cannot be replaced: the connection is cut instead,
// so that the client does not take half an answer for a whole one.
func (s *Server) recoverPanic(w *trackingWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // net/http's sentinel is compared, not wrapped
		panic(v)
	}
	s.publishError(r.Context(), events.ErrorPanic, fmt.Sprintf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack()))
	if w.wrote {
		panic(http.ErrAbortHandler)
	}
	writeError(w, http.StatusInternalServerError, "internal error")
}

// authorize applies the token rule to a write route: with a token configured, the request must carry it as a
// bearer token (401 otherwise); without one, only a loopback client of its own may write (403 otherwise), so
// that a node left with no token is not writable from its network.
//
// "Of its own" matters because loopback alone is not a person at the keyboard: a reverse proxy on the same host
// forwards everyone from 127.0.0.1, and a web page in the operator's browser can POST to 127.0.0.1:5000. So,
// without a token, a request that says it was forwarded (Forwarded, X-Forwarded-For, X-Real-IP) or that a
// browser sent from another site (an Origin other than this server, Sec-Fetch-Site other than same-origin or
// none) is refused too. A bearer token needs none of this: a browser sends an Authorization header only for a
// script that has the token, and only after a CORS preflight this server never approves.
func (s *Server) authorize(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token == "" {
			if why := notOwnLoopback(r); why != "" {
				writeError(w, http.StatusForbidden, "without http.token, write endpoints answer local clients only: "+why)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		// Hashes of equal length are compared, so that the time taken says nothing of the token's length either.
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="joyride"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// notOwnLoopback says why r is not a local client's own request ("" when it is): see authorize.
func notOwnLoopback(r *http.Request) string {
	switch {
	case !loopback(r.RemoteAddr):
		return "the request is not from loopback"
	case r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Real-IP") != "":
		return "the request was forwarded by a proxy"
	}
	site := r.Header.Get("Sec-Fetch-Site")
	origin := r.Header.Get("Origin")
	if (site != "" && site != "same-origin" && site != "none") ||
		(origin != "" && origin != "http://"+r.Host && origin != "https://"+r.Host) {
		return "a browser sent it from another site"
	}
	return ""
}

// loopback reports whether a request's remote address (host:port) is a loopback address.
func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a Reporter's Status can hold what JSON cannot encode; the error names the Go type, not data.
		code, body = http.StatusInternalServerError, []byte(`{"status":"error","message":"internal error: a status could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// errorBody is every error's answer, as joyride-python's.
type errorBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// writeError answers {"status":"error","message":msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Status: "error", Message: msg})
}

// tooLarge reports whether err is http.MaxBytesReader's: the body was over the limit.
func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// bodyTooLarge is the 413's message, the same whether Content-Length said so or the body was read past limit.
func bodyTooLarge(limit int64) string { return fmt.Sprintf("request body over %d bytes", limit) }

// trackingWriter notes whether a response has begun, which decides how a panic is answered. Unwrap lets
// http.ResponseController reach the connection underneath (flushes and deadlines of the event stream).
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recorder keeps what the mux's not-found, method-not-allowed and redirect handlers write.
type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(p []byte) (int, error) { return len(p), nil }
