package hosts

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/events"
)

const (
	// maxLineLen bounds one line (without its line ending). Longer lines are reported and skipped rather than
	// growing a buffer without limit on a file that is not a hosts file at all.
	maxLineLen = 64 << 10
	// maxErrorText is how much of a bad line a LineError quotes, so a 64 KiB line does not become a 64 KiB log entry.
	maxErrorText = 200
)

var (
	errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLineLen)
	errWildcard    = errors.New(`"*" is not allowed in a hosts file`)
)

// Entry is one good line of a hosts file.
type Entry struct {
	Line int        // 1-based line number
	Addr netip.Addr // never zoned; an IPv4-mapped IPv6 address is unmapped to IPv4
	// Names are canonical: lower-case with a trailing dot ("web.lan."), as dnsname.Canonical returns them.
	// There is at least one.
	Names []string
}

// LineError is a line, or one name on a line, that Parse skipped.
type LineError struct {
	File string
	Line int
	Text string // the line without its ending, cut to a couple of hundred bytes
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v: %q", e.File, e.Line, e.Err, e.Text)
}

func (e *LineError) Unwrap() error { return e.Err }

// Parse reads hosts-file lines ("ADDRESS NAME [NAME...]", '#' comments, blank lines, spaces or tabs, LF or CRLF).
// A bad line, or a bad name on a line, is returned as a LineError and skipped; everything else still loads, so
// one typo never costs the records of the rest of the file. file only labels the errors. A read error from r
// ends parsing and is returned as a LineError on the line where it happened.
func Parse(r io.Reader, file string) ([]Entry, []*LineError) {
	p := parser{file: file}
	n, err := eachLine(r, func(n int, line []byte, tooLong bool) bool {
		if tooLong {
			p.fail(n, line, errLineTooLong)
		} else if e, ok := p.line(n, line); ok {
			p.add(e)
		}
		return true
	})
	if err != nil {
		p.fail(n, nil, fmt.Errorf("read: %w", err))
	}
	return p.result()
}

// eachLine calls fn with each line of r and its number, from 1, until fn returns false or r ends. The line keeps
// its line ending (the last one may have none) and is only valid during the call. A line longer than maxLineLen
// is passed with tooLong set, cut, and the rest of it is read and dropped. eachLine returns a read error other
// than io.EOF, with the number of the line it happened on.
func eachLine(r io.Reader, fn func(n int, line []byte, tooLong bool) bool) (int, error) {
	// ReadSlice on a reader sized for the longest allowed line (plus "\r\n") returns each line without copying
	// and reports a longer one as ErrBufferFull, which lets us skip it and carry on.
	br := bufio.NewReaderSize(r, maxLineLen+2)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		more := true
		if errors.Is(err, bufio.ErrBufferFull) {
			if more = fn(n, line, true); more {
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = br.ReadSlice('\n')
				}
			}
		} else if len(line) > 0 {
			more = fn(n, line, false)
		}
		switch {
		case !more || errors.Is(err, io.EOF):
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

type parser struct {
	file string
	// entries fills up, then moves to full, and a larger one is started (up to maxEntryChunk); result joins them
	// with one exact-size copy. Plain append would copy the whole slice at every growth: for 100,000 lines that
	// was most of the parse's memory traffic.
	entries []Entry
	full    [][]Entry
	errs    []*LineError
	// quiet keeps no LineErrors: Explain has no use for them, and a file of bad lines must not fill its memory.
	quiet bool
	// Reused per line. A line's canonical names are laid out in scratch and converted to one string, of which the
	// names are substrings; the names slices are cut from slab. A line therefore costs one allocation (plus
	// amortised slab and entries growth) instead of one per field; an IPv4 address is parsed without one.
	scratch []byte
	spans   []span
	names   []string
	slab    []string
}

// span is one name of the current line: where its canonical form lies in scratch, and the field as written.
type span struct {
	start, end int
	raw        []byte
}

const (
	slabSize      = 4096 // names per slab allocation
	minEntryChunk = 64
	maxEntryChunk = 8192
)

func (p *parser) add(e Entry) {
	if len(p.entries) == cap(p.entries) {
		size := minEntryChunk
		if p.entries != nil {
			p.full = append(p.full, p.entries)
			size = min(2*cap(p.entries), maxEntryChunk)
		}
		p.entries = make([]Entry, 0, size)
	}
	p.entries = append(p.entries, e)
}

func (p *parser) result() ([]Entry, []*LineError) {
	if len(p.full) == 0 {
		return p.entries, p.errs
	}
	n := len(p.entries)
	for _, c := range p.full {
		n += len(c)
	}
	out := make([]Entry, 0, n)
	for _, c := range p.full {
		out = append(out, c...)
	}
	return append(out, p.entries...), p.errs
}

func (p *parser) fail(n int, text []byte, err error) {
	if p.quiet {
		return
	}
	text = trimEOL(text)
	if len(text) > maxErrorText {
		text = text[:maxErrorText]
	}
	p.errs = append(p.errs, &LineError{File: p.file, Line: n, Text: string(text), Err: err})
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// line parses one line, numbered n, and returns its Entry; false for a blank, comment or bad line.
func (p *parser) line(n int, raw []byte) (Entry, bool) {
	line := trimEOL(raw)
	if len(line) > maxLineLen {
		p.fail(n, line, errLineTooLong)
		return Entry{}, false
	}
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	field, rest := nextField(line)
	if field == nil {
		return Entry{}, false // blank or comment
	}
	addr, err := parseAddrBytes(field)
	if err != nil {
		p.fail(n, raw, err)
		return Entry{}, false
	}
	p.scratch = p.scratch[:0]
	p.spans = p.spans[:0]
	for field, rest = nextField(rest); field != nil; field, rest = nextField(rest) {
		start := len(p.scratch)
		p.scratch = appendLower(p.scratch, field)
		if field[len(field)-1] != '.' {
			p.scratch = append(p.scratch, '.')
		}
		p.spans = append(p.spans, span{start, len(p.scratch), field})
	}
	// The names outlive the parse (the record store keeps them), so the string holds nothing else: with the
	// address as well, a typical line's string took the next size class up, 48 octets instead of 24.
	text := string(p.scratch)
	p.names = p.names[:0]
	for _, sp := range p.spans {
		name, err := canonical(text[sp.start:sp.end], sp.raw)
		if err != nil {
			p.fail(n, raw, err)
			continue
		}
		p.names = append(p.names, name)
	}
	if len(p.names) == 0 {
		if len(p.spans) == 0 {
			p.fail(n, raw, fmt.Errorf("address %s has no names", addr))
		}
		return Entry{}, false
	}
	if cap(p.slab)-len(p.slab) < len(p.names) {
		p.slab = make([]string, 0, max(slabSize, len(p.names)))
	}
	first := len(p.slab)
	p.slab = append(p.slab, p.names...)
	return Entry{Line: n, Addr: addr, Names: p.slab[first:len(p.slab):len(p.slab)]}, true
}

// nextField returns the first space- or tab-separated field of b and what follows it, or nil when b holds only
// blanks.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && blank[b[i]] {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && !blank[b[j]] {
		j++
	}
	return b[i:j], b[j:]
}

// blank is a table rather than a chain of comparisons because field splitting is the parser's innermost loop.
var blank = [256]bool{' ': true, '\t': true, '\v': true, '\f': true, '\r': true}

func appendLower(dst, src []byte) []byte {
	for _, c := range src {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// parseAddrBytes is parseAddr for a field of the line, parsing the usual IPv4 form without making a string.
func parseAddrBytes(field []byte) (netip.Addr, error) {
	if addr, ok := parseIPv4(field); ok {
		return addr, nil
	}
	return parseAddr(string(field))
}

// parseIPv4 parses the only IPv4 form netip.ParseAddr accepts, four decimal octets without leading zeros, and
// reports false for anything else (which parseAddr then parses, or rejects with netip's error).
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	octet, digits, dots := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && octet == 0 {
				return netip.Addr{}, false // a leading zero
			}
			octet = octet*10 + int(c-'0')
			digits++
			if octet > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && dots < 3:
			ip[dots] = byte(octet)
			dots++
			octet, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if dots != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(octet)
	return netip.AddrFrom4(ip), true
}

func parseAddr(field string) (netip.Addr, error) {
	if i := strings.IndexByte(field, '%'); i >= 0 {
		// A zone only means something to the host that wrote the file; as a DNS answer it would be wrong.
		return netip.Addr{}, fmt.Errorf("address %q has a zone (%q); zones are not allowed", field, field[i+1:])
	}
	addr, err := netip.ParseAddr(field)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid address: %w", err)
	}
	// "::ffff:10.0.0.1" is an IPv4 host written the IPv6 way; serve it as A like glibc and CoreDNS do.
	return addr.Unmap(), nil
}

// canonical checks name (already lower-cased, with its trailing dot) with the record store's rules, so a name
// accepted here is never rejected when the snapshot is applied. raw is the name as written, for the error.
func canonical(name string, raw []byte) (string, error) {
	if strings.IndexByte(name, '*') >= 0 {
		// The store accepts wildcard owners, but a hosts file names hosts: "*.lan" there is almost certainly a
		// mistake, and no other hosts-file reader would honour it.
		return "", fmt.Errorf("invalid name %q: %w", raw, errWildcard)
	}
	c, err := dnsname.Canonical(name)
	if err != nil {
		// Ask again with the name as written, so the error quotes what the user typed, not our "name.".
		if _, asWritten := dnsname.Canonical(string(raw)); asWritten != nil {
			err = asWritten
		}
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // drop the "dnsstore: " prefix; the error already names the value and the rule
		}
		return "", fmt.Errorf("invalid name: %w", err)
	}
	return c, nil
}

// Records turns entries into A and AAAA records with the given TTL, in file order. A name on several lines keeps
// every address (as dnsmasq and CoreDNS do); the same name and address twice becomes one record.
func Records(entries []Entry, ttl uint32) []events.Record {
	n := 0
	for _, e := range entries {
		n += len(e.Names)
	}
	out := make([]events.Record, 0, n)
	var last netip.Addr
	var value string
	for _, e := range entries {
		typ := "A"
		if e.Addr.Is6() {
			typ = "AAAA"
		}
		// The record store keeps the value strings: lines with the same address as the line before (a blocklist
		// sending 100,000 names to 0.0.0.0) share one.
		if e.Addr != last {
			last, value = e.Addr, e.Addr.String()
		}
		for _, name := range e.Names {
			out = append(out, events.Record{Name: name, Type: typ, Value: value, TTL: ttl})
		}
	}
	return dedupe(out)
}

// dedupe drops each record that repeats an earlier one (same name and value), keeping file order. It sorts
// hashes rather than filling a map: for a 100,000-line file a map took several megabytes at the moment the
// process holds the most (the file's records twice), the hashes take 1.6.
func dedupe(recs []events.Record) []events.Record {
	if len(recs) < 2 {
		return recs
	}
	type hashed struct {
		hash  uint64
		index int32
	}
	seed := maphash.MakeSeed()
	hs := make([]hashed, len(recs))
	for i, r := range recs {
		hs[i] = hashed{hash: maphash.Comparable(seed, [2]string{r.Name, r.Value}), index: int32(i)}
	}
	slices.SortFunc(hs, func(a, b hashed) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	})
	var dup []bool
	for i := 0; i < len(hs); {
		j := i + 1
		for j < len(hs) && hs[j].hash == hs[i].hash {
			j++
		}
		// A run holds the copies of one record in file order (or, rarely, records whose hashes collide): each is
		// a duplicate if an earlier one in the run is equal.
		for a := i + 1; a < j; a++ {
			ra := recs[hs[a].index]
			for b := i; b < a; b++ {
				if rb := recs[hs[b].index]; rb.Name == ra.Name && rb.Value == ra.Value {
					if dup == nil {
						dup = make([]bool, len(recs))
					}
					dup[hs[a].index] = true
					break
				}
			}
		}
		i = j
	}
	if dup == nil {
		return recs
	}
	out := recs[:0]
	for i, r := range recs {
		if !dup[i] {
			out = append(out, r)
		}
	}
	clear(recs[len(out):])
	return out
}
