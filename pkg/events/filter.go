package events

import "slices"

// Filter selects events. Each non-empty list must contain the event's value; an empty Filter matches everything.
type Filter struct {
	Families []Family
	Kinds    []Kind
	// Sources are module names (Metadata.Source).
	Sources []string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	return (len(f.Families) == 0 || slices.Contains(f.Families, e.Family())) &&
		(len(f.Kinds) == 0 || slices.Contains(f.Kinds, e.EventKind())) &&
		(len(f.Sources) == 0 || slices.Contains(f.Sources, e.Meta().Source))
}
