// Package httpapi is the HTTP module: joyride-python's JSON API, readiness, the event stream, the dashboard and
// the routes other modules add (the metrics module's /metrics), on one listener. Its fx module and its `modules:`
// key are "http"; the package is httpapi so that it does not shadow net/http.
//
// # What it serves
//
// joyride-python's endpoints with its fields, types and status codes (/health, /status, /dns/records,
// /dns/cluster, POST /dns/sync), and Joyride's own: /ready, /dns/records/{name} (why a name has its records),
// /events and /events/stream (the bus, as JSON and as server-sent events), and every status.Route another module
// provides (the metrics module's /metrics). docs/api.md is the reference, with examples.
//
// The standard library's ServeMux routes (method and path patterns); no framework is needed for a dozen
// endpoints. What the mux would answer in plain text is answered in JSON: an unknown path is a 404, a known path
// with another method a 405 with Allow. Every error is {"status":"error","message":…}; no Go error text with
// internal paths reaches a client (a failed sync's error is sanitised; the full error goes to the bus). The
// exceptions are what net/http answers before any handler runs: a malformed request line (400) and headers over
// http.DefaultMaxHeaderBytes (431), in plain text.
//
// # What it needs
//
// The bus (events, history, ErrorEvents), the record store (records and explain), a Config, the status.Service,
// and through package status: every module's Reporter (the compat objects of /status, /dns/cluster and
// POST /dns/sync, provenance), Routes and, optionally, status.Health. It imports no other module: /status
// reads the modules' Status() as JSON, and the cluster's "enabled" from it. A compat key is always present with
// joyride-python's type, whatever a Reporter's Status() holds (compat.go); a missing module gives
// joyride-python's shape for a module that does not run.
//
// Without the health module, /ready is 200 as soon as this server has started, since nothing else reports
// readiness; with it, /ready follows status.Health.Ready.
//
// # Limits
//
// Config's timeouts bound a slow or idle client (the header, the whole request, the response, an idle
// keep-alive connection); a body over Config.MaxBodyBytes is a 413, at once when Content-Length says so, else
// when a handler reads past the limit. Write routes (POST /dns/sync, any Route with Write) need
// "Authorization: Bearer <token>" when Config.Token is set (401 otherwise) and come from loopback when it is not
// (403 otherwise); tokens are compared in constant time.
//
// # Lifecycle and concurrency
//
// New builds the routes and binds nothing; a bad Route (an invalid or taken pattern) is an error naming it.
// Start binds Host:Port (port 0 picks a free port, logged as "serving HTTP" with addr) and serves on a
// goroutine of its own; Stop ends every event stream, then shuts down gracefully, closing every connection if
// the stop context ends first. Stop is safe after a failed or missing Start.
//
// Handlers run on net/http's goroutines and share nothing mutable: the store and the bus are safe for
// concurrent use, the Reporters' funcs are their modules' to make safe. A panic in a handler is recovered into a
// JSON 500 and reported as an ErrorEvent (kind panic) with its stack; the process never dies of one.
//
// An event stream subscribes to the bus for as long as its client stays (32 streams at most: each is a
// subscriber every publish visits). Its bus handler never waits for the client: it hands events to a queue of
// its own, and a client that falls that queue behind is sent "event: lagged" and cut, to reconnect and fetch the
// state again, rather than have the bus hold every later state event for it. The stream renews the write
// deadline before each write, so that Config.WriteTimeout cuts a client that stopped reading but not a healthy
// long-lived stream.
package httpapi
