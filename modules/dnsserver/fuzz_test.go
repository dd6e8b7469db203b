package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandler feeds raw request bytes through the parsing miekg/dns does and the answering logic: nothing may
// panic, and every reply must pack within the transport's limit and parse back. The seed corpus is in
// testdata/fuzz/FuzzHandler.
func FuzzHandler(f *testing.F) {
	store := newTestStore(f)
	cfg := testConfig()
	cfg.Forwarders = []string{"127.0.0.1:53"} // exercises the decision to forward; nothing is sent
	r, err := newResolver(cfg)
	if err != nil {
		f.Fatal(err)
	}
	snap := store.Snapshot()
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil || req.Response {
			return // the server answers these itself (FORMERR) or drops them before the handler
		}
		resp, fwd := r.answer(snap, req, loopback)
		if fwd {
			if resp != nil {
				t.Fatal("a forwarded query must not also be answered")
			}
			return
		}
		for _, udp := range []bool{true, false} {
			m := resp.Copy()
			size := r.replySize(req, udp)
			m.Truncate(size)
			out, err := m.Pack()
			if err != nil {
				t.Fatalf("reply to %v does not pack: %v\n%v", req.Question, err, m)
			}
			if len(out) > size {
				t.Fatalf("reply of %d octets exceeds %d", len(out), size)
			}
			back := new(dns.Msg)
			if err := back.Unpack(out); err != nil {
				t.Fatalf("reply does not parse back: %v", err)
			}
			if back.Id != req.Id || !back.Response {
				t.Fatalf("reply header %v does not answer request %v", back.MsgHdr, req.MsgHdr)
			}
		}
	})
}
