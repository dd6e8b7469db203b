package hosts

import (
	"bytes"
	"io"
	"os"
	"slices"

	"github.com/joyride-dns/joyride/pkg/dirwatch"
	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/status"
)

// maxExplainSize bounds what Explain reads of one file: an HTTP request must not make the process read a file of
// any size. Lines past it are not explained.
const maxExplainSize = 32 << 20

// Reporter is the producer as the operator's window sees it: its Status as hosts_monitor, and Explain.
func Reporter(p *Producer) status.Reporter {
	return status.Reporter{Name: moduleName, Status: func() any { return p.Status() }, Explain: p.Explain}
}

// Explain tells why source, a hosts file of this producer ("hosts:<path>"), holds records at name: every line of
// the file that names it, as the file reads now, parsed by Parse as a load parses it. A file that cannot be read
// now, or no longer names it, is still named, without a line. It returns nil for another module's source, a
// file outside the watched directories, or a name that is not a valid DNS name.
func (p *Producer) Explain(source, name string) []status.Provenance {
	path, ok := dirwatch.File(source, SourcePrefix, p.dirs)
	if !ok {
		return nil
	}
	want, err := dnsname.Canonical(name)
	if err != nil {
		return nil
	}
	file := status.Provenance{Kind: "hosts", File: path}
	f, err := os.Open(path)
	if err != nil {
		return []status.Provenance{file}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxExplainSize))
	if err != nil {
		return []status.Provenance{file}
	}
	entries, _ := Parse(bytes.NewReader(data), path)
	var out []status.Provenance
	for _, e := range entries {
		if slices.Contains(e.Names, want) {
			pv := file
			pv.Line = e.Line
			out = append(out, pv)
		}
	}
	if len(out) == 0 {
		return []status.Provenance{file}
	}
	// The lines' text, as written: entries are in line order, so one pass over the data finds them all.
	line, rest := 1, data
	for i := range out {
		for ; line < out[i].Line; line++ {
			_, rest, _ = bytes.Cut(rest, []byte{'\n'})
		}
		text, _, _ := bytes.Cut(rest, []byte{'\n'})
		out[i].Text = string(bytes.TrimRight(text, "\r"))
	}
	return out
}
