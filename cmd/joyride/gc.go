package main

import "strings"

// defaultGCPercent is the GOGC Joyride runs with when the GOGC environment variable is not set.
//
// Almost all of Joyride's heap is the record store, which lives as long as the process, while answering a query
// allocates a few hundred octets that die at once (and nothing at all when the answer cache has it). Under query
// load the heap grows to the collector's goal, (1 + GOGC/100) times the live heap, before each collection, and
// the process keeps those pages. With a 100,000-line hosts file (about 12 MB of store, 17 MB live with the answer
// cache full) under 20,000 queries a second, the process settled at 54.6 MiB RSS with Go's default of 100,
// 49.7 MiB with 50 and 44.1 MiB with 25, while the server's CPU per query did not change measurably (27–30 µs at
// that rate, all three within the run-to-run spread): the collector has little to mark, since the store's bulk
// indexes hold no pointers, and little to do, since answering allocates little. A soft memory limit
// (GOMEMLIMIT) was the alternative, but a fixed limit does not scale with the number of records: past it the
// collector would run continuously. Both remain the operator's to set. Lower was tried once the store had shrunk
// to 106 octets a record: 10 gave no clear saving over 25 (33.2–33.7 against 33.0–34.7 MiB) and made reloading a
// 100,000-line file some 65 ms slower.
const defaultGCPercent = 25

// gcPercent returns the GC percentage to set, or false when env sets GOGC (which the runtime has applied).
func gcPercent(env []string) (int, bool) {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOGC=") {
			return 0, false
		}
	}
	return defaultGCPercent, true
}
