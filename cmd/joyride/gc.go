package main

import "strings"

// defaultGCPercent is the GOGC Joyride runs with when the GOGC environment variable is not set.
//
// Almost all of Joyride's heap is the record store, which lives as long as the process, while answering a query
// allocates a few hundred octets that die at once. Under query load the heap grows to the collector's goal,
// (1 + GOGC/100) times the live heap, before each collection, and the process keeps those pages: with 100,000
// hosts-file records (about 30 MB live) the process settled at 69 MiB with Go's default of 100, 62 MiB with 50
// and 55 MiB with 25. The price is collecting more often: at 20,000 queries a second the collector's CPU per
// query was 0.16 µs at 100, 0.34 µs at 50 and 0.65 µs at 25 (gctrace), against some 24 µs per query in all.
// 50 takes half the saving for a tenth of a percent of CPU; the less answering allocates, the cheaper a lower
// value becomes. A soft memory limit (GOMEMLIMIT) was the alternative, but a fixed limit does not scale with the
// number of records: past it the collector would run continuously. Both remain the operator's to set.
const defaultGCPercent = 50

// gcPercent returns the GC percentage to set, or false when env sets GOGC (which the runtime has applied).
func gcPercent(env []string) (int, bool) {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOGC=") {
			return 0, false
		}
	}
	return defaultGCPercent, true
}
