package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joyride-dns/joyride/pkg/events"
)

const (
	// defaultEventLimit is how many events /events returns without ?limit.
	defaultEventLimit = 100
	// streamQueue is how far a stream may fall behind the bus before it is ended with "event: lagged".
	streamQueue = 256
	// pingEvery keeps an idle stream's proxies and the browser from taking it for dead.
	pingEvery = 15 * time.Second
	// maxStreams bounds the open event streams: each is a bus subscriber that every publish visits, so an
	// unbounded number of clients would slow the bus for every module. A few dashboards need a handful.
	maxStreams = 32
)

// eventJSON is one event of /events and /events/stream.
type eventJSON struct {
	ID            string    `json:"id"`
	CorrelationID string    `json:"correlation_id"`
	Timestamp     time.Time `json:"timestamp"`
	Source        string    `json:"source"`
	Family        string    `json:"family"`
	Kind          string    `json:"kind"`
	Summary       string    `json:"summary"`
}

func toEventJSON(e events.Event) eventJSON {
	m := e.Meta()
	return eventJSON{ID: m.ID, CorrelationID: m.CorrelationID, Timestamp: m.Timestamp, Source: m.Source,
		Family: string(e.Family()), Kind: string(e.EventKind()), Summary: summary(e)}
}

// summary is a short human line for an event: its first line, at most 200 bytes.
func summary(e events.Event) string {
	var s string
	switch e := e.(type) {
	case *events.ContainerEvent:
		s = fmt.Sprintf("container %s %s: %s", e.ContainerName, e.Kind, strings.Join(e.Names, ", "))
	case *events.FileEvent:
		s = fmt.Sprintf("%s %s", e.Path, e.Kind)
		if e.Snapshot != nil {
			s += fmt.Sprintf(": %d records", len(e.Snapshot.Records))
		}
		if e.BadLines > 0 {
			s += fmt.Sprintf(", %d bad lines", e.BadLines)
		}
	case *events.HostsRecordEvent:
		s = fmt.Sprintf("%s %s %s %s in %s", e.Kind, e.Record.Name, e.Record.Type, e.Record.Value, e.Path)
	case *events.DNSEvent:
		if e.Kind == events.DNSSourceReplaced {
			s = fmt.Sprintf("records of %s replaced: %d added, %d updated, %d removed", e.Owner, e.Added, e.Updated, e.Removed)
		} else {
			s = fmt.Sprintf("%s %s %s %s from %s", e.Kind, e.Record.Name, e.Record.Type, e.Record.Value, e.Owner)
		}
	case *events.NodeEvent:
		s = fmt.Sprintf("node %s %s", e.NodeID, e.Kind)
		if e.Address != "" {
			s += " at " + e.Address
		}
	case *events.SyncEvent:
		s = fmt.Sprintf("%s %s", e.Kind, e.NodeID)
		if e.Snapshot != nil {
			s += fmt.Sprintf(": %d records", len(e.Snapshot.Records))
		}
		if e.Message != "" {
			s += ": " + e.Message
		}
	case *events.SystemEvent:
		s = fmt.Sprintf("%s %s", e.Service, e.Kind)
		if e.Message != "" {
			s += ": " + e.Message
		}
		if e.Error != "" {
			s += ": " + e.Error
		}
	case *events.ErrorEvent:
		s = fmt.Sprintf("%s %s: %s", e.Module, e.Kind, e.Message)
	case *events.HealthEvent:
		s = fmt.Sprintf("%s %s", e.Component, e.Kind)
		if e.Message != "" {
			s += ": " + e.Message
		}
	case *events.RetryEvent:
		s = fmt.Sprintf("%s %s after %d failures", e.Target, e.Kind, e.Failures)
		if e.Delay > 0 {
			s += fmt.Sprintf("; next try in %v", e.Delay.Round(10*time.Millisecond))
		}
		if e.Error != "" {
			s += ": " + e.Error
		}
	default:
		s = string(e.Family()) + " " + string(e.EventKind())
	}
	return shorten(s)
}

// serveEvents returns the bus history's last events (?limit=N, 100 by default), newest last, optionally of some
// families only (?family=hosts,dns).
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultEventLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badParam(w, "limit", v, "must be a positive integer")
			return
		}
		limit = n
	}
	var f events.Filter
	if v := q.Get("family"); v != "" {
		for fam := range strings.SplitSeq(v, ",") {
			f.Families = append(f.Families, events.Family(strings.TrimSpace(fam)))
		}
	}
	history := s.bus.History(f)
	history = history[max(len(history)-limit, 0):]
	out := make([]eventJSON, len(history))
	for i, e := range history {
		out[i] = toEventJSON(e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "events": out})
}

// serveStream sends every bus event as a server-sent event until the client leaves, falls streamQueue events
// behind (it gets "event: lagged") or the server stops. The server's write timeout would cut a long-lived
// stream, so the write deadline is renewed before each write: a client that stops reading is still cut after one
// write timeout. (The read timeout does not apply: net/http
// lifts the read deadline once the request is read, to watch for the client closing the connection.)
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	var stopped <-chan struct{} // nil (never) when the handler is served without Start, as in tests
	if ch := s.streams.Load(); ch != nil {
		stopped = *ch
	}
	select {
	case s.streamSlots <- struct{}{}:
		defer func() { <-s.streamSlots }()
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams open (%d); poll /events instead", cap(s.streamSlots)))
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold the events back
	// The bus handler never waits for the client: a stream that falls streamQueue events behind is ended with
	// "event: lagged", and the browser's EventSource reconnects and fetches the state afresh. Waiting would
	// have the bus queue every state event (whole snapshots) for a client that reads slowly for as long as it
	// keeps reading a little.
	queue := make(chan events.Event, streamQueue)
	lagged := make(chan struct{})
	var lag sync.Once
	sub := s.bus.Subscribe("http-stream", events.Filter{}, func(_ context.Context, e events.Event) error {
		select {
		case queue <- e:
		default:
			lag.Do(func() { close(lagged) })
		}
		return nil
	})
	defer sub.Close()

	send := func(chunk string) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
			return false
		}
		if _, err := io.WriteString(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.WriteHeader(http.StatusOK)
	if !send(": connected\n\n") {
		return
	}
	ping := time.NewTicker(s.pingEvery)
	defer ping.Stop()
	for {
		var chunk string
		select {
		case <-r.Context().Done():
			return
		case <-stopped:
			return
		case <-lagged:
			send("event: lagged\ndata: {}\n\n")
			return
		case <-ping.C:
			chunk = ": ping\n\n"
		case e := <-queue:
			data, err := json.Marshal(toEventJSON(e))
			if err != nil {
				continue
			}
			chunk = "event: " + string(e.Family()) + "\ndata: " + string(data) + "\n\n"
		}
		if !send(chunk) {
			return
		}
	}
}
