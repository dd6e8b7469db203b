// Command dnsprobe waits until a DNS server answers an A query with an expected address and prints how many
// milliseconds that took, counted from an instant the caller gives (when it started the server, or when it
// renamed an edited hosts file into place). bench/dns.sh uses it for "time to first answer" and "time from a
// hosts edit to the new answer": polling with dig would add a process start (several milliseconds) to every try.
//
//	dnsprobe -server 127.0.0.1:5353 -name host-99999.bench.test -want 10.1.134.160 -since $(date +%s%N)
//
// It exits 1 when no matching answer arrives within -timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/miekg/dns"
)

func main() {
	server := flag.String("server", "127.0.0.1:53", "DNS server address (host:port)")
	name := flag.String("name", "", "name to query (type A)")
	want := flag.String("want", "", "IPv4 address the answer must contain")
	since := flag.Int64("since", 0, "start instant in Unix nanoseconds (default: now)")
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	interval := flag.Duration("interval", time.Millisecond, "pause between tries")
	flag.Parse()

	start := time.Now()
	if *since != 0 {
		start = time.Unix(0, *since)
	}
	wantIP := net.ParseIP(*want).To4()
	if *name == "" || wantIP == nil {
		fmt.Fprintln(os.Stderr, "dnsprobe: -name and an IPv4 -want are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	at, err := waitFor(ctx, *server, *name, wantIP, *interval)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dnsprobe: %s A %s at %s: %v\n", *name, *want, *server, err)
		os.Exit(1)
	}
	fmt.Printf("%.1f\n", float64(at.Sub(start).Microseconds())/1000)
}

// waitFor queries server for name A every interval until an answer holds want, returning when it arrived.
// Failed tries (nothing listening yet, a timeout, the old address) are expected while a server starts or
// reloads, so only the last one is reported, and only when ctx ends first.
func waitFor(ctx context.Context, server, name string, want net.IP, interval time.Duration) (time.Time, error) {
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	last := errors.New("no answer yet")
	for {
		// Each try runs to its own timeout, past ctx's deadline if need be, so the error reported is a whole try's.
		r, _, err := c.Exchange(q, server)
		switch {
		case err != nil:
			last = err
		case hasA(r, want):
			return time.Now(), nil
		default:
			last = fmt.Errorf("answer %s without %s", dns.RcodeToString[r.Rcode], want)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%w (last try: %v)", ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}

// hasA reports whether r answers with an A record for want.
func hasA(r *dns.Msg, want net.IP) bool {
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.Equal(want) {
			return true
		}
	}
	return false
}
