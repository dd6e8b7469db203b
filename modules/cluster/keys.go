package cluster

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// keyringPoll is how often the keyring file is read again (a variable for tests).
var keyringPoll = 2 * time.Second

// parseKey decodes one base64 key. The key's text never appears in an error: errors name where it came from.
func parseKey(where, s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s: not base64", where)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("%s: %d bytes; a key is 16, 24 or 32 bytes (AES-128, -192, -256)", where, len(k))
}

// readKeyring reads a keyring file (parseKeyring).
func readKeyring(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster.keyring_file: %w", err)
	}
	return parseKeyring(path, b)
}

// parseKeyring reads the content b of the keyring file path: one base64 key per line, the first the primary;
// blank lines and lines starting with # are skipped.
func parseKeyring(path string, b []byte) ([][]byte, error) {
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKey(fmt.Sprintf("%s:%d", path, n), line)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("cluster.keyring_file: %s holds no key", path)
	}
	return keys, nil
}

// keys returns the configured keys, the primary first, or none.
func (c Config) keys() ([][]byte, error) {
	switch {
	case c.Key != "" && c.KeyringFile != "":
		return nil, errors.New("cluster: set cluster.key or cluster.keyring_file, not both")
	case c.Key != "":
		k, err := parseKey("cluster.key", c.Key)
		if err != nil {
			return nil, err
		}
		return [][]byte{k}, nil
	case c.KeyringFile != "":
		return readKeyring(c.KeyringFile)
	}
	return nil, nil
}

// rekey makes ring hold exactly keys with keys[0] primary: new keys are added first, then the primary is
// switched, then the keys no longer listed are removed, so that the primary is never removed.
func rekey(ring *memberlist.Keyring, keys [][]byte) error {
	have := ring.GetKeys()
	for _, k := range keys {
		if !containsKey(have, k) {
			if err := ring.AddKey(k); err != nil {
				return err
			}
		}
	}
	if err := ring.UseKey(keys[0]); err != nil {
		return err
	}
	for _, k := range have {
		if !containsKey(keys, k) {
			if err := ring.RemoveKey(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, h := range keys {
		if bytes.Equal(h, k) {
			return true
		}
	}
	return false
}

// maxKeyIDs bounds the key IDs a node advertises, so that its metadata stays within memberlist's limit.
const maxKeyIDs = 16

// keyID names a key without revealing it: the first four bytes of a SHA-256 of it, in hex. Nodes advertise the
// IDs of their keyring in their metadata, so that each can tell which keys the others hold.
func keyID(k []byte) string {
	h := sha256.Sum256(append([]byte("joyride cluster key id\x00"), k...))
	return hex.EncodeToString(h[:4])
}

// keyIDs returns the IDs of keys, in order, at most maxKeyIDs.
func keyIDs(keys [][]byte) []string {
	out := make([]string, 0, min(len(keys), maxKeyIDs))
	for _, k := range keys[:min(len(keys), maxKeyIDs)] {
		out = append(out, keyID(k))
	}
	return out
}

// peerKeys is what a live member advertises of its keyring: the IDs of its keys, the primary first; none when
// it does not say (a node of a version before key IDs).
type peerKeys struct {
	node string
	ids  []string
}

// planKeys decides what the keyring holds, from the configured keys (want, the primary first), the keyring's
// keys (held, its primary first) and what the live members hold. It returns the keys, the primary first; the
// nodes that lack the configured primary while it is not used yet; and the IDs of the keys held beyond the
// configured ones.
//
//   - Every configured key is held at once: a node accepts a new key as soon as it is configured.
//   - The configured primary is used (sent with) once every live member holds it; until then the one in use
//     stays, so that a node never sends with a key another cannot read. A key changed on one node before the
//     others, or the first step of the rotation skipped, only delays the switch.
//   - A key no longer configured is still held while a live member sends with it (its primary), so that a node
//     never refuses what another sends during a rotation.
//
// A member that does not advertise its keys is taken to follow the operator's procedure.
func planKeys(want, held [][]byte, peers []peerKeys) (ring [][]byte, waiting, kept []string) {
	primary := want[0]
	for _, p := range peers {
		if p.ids != nil && !slices.Contains(p.ids, keyID(want[0])) {
			waiting = append(waiting, p.node)
		}
	}
	if len(waiting) > 0 && len(held) > 0 {
		primary = held[0]
	} else {
		waiting = nil
	}
	ring = append(ring, primary)
	for _, k := range want {
		if !containsKey(ring, k) {
			ring = append(ring, k)
		}
	}
	for _, k := range held {
		if containsKey(ring, k) {
			continue
		}
		if slices.ContainsFunc(peers, func(p peerKeys) bool { return len(p.ids) > 0 && p.ids[0] == keyID(k) }) {
			ring = append(ring, k)
			kept = append(kept, keyID(k))
		}
	}
	if !containsKey(want, primary) {
		kept = append([]string{keyID(primary)}, kept...)
	}
	slices.Sort(waiting)
	return ring, waiting, kept
}

// syncKeys brings the keyring in line with planKeys, and the metadata and LAN discovery in line with the
// keyring. The loop runs it at every tick (a member's metadata may have changed), Apply after a reload; keysMu
// keeps them apart. memberlist's Keyring has a lock of its own and takes no other, so it is changed without mu.
func (c *Cluster) syncKeys() {
	if c.ring == nil {
		return
	}
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	held := c.ring.GetKeys()
	c.mu.Lock()
	want := c.keys
	var peers []peerKeys
	for name, m := range c.members {
		if m.up() {
			peers = append(peers, peerKeys{node: name, ids: m.meta.Keys})
		}
	}
	c.mu.Unlock()
	if len(want) == 0 {
		return // never with a keyring: Apply refuses to turn encryption off, and parseKeyring a file without a key
	}
	ring, waiting, kept := planKeys(want, held, peers)
	if !slices.EqualFunc(ring, held, bytes.Equal) {
		if err := rekey(c.ring, ring); err != nil {
			// Only an invalid key fails, and the configured ones are checked before they get here.
			c.log.Error("keyring not applied", zap.Error(err))
			return
		}
	}
	ids := keyIDs(ring)
	state := fmt.Sprint(ids, waiting, kept)
	c.mu.Lock()
	changed := !slices.Equal(ids, c.keyIDs)
	c.keyIDs = ids
	c.metaDirty = c.metaDirty || changed
	logState := state != c.keyState
	c.keyState = state
	disc := c.disc
	c.mu.Unlock()
	if changed && disc != nil {
		if err := disc.SetKeys(ring...); err != nil {
			c.log.Error("discovery keys not changed", zap.Error(err))
		}
	}
	if !logState {
		return
	}
	c.log.Info("keyring", zap.String("primary", ids[0]), zap.Strings("keys", ids))
	if len(waiting) > 0 {
		c.log.Warn("the configured primary key is not used yet: these live nodes do not hold it; add it to their "+
			"keyring first", zap.String("key", keyID(want[0])), zap.Strings("nodes", waiting))
	}
	if len(kept) > 0 {
		c.log.Info("keys no longer configured are still accepted while live nodes send with them",
			zap.Strings("keys", kept))
	}
}

// keyringFailed is what keyring holds while the keyring file cannot be applied, so that the failure is logged once.
const keyringFailed = "\x00error"

// checkKeyring reads the keyring file again, at most every keyringPoll, and makes a changed content the
// configured keys, which syncKeys then applies: a key rotation (see docs/cluster.md) needs no restart. A file
// that cannot be read or holds a bad key is reported once, and the keys configured before stay.
func (c *Cluster) checkKeyring(now time.Time) {
	c.mu.Lock()
	file, last := c.keyringFile, c.keyring
	due := file != "" && c.ring != nil && now.Sub(c.keyringCheck) >= keyringPoll
	if due {
		c.keyringCheck = now
	}
	c.mu.Unlock()
	if !due {
		return
	}
	b, err := os.ReadFile(file)
	if err == nil && string(b) == last {
		return
	}
	var keys [][]byte
	if err == nil {
		keys, err = parseKeyring(file, b)
	} else {
		err = fmt.Errorf("cluster.keyring_file: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keyringFile != file {
		return // a reload changed the file meanwhile
	}
	if err != nil {
		if c.keyring != keyringFailed {
			c.log.Error("keyring file not applied; the keys configured before stay", zap.Error(err))
		}
		c.keyring = keyringFailed
		return
	}
	c.keys, c.keyring = keys, string(b)
	c.log.Info("keyring file read", zap.String("file", file), zap.Int("keys", len(keys)))
}
