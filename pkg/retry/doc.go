// Package retry is Joyride's one policy for a source that keeps failing — a Docker engine out of reach, a
// watched directory that cannot be listed, cluster seeds that are all down, an audit log that cannot be written:
// capped exponential backoff with jitter, and a circuit breaker that stops trying a dead source but once in a
// while. The Docker producer's reconnect, pkg/dirwatch (the hosts and traefikfile producers), the cluster's joins
// and the audit log's writer use it, so that every source is retried alike and reported alike.
//
// # The policy
//
// For(max) is the policy with cap max, each module's own setting (docker.max_backoff, the watchers'
// poll_interval, cluster.rejoin_interval; the audit log's is a fixed 1 s):
//
//   - after a failed attempt the next one waits 250 ms (at most max), then twice as long after each further
//     failure, never more than max; each delay is randomised by ±20 % (cenkalti/backoff's ExponentialBackOff),
//     and a randomised delay is cut at max, so max is a true cap;
//   - 5 consecutive failures open the circuit: the source is left alone for the open interval, 2×max ±20 %,
//     then one attempt, the probe, is made (half-open);
//   - a probe that fails opens the circuit again for another open interval; any attempt that works closes it
//     and starts the next failure from 250 ms again.
//
// With docker.max_backoff's 30 s the attempts after an engine goes away come about 0.25, 0.5, 1, 2 and 4 s
// apart; an engine restart is over by then, and one that is not is probed once a minute.
//
// # Use
//
// The Breaker keeps the state; the caller keeps the schedule. A loop that decides itself when to try (a timer in
// its select) calls Attempt when the time has come, makes the attempt, and reports Success or Failure; Failure
// says how long to wait before the next one. Each call returns the Event to report when something happened: an
// attempt failed, the circuit opened, a probe began (half-open), the source recovered. The module hands it to
// pkg/producer's Retries, which publishes it as an events.RetryEvent, reports the module's health when a circuit
// opens or recovers, and keeps the Status that the module's status.Reporter shows and Metrics exports on
// /metrics. A Breaker belongs to one goroutine, like the loop that owns it; Retries is what other goroutines
// read.
//
// # Why not a library breaker
//
// sony/gobreaker (v2.4.0) was the candidate: its TwoStepCircuitBreaker separates asking from reporting, as a loop
// needs. It was left out because it reads time.Now itself (no clock to inject, so its open interval cannot be
// tested without sleeping), turns open into half-open only when asked, and does not say when that will be — the
// one thing a loop that sleeps until its next attempt must know, which it would have to compute a second time
// beside it. The state machine here is three states and four transitions; the backoff is still the library's.
package retry
