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

// Explain's bounds. An unauthenticated HTTP request calls it, so it must not make the process read a file of any
// size, nor answer with every line of a generated file: a round-robin name on thousands of lines would be
// thousands of entries in one answer, and more lines than anyone reads to learn where the name comes from.
const (
	maxExplainSize  = 32 << 20 // bytes read of one file; lines past it are not explained
	maxExplainLines = 100      // lines listed for one name
)

// Reporter is the producer as the operator's window sees it: its Status as hosts_monitor, and Explain.
func Reporter(p *Producer) status.Reporter {
	return status.Reporter{Name: moduleName, Status: func() any { return p.Status() }, Explain: p.Explain}
}

// Explain tells why source, a hosts file of this producer ("hosts:<path>"), holds records at name: each line of
// the file that names it, with its address as the record's Value, as the file reads now, parsed as a load parses
// it. The file is read line by line, up to maxExplainSize, and at most maxExplainLines lines are listed. When a
// line could be missing from the list (the file cannot be read now, no longer names name, or goes on past a
// bound), the list ends with the file alone, without a line or Value, so that every record of the file is still
// traced to it. It returns nil for another module's source, a file outside the watched directories, or a name
// that is not a valid DNS name.
func (p *Producer) Explain(source, name string) []status.Provenance {
	path, ok := dirwatch.File(source, SourcePrefix, p.directories())
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
	out, complete := explainLines(f, file, want)
	if !complete || len(out) == 0 {
		out = append(out, file)
	}
	return out
}

// explainLines lists the lines of f that name want, as file's provenance. complete is false when it stopped
// before the end of f: at maxExplainSize, at maxExplainLines, or at a read error.
func explainLines(f io.Reader, file status.Provenance, want string) (out []status.Provenance, complete bool) {
	lr := &io.LimitedReader{R: f, N: maxExplainSize}
	p := parser{file: file.File, quiet: true}
	complete = true
	_, err := eachLine(lr, func(n int, line []byte, tooLong bool) bool {
		if !bytes.HasSuffix(line, []byte{'\n'}) && lr.N == 0 {
			// The bound cut this line, or the file ends exactly there: either way "10.0.0.1 app.lab.test.other"
			// may read "10.0.0.1 app.lab.test" here, so it is not explained.
			complete = false
			return false
		}
		if tooLong {
			return true
		}
		e, ok := p.line(n, line)
		if !ok || !slices.Contains(e.Names, want) {
			return true
		}
		if len(out) == maxExplainLines {
			complete = false
			return false
		}
		pv := file
		// As Records makes the record's value: the address in netip's canonical form, IPv4-mapped unmapped.
		pv.Line, pv.Text, pv.Value = n, string(trimEOL(line)), e.Addr.String()
		out = append(out, pv)
		return true
	})
	if err != nil || lr.N == 0 {
		complete = false // a read error, or the bound reached: the rest of the file is not read
	}
	return out, complete
}
