package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecodeMessage(t *testing.T) {
	rec := `{"n":"App.Lab.Test","t":"A","v":"10.0.0.1","l":60}`
	tests := []struct {
		name, msg, err string
	}{
		{"delta", `d{"o":"a","e":1,"s":[{"s":"docker:1","c":1,"r":[` + rec + `]}]}`, ""},
		{"notice", `n{"o":"a","e":1,"h":4}`, ""},
		{"empty", ``, "empty message"},
		{"unknown type", `x{}`, "unknown message type"},
		{"not json", `d{"o":`, "malformed"},
		{"unknown field", `d{"o":"a","e":1,"zz":1,"s":[{"s":"docker:1","c":1}]}`, "malformed"},
		{"trailing data", `n{"o":"a","e":1}{}`, "data after"},
		{"delta without a source", `d{"o":"a","e":1}`, "not one"},
		{"notice with sources", `n{"o":"a","e":1,"s":[{"s":"docker:1","c":1}]}`, "holds sources"},
		{"no node", `n{"o":"","e":1}`, "node id"},
		{"node with a slash", `n{"o":"a/b","e":1}`, "without '/'"},
		{"epoch 0", `n{"o":"a","e":0}`, "epoch 0"},
		{"version 0", `d{"o":"a","e":1,"s":[{"s":"docker:1","c":0}]}`, "version 0"},
		{"peer namespace", `d{"o":"a","e":1,"s":[{"s":"node:b/docker:1","c":1}]}`, "not a source a node shares"},
		{"unknown kind", `d{"o":"a","e":1,"s":[{"s":"file:/x","c":1}]}`, "not a source a node shares"},
		{"bare kind", `d{"o":"a","e":1,"s":[{"s":"docker:","c":1}]}`, "not a source a node shares"},
		{"deleted with records", `d{"o":"a","e":1,"s":[{"s":"docker:1","c":1,"d":true,"r":[` + rec + `]}]}`, "deleted but holds"},
		{"bad record", `d{"o":"a","e":1,"s":[{"s":"docker:1","c":1,"r":[{"n":"x..y","t":"A","v":"1.2.3.4"}]}]}`, "record 0"},
		{"bad type", `d{"o":"a","e":1,"s":[{"s":"docker:1","c":1,"r":[{"n":"x.lab.test","t":"MX","v":"1.2.3.4"}]}]}`, "record 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, w, err := decodeMessage([]byte(tt.msg))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			for _, s := range w.Sources {
				for _, r := range s.Records {
					require.Equal(t, "app.lab.test.", r.Name, "records are canonicalised on the way in")
				}
			}
		})
	}
}

func TestDecodeState(t *testing.T) {
	owner := `{"o":"a","e":1,"h":1,"s":[{"s":"docker:1","c":1}]}`
	tests := []struct{ name, msg, err string }{
		{"state", `s{"v":1,"owners":[` + owner + `]}`, ""},
		{"not a state", `d{"v":1,"owners":[]}`, "not a state"},
		{"later version", `s{"v":2,"owners":[]}`, "state version 2"},
		{"node twice", `s{"v":1,"owners":[` + owner + `,` + owner + `]}`, "twice"},
		{"too many nodes", `s{"v":1,"owners":[` + strings.Repeat(`{"o":"a","e":1},`, maxOwners) + owner + `]}`, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeState([]byte(tt.msg))
			if tt.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.err)
			}
		})
	}
}

// FuzzDecode: nothing a peer sends crashes a node, and what decodes encodes back to something that decodes the
// same (so a relay passes on exactly what it accepted).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`d{"o":"a","e":1,"s":[{"s":"docker:1","c":1,"r":[{"n":"a.lab.test","t":"A","v":"10.0.0.1","l":60}]}]}`,
		`n{"o":"a","e":1,"h":4}`,
		`s{"v":1,"owners":[{"o":"a","e":1,"h":1,"s":[{"s":"hosts:/x","c":1,"r":[{"n":"b.lab.test","t":"TXT","v":"hi","l":5}]}]}]}`,
		`s{"v":1,"owners":[{"o":"a","e":1,"h":2,"s":[{"s":"docker:1","c":2,"d":true}]}]}`,
		"d\x00\xff", "", "s", `s{"v":1,"owners":[{"o":"a","e":18446744073709551615}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if kind, w, err := decodeMessage(b); err == nil {
			_, again, err := decodeMessage(encode(kind, w))
			require.NoError(t, err)
			require.Equal(t, w, again)
		}
		if s, err := decodeState(b); err == nil {
			again, err := decodeState(encode(msgState, s))
			require.NoError(t, err)
			require.Equal(t, s, again)
			o := newOwner(0, 0)
			for _, w := range s.Owners {
				o.merge(w, time.Unix(0, 0))
			}
		}
	})
}
