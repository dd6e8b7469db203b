package dnsstore

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"
)

// benchRecords returns n A records "host<i>.<zone>" with distinct addresses in 10.0.0.0/8.
func benchRecords(b testing.TB, n int, zone string) []Record {
	recs := make([]Record, n)
	for i := range recs {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r, err := NewRecord(fmt.Sprintf("host%d.%s", i, zone), "A", addr.String(), 300)
		if err != nil {
			panic(err)
		}
		recs[i] = r
	}
	return recs
}

// benchStore holds a 100,000-record hosts source, a wildcard and a few container sources.
func benchStore(b *testing.B) *Store {
	b.Helper()
	s := New()
	s.Replace("hosts:/bench", benchRecords(b, 100_000, "lab.test."))
	wc, err := NewRecord("*.apps.lab.test.", "A", "10.9.9.9", 60)
	if err != nil {
		b.Fatal(err)
	}
	s.Replace("static:config", []Record{wc})
	for i := range 100 {
		s.Replace(fmt.Sprintf("docker:%d", i), benchRecords(b, 1, fmt.Sprintf("c%d.docker.test.", i)))
	}
	return s
}

func BenchmarkLookup(b *testing.B) {
	s := benchStore(b)
	cases := []struct {
		name  string
		qname string
		want  MatchKind
	}{
		{"hit", "host54321.lab.test.", Exact},
		{"miss", "nohost.lab.test.", NotFound},
		{"miss-deep", "a.b.c.nohost.lab.test.", NotFound},
		{"wildcard", "web.apps.lab.test.", Wildcard},
		{"wildcard-deep", "x.y.web.apps.lab.test.", Wildcard},
		{"ent", "lab.test.", EmptyNonTerminal},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if got := s.Snapshot().Lookup(c.qname).Kind; got != c.want {
				b.Fatalf("Lookup(%q) = %v, want %v", c.qname, got, c.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Snapshot().Lookup(c.qname)
			}
		})
	}
}

// BenchmarkLookupParallelWithWriter measures readers on every core while one goroutine keeps replacing a
// container source, as happens when containers start and stop during a query burst.
func BenchmarkLookupParallelWithWriter(b *testing.B) {
	s := benchStore(b)
	churn := [][]Record{benchRecords(b, 1, "churn.docker.test."), nil}
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		writes := 0
		for {
			select {
			case <-stop:
				done <- writes
				return
			default:
				s.Replace("docker:churn", churn[writes%2])
				writes++
			}
		}
	}()
	names := []string{"host1.lab.test.", "host99999.lab.test.", "web.apps.lab.test.", "nohost.lab.test."}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Snapshot().Lookup(names[i%len(names)])
			i++
		}
	})
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(<-done)/b.Elapsed().Seconds(), "writes/s")
}

func BenchmarkReplace(b *testing.B) {
	b.Run("100k-source", func(b *testing.B) {
		sets := [2][]Record{benchRecords(b, 100_000, "lab.test."), benchRecords(b, 100_000, "other.test.")}
		s := New()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			// Alternate between two disjoint sets so every iteration removes 100k names and adds 100k.
			s.Replace("hosts:/bench", sets[i%2])
			i++
		}
	})
	b.Run("100k-source-initial-load", func(b *testing.B) {
		recs := benchRecords(b, 100_000, "lab.test.")
		b.ReportAllocs()
		for b.Loop() {
			New().Replace("hosts:/bench", recs)
		}
	})
	b.Run("100k-source-one-change", func(b *testing.B) {
		// A hosts file saved with one line edited: the usual reload.
		recs := benchRecords(b, 100_000, "lab.test.")
		edited := slices.Clone(recs)
		edited[500] = benchRecords(b, 1, "edited.lab.test.")[0]
		sets := [2][]Record{recs, edited}
		s := New()
		s.Replace("hosts:/bench", recs)
		b.ReportAllocs()
		i := 1
		for b.Loop() {
			s.Replace("hosts:/bench", sets[i%2])
			i++
		}
	})
	b.Run("1-record-source-with-100k-others", func(b *testing.B) {
		s := benchStore(b)
		sets := [2][]Record{benchRecords(b, 1, "new.docker.test."), nil}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Replace("docker:new", sets[i%2])
			i++
		}
	})
}

func BenchmarkNewRecord(b *testing.B) {
	cases := []struct{ typ, name, value string }{
		{"A", "Host1.Lab.Test", "10.1.2.3"},
		{"AAAA", "host1.lab.test.", "2001:DB8::1"},
		{"CNAME", "alias.lab.test", "host1.lab.test"},
	}
	for _, c := range cases {
		b.Run(c.typ, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewRecord(c.name, c.typ, c.value, 300); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHeapPerRecord reports the live heap a store keeps per record (heap-B/record) for one source of
// 100,000 A records, as a hosts file gives: the records, their names and values, and every index. The
// input list is not kept (the store copies it), as the records handler keeps none. The time per op is not
// meaningful (it includes two forced collections).
func BenchmarkHeapPerRecord(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		before := liveHeap()
		recs := benchRecords(b, n, "lab.test.")
		s := New()
		s.Replace("hosts:/bench", recs)
		after := liveHeap()
		runtime.KeepAlive(s)
		b.ReportMetric(float64(after-before)/n, "heap-B/record")
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what finalisers or sweeping left from the first
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
