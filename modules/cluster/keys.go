package cluster

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
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

// readKeyring reads a keyring file: one base64 key per line, the first the primary; blank lines and lines
// starting with # are skipped.
func readKeyring(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster.keyring_file: %w", err)
	}
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
// switched, then the keys no longer listed are removed, so that a rotation done in that order on every node
// (add, use, remove) never leaves two nodes without a key in common.
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

// checkKeyring applies the keyring file again when its content changed, at most every few seconds, so that a key
// rotation (add the new key on every node, make it first, remove the old) needs no restart. A file that cannot be
// read or holds a bad key is reported and the keys in use stay. Callers hold mu.
func (c *Cluster) checkKeyring(now time.Time) {
	if c.cfg.KeyringFile == "" || c.ring == nil || now.Sub(c.keyringCheck) < keyringPoll {
		return
	}
	c.keyringCheck = now
	b, err := os.ReadFile(c.cfg.KeyringFile)
	if err == nil && string(b) == c.keyring {
		return
	}
	keys, err := readKeyring(c.cfg.KeyringFile)
	if err == nil {
		err = rekey(c.ring, keys)
	}
	if err != nil {
		if c.keyring != "\x00error" {
			c.log.Error("keyring file not applied; the keys in use stay", zap.Error(err))
		}
		c.keyring = "\x00error"
		return
	}
	c.keyring = string(b)
	c.log.Info("keyring applied", zap.String("file", c.cfg.KeyringFile), zap.Int("keys", len(keys)))
}
