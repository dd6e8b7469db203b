package main

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve answers every A query with the address that addr returns, on a loopback port, until the test ends.
func serve(t *testing.T, addr func() net.IP) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
			r := new(dns.Msg)
			r.SetReply(q)
			r.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA,
				Class: dns.ClassINET, Ttl: 60}, A: addr()}}
			_ = w.WriteMsg(r)
		})}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown(); <-done })
	return pc.LocalAddr().String()
}

func TestWaitFor(t *testing.T) {
	oldIP, newIP := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)
	tests := []struct {
		name     string
		oldTries int32 // tries answered with oldIP before newIP; -1: never newIP
		wantErr  bool
	}{
		{name: "first answer matches", oldTries: 0},
		{name: "matches after the old address", oldTries: 3},
		{name: "never matches", oldTries: -1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tries atomic.Int32
			server := serve(t, func() net.IP {
				n := tries.Add(1)
				if tt.oldTries < 0 || n <= tt.oldTries {
					return oldIP
				}
				return newIP
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			before := time.Now()
			at, err := waitFor(ctx, server, "host.bench.test", newIP, time.Millisecond)
			if tt.wantErr {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.ErrorContains(t, err, "without 10.0.0.2")
				return
			}
			require.NoError(t, err)
			require.False(t, at.Before(before))
			require.Equal(t, tt.oldTries+1, tries.Load())
		})
	}
}

func TestWaitForNothingListening(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	server := pc.LocalAddr().String()
	require.NoError(t, pc.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = waitFor(ctx, server, "host.bench.test", net.IPv4(10, 0, 0, 1), 10*time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
