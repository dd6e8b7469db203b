package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/joyride-dns/joyride/pkg/events"
	"github.com/joyride-dns/joyride/pkg/status"
)

// The Reporter names whose Status() fills joyride-python's objects in /status.
const (
	reporterDNS     = "dns"
	reporterDocker  = "docker"
	reporterHosts   = "hosts"
	reporterCluster = "cluster"
)

// syncDisabled is joyride-python's message when synchronisation is off.
const syncDisabled = "DNS synchronization is not enabled"

// serveHealth is joyride-python's liveness answer: always 200 while the process serves.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "healthy", "timestamp": time.Now().UTC().Format(time.RFC3339),
		"service": s.service.Name, "version": s.service.Version,
	})
}

// serveStatus is joyride-python's /status, each module's object filled from its Reporter, plus the modules'
// own status, health and readiness.
func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	modules := make(map[string]any, len(s.names))
	for _, name := range s.names {
		if r, ok := s.reporter(name); ok {
			modules[name] = decodeStatus(r.Status())
		}
	}
	compat := func(name string, defaults func(present bool) map[string]any) map[string]any {
		st, present := modules[name]
		return overlay(defaults(present), st)
	}
	ready, health, _ := s.readiness()
	up := now.Sub(s.service.Started)
	writeJSON(w, http.StatusOK, map[string]any{
		"status":           "running",
		"timestamp":        now.UTC().Format(time.RFC3339),
		"service":          s.service.Name,
		"version":          s.service.Version,
		"environment":      s.service.Environment,
		"dns_server":       compat(reporterDNS, compatDNSServer),
		"docker_monitor":   compat(reporterDocker, compatDocker),
		"hosts_monitor":    compat(reporterHosts, compatHosts),
		"dns_sync_cluster": compat(reporterCluster, compatCluster),
		"uptime":           up.Round(time.Second).String(),
		"uptime_seconds":   int64(up.Seconds()),
		"ready":            ready,
		"health":           health,
		"modules":          modules,
	})
}

// readiness is the node's readiness, its modules' health (never nil) and, when not ready, what it waits for.
// Without the health module, the node is ready once this server has started: it then answers from the
// lifecycle alone.
func (s *Server) readiness() (bool, []status.Component, string) {
	if s.health == nil {
		if s.started.Load() {
			return true, []status.Component{}, ""
		}
		return false, []status.Component{}, "waiting for: http"
	}
	comps := s.health.Components()
	if comps == nil {
		comps = []status.Component{}
	}
	waiting := s.health.Waiting()
	if len(waiting) == 0 {
		return true, comps, ""
	}
	return false, comps, "waiting for: " + strings.Join(waiting, ", ")
}

// serveReady answers 200 when the node is ready, 503 with what it waits for otherwise.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	ready, health, waiting := s.readiness()
	if ready {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "health": health})
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "message": waiting, "health": health})
}

// clusterStatus returns the cluster module's status and whether synchronisation is enabled; without the module
// it is not.
func (s *Server) clusterStatus() (status.Reporter, any, bool) {
	r, ok := s.reporter(reporterCluster)
	if !ok {
		return r, nil, false
	}
	st := decodeStatus(r.Status())
	enabled, _ := field[bool](st, "enabled")
	return r, st, enabled
}

// serveCluster is joyride-python's /dns/cluster: 503 {"status":"disabled"} when synchronisation is off.
func (s *Server) serveCluster(w http.ResponseWriter, _ *http.Request) {
	_, st, enabled := s.clusterStatus()
	if !enabled {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "disabled", "message": syncDisabled})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "cluster": overlay(compatCluster(true), st)})
}

// serveSync is joyride-python's POST /dns/sync: it starts a full synchronisation with the peers. The body is
// not used, but it is read within the limit, and one declared as JSON must be JSON: a client that sends a
// malformed request learns so.
func (s *Server) serveSync(w http.ResponseWriter, r *http.Request) {
	if !readBody(w, r) {
		return
	}
	rep, _, enabled := s.clusterStatus()
	if !enabled || rep.Sync == nil {
		writeError(w, http.StatusServiceUnavailable, syncDisabled)
		return
	}
	if err := rep.Sync(r.Context()); err != nil {
		s.publishError(r.Context(), events.ErrorHandler, "forced DNS sync failed: "+err.Error())
		writeError(w, http.StatusInternalServerError, "Failed to sync DNS records: "+sanitise(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "message": "DNS synchronization initiated"})
}

// readBody reads a write request's body within the limit (413 beyond it) and, when it is declared JSON, checks
// that it is (400 otherwise). It answers the request itself and returns false when the request is refused.
func readBody(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(r.Body)
	switch {
	case tooLarge(err):
		writeError(w, http.StatusRequestEntityTooLarge, bodyTooLarge(err.(*http.MaxBytesError).Limit))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "the request body could not be read")
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" && len(strings.TrimSpace(string(body))) > 0 && !json.Valid(body) {
		writeError(w, http.StatusBadRequest, "the request body is not valid JSON")
		return false
	}
	return true
}

// absolutePath matches what looks like a file system path in an error's text.
var absolutePath = regexp.MustCompile(`(^|[\s"'(=:])/[^\s"')]*`)

// sanitise makes error text fit for a client: its first line, without file system paths, at most 200 bytes.
func sanitise(msg string) string {
	return shorten(absolutePath.ReplaceAllString(msg, "$1<path>"))
}

// shorten returns the first line of s, cut at 200 bytes: a line for a client or a list, not a stack.
func shorten(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// badParam answers 400 naming a query parameter and its value.
func badParam(w http.ResponseWriter, name, value, rule string) {
	writeError(w, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q: %s", name, value, rule))
}
